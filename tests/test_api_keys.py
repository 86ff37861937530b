"""``clearsight api-key`` and the service's audit log: tokens shown once and kept only
as hashes, roles checked, revocation seen by a running service, changes chained."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from clearsight.banks.service_audit import ServiceAuditLog
from clearsight.banks.store import BankStore

from .api_support import api_service, banks_url, wait_for
from .conftest import postgres_url, run_cli

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_a_token_is_shown_once_and_kept_only_as_its_hash(clearsight_home: Path) -> None:
    made = run_cli("api-key", "add", "pipeline", "--role", "matcher,hasher", "--json")
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert set(shown) == {"name", "roles", "token"}
    assert shown["roles"] == ["hasher", "matcher"] and shown["token"].startswith("csk_")
    database = (clearsight_home / "banks.sqlite").read_bytes()
    assert shown["token"].encode() not in database
    assert shown["token"].removeprefix("csk_").encode() not in database
    listed = run_cli("api-key", "list", "--json")
    assert shown["token"] not in listed.stdout
    assert [key["name"] for key in json.loads(listed.stdout)] == ["pipeline"]
    text = run_cli("api-key", "add", "desk", "--role", "curator")
    assert text.returncode == 0 and text.stdout.splitlines()[1].startswith("csk_")


def test_mistakes_are_one_line(clearsight_home: Path) -> None:
    wrong = run_cli("api-key", "add", "x", "--role", "admin")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines() == [
        "clearsight: error: no role 'admin': the roles are hasher, matcher, curator"
    ]
    run_cli("api-key", "add", "x", "--role", "matcher")
    twice = run_cli("api-key", "add", "x", "--role", "matcher")
    assert twice.returncode == 2 and "already a key named 'x'" in twice.stderr
    assert run_cli("api-key", "revoke", "nobody").returncode == 2
    assert run_cli("api-key", "revoke", "x").returncode == 0
    again = run_cli("api-key", "revoke", "x")
    assert again.returncode == 2 and "already revoked" in again.stderr


def test_a_revoked_key_is_refused_by_a_running_service(tmp_path: Path) -> None:
    with api_service(tmp_path) as service:
        with service.client("matcher") as client:
            path = f"/m/raw_lookup?signal_type=pdq&signal={PDQ}"
            assert client.get(path).status_code == 200
            assert service.cli("api-key", "revoke", "test-matcher").returncode == 0
            wait_for(lambda: client.get(path).status_code == 401, 5)
        fresh = json.loads(
            service.cli("api-key", "add", "late", "--role", "matcher", "--json").stdout
        )
        headers = {"Authorization": f"Bearer {fresh['token']}"}
        wait_for(lambda: httpx.get(service.base + path, headers=headers).status_code == 200, 5)


def test_curator_changes_are_chained_in_the_audit_log(tmp_path: Path) -> None:
    with api_service(tmp_path) as service, service.client("curator") as client:
        client.post("/c/banks", json={"name": "AUDITED"})
        added = client.post("/c/bank/AUDITED/signal", json={"pdq": PDQ}).json()
        client.delete(f"/c/bank/AUDITED/content/{added['id']}")
        client.delete("/c/bank/AUDITED")
    store = BankStore.open(banks_url(tmp_path))
    try:
        log = ServiceAuditLog(store.engine)
        actions = [(e.actor, e.action, e.subject) for e in log.entries()]
        check = log.verify()
    finally:
        store.close()
    assert actions[-4:] == [
        ("test-curator", "bank-created", "AUDITED"),
        ("test-curator", "content-added", "AUDITED"),
        ("test-curator", "content-removed", "AUDITED"),
        ("test-curator", "bank-removed", "AUDITED"),
    ]
    assert check.intact and check.entries == len(actions)
    with sqlite3.connect(tmp_path / "banks.sqlite") as connection:
        connection.execute("UPDATE api_audit SET actor = 'someone-else' WHERE id = 2")
    store = BankStore.open(banks_url(tmp_path))
    try:
        broken = ServiceAuditLog(store.engine).verify()
    finally:
        store.close()
    assert broken.broken_at == 2 and not broken.intact


@pytest.mark.postgres
def test_keys_and_audit_on_postgresql() -> None:
    from .conftest import empty_postgres

    postgres_url()
    url = empty_postgres()
    made = run_cli("api-key", "add", "pg", "--role", "curator", "--json", "--banks", url)
    assert made.returncode == 0, made.stderr
    listed = json.loads(run_cli("api-key", "list", "--json", "--banks", url).stdout)
    assert [key["name"] for key in listed] == ["pg"]
    engine = create_engine(url)
    try:
        log = ServiceAuditLog(engine)
        assert log.verify().intact and log.entries()[0].action == "api-key-added"
    finally:
        engine.dispose()
