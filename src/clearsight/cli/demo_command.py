"""``clearsight demo``: scan the bundled benign samples and show what was found.

It opens a :class:`~clearsight.Case` and runs its stages as ``scan``, ``match``,
``triage`` and ``items`` do; the near-duplicates it shows are triage's stacks.
"""

from __future__ import annotations

import shlex
import tempfile
from importlib import resources
from itertools import combinations, groupby
from pathlib import Path

import click

from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings
from clearsight.case import Case
from clearsight.cli.case_option import open_case
from clearsight.cli.launcher import launcher
from clearsight.cli.match_command import describe
from clearsight.cli.progress import ProgressBar
from clearsight.match.explain import bank_says, by_entry, how_entry_matched
from clearsight.signals.pdq import PdqSignal
from clearsight.store.interface import ItemRow


@click.command()
@click.option(
    "--case",
    "case_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Case folder to scan into [a new temporary folder, kept afterwards].",
)
def demo(case_dir: Path | None) -> int:
    """Scan the small benign sample images bundled with clearsight and report.

    The samples are generated landscapes, a street, textures, a re-encoded copy, a
    renamed copy, a text note and a damaged JPEG, so every kind of outcome shows; the
    texture's metadata declares it AI-generated, which the origin stage reports.
    """
    case_dir = case_dir or Path(tempfile.mkdtemp(prefix="clearsight-demo-"))
    with resources.as_file(resources.files("clearsight.demo") / "samples") as samples:
        click.echo(f"Scanning the bundled samples in {samples}")
        # The demo bank lives inside the demo case, away from the machine's banks.
        case = open_case(case_dir, create=True, banks_url=_demo_banks_url(case_dir))
        progress = ProgressBar()
        try:
            report = case.scan([samples], observer=progress)
            progress.close()
            matched = _demo_matches(case)
            case.triage()
            rows = list(case.items())
        finally:
            progress.close()
            case.close()
    tally = report.tally
    click.echo(
        f"\n{tally.files_seen} files: {tally.items} recorded, {tally.errors} with an "
        f"error, {tally.already_done} already recorded ({report.seconds:.1f} s)\n"
    )
    click.echo(_table(rows))
    click.echo(_origins(rows))
    click.echo(_near_duplicates(rows))
    click.echo(_matches(matched, rows))
    click.echo(f"\nCase kept at {case_dir}\n")
    click.echo(next_steps(launcher(), case_dir))
    return 0


def next_steps(program: str, case_dir: Path) -> str:
    """What to type next, each line a command that runs as shown."""
    case = shlex.quote(str(case_dir))
    report = shlex.quote(str(case_dir / "report.html"))
    lines = ["Next, typed as shown:"]
    if program != "clearsight" and program.endswith("bin/clearsight"):
        activate = shlex.quote(program.removesuffix("clearsight") + "activate")
        lines[0] = f"Next, typed as shown (or run `. {activate}` once, then type clearsight):"
    for command, what in (
        (f"items --case {case}", "every file with its hashes, matches and origin"),
        (f"queue --case {case}", "the review queue, most urgent first"),
        (
            f"report --case {case} --format html --out {report}",
            "a report to open in a browser, kept in the case folder",
        ),
    ):
        lines.append(f"  {program} {command}\n      {what}")
    # make serve serves demo-case unless told another case (by an absolute path, as
    # make runs in the clearsight folder, wherever this demo ran).
    serve = "make serve"
    if case_dir != Path(DEMO_CASE):
        serve += f" CASE={shlex.quote(str(case_dir.absolute()))}"
    lines.append(
        f"  {serve}\n      (in the clearsight folder) review it in a browser; "
        "it makes the accounts to sign in with"
    )
    return "\n".join(lines)


def _table(rows: list[ItemRow]) -> str:
    header = f"{'path':<34} {'media type':<20} {'size':>7}  {'pixels':<9} {'pdq':<18} note"
    lines = [header, "-" * len(header)]
    for row in rows:
        pixels = f"{row.width}x{row.height}" if row.width else "-"
        pdq = f"{row.pdq[:12]}… q{row.pdq_quality}" if row.pdq else "-"
        note = row.error or ("not an image" if row.kind != "image" else "")
        lines.append(
            f"{row.path:<34} {row.media_type:<20} {row.size or 0:>7}  {pixels:<9} {pdq:<18} {note}"
        )
    return "\n".join(lines)


def _origins(rows: list[ItemRow]) -> str:
    """Each image's origin verdict, with the strongest reason where there is one."""
    lines = ["\nOrigin (AI-generated, AI-edited, camera original, or inconclusive):"]
    for row in rows:
        if row.origin is None:
            continue
        reason = row.origin.reasons[0] if row.origin.reasons else ""
        lines.append(f"  {row.path}: {row.origin.verdict}; {reason}")
    return "\n".join(lines)


def _near_duplicates(rows: list[ItemRow]) -> str:
    """Triage's near-duplicate stacks, each as its pairs with their PDQ distance."""
    # A stable sort: each stack's members stay in the order the table lists them.
    stacked = sorted((row for row in rows if row.stack is not None), key=_stack_key)
    pairs = []
    for _, members in groupby(stacked, key=lambda row: row.stack):
        for a, b in combinations(list(members), 2):
            distance = (
                f"PDQ distance {PdqSignal.distance(a.pdq, b.pdq)}" if a.pdq and b.pdq else "no PDQ"
            )
            same = " (identical bytes)" if a.sha256 == b.sha256 else ""
            pairs.append(f"  {a.path}  ~  {b.path}: {distance}{same}")
    if not pairs:
        return "\nNo near-duplicate stacks."
    return (
        "\nNear-duplicate stacks (PDQ within the triage distance, any rotation or flip, "
        "or equal bytes):\n" + "\n".join(pairs)
    )


def _stack_key(row: ItemRow) -> int:
    assert row.stack is not None
    return row.stack


DEMO_BANK = "demo-bank"
DEMO_CASE = "demo-case"  # where `make demo` keeps its case, and `make serve` finds it
DEMO_ORIGINAL = "mountain-lake.jpg"


def _demo_banks_url(case_dir: Path) -> str:
    return f"sqlite:///{case_dir / 'demo-banks.sqlite'}"


def _demo_matches(case: Case) -> str:
    """Match against a bank holding one sample's PDQ hash, kept inside the demo case;
    the line that says what was found."""
    original = next(row for row in case.items() if row.path == DEMO_ORIGINAL)
    if original.pdq is None:
        return f"\nNo PDQ hash for {DEMO_ORIGINAL}: the demo bank is skipped."
    entry = ImportedEntry(
        ((BankSignal.PDQ, original.pdq),),
        EntryMetadata(external_id="DEMO-1", category="test-category-1", series="demo-series"),
    )
    case.banks.import_entries(
        DEMO_BANK, [entry], BankSettings(source="clearsight demo"), file_name="demo"
    )
    report = case.match([DEMO_BANK])
    return f"\nMatching against {DEMO_BANK} (the PDQ hash of {DEMO_ORIGINAL}): {describe(report)}"


def _matches(summary: str, rows: list[ItemRow]) -> str:
    lines = [summary]
    for row in rows:
        for group in by_entry(row.matches):
            said = bank_says(group[0])
            lines.append(
                f"  {row.path}: entry {group[0].external_id} ({said}), {how_entry_matched(group)}"
            )
    return "\n".join(lines)
