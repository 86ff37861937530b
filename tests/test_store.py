"""The case store, on SQLite and on PostgreSQL: the same contract on both."""

from __future__ import annotations

from dataclasses import replace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from clearsight.media.sniff import MediaKind
from clearsight.signals.digests import digest_bytes
from clearsight.signals.pdq import PdqHash
from clearsight.store import review_models
from clearsight.store.interface import (
    ErrorStage,
    EvidenceRecord,
    ItemError,
    ItemOrigin,
    OriginSummary,
    ScannedFile,
    ScanTally,
    Verdict,
)
from clearsight.store.models import Base
from clearsight.store.sql import SqlCaseStore, engine_of

PICTURE = ScannedFile(
    path="a/picture.jpg",
    media_type="image/jpeg",
    kind=MediaKind.IMAGE,
    size=5,
    mtime=1700000000.5,
    width=640,
    height=480,
    orientation=1,
    digests=digest_bytes(b"hello"),
    pdq=PdqHash("f" * 64, 90),
)
BROKEN = ScannedFile(
    path="b/broken.png",
    media_type="image/png",
    kind=MediaKind.IMAGE,
    size=3,
    digests=digest_bytes(b"bad"),
    errors=(ItemError(ErrorStage.DECODE, "truncated"),),
)


def test_schema_from_migrations_matches_the_models(case_store: SqlCaseStore) -> None:
    accounts = review_models.AccountRow
    assert Base.metadata.tables[accounts.__tablename__] is accounts.__table__
    with engine_of(case_store).connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": _not_sqlite_legacy_unique}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def _not_sqlite_legacy_unique(
    item: object, name: str | None, kind: str, reflected: bool, _compare_to: object
) -> bool:
    """SQLite keeps the unique (source_id, path) and (case_id, root) of migration 0001
    (see 0010 and 0011): dropping them would mean rebuilding ``items`` and ``sources``.
    They are the only differences allowed."""
    legacy = ("uq_items_source_path", "uq_sources_case_root")
    return not (reflected and kind == "unique_constraint" and name in legacy)


def test_records_and_reads_back_items(case_store: SqlCaseStore) -> None:
    source = case_store.open_source("/evidence/drive-1")
    assert case_store.open_source("/evidence/drive-1") == source
    scan = case_store.start_scan(["/evidence/drive-1"])
    case_store.record_files(scan, [(source, BROKEN), (source, PICTURE)])
    case_store.finish_scan(scan, ScanTally(2, 1, 1, 0), completed=True)

    assert case_store.recorded_paths(source) == {"a/picture.jpg", "b/broken.png"}
    rows = list(case_store.iter_items())
    assert [row.path for row in rows] == ["a/picture.jpg", "b/broken.png"]
    picture, broken = rows
    assert picture.md5 == "5d41402abc4b2a76b9719d911017c592"
    assert picture.sha256 == digest_bytes(b"hello").sha256
    assert (picture.pdq, picture.pdq_quality, picture.error) == ("f" * 64, 90, None)
    assert (picture.width, picture.height, picture.kind) == (640, 480, "image")
    assert broken.pdq is None
    assert broken.error == "decode: truncated"


AI_ORIGIN = ItemOrigin(
    OriginSummary(Verdict.AI_GENERATED, 0.98, ("strong ai: generator-metadata: test record",)),
    (EvidenceRecord("generator-metadata", "ai", "strong", "test record"),),
    "origin-test",
    prompts=("a lighthouse at dusk",),
)


def test_origins_are_recorded_replaced_and_read_back(case_store: SqlCaseStore) -> None:
    source = case_store.open_source("/evidence")
    scan = case_store.start_scan(["/evidence"])
    other = replace(PICTURE, path="c/other.jpg")
    case_store.record_files(scan, [(source, replace(PICTURE, origin=AI_ORIGIN)), (source, other)])
    rows = {row.path: row for row in case_store.iter_items()}
    assert rows["a/picture.jpg"].origin == AI_ORIGIN.summary
    assert rows["c/other.jpg"].origin is None
    # The verdict comes back as the enum it went in as, from every reader.
    verdict = rows["a/picture.jpg"].origin.verdict
    assert type(verdict) is Verdict and verdict is Verdict.AI_GENERATED
    (item_id,) = case_store.known_items(range(1, 10)) - set(
        case_store.origin_targets("origin-test", everything=False)
    )
    facts = case_store.item_facts(item_id)
    assert facts is not None and facts.origin is not None
    assert type(facts.origin.verdict) is Verdict and facts.origin.verdict is Verdict.AI_GENERATED

    # Only the unexamined image is a target, until the examiner changes.
    targets = case_store.origin_targets("origin-test", everything=False)
    assert len(targets) == 1
    assert len(case_store.origin_targets("origin-next", everything=False)) == 2
    assert len(case_store.origin_targets("origin-test", everything=True)) == 2

    camera = ItemOrigin(
        OriginSummary(Verdict.CAMERA_ORIGINAL_LIKELY, 0.23, ("moderate camera",)), (), "x"
    )
    every = case_store.origin_targets("origin-test", everything=True)
    case_store.record_origins([(item, camera) for item in every])
    assert {row.origin for row in case_store.iter_items()} == {camera.summary}
    assert case_store.origin_targets("x", everything=False) == []


def test_a_path_is_recorded_once_per_source(case_store: SqlCaseStore) -> None:
    source = case_store.open_source("/evidence/drive-1")
    other = case_store.open_source("/evidence/drive-2")
    scan = case_store.start_scan(["/evidence"])
    case_store.record_files(scan, [(source, PICTURE), (other, PICTURE)])
    with pytest.raises(IntegrityError):
        case_store.record_files(scan, [(source, BROKEN), (source, PICTURE)])
    # The failed batch left nothing behind: it was one transaction.
    assert case_store.recorded_paths(source) == {"a/picture.jpg"}


def test_iter_items_pages_through_many_rows(case_store: SqlCaseStore) -> None:
    source = case_store.open_source("/evidence/many")
    scan = case_store.start_scan(["/evidence/many"])
    files = [
        (source, ScannedFile(path=f"f{i:05d}.txt", media_type="text/plain", kind=MediaKind.OTHER))
        for i in range(4500)
    ]
    case_store.record_files(scan, files)
    paths = [row.path for row in case_store.iter_items()]
    assert paths == sorted(f"f{i:05d}.txt" for i in range(4500))
