"""The audit log: appends chain, and verify names the first edited or deleted entry."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from clearsight.review.audit import GENESIS, AuditAction, AuditLog
from clearsight.store.sql import SqlCaseStore, engine_of
from tests.conftest import run_cli


@pytest.fixture
def audit_log(case_store: SqlCaseStore) -> Iterator[AuditLog]:
    yield case_store.audit_log()


def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append(f"user{i % 3}", AuditAction.DECISION, f"item:{i}", {"category": str(i % 6)})


def test_an_untouched_chain_verifies_and_links_each_entry_to_the_last(audit_log: AuditLog) -> None:
    assert audit_log.verify().intact and audit_log.head() == GENESIS
    _fill(audit_log, 5)
    entries = audit_log.entries()
    assert [e.id for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    check = audit_log.verify(expected_head=audit_log.head())
    assert check.intact and check.entries == 5 and check.head == entries[-1].hash


@pytest.mark.parametrize(
    ("tamper", "broken_at"),
    [
        ('UPDATE audit_log SET detail = \'{"category":"0"}\' WHERE id = 3', 3),
        ("UPDATE audit_log SET actor = 'someone-else' WHERE id = 2", 2),
        ("DELETE FROM audit_log WHERE id = 4", 4),
    ],
)
def test_an_edited_or_deleted_entry_is_named(
    audit_log: AuditLog, case_store: SqlCaseStore, tamper: str, broken_at: int
) -> None:
    _fill(audit_log, 6)
    with engine_of(case_store).begin() as connection:
        connection.execute(text(tamper))
    check = audit_log.verify()
    assert not check.intact
    assert check.broken_at == broken_at
    assert check.entries == broken_at - 1


def test_a_renumbered_deletion_still_breaks_the_chain(
    audit_log: AuditLog, case_store: SqlCaseStore
) -> None:
    _fill(audit_log, 5)
    with engine_of(case_store).begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = 2"))
        for old in (3, 4, 5):
            connection.execute(
                text("UPDATE audit_log SET id = :new WHERE id = :old"), {"new": old - 1, "old": old}
            )
    check = audit_log.verify()
    assert check.broken_at == 2


def test_entries_removed_from_the_end_are_caught_against_a_recorded_head(
    audit_log: AuditLog, case_store: SqlCaseStore
) -> None:
    _fill(audit_log, 4)
    head = audit_log.head()
    with engine_of(case_store).begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = 4"))
    assert audit_log.verify().intact  # consistent on its own
    check = audit_log.verify(expected_head=head)
    assert not check.intact and check.broken_at == 4


def test_concurrent_appends_never_fork_the_chain(audit_log: AuditLog) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                audit_log.append(f"w{n}", AuditAction.REVEAL, f"item:{i}")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    check = audit_log.verify()
    assert check.intact and check.entries == 60


def test_audit_verify_command_exits_nonzero_and_names_the_entry(tmp_path: Path) -> None:
    case = tmp_path / "case"
    store = SqlCaseStore.open_folder(case, "test")
    log = store.audit_log()
    _fill(log, 3)
    ok = run_cli("audit", "verify", "--case", case)
    assert ok.returncode == 0, ok.stderr
    assert "3 entries" in ok.stdout
    with engine_of(store).begin() as connection:
        connection.execute(text("UPDATE audit_log SET subject = 'item:99' WHERE id = 2"))
    store.close()
    broken = run_cli("audit", "verify", "--case", case)
    assert broken.returncode == 1
    assert "entry 2" in broken.stdout + broken.stderr
