"""A real ``clearsight api`` process on 127.0.0.1 for the matching-service tests, with
a key per role, made by the real ``clearsight api-key`` command."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from clearsight.banks.access_keys import AccessKeyBook, parse_roles
from clearsight.banks.store import BankStore

from .conftest import CLEARSIGHT, run_cli
from .server_support import free_port

ROLES = ("hasher", "matcher", "curator")


@dataclass
class ApiService:
    base: str
    home: Path
    tokens: dict[str, str]  # by role; "all" holds every role
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, role: str | None = "all") -> httpx.Client:
        headers = {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)

    def cli(self, *args: str | Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env={"CLEARSIGHT_HOME": str(self.home)}, input=input)


def banks_url(home: Path) -> str:
    return f"sqlite:///{home / 'banks.sqlite'}"


def add_key(home: Path, name: str, roles: str) -> str:
    """A key made in-process (the command itself is tested in test_api_keys: starting
    it once per key would cost seconds each)."""
    store = BankStore.open(banks_url(home))
    try:
        _, token = AccessKeyBook(store.engine).add(name, parse_roles(roles))
    finally:
        store.close()
    return token


@contextmanager
def api_service(home: Path, *options: str, keys: bool = True) -> Iterator[ApiService]:
    """``clearsight api`` on a free port with CLEARSIGHT_HOME ``home`` until the block
    ends; keys ``hasher``, ``matcher``, ``curator`` and ``all`` made first."""
    tokens: dict[str, str] = {}
    if keys:
        for role in ROLES:
            tokens[role] = add_key(home, f"test-{role}", role)
        tokens["all"] = add_key(home, "test-all", ",".join(ROLES))
    port = free_port()
    log = home / f"api-{port}.log"
    env = {**os.environ, "CLEARSIGHT_HOME": str(home)}
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(CLEARSIGHT), "api", "--port", str(port), *options],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(base + "/status", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield ApiService(base, home, tokens, process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)


def wait_for(check: object, timeout: float = 10.0) -> None:
    """Poll ``check()`` until it is true (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
