"""Accounts, sign-in and sessions: Argon2id hashes, refusals, the brake on guessing,
timeouts, revocation, the audit trail, and the ``user`` and ``audit`` commands."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import select, text

from clearsight.cli import cli
from clearsight.errors import CaseStoreError, UserError
from clearsight.review.accounts import AccountBook, Refusal, Role
from clearsight.review.audit import AuditAction
from clearsight.review.login_sessions import (
    LoginOutcome,
    LoginSessions,
    SessionPolicy,
    ThrottleReason,
    token_hash,
)
from clearsight.store.engines import utc_now
from clearsight.store.review_models import AccountRow
from clearsight.store.sql import SqlCaseStore, engine_of
from tests.conftest import empty_postgres, run_cli

PASSWORD = "plum-harbour-violet-42"
OTHER_PASSWORD = "copper-lantern-meadow-17"
ACTOR = "cli:tester"
# Argon2id with small costs: the tests sign in dozens of times.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def book(case_store: SqlCaseStore) -> AccountBook:
    return case_store.accounts(hasher=FAST)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(case_store: SqlCaseStore, book: AccountBook, clock: Clock) -> LoginSessions:
    return case_store.login_sessions(book, clock=clock)


def _password_hash(store: SqlCaseStore, name: str) -> str:
    with engine_of(store).connect() as connection:
        found = connection.scalar(select(AccountRow.password_hash).where(AccountRow.name == name))
    assert found is not None
    return found


def _audit_table_text(store: SqlCaseStore) -> str:
    with engine_of(store).connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit_log")).all()
    return "\n".join(repr(tuple(row)) for row in rows)


# Accounts


def test_passwords_are_kept_as_argon2id_hashes(case_store: SqlCaseStore) -> None:
    book = case_store.accounts()  # the real costs, once
    account = book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    stored = _password_hash(case_store, "ana.lima")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert account.role is Role.REVIEWER and not account.disabled
    assert book.authenticate("ana.lima", PASSWORD) == account


def test_wrong_password_unknown_name_and_disabled_account_all_refuse(book: AccountBook) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    assert book.authenticate("ana.lima", PASSWORD) is not None
    assert book.authenticate("ana.lima", OTHER_PASSWORD) is None
    assert book.authenticate("Ana.Lima", PASSWORD) is None
    assert book.authenticate("nobody", PASSWORD) is None
    assert book.authenticate("ana.lima", "") is None
    assert book.check("ana.lima", OTHER_PASSWORD) is Refusal.WRONG_PASSWORD
    assert book.check("nobody", PASSWORD) is Refusal.UNKNOWN_ACCOUNT

    book.disable("ana.lima", actor=ACTOR)
    assert book.authenticate("ana.lima", PASSWORD) is None
    assert book.check("ana.lima", PASSWORD) is Refusal.DISABLED
    book.enable("ana.lima", actor=ACTOR)
    assert book.authenticate("ana.lima", PASSWORD) is not None


def test_a_hash_made_with_old_costs_is_replaced_at_the_next_good_sign_in(
    case_store: SqlCaseStore, book: AccountBook
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    cheap = _password_hash(case_store, "ana.lima")
    current = case_store.accounts()  # argon2-cffi's default costs
    assert current.authenticate("ana.lima", OTHER_PASSWORD) is None
    assert _password_hash(case_store, "ana.lima") == cheap  # a wrong password changes nothing
    assert current.authenticate("ana.lima", PASSWORD) is not None
    rehashed = _password_hash(case_store, "ana.lima")
    assert rehashed != cheap and rehashed.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(rehashed)
    assert current.authenticate("ana.lima", PASSWORD) is not None


@pytest.mark.parametrize("name", ["", "a" * 81, "has space", "semi;colon", "ünï", "new\nline"])
def test_bad_names_are_refused(book: AccountBook, name: str) -> None:
    with pytest.raises(UserError, match="invalid account name"):
        book.add(name, Role.REVIEWER, PASSWORD, actor=ACTOR)


def test_good_names_of_every_allowed_character(book: AccountBook) -> None:
    for name in ("a", "ana.lima@unit-7", "A_B.c-d@e", "x" * 80):
        book.add(name, Role.AUDITOR, PASSWORD, actor=ACTOR)
    assert len(book.list()) == 4


def test_short_passwords_and_duplicate_names_are_refused_without_repeating_the_password(
    book: AccountBook,
) -> None:
    with pytest.raises(UserError, match="at least 12") as short:
        book.add("ana.lima", Role.REVIEWER, "eleven-char", actor=ACTOR)
    assert "eleven-char" not in str(short.value)
    with pytest.raises(UserError, match="white space"):
        book.add("ana.lima", Role.REVIEWER, " " * 14, actor=ACTOR)
    with pytest.raises(UserError, match="unknown role"):
        book.add("ana.lima", "owner", PASSWORD, actor=ACTOR)  # type: ignore[arg-type]
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    with pytest.raises(UserError, match="already exists") as twice:
        book.add("ana.lima", Role.ADMIN, OTHER_PASSWORD, actor=ACTOR)
    assert OTHER_PASSWORD not in str(twice.value)
    with pytest.raises(UserError, match="at least 12"):
        book.reset_password("ana.lima", "too-short", actor=ACTOR)
    with pytest.raises(UserError, match="no account"):
        book.disable("nobody", actor=ACTOR)


def test_list_and_get(book: AccountBook) -> None:
    book.add("zoe", Role.ADMIN, PASSWORD, actor=ACTOR)
    book.add("amir", Role.SUPERVISOR, PASSWORD, actor=ACTOR)
    assert [(a.name, a.role) for a in book.list()] == [
        ("amir", Role.SUPERVISOR),
        ("zoe", Role.ADMIN),
    ]
    found = book.get("zoe")
    assert found is not None and book.get_by_id(found.id) == found
    assert book.get("nobody") is None


def test_the_last_active_admin_cannot_be_disabled(
    case_store: SqlCaseStore, book: AccountBook
) -> None:
    book.add("zoe", Role.ADMIN, PASSWORD, actor=ACTOR)
    book.add("amir", Role.SUPERVISOR, PASSWORD, actor=ACTOR)
    with pytest.raises(UserError, match="'zoe' is the last active admin"):
        book.disable("zoe", actor="zoe")
    book.add("ola", Role.ADMIN, PASSWORD, actor=ACTOR)
    book.disable("ola", actor="zoe")
    with pytest.raises(UserError, match="last active admin"):  # a disabled admin is no help
        book.disable("zoe", actor=ACTOR)
    current = book.get("zoe")
    assert current is not None and not current.disabled
    assert book.authenticate("zoe", PASSWORD) is not None
    book.disable("amir", actor="zoe")  # other roles come and go as before
    book.enable("ola", actor="zoe")
    book.disable("zoe", actor="ola")  # with another admin active, anyone may go
    with pytest.raises(UserError, match="'ola' is the last active admin"):
        book.disable("ola", actor="ola")
    book.disable("zoe", actor="ola")  # disabling a disabled admin again changes nothing
    disabled = [
        e.subject
        for e in case_store.audit_log().entries()
        if e.action == AuditAction.USER_DISABLED.value
    ]
    assert disabled == ["account:ola", "account:amir", "account:zoe", "account:zoe"]


def disable_at_once(
    book: AccountBook, name: str, by: str, start: threading.Barrier, refused: list[str]
) -> None:
    start.wait()
    try:
        book.disable(name, actor=by)
    except UserError:
        refused.append(name)


@pytest.mark.postgres
def test_two_admins_disabling_each_other_at_once_leave_one_active() -> None:
    store = SqlCaseStore.open_url(empty_postgres(), "test-case", "test")
    try:
        book = store.accounts(hasher=FAST)
        for name in ("zoe", "ola"):
            book.add(name, Role.ADMIN, PASSWORD, actor=ACTOR)
        for _ in range(5):
            start = threading.Barrier(2)
            refused: list[str] = []

            threads = [
                threading.Thread(target=disable_at_once, args=(book, name, by, start, refused))
                for name, by in (("zoe", "ola"), ("ola", "zoe"))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            active = [a.name for a in book.list() if a.role is Role.ADMIN and not a.disabled]
            assert len(refused) == 1 and len(active) == 1
            (gone,) = {"zoe", "ola"} - set(active)
            book.enable(gone, actor=ACTOR)
    finally:
        store.close()


def test_every_change_is_audited_with_its_actor_and_never_the_password(
    case_store: SqlCaseStore, book: AccountBook
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor="cli:alpha")
    book.disable("ana.lima", actor="cli:beta")
    book.enable("ana.lima", actor="cli:beta")
    book.reset_password("ana.lima", OTHER_PASSWORD, actor="cli:gamma")
    log = case_store.audit_log()
    entries = log.entries()
    assert [(e.actor, e.action, e.subject) for e in entries] == [
        ("cli:alpha", AuditAction.USER_ADDED, "account:ana.lima"),
        ("cli:beta", AuditAction.USER_DISABLED, "account:ana.lima"),
        ("cli:beta", AuditAction.USER_ENABLED, "account:ana.lima"),
        ("cli:gamma", AuditAction.PASSWORD_RESET, "account:ana.lima"),
    ]
    assert entries[0].detail == {"role": "reviewer"}
    assert log.verify().intact
    table = _audit_table_text(case_store)
    stored = _password_hash(case_store, "ana.lima")
    for secret in (PASSWORD, OTHER_PASSWORD, stored, "argon2"):
        assert secret not in table


def test_a_change_that_fails_writes_no_audit_entry(
    case_store: SqlCaseStore, book: AccountBook
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    with pytest.raises(UserError):
        book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    with pytest.raises(UserError):
        book.enable("nobody", actor=ACTOR)
    assert len(case_store.audit_log().entries()) == 1


# Sessions


def test_a_session_is_found_by_its_token_and_only_its_hash_is_stored(
    case_store: SqlCaseStore, book: AccountBook, sessions: LoginSessions
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    result = sessions.login("ana.lima", PASSWORD, "192.0.2.10")
    assert result.outcome is LoginOutcome.SIGNED_IN and result.issued is not None
    issued = result.issued
    assert len(issued.token) >= 43 and issued.csrf_token != issued.token
    with engine_of(case_store).connect() as connection:
        stored = connection.execute(text("SELECT * FROM login_sessions")).one()
    assert stored.token_hash == token_hash(issued.token)
    assert issued.token not in repr(tuple(stored))
    found = sessions.lookup(issued.token)
    assert found is not None and found.account.name == "ana.lima"
    assert found.csrf_matches(issued.csrf_token) and not found.csrf_matches("forged")
    assert sessions.lookup(issued.token + "x") is None
    assert sessions.lookup(token_hash(issued.token)) is None  # the stored hash is no key

    second = sessions.login("ana.lima", PASSWORD, "192.0.2.10").issued
    assert second is not None and second.token != issued.token
    assert second.csrf_token != issued.csrf_token


def test_logout_revokes_the_session_and_is_audited(
    case_store: SqlCaseStore, book: AccountBook, sessions: LoginSessions
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    issued = sessions.login("ana.lima", PASSWORD, "192.0.2.10").issued
    assert issued is not None
    assert sessions.revoke(issued.token)
    assert sessions.lookup(issued.token) is None
    assert not sessions.revoke(issued.token)
    actions = [(e.actor, e.action, e.detail) for e in case_store.audit_log().entries()]
    assert actions[-2:] == [
        ("ana.lima", AuditAction.LOGIN, {"address": "192.0.2.10", "session": issued.id}),
        ("ana.lima", AuditAction.LOGOUT, {"session": issued.id}),
    ]


def test_an_idle_session_expires_and_use_keeps_it_alive(
    book: AccountBook, sessions: LoginSessions, clock: Clock
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    issued = sessions.login("ana.lima", PASSWORD, "192.0.2.10").issued
    assert issued is not None
    for _ in range(4):  # two hours of use, a request every 29 minutes
        clock.advance(minutes=29)
        assert sessions.lookup(issued.token) is not None
    clock.advance(minutes=30)
    assert sessions.lookup(issued.token) is None


def test_a_session_ends_at_its_absolute_limit_however_busy(
    case_store: SqlCaseStore, book: AccountBook, clock: Clock
) -> None:
    policy = SessionPolicy(idle=timedelta(minutes=10), absolute=timedelta(hours=1))
    sessions = case_store.login_sessions(book, policy, clock=clock)
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    issued = sessions.login("ana.lima", PASSWORD, "192.0.2.10").issued
    assert issued is not None and issued.expires_at == clock.now + timedelta(hours=1)
    for _ in range(7):
        clock.advance(minutes=8)
        assert sessions.lookup(issued.token) is not None
    clock.advance(minutes=4)  # 60 minutes in, 4 since the last request
    assert sessions.lookup(issued.token) is None


def test_the_idle_clock_can_be_read_from_the_database(
    case_store: SqlCaseStore, book: AccountBook
) -> None:
    """With the real clock: a session whose last use is old in the database is over."""
    sessions = case_store.login_sessions(book)
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    issued = sessions.login("ana.lima", PASSWORD, "192.0.2.10").issued
    assert issued is not None and sessions.lookup(issued.token) is not None
    with engine_of(case_store).begin() as connection:
        connection.execute(
            text("UPDATE login_sessions SET last_seen_at = :at"),
            {"at": utc_now() - timedelta(minutes=31)},
        )
    assert sessions.lookup(issued.token) is None


def test_resetting_a_password_or_disabling_signs_the_account_out(
    book: AccountBook, sessions: LoginSessions
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    book.add("amir", Role.SUPERVISOR, PASSWORD, actor=ACTOR)
    first = sessions.login("ana.lima", PASSWORD, "192.0.2.10").issued
    second = sessions.login("ana.lima", PASSWORD, "192.0.2.11").issued
    others = sessions.login("amir", PASSWORD, "192.0.2.12").issued
    assert first and second and others

    book.reset_password("ana.lima", OTHER_PASSWORD, actor=ACTOR)
    assert sessions.lookup(first.token) is None and sessions.lookup(second.token) is None
    assert sessions.lookup(others.token) is not None
    assert sessions.login("ana.lima", PASSWORD, "192.0.2.10").outcome is LoginOutcome.REFUSED
    fresh = sessions.login("ana.lima", OTHER_PASSWORD, "192.0.2.10").issued
    assert fresh is not None and sessions.lookup(fresh.token) is not None

    book.disable("ana.lima", actor=ACTOR)
    assert sessions.lookup(fresh.token) is None
    assert sessions.login("ana.lima", OTHER_PASSWORD, "192.0.2.10").outcome is (
        LoginOutcome.REFUSED
    )


def test_a_session_of_a_disabled_account_is_refused_even_if_not_revoked(
    case_store: SqlCaseStore, book: AccountBook, sessions: LoginSessions
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    issued = sessions.login("ana.lima", PASSWORD, "192.0.2.10").issued
    assert issued is not None
    with engine_of(case_store).begin() as connection:
        connection.execute(text("UPDATE accounts SET disabled = :yes"), {"yes": True})
    assert sessions.lookup(issued.token) is None


# The brake on guessing


def test_the_sixth_failure_for_a_name_is_throttled_and_not_before(
    book: AccountBook, sessions: LoginSessions, clock: Clock
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    for attempt in range(5):
        clock.advance(seconds=10)
        outcome = sessions.login("ana.lima", f"guess-number-{attempt}", "192.0.2.66").outcome
        assert outcome is LoginOutcome.REFUSED, attempt
    clock.advance(seconds=10)
    throttled = sessions.login("ana.lima", PASSWORD, "192.0.2.10")  # even the right one
    assert throttled.outcome is LoginOutcome.THROTTLED and throttled.issued is None
    # The first failure leaves the 15-minute window 14 m 10 s from now.
    assert throttled.retry_after == timedelta(minutes=14, seconds=10)
    # Other names are not held up by this one's failures.
    book.add("amir", Role.SUPERVISOR, PASSWORD, actor=ACTOR)
    assert sessions.login("amir", PASSWORD, "192.0.2.66").outcome is LoginOutcome.SIGNED_IN

    clock.advance(minutes=14, seconds=9)
    assert sessions.login("ana.lima", PASSWORD, "192.0.2.10").outcome is LoginOutcome.THROTTLED
    clock.advance(seconds=1)
    assert sessions.login("ana.lima", PASSWORD, "192.0.2.10").outcome is LoginOutcome.SIGNED_IN


def test_throttled_tries_do_not_extend_the_lockout(
    book: AccountBook, sessions: LoginSessions, clock: Clock
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    for attempt in range(5):
        sessions.login("ana.lima", f"guess-number-{attempt}", "192.0.2.66")
    for _ in range(10):
        clock.advance(minutes=1)
        assert sessions.login("ana.lima", "still-guessing-x", "192.0.2.66").outcome is (
            LoginOutcome.THROTTLED
        )
    clock.advance(minutes=5)
    assert sessions.login("ana.lima", PASSWORD, "192.0.2.66").outcome is LoginOutcome.SIGNED_IN


def test_a_good_sign_in_clears_the_names_count(
    book: AccountBook, sessions: LoginSessions, clock: Clock
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    for round_ in range(2):
        for attempt in range(4):
            clock.advance(seconds=5)
            outcome = sessions.login("ana.lima", f"typo-{round_}-{attempt}-xyz", "192.0.2.10")
            assert outcome.outcome is LoginOutcome.REFUSED
        clock.advance(seconds=5)
        assert sessions.login("ana.lima", PASSWORD, "192.0.2.10").outcome is (
            LoginOutcome.SIGNED_IN
        )


def test_an_address_is_throttled_after_twenty_failures_across_names(
    case_store: SqlCaseStore, book: AccountBook, sessions: LoginSessions, clock: Clock
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    for attempt in range(20):
        clock.advance(seconds=1)
        outcome = sessions.login(f"name-{attempt}", "wrong-password-x", "198.51.100.7").outcome
        assert outcome is LoginOutcome.REFUSED, attempt
    refused = sessions.login("ana.lima", PASSWORD, "198.51.100.7")
    assert refused.outcome is LoginOutcome.THROTTLED
    # A good sign-in elsewhere does not reopen the address, nor is the name blocked.
    assert sessions.login("ana.lima", PASSWORD, "198.51.100.8").outcome is LoginOutcome.SIGNED_IN
    assert sessions.login("ana.lima", PASSWORD, "198.51.100.7").outcome is LoginOutcome.THROTTLED
    last = case_store.audit_log().entries(limit=1, newest_first=True)[0]
    assert last.action == AuditAction.LOGIN_FAILED
    assert last.detail == {"address": "198.51.100.7", "reason": ThrottleReason.ADDRESS.value}
    clock.advance(minutes=15)
    assert sessions.login("ana.lima", PASSWORD, "198.51.100.7").outcome is LoginOutcome.SIGNED_IN


def test_failed_sign_ins_are_audited_with_a_reason_and_never_the_password(
    case_store: SqlCaseStore, book: AccountBook, sessions: LoginSessions
) -> None:
    book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
    book.disable("ana.lima", actor=ACTOR)
    book.enable("ana.lima", actor=ACTOR)
    sessions.login("ana.lima", OTHER_PASSWORD, "192.0.2.10")
    sessions.login("nobody", OTHER_PASSWORD, "192.0.2.10")
    sessions.login("ana.lima", PASSWORD, "192.0.2.10")
    entries = case_store.audit_log().entries(after=3)
    assert [(e.actor, e.action, e.detail.get("reason")) for e in entries] == [
        ("ana.lima", AuditAction.LOGIN_FAILED, Refusal.WRONG_PASSWORD.value),
        ("nobody", AuditAction.LOGIN_FAILED, Refusal.UNKNOWN_ACCOUNT.value),
        ("ana.lima", AuditAction.LOGIN, None),
    ]
    table = _audit_table_text(case_store)
    assert PASSWORD not in table and OTHER_PASSWORD not in table
    with engine_of(case_store).connect() as connection:
        attempts = connection.execute(text("SELECT * FROM login_attempts")).all()
    assert OTHER_PASSWORD not in repr(attempts) and PASSWORD not in repr(attempts)


def test_prune_forgets_attempts_older_than_the_window(
    book: AccountBook, sessions: LoginSessions, clock: Clock
) -> None:
    sessions.login("someone", "wrong-password-x", "192.0.2.10")
    sessions.login("someone-else", "wrong-password-x", "192.0.2.10")
    assert sessions.prune() == 0
    clock.advance(minutes=16)
    assert sessions.prune() == 2


# The commands


@pytest.fixture
def case(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "case"
    SqlCaseStore.open_folder(folder, "test").close()
    yield folder


def test_user_commands_manage_accounts_without_showing_the_password(case: Path) -> None:
    added = run_cli(
        "user",
        "add",
        "--case",
        case,
        "ana.lima",
        "--role",
        "reviewer",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "ana.lima" in added.stdout
    listed = run_cli("user", "list", "--case", case, "--json")
    assert listed.returncode == 0, listed.stderr
    [account] = json.loads(listed.stdout)
    assert account["name"] == "ana.lima" and account["role"] == "reviewer"
    assert account["disabled"] is False
    assert set(account) == {"name", "role", "disabled", "created_at", "password_changed_at"}
    outputs = [added, listed]
    outputs.append(run_cli("user", "disable", "--case", case, "ana.lima"))
    outputs.append(run_cli("user", "list", "--case", case))
    assert "disabled" in outputs[-1].stdout
    outputs.append(run_cli("user", "enable", "--case", case, "ana.lima"))
    outputs.append(
        run_cli(
            "user",
            "reset",
            "--case",
            case,
            "ana.lima",
            "--password-stdin",
            input=OTHER_PASSWORD + "\r\n",
        )
    )
    outputs.append(run_cli("audit", "list", "--case", case))
    outputs.append(run_cli("audit", "list", "--case", case, "--json"))
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    for output in outputs:
        assert PASSWORD not in output.stdout + output.stderr
        assert OTHER_PASSWORD not in output.stdout + output.stderr

    store = SqlCaseStore.open_folder(case, "test")
    try:
        book = store.accounts()
        assert book.authenticate("ana.lima", OTHER_PASSWORD) is not None  # \r\n was cut
        entries = store.audit_log().entries()
        assert [e.action for e in entries] == [
            AuditAction.USER_ADDED,
            AuditAction.USER_DISABLED,
            AuditAction.USER_ENABLED,
            AuditAction.PASSWORD_RESET,
        ]
        assert all(e.actor.startswith("cli:") and len(e.actor) > 4 for e in entries)
        assert PASSWORD not in _audit_table_text(store)
    finally:
        store.close()
    lines = [json.loads(line) for line in outputs[-1].stdout.splitlines()]
    assert [line["action"] for line in lines] == [e.action for e in entries]


def test_user_add_refuses_a_short_password_with_exit_2(case: Path) -> None:
    short = "short-pw"
    result = run_cli(
        "user",
        "add",
        "--case",
        case,
        "ana.lima",
        "--role",
        "admin",
        "--password-stdin",
        input=short + "\n",
    )
    assert result.returncode == 2
    assert "at least 12" in result.stderr
    assert short not in result.stdout + result.stderr
    empty = run_cli(
        "user", "add", "--case", case, "ana.lima", "--role", "admin", "--password-stdin", input=""
    )
    assert empty.returncode == 2 and "no password" in empty.stderr
    listed = run_cli("user", "list", "--case", case, "--json")
    assert json.loads(listed.stdout) == []


def test_user_commands_refuse_mistakes_with_exit_2(case: Path, tmp_path: Path) -> None:
    assert run_cli("user", "disable", "--case", case, "nobody").returncode == 2
    reset = run_cli("user", "reset", "--case", case, "nobody", "--password-stdin", input=PASSWORD)
    assert reset.returncode == 2 and "no account" in reset.stderr
    bad_name = run_cli(
        "user",
        "add",
        "--case",
        case,
        "two words",
        "--role",
        "admin",
        "--password-stdin",
        input=PASSWORD,
    )
    assert bad_name.returncode == 2 and "invalid account name" in bad_name.stderr
    bad_role = run_cli("user", "add", "--case", case, "ana", "--role", "owner")
    assert bad_role.returncode == 2
    assert run_cli("user", "list").returncode == 2
    both = run_cli("user", "list", "--case", case, "--database", "postgresql://x@localhost/y")
    assert both.returncode == 2 and "not both" in both.stderr
    missing = run_cli("user", "list", "--case", tmp_path / "no-case")
    assert missing.returncode == 2 and "not a clearsight case" in missing.stderr
    twice = [
        run_cli(
            "user",
            "add",
            "--case",
            case,
            "ana",
            "--role",
            "admin",
            "--password-stdin",
            input=PASSWORD,
        )
        for _ in range(2)
    ]
    assert [t.returncode for t in twice] == [0, 2] and "already exists" in twice[1].stderr
    last = run_cli("user", "disable", "--case", case, "ana")
    assert last.returncode == 2
    assert last.stderr.strip().splitlines() == [
        "clearsight: error: 'ana' is the last active admin account and cannot be disabled: "
        "add or enable another admin first"
    ]
    listed = json.loads(run_cli("user", "list", "--case", case, "--json").stdout)
    assert [a["disabled"] for a in listed] == [False]


def test_user_add_prompts_twice_with_hidden_input(case: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["user", "add", "--case", str(case), "ana.lima", "--role", "reviewer"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert "Repeat the password" in result.output
    mismatch = runner.invoke(
        cli,
        ["user", "add", "--case", str(case), "amir", "--role", "reviewer"],
        input=f"{PASSWORD}\n{OTHER_PASSWORD}\n",
    )
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output
    store = SqlCaseStore.open_folder(case, "test")
    try:
        assert [a.name for a in store.accounts().list()] == ["ana.lima"]
    finally:
        store.close()


def test_audit_verify_checks_a_recorded_head(case: Path) -> None:
    store = SqlCaseStore.open_folder(case, "test")
    log = store.audit_log()
    for i in range(3):
        log.append("cli:tester", AuditAction.SETTING_CHANGED, f"setting:{i}", {"value": i})
    head = log.head()
    store.close()
    good = run_cli("audit", "verify", "--case", case, "--head", head.upper())
    assert good.returncode == 0 and head in good.stdout
    report = run_cli("audit", "verify", "--case", case, "--json")
    assert json.loads(report.stdout) == {
        "intact": True,
        "entries": 3,
        "head": head,
        "broken_at": None,
        "problem": None,
    }
    other = run_cli("audit", "verify", "--case", case, "--head", "ab" * 32)
    assert other.returncode == 1
    assert other.stdout.startswith("audit log broken at entry 4: the chain ends at")
    assert run_cli("audit", "verify", "--case", case, "--head", "xyz").returncode == 2
    newest = run_cli("audit", "list", "--case", case, "--limit", "2")
    assert [line.split()[0] for line in newest.stdout.splitlines()] == ["2", "3"]


@pytest.mark.postgres
def test_user_and_audit_commands_on_a_postgresql_case() -> None:
    url = empty_postgres()
    SqlCaseStore.open_url(url, "test-case", "test").close()
    # A bare postgresql:// URL, as people write it, means psycopg 3.
    bare = url.replace("postgresql+psycopg://", "postgresql://")
    added = run_cli(
        "user",
        "add",
        "--database",
        bare,
        "ana.lima",
        "--role",
        "auditor",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    listed = run_cli("user", "list", env={"CLEARSIGHT_DATABASE": bare})
    assert listed.returncode == 0 and "auditor" in listed.stdout
    verified = run_cli("audit", "verify", "--database", bare)
    assert verified.returncode == 0 and "1 entry," in verified.stdout
    assert "clearsight-test" not in added.stderr + listed.stderr + verified.stderr


def test_a_database_error_while_writing_a_hash_does_not_quote_it(tmp_path: Path) -> None:
    store = SqlCaseStore.open_folder(tmp_path / "case", "test")
    try:
        book = store.accounts(hasher=FAST)
        book.add("ana.lima", Role.REVIEWER, PASSWORD, actor=ACTOR)
        with engine_of(store).begin() as connection:
            connection.execute(
                text(
                    "CREATE TRIGGER frozen BEFORE UPDATE ON accounts "
                    "BEGIN SELECT RAISE(ABORT, 'accounts are frozen'); END"
                )
            )
        with pytest.raises(CaseStoreError, match="accounts are frozen") as failed:
            book.reset_password("ana.lima", OTHER_PASSWORD, actor=ACTOR)
        assert "argon2" not in str(failed.value)
        assert failed.value.__context__ is None and failed.value.__cause__ is None
    finally:
        store.close()
