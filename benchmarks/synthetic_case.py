"""A synthetic case of N items at the hash level, for benchmarks that need a big case.

Rows go straight in through SQLAlchemy core (no images, no scan): digests and a PDQ hash
per item, an error on 1 %, a bank match on 2 %, an origin verdict on 30 %, a priority on
every item, near-duplicate stacks of two over 4 %, series of five over 5 %, and a human
decision on 3 %. Works on SQLite and PostgreSQL alike (any ``SqlCaseStore``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import insert

from clearsight.store.models import (
    Item,
    ItemErrorRow,
    ItemTriageRow,
    Match,
    OriginRow,
    Scan,
    SeriesRow,
    Signal,
    StackRow,
)
from clearsight.store.paths import path_values
from clearsight.store.review_models import AccountRow, DecisionRow
from clearsight.store.sql import SqlCaseStore, engine_of

BATCH = 20_000
WHEN = datetime(2026, 1, 1)
# Cheap Argon2 parameters, so that signing in twenty benchmark reviewers costs nothing.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SERIES_SIZE = 5
# Items i and i + 1 form a stack where i % 50 == STACK_AT (4 % of the items).
STACK_AT = (10, 30)


def fill_case(
    store: SqlCaseStore,
    size: int,
    *,
    seed: int = 7,
    reviewers: Sequence[str] = ("bench-reviewer",),
    password: str = "benchmark passphrase",
    source_root: str = "/bench/evidence",
) -> None:
    """Fill a fresh case store with ``size`` synthetic items (see the module docstring).
    Accounts ``reviewers`` (role reviewer) sign in with ``password``. Item ``i`` is at
    :func:`item_path` under ``source_root``."""
    rng = random.Random(seed)
    source = store.open_source(source_root)
    password_hash = CHEAP_HASHER.hash(password)
    with engine_of(store).begin() as connection:
        connection.execute(
            insert(Scan).values(id=1, case_id=1, roots="[]", started_at=WHEN, completed=True)
        )
        connection.execute(
            insert(AccountRow),
            [
                {
                    "id": number, "name": name, "role": "reviewer",
                    "password_hash": password_hash, "created_at": WHEN,
                    "password_changed_at": WHEN,
                }
                for number, name in enumerate(reviewers, start=1)
            ],
        )  # fmt: skip
        series_count = size * 5 // 100 // SERIES_SIZE
        if series_count:
            connection.execute(
                insert(SeriesRow),
                [
                    {
                        "id": s + 1, "label": f"S-{s + 1}", "name": None,
                        "victim_identified": None, "size": SERIES_SIZE, "score": 50.0 + s % 40,
                        "reasons": '["bench series"]',
                    }
                    for s in range(series_count)
                ],
            )  # fmt: skip
    for start in range(0, size, BATCH):
        ids = range(start + 1, min(start + BATCH, size) + 1)
        with engine_of(store).begin() as connection:
            _insert_batch(connection, source, ids, series_count, rng)


def item_path(i: int) -> str:
    """Where item ``i`` is, relative to its source."""
    return f"dir{i % 997:03}/file{i:07}.jpg"


def _stack_of(i: int) -> int | None:
    """The stack id of item ``i``: pairs (i, i + 1) starting where i % 50 is in STACK_AT."""
    for first in STACK_AT:
        if i % 50 == first:
            return i
        if i % 50 == first + 1:
            return i - 1
    return None


def _insert_batch(
    connection: Any, source: int, ids: range, series_count: int, rng: random.Random
) -> None:
    items, signals, errors, matches, origins, triage, decisions, stacks = (
        [], [], [], [], [], [], [], []
    )  # fmt: skip
    for i in ids:
        items.append(
            {
                "id": i, "source_id": source, "scan_id": 1,
                **path_values(item_path(i)), "size": 100_000 + i % 5000,
                "mtime": 1.7e9 + i, "media_type": "image/jpeg", "kind": "image",
                "width": 1024, "height": 768, "orientation": 1,
            }
        )  # fmt: skip
        key = i.to_bytes(8, "little")
        for kind, value in (
            ("md5", hashlib.md5(key).hexdigest()),
            ("sha1", hashlib.sha1(key).hexdigest()),
            ("sha256", hashlib.sha256(key).hexdigest()),
        ):
            signals.append({"item_id": i, "kind": kind, "value": value, "quality": None})
        signals.append(
            {"item_id": i, "kind": "pdq", "value": f"{rng.getrandbits(256):064x}", "quality": 90}
        )
        if i % 100 == 0:
            errors.append({"item_id": i, "stage": "decode", "reason": "bench: truncated"})
        if i % 50 == 1:
            matches.append(
                {
                    "item_id": i, "bank": "bench-bank", "entry_id": i, "external_id": f"E-{i}",
                    "signal": "md5", "distance": 0, "transform": "original", "allow": False,
                    "category": "test-category-1", "series": None, "victim_identified": None,
                    "matched_at": WHEN,
                }
            )  # fmt: skip
        if i % 10 < 3:
            origins.append(
                {
                    "item_id": i, "verdict": "inconclusive", "score": 0.5,
                    "reasons": '["no evidence of origin found"]', "evidence": "[]",
                    "prompts": None, "examiner": "bench", "examined_at": WHEN,
                }
            )  # fmt: skip
        in_series = (i - 1) // SERIES_SIZE + 1 if (i - 1) // SERIES_SIZE < series_count else None
        stack = _stack_of(i) if in_series is None else None
        if stack == i:
            stacks.append(
                {
                    "id": i, "representative_item_id": i, "size": 2, "score": float(i % 100),
                    "reasons": '["bench stack"]',
                }
            )  # fmt: skip
        triage.append(
            {
                "item_id": i, "stack_id": stack, "series_id": in_series,
                "score": float(i % 100), "reasons": '["unmatched: in no bank (+20)"]',
            }
        )  # fmt: skip
        if i % 100 < 3:
            decisions.append(
                {
                    "item_id": i, "account_id": 1, "category": "1",
                    "origin": "camera", "series": None, "victim_identified": "unknown",
                    "notes": "", "viewed_unblurred": i % 2 == 0, "decided_at": WHEN,
                }
            )  # fmt: skip
    connection.execute(insert(Item), items)
    for table, rows in (
        (Signal, signals),
        (ItemErrorRow, errors),
        (Match, matches),
        (OriginRow, origins),
        (StackRow, stacks),
        (ItemTriageRow, triage),
        (DecisionRow, decisions),
    ):
        if rows:
            connection.execute(insert(table), rows)
