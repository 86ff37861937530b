"""``clearsight bank``: import hash lists into the machine's bank store, look at and change them."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import click
from tqdm import tqdm

from clearsight.banks.formats.export import write_csv, write_text, write_vics
from clearsight.banks.formats.reader import BankFormat, read_bank_file
from clearsight.banks.lookup import BankSummary
from clearsight.banks.models import DEFAULT_PDQ_THRESHOLD
from clearsight.banks.originals import entry_of, original_files
from clearsight.banks.records import BankSignal, EntryMetadata, ImportEvent, parse_flag
from clearsight.banks.store import BankSettings, BankStore, ImportReport
from clearsight.case.banks import CaseBanks
from clearsight.cli.bank_options import banks_option, json_option
from clearsight.errors import UserError
from clearsight.media.decode import DecodeLimits


def new_bank_options(command: Callable[..., int]) -> Callable[..., int]:
    """The settings a bank is created with, shared by ``import`` and ``add``."""
    for option in reversed(
        (
            click.option("--source", help="Where the entries came from (kept with a new bank)."),
            click.option("--description", help="What the entries are (kept with a new bank)."),
            click.option(
                "--allow", is_flag=True, help="A new bank of known-benign material (allow list)."
            ),
            click.option(
                "--pdq-threshold",
                type=click.IntRange(0, 256),
                default=DEFAULT_PDQ_THRESHOLD,
                show_default=True,
                help="PDQ match distance for a new bank.",
            ),
        )
    ):
        command = option(command)
    return command


@click.group()
def bank() -> None:
    """Hash banks: the known-material lists every case is matched against."""


@bank.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in BankFormat]),
    default=BankFormat.AUTO.value,
    show_default=True,
    help="The file's format.",
)
@click.option(
    "--signal",
    type=click.Choice([s.value for s in BankSignal]),
    help="What each hash is, for a plain list or a CSV `hash` column (needed for "
    "64-digit hashes; a header line naming the signal does instead).",
)
@click.option(
    "--on-error",
    type=click.Choice(["skip", "stop"]),
    default="skip",
    show_default=True,
    help="Skip bad lines and report them, or stop and import nothing.",
)
@new_bank_options
@banks_option
@json_option
def import_(
    name: str,
    file: Path,
    fmt: str,
    signal: str | None,
    on_error: str,
    source: str | None,
    description: str | None,
    allow: bool,
    pdq_threshold: int,
    banks_url: str | None,
    as_json: bool,
) -> int:
    """Import FILE into bank NAME (created if new), streaming.

    Formats: Project VIC VICS JSON (1.3 and 2.0), NCMEC hash-sharing XML, StopNCII
    JSON, CSV/TSV with a header naming signal columns (pdq, md5, sha1, sha256, or
    hash with --signal), or plain text (one hash per line). Each is described, with an
    example file, in docs/bank-formats.md. Re-importing the same file changes nothing;
    a newer file updates entries and removes those it deletes. An import that keeps
    no entry (every line skipped) fails with exit 2 and creates no bank. The settings
    options apply to a new bank; change an existing bank's with `clearsight bank set`.
    """
    events = read_bank_file(file, BankFormat(fmt), BankSignal(signal) if signal else None)
    settings = BankSettings(source, description, allow, pdq_threshold)
    store = BankStore.open(banks_url)
    try:
        report = store.import_entries(
            name, events, settings, stop_on_error=on_error == "stop", file_name=file.name
        )
    finally:
        store.close()
    click.echo(_report_json(report) if as_json else _report_text(name, file, report))
    return 0


@bank.command("add")
@click.argument("name")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--category", help="Category of every picture added (kept on each entry).")
@click.option("--series", help="Series name of every picture added.")
@click.option(
    "--victim-identified",
    type=click.Choice(["yes", "no", "unknown"]),
    default="unknown",
    show_default=True,
    help="Whether the series' victim is identified.",
)
@click.option(
    "--on-error",
    type=click.Choice(["skip", "stop"]),
    default="skip",
    show_default=True,
    help="Skip files that are not usable pictures and report them, or stop and add nothing.",
)
@new_bank_options
@banks_option
@json_option
def add(
    name: str,
    files: tuple[Path, ...],
    category: str | None,
    series: str | None,
    victim_identified: str,
    on_error: str,
    source: str | None,
    description: str | None,
    allow: bool,
    pdq_threshold: int,
    banks_url: str | None,
    as_json: bool,
) -> int:
    """Add original pictures and videos (FILES, or every file under a folder) to bank NAME.

    Unlike an imported list, which holds one hash per picture, a bank of originals
    keeps for each picture its digests and PDQ hash, PDQ hashes of centre crops, small
    turns and quadrants, and its local (ORB) features. Copies that were cropped,
    turned, captioned or partly repainted then still match, each match naming the
    variant that met; pairs PDQ leaves open are confirmed by the local features. The
    pictures themselves are not stored. Entries are named by file name (or path below
    the folder given); adding the same pictures again changes nothing.

    A video is kept as its digests and its vPDQ at four frames a second (denser than
    the one a second lists exchange, so that clips cut anywhere still match), its first
    frame's PDQ and the first frame of each shot, so a still taken from it is found too.
    """
    metadata = EntryMetadata(
        category=category, series=series, victim_identified=parse_flag(victim_identified)
    )
    found = list(original_files(files))
    limits = DecodeLimits()

    def events() -> Iterator[ImportEvent]:
        with tqdm(
            total=len(found), unit="picture", desc="adding", disable=not sys.stderr.isatty()
        ) as bar:
            for path, entry_name in found:
                yield entry_of(path, entry_name, metadata, limits)
                bar.update(1)

    settings = BankSettings(source, description, allow, pdq_threshold)
    store = BankStore.open(banks_url)
    try:
        report = store.import_entries(
            name, events(), settings, stop_on_error=on_error == "stop", file_name=""
        )
    finally:
        store.close()
    if as_json:
        click.echo(_report_json(report))
    else:
        lines = [
            f"Added {len(found)} file(s) to bank {name!r}: {report.added} added, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.rejected_count} skipped."
        ]
        click.echo("\n".join(lines + _skipped_lines(report, "")))
    return 0


@bank.command("list")
@banks_option
@json_option
def list_(banks_url: str | None, as_json: bool) -> int:
    """List every bank with its entry count."""
    store = BankStore.open(banks_url)
    try:
        summaries = store.summaries()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([_summary_dict(s) for s in summaries]))
    elif not summaries:
        click.echo("No banks yet. Add one with: clearsight bank import NAME FILE")
    else:
        for summary in summaries:
            flags = ", ".join(
                flag
                for flag, on in (("allow", summary.allow), ("disabled", not summary.enabled))
                if on
            )
            click.echo(f"{summary.name:<24} {summary.entries:>10} entries  {flags}")
    return 0


@bank.command("show")
@click.argument("name")
@banks_option
@json_option
def show(name: str, banks_url: str | None, as_json: bool) -> int:
    """Show one bank's settings and signal counts.

    Also its uid and revision: the revision goes up with each import that changes
    entries, and a bank removed and imported again gets a new uid.
    """
    store = BankStore.open(banks_url)
    try:
        summary = store.summary(name)
    finally:
        store.close()
    click.echo(_summary_output(summary, as_json))
    return 0


@bank.command("set")
@click.argument("name")
@click.option(
    "--enable/--disable",
    "enabled",
    default=None,
    help="Match against this bank, or keep it but leave it out of matching.",
)
@click.option(
    "--allow/--no-allow",
    default=None,
    help="Mark the bank as known-benign material (an allow list), or not.",
)
@click.option(
    "--pdq-threshold",
    type=click.IntRange(0, 256),
    help="PDQ match distance: a PDQ hash this close or closer matches.",
)
@click.option("--description", help='What the list is ("" clears it).')
@click.option("--source", help='Where the list came from ("" clears it).')
@banks_option
@json_option
def set_(
    name: str,
    enabled: bool | None,
    allow: bool | None,
    pdq_threshold: int | None,
    description: str | None,
    source: str | None,
    banks_url: str | None,
    as_json: bool,
) -> int:
    """Change bank NAME's settings; those not given stay as they are.

    Prints the bank as `clearsight bank show` does. Its entries are untouched, so
    its revision stays.

    \b
    Examples:
      clearsight bank set ngo-list --disable
      clearsight bank set ngo-list --pdq-threshold 24 --description "NGO list, 2026-11"
    """
    if all(value is None for value in (enabled, allow, pdq_threshold, description, source)):
        raise UserError(
            "nothing to change: give --enable, --disable, --allow, --no-allow, "
            "--pdq-threshold, --description or --source"
        )
    store = BankStore.open(banks_url)
    try:
        summary = store.update_settings(
            name,
            enabled=enabled,
            allow=allow,
            pdq_threshold=pdq_threshold,
            description=description,
            source=source,
        )
    finally:
        store.close()
    click.echo(_summary_output(summary, as_json))
    return 0


@bank.command("remove")
@click.argument("name")
@banks_option
@json_option
def remove(name: str, banks_url: str | None, as_json: bool) -> int:
    """Delete bank NAME with all its entries, at once and for good.

    Asks nothing first. To keep a bank but stop matching against it, use
    `clearsight bank set NAME --disable`; to keep a copy, `clearsight bank export`.
    """
    banks = CaseBanks(banks_url)  # removing a bank drops its cached index too
    try:
        entries = banks.remove(name)
    finally:
        banks.close()
    if as_json:
        click.echo(json.dumps({"removed": name, "entries": entries}))
    else:
        click.echo(f"removed bank {name} ({entries} entries)")
    return 0


@bank.command("export")
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["vics", "csv", "txt"]),
    default="csv",
    show_default=True,
    help="VICS JSON (model 2.0), CSV with a header, or plain text.",
)
@click.option(
    "--signal",
    type=click.Choice([s.value for s in BankSignal]),
    help="For plain text: which signal to write, one per line (required).",
)
@click.option(
    "--out",
    type=click.File("w", encoding="utf-8", lazy=True),
    default="-",
    help="Write here instead of standard output.",
)
@banks_option
def export(name: str, fmt: str, signal: str | None, out: TextIO, banks_url: str | None) -> int:
    """Write bank NAME in a format it can be imported from again.

    CSV keeps every field; VICS keeps every field its model has (not the date); plain
    text keeps one signal.
    """
    if fmt == "txt" and signal is None:
        raise UserError("plain text holds one signal per line: name it with --signal")
    store = BankStore.open(banks_url)
    try:
        store.summary(name)  # a missing bank is an error before anything is written
        entries = store.iter_entries(name)
        if fmt == "vics":
            write_vics(entries, out)
        elif fmt == "csv":
            write_csv(entries, out)
        else:
            write_text(entries, out, BankSignal(signal or ""))
    finally:
        store.close()
    return 0


def _summary_output(summary: BankSummary, as_json: bool) -> str:
    return json.dumps(_summary_dict(summary)) if as_json else _summary_text(summary)


# How ``bank show`` names what the stored kinds are, where the kind's name says little.
_KIND_NAMES = {"pdq-variants": "PDQ of crops and turns", "orb": "local features"}


def _summary_text(summary: BankSummary) -> str:
    """One ``field: value`` line each, in words a reader needs no Python to read."""
    signals = ", ".join(
        f"{count:,} {_KIND_NAMES.get(kind, kind)}" for kind, count in summary.signals.items()
    )
    lines = [
        ("name", summary.name),
        ("entries", f"{summary.entries:,}"),
        ("signals", signals or "none"),
        ("enabled", "yes" if summary.enabled else "no (left out of matching)"),
        ("allow", "yes (known-benign material)" if summary.allow else "no"),
        ("pdq threshold", str(summary.pdq_threshold)),
        ("source", summary.source or "not given"),
        ("description", summary.description or "not given"),
        ("updated", summary.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("uid", summary.uid),
        ("revision", str(summary.revision)),
    ]
    return "\n".join(f"{key}: {value}" for key, value in lines)


def _summary_dict(summary: BankSummary) -> dict[str, object]:
    values = dataclasses.asdict(summary)
    values["updated_at"] = summary.updated_at.isoformat(timespec="seconds") + "Z"
    return values


def _report_json(report: ImportReport) -> str:
    values = dataclasses.asdict(report)
    values["rejected"] = [f"{line.where}: {line.reason}" for line in report.rejected]
    return json.dumps(values)


def _report_text(name: str, file: Path, report: ImportReport) -> str:
    lines = [
        f"Imported {file.name} into bank {name!r}: {report.added} added, {report.updated} "
        f"updated, {report.unchanged} unchanged, {report.removed} removed, "
        f"{report.rejected_count} skipped."
    ]
    lines += [
        f"  not importable: {count} {kind} record(s) (clearsight keeps ImagePDQ and VideoMD5)"
        for kind, count in report.not_importable.items()
    ]
    if report.next_page:
        lines.append(
            f"  next page: {report.next_page} ({file.name} is one page of a longer list: "
            "fetch the next page and import it too)"
        )
    return "\n".join(lines + _skipped_lines(report, f"{file.name} "))


def _skipped_lines(report: ImportReport, prefix: str) -> list[str]:
    """What was skipped, as far as the report kept it, and how many more there were."""
    lines = [f"  skipped {prefix}{line.where}: {line.reason}" for line in report.rejected]
    if report.rejected_count > len(report.rejected):
        lines.append(f"  … and {report.rejected_count - len(report.rejected)} more")
    return lines
