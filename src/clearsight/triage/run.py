"""One triage run: stack near-duplicates, link scene-mates, form series, score all.

Series are made of stacks, scene links, and bank series: items that matched entries of
one bank series are one series even where their pictures share nothing visible.

It reads what earlier stages recorded (hashes, bank matches, origin verdicts) and
replaces the case's stacks, series and priorities in one transaction, so it can be run
again at any time: after a bank update, after new origin evidence, with new weights.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from clearsight.series.groups import Groups
from clearsight.series.stacks import Stack, StackInput, stacks_of
from clearsight.store.interface import (
    Priority,
    SceneLinkRecord,
    SeriesRecord,
    StackRecord,
    TriageItem,
    TriageLedger,
    TriageResult,
)
from clearsight.triage.priority import (
    SeriesFacts,
    TriageConfig,
    is_new_camera_original,
    score_item,
    unit_priority,
)

# Finds scene links among items (beyond their stacks); needs their pixels, so the CLI
# gives one that reads files again, and tests may give their own.
Linker = Callable[[Sequence[TriageItem], Sequence[Stack]], list[SceneLinkRecord]]


@dataclass(frozen=True)
class TriageReport:
    items: int
    stacks: int
    stacked_items: int
    links: int
    series: int
    seconds: float


def run_triage(
    ledger: TriageLedger, config: TriageConfig, linker: Linker | None = None
) -> TriageReport:
    started = time.perf_counter()
    items = list(ledger.triage_items())
    result = triage(items, config, linker)
    ledger.record_triage(result)
    return TriageReport(
        items=len(items),
        stacks=len(result.stacks),
        stacked_items=sum(len(stack.members) for stack in result.stacks),
        links=len(result.links),
        series=len(result.series),
        seconds=time.perf_counter() - started,
    )


def triage(
    items: Sequence[TriageItem], config: TriageConfig, linker: Linker | None = None
) -> TriageResult:
    by_id = {item.item_id: item for item in items}
    stacks = stacks_of([_stack_input(item) for item in items], config.stack_distance)
    links = linker(items, stacks) if linker is not None else []
    groups = Groups()
    for stack in stacks:
        groups.join_all((stack.members[0], member) for member in stack.members[1:])
    groups.join_all((link.item_a, link.item_b) for link in links)
    # Items that matched one bank series are one series, however far apart they look.
    groups.join_all(_bank_series_pairs(items))
    linked = {link.item_a for link in links} | {link.item_b for link in links}
    members_of = [
        members
        for members in groups.groups(by_id)
        if (linked.intersection(members) or _bank_series([by_id[m] for m in members]))
        and any(by_id[m].kind != "other" for m in members)
    ]
    # Labelled in the order of their first recorded item: stable while the case is.
    facts = [
        _series_facts(f"S-{number}", [by_id[m] for m in members])
        for number, members in enumerate(members_of, start=1)
    ]
    series_of = {m: n for n, members in enumerate(members_of) for m in members}
    # Files that are no picture or video (notes, archives) are recorded, not queued;
    # nor are files that could not be read and matched nothing: they are listed apart,
    # with their error, since nothing in them can be weighed (:mod:`.unreadable`).
    priorities = {
        item.item_id: score_item(
            item,
            facts[series_of[item.item_id]] if item.item_id in series_of else None,
            config.weights,
        )
        for item in items
        if item.kind != "other" and not is_unreadable(item)
    }
    stack_records = tuple(
        StackRecord(
            stack.members,
            stack.representative,
            unit_priority([priorities[m] for m in stack.members if m in priorities], "stack"),
        )
        for stack in stacks
        if any(m in priorities for m in stack.members)
    )
    series_records = _series_records(members_of, facts, by_id, priorities)
    return TriageResult(stack_records, series_records, tuple(links), priorities)


def _stack_input(item: TriageItem) -> StackInput:
    return StackInput(item.item_id, item.sha256, item.pdq, item.dihedral, item.pixels, item.size)


def is_unreadable(item: TriageItem) -> bool:
    """A file the scan could not read, which matched no bank: the "could not read"
    group, not the queue. (One whose digest is in a bank is queued as known.)"""
    return item.unreadable is not None and not item.matches


def _bank_series_pairs(items: Sequence[TriageItem]) -> Iterator[tuple[int, int]]:
    """(first item, item) for every further item matching a bank series."""
    first: dict[str, int] = {}
    for item in items:
        for name in {m.series for m in item.matches if m.series}:
            yield first.setdefault(name, item.item_id), item.item_id


def _bank_series(members: Sequence[TriageItem]) -> str | None:
    """The bank series most of the members' matches name, if any."""
    names = Counter(m.series for item in members for m in item.matches if m.series)
    return names.most_common(1)[0][0] if names else None


def _series_facts(label: str, members: Sequence[TriageItem]) -> SeriesFacts:
    identified = any(m.victim_identified for item in members for m in item.matches)
    new_camera = sum(1 for item in members if is_new_camera_original(item))
    return SeriesFacts(label, identified, new_camera, len(members))


def _series_records(
    members_of: Sequence[list[int]],
    facts: Sequence[SeriesFacts],
    by_id: dict[int, TriageItem],
    priorities: dict[int, Priority],
) -> tuple[SeriesRecord, ...]:
    return tuple(
        SeriesRecord(
            fact.label,
            _bank_series([by_id[m] for m in members]),
            True if fact.identified else None,
            tuple(members),
            unit_priority(
                [priorities[m] for m in members if m in priorities], f"series {fact.label}"
            ),
        )
        for members, fact in zip(members_of, facts, strict=True)
    )
