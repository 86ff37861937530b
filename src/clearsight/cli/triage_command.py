"""``clearsight triage`` and ``clearsight queue``: group a case and order it for review."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from clearsight.case import CASE_CONFIG
from clearsight.cli.case_option import case_option, open_case
from clearsight.text_safety import visible
from clearsight.triage.run import TriageReport

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help=f"Priority weights (TOML) [the case's {CASE_CONFIG}, else the shipped defaults].",
)


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

    Each unit shows its kind, label, number of items, score, the file to look at
    first (its path in display form, as `clearsight items` shows it), and the reasons
    for its place. Control characters in names and reasons are shown escaped.
    Run `clearsight triage` first (scan does).
    """
    with open_case(case_dir, create=False) as case:
        entries = case.queue()
    if not entries:
        click.echo("The queue is empty: run `clearsight triage --case DIR` first.", err=True)
        return 0
    shown = entries[:top] if top else entries
    if as_json:
        for entry in shown:
            click.echo(json.dumps(dataclasses.asdict(entry)))
        return 0
    for rank, entry in enumerate(shown, start=1):
        click.echo(
            f"{rank:>4}. {entry.score:>5.1f}  {entry.kind:<6} {visible(entry.label)}  "
            f"({entry.size} item{'s' if entry.size != 1 else ''}; "
            f"first: {visible(entry.representative)})"
        )
        for reason in entry.reasons:
            click.echo(f"          - {visible(reason)}")
    return 0
