"""``clearsight triage`` and ``clearsight queue``: group a case and order it for review."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from clearsight.case import CASE_CONFIG
from clearsight.cli.case_option import case_option, open_case
from clearsight.store.interface import QueueEntry, UnitKind
from clearsight.text_safety import visible
from clearsight.triage.run import TriageReport
from clearsight.triage.unreadable import GROUP_TITLE, unreadable_files

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help=f"Priority weights (TOML) [the case's {CASE_CONFIG}, else the shipped defaults].",
)


COULD_NOT_READ_KIND = "could-not-read"  # beside the queue's kinds: series, stack, item


def describe(report: TriageReport) -> str:
    return (
        f"Triage: {report.items} items; {report.stacks} near-duplicate stacks holding "
        f"{report.stacked_items} items; {report.links} scene links; {report.series} series "
        f"({report.seconds:.1f} s)."
    )


@click.command()
@case_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def triage(case_dir: Path, config_path: Path | None, as_json: bool) -> int:
    """Stack near-duplicates, link scene-mates into series, and score every item.

    Near-duplicates (PDQ within the configured distance, any rotation or flip, or equal
    bytes) form stacks with the largest file as representative. Stacks and scene links
    form series; a series takes the name of a bank series one of its members matched.
    Every item, stack and series gets a score (0-100, higher first) with its reasons:
    new camera-original material first; known material with an identified victim,
    AI-generated material (flagged) and allow-bank hits later. See `clearsight queue`.
    Run it again whenever banks, origin or weights change; it replaces the last run.
    """
    with open_case(case_dir, create=False) as case:
        report = case.triage(config_path)
    click.echo(json.dumps(dataclasses.asdict(report)) if as_json else describe(report))
    return 0


@click.command()
@case_option
@click.option("--top", type=click.IntRange(min=1), help="Only the first N units of the queue.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of text.")
def queue(case_dir: Path, top: int | None, as_json: bool) -> int:
    """Print the review queue: series, stacks and lone items, most urgent first.

    Each unit shows its rank, score, kind, label (series and stacks), number of items,
    the file to look at first (its path under its source, in display form, as
    `clearsight items` shows it), and the reasons for its place: the base score and
    each rule's weight, which add up to the score. Then the files that could not be
    read, with their errors: they are kept out of the queue (unless a bank knows their
    digest), since nothing in them can be weighed. Control characters in names and
    reasons are shown escaped. With --json, each unit is a JSON line, then each file
    that could not be read as {"kind": "could-not-read", "item": ID, "path": PATH,
    "error": TEXT}.
    Run `clearsight triage` first (scan does).
    """
    with open_case(case_dir, create=False) as case:
        entries = case.queue()
        unreadable = unreadable_files(case.store)
    if not entries and not unreadable:
        click.echo("The queue is empty: run `clearsight triage --case DIR` first.", err=True)
        return 0
    shown = entries[:top] if top else entries
    if as_json:
        for entry in shown:
            click.echo(json.dumps(dataclasses.asdict(entry)))
        for broken in unreadable:
            line = {
                "kind": COULD_NOT_READ_KIND,
                "item": broken.item_id,
                "path": broken.path,
                "error": broken.error,
            }
            click.echo(json.dumps(line))
        return 0
    for rank, entry in enumerate(shown, start=1):
        click.echo(_unit_line(rank, entry))
        for reason in entry.reasons:
            click.echo(f"          - {visible(reason)}")
    if unreadable:
        click.echo(
            f"\n{GROUP_TITLE} ({len(unreadable)} file{'s' if len(unreadable) != 1 else ''}):"
        )
        for broken in unreadable:
            click.echo(f"          - {visible(broken.path)}: {visible(broken.error)}")
    return 0


def _unit_line(rank: int, entry: QueueEntry) -> str:
    """``   1.  85.0  series S-1 (name)  3 items  first: a/b.jpg``; an item shows its
    path once."""
    path = visible(entry.path or entry.representative)
    head = f"{rank:>4}. {entry.score:>5.1f}  {entry.kind.value:<6}"
    if entry.kind is UnitKind.ITEM:
        return f"{head} {path}"
    count = f"{entry.size} item{'s' if entry.size != 1 else ''}"
    return f"{head} {visible(entry.label)}  {count}  first: {path}"
