"""``make serve``'s script (scripts/serve-case.sh) as a newcomer meets it: the demo case
gets two accounts with generated passwords in a file only its owner reads, and the
server they sign in to answers on loopback."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from pathlib import Path

import httpx

from .conftest import CLEARSIGHT, photo_like, run_cli
from .server_support import free_port

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "serve-case.sh"


def test_make_serve_makes_demo_logins_and_serves_them(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    photo_like(41).save(evidence / "pattern-41.png")
    # The script runs `clearsight demo` for a missing demo-case; test_demo covers that,
    # so a one-picture scan stands in for it here.
    scanned = run_cli("scan", evidence, "--case", tmp_path / "demo-case", "--json")
    assert scanned.returncode == 0, scanned.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            ["sh", str(SCRIPT), str(CLEARSIGHT.parent), "demo-case", str(port)],
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                try:
                    httpx.get(base + "/login", timeout=2)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.3)
            logins = tmp_path / "demo-case" / "logins.txt"
            assert stat.S_IMODE(logins.stat().st_mode) == 0o600
            noted = dict(re.findall(r"^\s+(\w+)\s+password (\S+)", logins.read_text(), re.M))
            assert set(noted) == {"admin", "supervisor"}
            printed = log.read_text()
            assert f"http://127.0.0.1:{port}/" in printed and noted["admin"] in printed
            with httpx.Client(base_url=base, timeout=30) as client:
                form = client.get("/login")
                token = re.search(r'name="login_token" value="([^"]+)"', form.text)
                assert token
                signed = client.post(
                    "/login",
                    data={
                        "name": "supervisor",
                        "password": noted["supervisor"],
                        "login_token": token.group(1),
                    },
                )
                assert signed.status_code == 303, signed.text
                assert client.get("/queue").status_code == 200
        finally:
            server.terminate()
            server.wait(timeout=30)
