"""``clearsight demo``: scan the bundled benign samples and show what was found.

It runs the same library calls as ``scan`` and ``items`` and grows as stages land.
"""

from __future__ import annotations

import tempfile
from importlib import resources
from itertools import combinations
from pathlib import Path

import click

from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore
from clearsight.cli.case_option import open_case
from clearsight.cli.match_command import describe
from clearsight.cli.progress import ProgressBar
from clearsight.index.cache import PdqIndexCache
from clearsight.match.bank_matcher import BankMatcher
from clearsight.match.engine import match_case
from clearsight.match.item_features import FileItemFeatures
from clearsight.scan import ScanOptions, run_scan
from clearsight.signals.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY, PdqSignal
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
        store = open_case(case_dir, create=True)
        progress = ProgressBar()
        try:
            report = run_scan(store, [samples], ScanOptions(), progress)
            rows = list(store.iter_items())
        finally:
            progress.close()
            store.close()
    tally = report.tally
    click.echo(
        f"\n{tally.files_seen} files: {tally.items} recorded, {tally.errors} with an "
        f"error, {tally.already_done} already recorded ({report.seconds:.1f} s)\n"
    )
    click.echo(_table(rows))
    click.echo(_origins(rows))
    click.echo(_near_duplicates(rows))
    click.echo(_demo_matches(case_dir, rows))
    click.echo(f"\nCase kept at {case_dir}\nList it with: clearsight items --case {case_dir}")
    return 0


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
    hashed = [r for r in rows if r.pdq and (r.pdq_quality or 0) >= PDQ_MIN_QUALITY]
    pairs = []
    for a, b in combinations(hashed, 2):
        assert a.pdq and b.pdq
        distance = PdqSignal.distance(a.pdq, b.pdq)
        if distance <= PDQ_MATCH_THRESHOLD:
            same = " (identical bytes)" if a.sha256 == b.sha256 else ""
            pairs.append(f"  {a.path}  ~  {b.path}: PDQ distance {distance}{same}")
    if not pairs:
        return "\nNo near-duplicate pairs."
    return "\nNear-duplicate pairs (PDQ distance <= 31):\n" + "\n".join(pairs)


DEMO_BANK = "demo-bank"
DEMO_ORIGINAL = "mountain-lake.jpg"


def _demo_matches(case_dir: Path, rows: list[ItemRow]) -> str:
    """Match against a bank holding one sample's PDQ hash, kept inside the demo case."""
    original = next(row for row in rows if row.path == DEMO_ORIGINAL)
    if original.pdq is None:
        return f"\nNo PDQ hash for {DEMO_ORIGINAL}: the demo bank is skipped."
    entry = ImportedEntry(
        ((BankSignal.PDQ, original.pdq),),
        EntryMetadata(external_id="DEMO-1", category="test-category-1", series="demo-series"),
    )
    banks = BankStore.open(f"sqlite:///{case_dir / 'demo-banks.sqlite'}")
    store = open_case(case_dir, create=False)
    try:
        banks.import_entries(
            DEMO_BANK,
            [entry],
            BankSettings(source="clearsight demo"),
            stop_on_error=True,
            file_name="demo",
        )
        report = match_case(
            store,
            BankMatcher(banks, PdqIndexCache.default(), [DEMO_BANK]),
            item_features=FileItemFeatures(store),
        )
        matched = [row for row in store.iter_items() if row.matches]
    finally:
        store.close()
        banks.close()
    lines = [
        f"\nMatching against {DEMO_BANK} (the PDQ hash of {DEMO_ORIGINAL}): {describe(report)}"
    ]
    for row in matched:
        for hit in row.matches:
            lines.append(
                f"  {row.path}: entry {hit.external_id} ({hit.category}, {hit.series}), "
                f"{hit.signal} distance {hit.distance}, {hit.transform}"
            )
    return "\n".join(lines)
