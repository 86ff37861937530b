"""``clearsight match``: check every item of a case against the banks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from clearsight.cli.bank_options import banks_option
from clearsight.cli.case_option import case_option, open_case
from clearsight.match.engine import MatchReport


@click.command()
@case_option
@click.option(
    "--bank",
    "bank_names",
    multiple=True,
    help="Only this bank (repeat for more) [every enabled bank].",
)
@banks_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def match(case_dir: Path, bank_names: tuple[str, ...], banks_url: str | None, as_json: bool) -> int:
    """Match every item of the case against the banks.

    Digests (md5, sha1, sha256) must be equal; PDQ hashes match within each bank's
    threshold, also after rotation or flipping (the transform is recorded), and so do
    the hashes of an item's views (border trimmed, screenshot or collage tiles,
    caption removed) and, for own banks (``bank add``), the hashes of the originals'
    crops, turns and quadrants; the variant that matched is recorded. In own banks, a
    pair a little beyond the threshold is confirmed or dismissed by local features,
    reading the item's file again (unchanged, by its SHA-256). Items
    whose PDQ quality is below 50 are not PDQ-matched and get a note saying so.
    Running it again is incremental: a bank unchanged since the last run is checked
    only against items added since; a bank whose content or settings changed is
    checked against every item again, and its earlier matches are replaced.
    """
    with open_case(case_dir, create=False, banks_url=banks_url) as case:
        report = case.match(list(bank_names) or None)
    click.echo(json.dumps(dataclasses.asdict(report)) if as_json else describe(report))
    return 0


def describe(report: MatchReport) -> str:
    if not report.banks:
        return "No enabled banks to match against. Add one with: clearsight bank import NAME FILE"
    lines = [
        f"{run.bank}: {run.mode}, {run.items_checked} items checked, {run.matches_found} matches"
        + (
            f" ({run.confirmed} of {run.candidates} candidates confirmed by local features)"
            if run.candidates
            else ""
        )
        for run in report.runs
    ]
    lines.append(
        f"The case now has {report.matched_items} items matched, {report.matches} matches "
        f"in {len(report.banks)} bank(s), {report.low_quality} items with too weak a PDQ hash."
    )
    return "\n".join(lines)
