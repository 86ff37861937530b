"""A small, fixed, benign case for the export tests, and tests of how exports read it.

The case is made through the store's own calls (scan records, bank matches, origins,
triage) plus review rows written directly, with fixed times, so every export of it is
the same byte for byte. All content is generated: hashes of short strings, neutral
category names, and file names chosen to be hostile to the formats (markup, a
spreadsheet formula, a control character).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from sqlalchemy import insert, text, update

import clearsight.report
from clearsight.errors import UserError
from clearsight.file_paths import display_path
from clearsight.media.sniff import MediaKind
from clearsight.report.case_rows import CaseRows
from clearsight.report.rows import ItemStatus, ReportRow
from clearsight.report.selection import ALL, parse_selection
from clearsight.signals.digests import DigestSet
from clearsight.signals.pdq import PdqHash
from clearsight.store.interface import (
    BankCheck,
    ErrorStage,
    ItemError,
    ItemOrigin,
    MatchRecord,
    MatchView,
    OriginSummary,
    Priority,
    ScannedFile,
    SeriesRecord,
    StackRecord,
    TriageResult,
    Verdict,
)
from clearsight.store.models import Case
from clearsight.store.review_models import AccountRow, DecisionRow, RevealRow
from clearsight.store.sql import SqlCaseStore, engine_of

SOURCE = "/evidence/drive-a"
CASE_NAME = "test-case"
CREATED = datetime(2026, 1, 2, 3, 4, 5)
NOW = datetime(2026, 2, 3, 4, 5, 6)
MARKUP_NAME = "uploads/<img src=x onerror=alert(1)>.png"
FORMULA_NAME = "=cmd|calc\x01.png"

# path, kind, media type, errors, has digests, has a PDQ hash
_FILES = [
    ("holiday/lake.jpg", MediaKind.IMAGE, "image/jpeg", (), True, True),  # 1 exact bank hit
    ("holiday/lake-crop.jpg", MediaKind.IMAGE, "image/jpeg", (), True, True),  # 2 near hit
    ("generated/pattern-01.png", MediaKind.IMAGE, "image/png", (), True, True),  # 3
    ("generated/pattern-02.png", MediaKind.IMAGE, "image/png", (), True, True),  # 4
    (MARKUP_NAME, MediaKind.IMAGE, "image/png", (), True, True),  # 5
    (FORMULA_NAME, MediaKind.IMAGE, "image/png", (), True, True),  # 6
    (
        "broken/damaged.jpg",
        MediaKind.IMAGE,
        "image/jpeg",
        (ItemError(ErrorStage.DECODE, "OSError: image file is truncated"),),
        True,
        False,
    ),  # 7
    (
        "docs/readme.txt",
        MediaKind.OTHER,
        "text/plain",
        (ItemError(ErrorStage.DECODE, "not an image"),),
        True,
        False,
    ),  # 8
    ("icons/logo.png", MediaKind.IMAGE, "image/png", (), True, True),  # 9 allow list
    (
        "unread/locked.jpg",
        MediaKind.IMAGE,
        "image/jpeg",
        (ItemError(ErrorStage.READ, "PermissionError: permission denied"),),
        False,
        False,
    ),  # 10
]


def digests(n: int) -> DigestSet:
    seed = f"test-file-{n}".encode()
    return DigestSet(
        hashlib.md5(seed).hexdigest(),
        hashlib.sha1(seed).hexdigest(),
        hashlib.sha256(seed).hexdigest(),
    )


def pdq(n: int) -> str:
    return hashlib.sha256(f"test-pdq-{n}".encode()).hexdigest()


def build_case(store: SqlCaseStore) -> None:
    """Fill an empty case store with the fixed case (item ids 1-10 in ``_FILES`` order)."""
    source = store.open_source(SOURCE)
    scan = store.start_scan([SOURCE])
    files = []
    for n, (path, kind, media_type, errors, has_digests, has_pdq) in enumerate(_FILES, 1):
        files.append(
            (
                source,
                ScannedFile(
                    path=path,
                    media_type=media_type,
                    kind=kind,
                    size=1000 + n,
                    mtime=1_700_000_000.0 + n,
                    width=640 if has_pdq else None,
                    height=480 if has_pdq else None,
                    digests=digests(n) if has_digests else None,
                    pdq=PdqHash(pdq(n), 90 if n != 6 else 40) if has_pdq else None,
                    errors=errors,
                ),
            )
        )
    store.record_files(scan, files)
    known = MatchView(
        bank="test-bank",
        entry_id=1,
        external_id="EXT-1",
        signal="md5",
        distance=0,
        transform="original",
        allow=False,
        category="test-category-1",
        series="test-series-a",
        victim_identified=False,
    )
    store.record_bank_matches(
        BankCheck("test-bank", "uid-1", 1, 31, False, 10),
        [
            MatchRecord(1, known),
            MatchRecord(2, MatchView(**{**known.__dict__, "signal": "pdq", "distance": 12})),
        ],
        after_item=0,
    )
    benign = MatchView(
        "test-allow-list", 5, "ALLOW-5", "sha256", 0, "original", True, None, None, None
    )
    store.record_bank_matches(
        BankCheck("test-allow-list", "uid-2", 1, 31, True, 10),
        [MatchRecord(9, benign)],
        after_item=0,
    )
    store.record_match_notes([(6, "PDQ quality 40: too weak to match")], after_item=0)
    store.record_origins(
        [
            (
                3,
                ItemOrigin(
                    OriginSummary(Verdict.AI_GENERATED, 0.9, ("strong ai: c2pa: test manifest",)),
                    (),
                    "test",
                ),
            ),
            (
                4,
                ItemOrigin(
                    OriginSummary(
                        Verdict.AI_GENERATED, 0.8, ("moderate ai: xmp: test source type",)
                    ),
                    (),
                    "test",
                ),
            ),
            (
                1,
                ItemOrigin(
                    OriginSummary(Verdict.INCONCLUSIVE, 0.5, ("no evidence of origin found",)),
                    (),
                    "test",
                ),
            ),
        ]
    )
    priorities = {
        1: Priority(20.0, ("matched in test-bank (-20)",)),
        2: Priority(45.0, ("near copy of EXT-1 (+5)",)),
        3: Priority(60.0, ("unmatched: in no bank (+20)",)),
        4: Priority(55.0, ("unmatched: in no bank (+20)",)),
        5: Priority(50.0, ("unmatched: in no bank (+20)",)),
        6: Priority(30.0, ("unmatched: in no bank (+20)",)),
        9: Priority(0.0, ("allow list (-100)",)),
    }
    store.record_triage(
        TriageResult(
            stacks=(StackRecord((1, 2), 1, Priority(45.0, ("stack of 2",))),),
            series=(
                SeriesRecord(
                    "S-1",
                    "test-series-a",
                    False,
                    (1, 2, 3),
                    Priority(60.0, ("series S-1 of 3 items",)),
                ),
                SeriesRecord("S-2", None, None, (4, 5), Priority(55.0, ("series S-2 of 2 items",))),
            ),
            links=(),
            priorities=priorities,
        )
    )
    with engine_of(store).begin() as connection:
        connection.execute(
            update(Case).values(name=CASE_NAME, created_at=CREATED, clearsight_version="0.0.0")
        )
        connection.execute(
            insert(AccountRow),
            [
                _account(1, "reviewer-a", "reviewer"),
                _account(2, "supervisor-b", "supervisor"),
            ],
        )
        connection.execute(
            insert(DecisionRow),
            [
                _decision(
                    1, 2, 1, "test-category-2", "camera", True, series="test-series-a", victim="yes"
                ),
                _decision(2, 3, 1, "test-category-1", "ai-generated", False),
                _decision(3, 4, 1, "test-category-3", "ai-edited", True),
                _decision(
                    4, 4, 2, "test-category-3", "camera", False, notes="second look: <b>camera</b>"
                ),
            ],
        )
        connection.execute(
            insert(RevealRow),
            [
                {
                    "item_id": 2,
                    "account_id": 1,
                    "started_at": datetime(2026, 1, 5, 10, 0),
                    "seconds": 4.0,
                },
                {
                    "item_id": 4,
                    "account_id": 1,
                    "started_at": datetime(2026, 1, 5, 10, 5),
                    "seconds": 3.0,
                },
                {
                    "item_id": 5,
                    "account_id": 2,
                    "started_at": datetime(2026, 1, 5, 10, 9),
                    "seconds": 2.0,
                },
            ],
        )
        if connection.dialect.name == "postgresql":
            # The rows above name their ids, which PostgreSQL's sequences do not see: move
            # them past those ids, so that rows added later (a decision) get fresh ones.
            for table in ("accounts", "decisions"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )


def _account(account_id: int, name: str, role: str) -> dict[str, object]:
    return {
        "id": account_id,
        "name": name,
        "role": role,
        "password_hash": "not-a-hash",
        "created_at": CREATED,
        "password_changed_at": CREATED,
    }


def _decision(
    decision_id: int,
    item_id: int,
    account_id: int,
    category: str,
    origin: str,
    viewed: bool,
    *,
    series: str | None = None,
    victim: str = "unknown",
    notes: str = "",
) -> dict[str, object]:
    return {
        "id": decision_id,
        "item_id": item_id,
        "account_id": account_id,
        "category": category,
        "origin": origin,
        "series": series,
        "victim_identified": victim,
        "notes": notes,
        "viewed_unblurred": viewed,
        "decided_at": datetime(2026, 1, 5, 11, decision_id),
    }


def rows_by_id(store: SqlCaseStore, select: str = "all") -> dict[int, ReportRow]:
    case = CaseRows(store)
    return {row.item_id: row for row in case.rows(case.resolve(parse_selection(select)))}


def test_every_item_comes_once_with_its_id_decisions_and_status(report_case: SqlCaseStore) -> None:
    rows = rows_by_id(report_case)
    assert sorted(rows) == list(range(1, 11))
    assert [rows[i].item.path for i in range(1, 11)] == [display_path(f[0]) for f in _FILES]
    statuses = {i: row.status for i, row in rows.items()}
    assert statuses[1] is statuses[2] is ItemStatus.MATCHED
    assert statuses[9] is ItemStatus.ALLOW_LISTED
    assert statuses[7] is statuses[8] is statuses[10] is ItemStatus.ERROR
    assert statuses[3] is ItemStatus.NEW
    assert [d.id for d in rows[4].decisions] == [3, 4]  # oldest first; the last is current
    assert rows[4].decision is not None and rows[4].decision.reviewer == "supervisor-b"


def test_the_rows_are_the_stores_own_items_with_ids(report_case: SqlCaseStore) -> None:
    case = CaseRows(report_case)
    assert [row.item for row in case.rows(ALL)] == list(report_case.iter_items())
    files = report_case.item_files(range(1, 11))
    assert {row.item_id: row.location for row in case.rows(ALL)} == {
        item_id: file.path for item_id, file in files.items()
    }


def test_pages_and_sources_follow_one_another_in_order(
    report_case: SqlCaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = report_case.open_source("/evidence/drive-b")
    report_case.record_files(
        report_case.start_scan(["/evidence/drive-b"]),
        [(other, ScannedFile(f"b-{n}.png", "image/png", MediaKind.IMAGE, n)) for n in range(4)],
    )
    monkeypatch.setattr("clearsight.report.case_rows.PAGE", 3)
    rows = list(CaseRows(report_case).rows(ALL))
    assert [row.item for row in rows] == list(report_case.iter_items())
    assert len({row.item_id for row in rows}) == 14


def test_whether_a_person_viewed_a_file_is_said_only_on_a_decision(
    report_case: SqlCaseStore,
) -> None:
    rows = rows_by_id(report_case)
    assert rows[2].viewed_by_person is True  # decided after a reveal
    assert rows[4].viewed_by_person is True  # an earlier decision records the view
    assert rows[3].viewed_by_person is False  # decided, never revealed
    assert rows[1].viewed_by_person is False  # nobody decided or looked
    assert rows[5].viewed_by_person is None  # revealed, but no decision says so


def test_a_selection_of_series_or_items_limits_the_rows(report_case: SqlCaseStore) -> None:
    assert sorted(rows_by_id(report_case, "series:S-2")) == [4, 5]
    case = CaseRows(report_case)
    series_ids = case.resolve(parse_selection("series:S-1,S-2")).ids
    assert sorted(rows_by_id(report_case, "series:" + ",".join(map(str, series_ids)))) == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert sorted(rows_by_id(report_case, "items:3,9")) == [3, 9]


@pytest.mark.parametrize("text", ["items:99", "series:S-9", "series:999"])
def test_selecting_what_the_case_lacks_is_a_user_error(
    report_case: SqlCaseStore, text: str
) -> None:
    with pytest.raises(UserError, match="the case has no"):
        CaseRows(report_case).resolve(parse_selection(text))


@pytest.mark.parametrize("text", ["some", "series:", "items:a", "bananas:1"])
def test_a_malformed_selection_is_a_user_error(text: str) -> None:
    with pytest.raises(UserError, match="--select"):
        parse_selection(text)


def test_the_public_surface_is_what_all_names() -> None:
    assert set(clearsight.report.__all__) == {
        "EXPORTING_ROLES", "LOCAL_USER", "CybertipOptions", "ExportPermission",
        "ExportRefused", "ExportRequest", "ExportResult", "IncidentType", "ReportFormat",
        "ReportSource", "Reporter", "RolePermission", "Selection", "Thumbnails",
        "WrittenReport", "case_scheme", "classification_of", "export_report",
        "export_to_file", "parse_selection", "record_export", "write_report",
    }  # fmt: skip
    assert all(hasattr(clearsight.report, name) for name in clearsight.report.__all__)
