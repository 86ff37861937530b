"""``clearsight scan``: fingerprint every file of one or more sources into a case."""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

import click
from click.core import ParameterSource

from clearsight.cli.bank_options import banks_option
from clearsight.cli.case_database import case_or_database, open_case_or_database
from clearsight.cli.case_option import open_case
from clearsight.cli.launcher import launcher
from clearsight.cli.match_command import describe
from clearsight.cli.origin_command import checked_pixel_model, pixel_model_option
from clearsight.cli.progress import ProgressBar
from clearsight.cli.ray_option import node_counts, ray_executor, ray_options
from clearsight.cli.triage_command import describe as describe_triage
from clearsight.errors import UserError
from clearsight.media.decode import DecodeLimits
from clearsight.scan import ScanOptions, ScanReport, check_sources


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@case_or_database
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes [all cores].")
@click.option(
    "--file-timeout",
    type=click.FloatRange(min=0.1),
    default=120.0,
    show_default=True,
    help="Seconds decoding one file may take before it is given up (it is still digested).",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=DecodeLimits.max_pixels,
    show_default=True,
    help="Largest decoded image, in pixels (decompression bombs).",
)
@click.option(
    "--max-image-mb",
    type=click.IntRange(min=1),
    default=DecodeLimits.max_file_bytes // (1024 * 1024),
    show_default=True,
    help="Largest image file to decode, in MiB (larger ones are digested only).",
)
@click.option(
    "--origin/--no-origin",
    default=True,
    show_default=True,
    help="Examine each image's origin evidence (C2PA, metadata, watermarks, EXIF).",
)
@click.option(
    "--keep-prompts",
    is_flag=True,
    help="Store generator prompts found in files; they can be abusive, so off by default.",
)
@pixel_model_option
@banks_option
@ray_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
def scan(
    paths: tuple[Path, ...],
    case_dir: Path | None,
    database: str | None,
    workers: int | None,
    file_timeout: float,
    max_pixels: int,
    max_image_mb: int,
    origin: bool,
    keep_prompts: bool,
    pixel_model: Path | None,
    banks_url: str | None,
    ray_address: str | None,
    path_maps: tuple[str, ...],
    as_json: bool,
) -> int:
    """Fingerprint every file under PATHS into the case.

    Each file is read once: md5, sha1 and sha256 of its bytes, its media type sniffed
    from its content, and for images the size and a PDQ perceptual hash. Folders are
    walked recursively; links are never followed out of a source. A file that cannot
    be read or decoded is recorded with an error row and the scan goes on. Each image's
    origin evidence is weighed into a verdict (see ``origin``).

    When banks exist, every item is then matched against them (see ``match``); then
    the case is triaged (see ``triage`` and ``queue``).
    Run the same command again to resume: files already recorded are skipped.
    With --ray the files are fingerprinted on a Ray cluster and recorded here.
    Exit status is 0 when the scan finished, even if some files were bad.
    """
    check_sources(paths)  # before the case folder is created for nothing
    model = checked_pixel_model(pixel_model) if origin else None
    if path_maps and not ray_address:
        raise UserError("--path-map is for a scan on Ray (--ray)")
    if case_dir is None or database is not None and not _database_from_environment():
        case = open_case_or_database(case_dir, database, banks_url=banks_url)
    else:  # a scan makes the folder case it is given
        case = open_case(case_dir, create=True, banks_url=banks_url)
    executor = ray_executor(ray_address, workers, path_maps) if ray_address else None
    options = ScanOptions(
        file_timeout=file_timeout,
        limits=DecodeLimits(max_pixels=max_pixels, max_file_bytes=max_image_mb * 1024 * 1024),
        workers=workers,
        origin=origin,
        keep_prompts=keep_prompts,
        pixel_model=model,
    )
    progress = ProgressBar()
    try:
        done = case.ingest(
            list(paths),
            options,
            progress,
            executor=executor,
            after_scan=lambda _: progress.close(),
        )
    finally:
        progress.close()
        case.close()
    report, matched, triaged = done.scan, done.matching, done.triage
    if as_json:
        values = _json_of(report, case_dir)
        if executor is not None:
            values["nodes"] = node_counts(executor)
        values["matching"] = dataclasses.asdict(matched) if matched else None
        values["triage"] = dataclasses.asdict(triaged)
        click.echo(json.dumps(values))
    else:
        click.echo(_summary_of(report, case_dir))
        if matched is not None and matched.banks:
            click.echo(describe(matched))
        click.echo(describe_triage(triaged))
    return 0


def _database_from_environment() -> bool:
    context = click.get_current_context()
    return context.get_parameter_source("database") is ParameterSource.ENVIRONMENT


def _json_of(report: ScanReport, case_dir: Path | None) -> dict[str, object]:
    tally = report.tally
    return {
        "files_seen": tally.files_seen,
        "items": tally.items,
        "errors": tally.errors,
        "already_done": tally.already_done,
        "seconds": round(report.seconds, 3),
        "case": str(case_dir) if case_dir is not None else None,
    }


def _summary_of(report: ScanReport, case_dir: Path | None) -> str:
    tally = report.tally
    read = tally.items + tally.errors
    rate = f" ({read / report.seconds:.1f} files/s)" if report.seconds > 0 and read else ""
    lines = [
        f"Scanned {tally.files_seen} files in {report.seconds:.1f} s{rate}.",
        f"  {tally.items:>8} recorded",
        f"  {tally.errors:>8} recorded with an error",
        f"  {tally.already_done:>8} already recorded by an earlier scan",
        f"Case: {case_dir if case_dir is not None else 'the database given'}",
    ]
    if tally.errors and case_dir is not None:
        lines.append(
            f"See why with: {launcher()} items --case {shlex.quote(str(case_dir))} --errors"
        )
    return "\n".join(lines)
