"""``clearsight origin``: explain where files came from, examine a case again, evaluate.

``clearsight origin FILE...`` and ``clearsight origin --case DIR`` both run the
``examine`` subcommand, which is the default: a first word that is not a subcommand's
name is taken as its arguments.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from clearsight.cli.case_option import open_case
from clearsight.cli.progress import ProgressBar
from clearsight.errors import UserError
from clearsight.media.decode import DecodeLimits
from clearsight.media.sniff import SNIFF_BYTES, sniff_media_type
from clearsight.origin.evaluate import PassScore, evaluate, labelled_files
from clearsight.origin.pixel_model import MODEL_ENV
from clearsight.origin.stage import detectors_for, examine_bytes

MAX_BYTES = DecodeLimits.max_file_bytes
NO_PIXEL_MODEL = "pixel detector: none configured (--pixel-model PATH or CLEARSIGHT_PIXEL_MODEL)"

pixel_model_option = click.option(
    "--pixel-model",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar=MODEL_ENV,
    help="An ONNX pixel detector of your own (see README); none ships. "
    f"Also read from {MODEL_ENV}.",
)


class _DefaultExamine(click.Group):
    """A group whose first argument, when it names no subcommand, goes to ``examine``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["examine", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultExamine)
def origin() -> None:
    """Evidence of where images came from: AI generator, AI edit, or camera.

    \b
    clearsight origin FILE...           explain single files in plain words
    clearsight origin --case DIR        examine a case's images again
    clearsight origin evaluate FOLDER   score the verdicts on ai/ and real/ files

    Evidence comes from C2PA manifests, XMP/IPTC source types, generator metadata,
    invisible watermarks, and the camera's EXIF record and JPEG tables. Each verdict
    (ai-generated, ai-edited, camera-original-likely, inconclusive) lists its reasons;
    "inconclusive" is often the truth. Generator prompts are never printed.
    """


@origin.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--case",
    "case_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Examine this case's images again instead of FILES.",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="With --case: every image, not only those not yet examined by this version.",
)
@click.option(
    "--keep-prompts",
    is_flag=True,
    help="With --case: store generator prompts found in files (they can be abusive).",
)
@pixel_model_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def examine(
    files: tuple[Path, ...],
    case_dir: Path | None,
    everything: bool,
    keep_prompts: bool,
    pixel_model: Path | None,
    as_json: bool,
) -> int:
    """Explain FILES, or examine the images of --case DIR again."""
    if bool(files) == (case_dir is not None):
        raise UserError("give either FILES or --case DIR (see clearsight origin --help)")
    model = checked_pixel_model(pixel_model)
    if case_dir is not None:
        return _examine_case(
            case_dir, everything=everything, keep=keep_prompts, model=model, as_json=as_json
        )
    if everything or keep_prompts:
        raise UserError("--all and --keep-prompts apply only with --case")
    found = [_explain(path, model) for path in files]
    if as_json:
        for values in found:
            click.echo(json.dumps(values))
    else:
        click.echo("\n\n".join(_text_of(values) for values in found))
        if model is None:
            click.echo(f"\n{NO_PIXEL_MODEL}")
    return 0


def checked_pixel_model(pixel_model: Path | None) -> str | None:
    """The pixel model's path, once it has loaded (so a bad file fails before any work)."""
    if pixel_model is None:
        return None
    detectors_for(str(pixel_model))
    return str(pixel_model)


@origin.command(name="evaluate")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@pixel_model_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def evaluate_command(folder: Path, pixel_model: Path | None, as_json: bool) -> int:
    """Score the verdicts on FOLDER/ai and FOLDER/real (files under them, recursively).

    Prints accuracy per class, the abstention rate (inconclusive verdicts) and the AUC
    of the score, first for the files as given and then for the same files re-encoded
    as JPEG q90 4:2:0 without metadata (in memory; nothing is written).
    """
    files = labelled_files(folder)
    if not files["ai"] and not files["real"]:
        raise UserError(f"no files under {folder / 'ai'} or {folder / 'real'}")
    model = checked_pixel_model(pixel_model)

    def judge(data: bytes, media_type: str) -> tuple[str, float]:
        summary = examine_bytes(data, media_type, keep_prompts=False, pixel_model=model).summary
        return summary.verdict, summary.score

    passes = evaluate(files, judge)
    if as_json:
        click.echo(json.dumps({"passes": [_pass_json(p) for p in passes], "pixel_model": model}))
    else:
        click.echo("\n\n".join(_pass_text(p) for p in passes))
        click.echo(f"\n{NO_PIXEL_MODEL}" if model is None else f"\npixel model: {model}")
    return 0


def _explain(path: Path, model: str | None) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    media_type = sniff_media_type(data[:SNIFF_BYTES])
    found = examine_bytes(data, media_type, keep_prompts=False, pixel_model=model)
    return {
        "path": str(path),
        "media_type": media_type,
        "verdict": found.summary.verdict,
        "score": found.summary.score,
        "reasons": list(found.summary.reasons),
        "evidence": [dataclasses.asdict(record) for record in found.evidence],
    }


def _text_of(values: dict[str, Any]) -> str:
    lines = [f"{values['path']}: {values['verdict']} (score {values['score']:.2f})"]
    lines += [f"  - {reason}" for reason in values["reasons"]]
    return "\n".join(lines)


def _examine_case(
    case_dir: Path, *, everything: bool, keep: bool, model: str | None, as_json: bool
) -> int:
    case = open_case(case_dir, create=False)
    progress = ProgressBar("examining", "image")
    try:
        run = case.origin(
            everything=everything,
            keep_prompts=keep,
            max_bytes=MAX_BYTES,
            pixel_model=model,
            progress=progress,
        )
    finally:
        progress.close()
        case.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "examined": run.examined,
                    "verdicts": dict(run.verdicts),
                    "skipped": [{"path": p, "reason": r} for p, r in run.skipped],
                    "pixel_model": model,
                }
            )
        )
        return 0
    lines = [f"Examined {run.examined} images of {case_dir}."]
    lines += [f"  {count:>8} {verdict}" for verdict, count in sorted(run.verdicts.items())]
    for path, reason in run.skipped:
        lines.append(f"  skipped {path}: {reason}")
    lines.append(NO_PIXEL_MODEL if model is None else f"pixel model: {model}")
    click.echo("\n".join(lines))
    return 0


def _pass_json(score: PassScore) -> dict[str, Any]:
    values = dataclasses.asdict(score)
    for cls, values_cls in zip(score.classes, values["classes"], strict=True):
        values_cls["accuracy"] = cls.accuracy
        values_cls["accuracy_when_decided"] = cls.accuracy_when_decided
    return values


def _pass_text(score: PassScore) -> str:
    lines = [f"{score.name}:"]
    for cls in score.classes:
        decided = cls.accuracy_when_decided
        when = f", {decided:.1%} of those decided" if decided is not None else ""
        lines.append(
            f"  {cls.label:5} {cls.files:>5} files: {cls.right} right, {cls.wrong} wrong, "
            f"{cls.abstained} inconclusive; accuracy {cls.accuracy:.1%}{when}"
        )
    auc = f"{score.auc:.3f}" if score.auc is not None else "n/a (needs both classes)"
    lines.append(f"  abstention rate {score.abstention_rate:.1%}; AUC {auc}")
    for path in score.unreadable:
        lines.append(f"  not a decodable picture, left out: {path}")
    return "\n".join(lines)
