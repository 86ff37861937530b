"""``clearsight serve`` as a user starts it: a real server process on loopback."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import select
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from clearsight.store.review_models import AuditEntryRow, LoginAttemptRow

from .conftest import photo_like, run_cli
from .server_support import resident_kib, serving, serving_process

PASSWORD = "benign test passphrase"


@pytest.fixture
def case(tmp_path: Path) -> Path:
    """A scanned case of three generated patterns, with one reviewer account."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for seed in (21, 22, 23):
        photo_like(seed).save(evidence / f"pattern-{seed}.png")
    case = tmp_path / "case"
    scanned = run_cli("scan", evidence, "--case", case, "--json")
    assert scanned.returncode == 0, scanned.stderr
    added = run_cli(
        "user",
        "add",
        "--case",
        case,
        "rita.reviewer",
        "--role",
        "reviewer",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    return case


def trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def sign_in(client: httpx.Client) -> httpx.Response:
    form = client.get("/login")
    assert form.status_code == 200
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token
    return client.post(
        "/login",
        data={"name": "rita.reviewer", "password": PASSWORD, "login_token": token.group(1)},
    )


def test_the_real_server_signs_in_over_http_and_logs_paths_only(case: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with serving(case, log) as base, httpx.Client(base_url=base, timeout=30) as client:
        signed = sign_in(client)
        assert signed.status_code == 303
        assert signed.headers["content-security-policy"].startswith("default-src 'none'")
        assert "server" not in signed.headers
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
        queue = client.get("/queue", follow_redirects=True)
        assert queue.status_code == 200 and "Review queue" in queue.text
        units = client.get("/api/queue?state=undecided&limit=2").json()["units"]
        assert len(units) == 2
        preview = client.get(f"/items/{units[0]['representative']}/preview")
        assert preview.headers["content-type"] == "image/jpeg"
        assert preview.headers["cache-control"] == "no-store"
        assert client.get("/docs").status_code == 404
        time.sleep(0.5)  # let the log reach the file
    written = log.read_text()
    assert f"serving the review of this case at {base}/" in written
    assert '"GET /api/queue" 200' in written
    assert "state=undecided" not in written and "limit=2" not in written
    assert PASSWORD not in written


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key, in PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clearsight test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_over_tls_the_session_cookie_is_secure(case: Path, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    options = ("--tls-cert", str(cert), "--tls-key", str(key))
    log = tmp_path / "server.log"
    with (
        serving(case, log, *options, tls=trusting(cert)) as base,
        httpx.Client(base_url=base, timeout=30, verify=trusting(cert)) as client,
    ):
        signed = sign_in(client)
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith("__Host-clearsight=") and "Secure" in cookie
        assert signed.headers["strict-transport-security"].startswith("max-age=")
        assert client.get("/api/queue").status_code == 200


def test_serve_checks_its_options_before_starting(tmp_path: Path) -> None:
    assert "--tls-cert" in run_cli("serve", "--help").stdout
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    half = run_cli("serve", "--case", tmp_path, "--tls-cert", cert)
    assert half.returncode == 2 and "--tls-key" in half.stderr
    missing = run_cli("serve", "--case", tmp_path / "nowhere")
    assert missing.returncode == 2 and "not a clearsight case" in missing.stderr


def raw_request(base: str, head: str) -> socket.socket:
    """A connection to the server with ``head`` (request line and headers) sent."""
    url = httpx.URL(base)
    assert url.port is not None
    connection = socket.create_connection((url.host, url.port), timeout=30)
    connection.sendall(head.encode() + b"\r\n")
    return connection


def answer_while_sending(connection: socket.socket, chunk: bytes, most: int) -> tuple[bytes, int]:
    """Send ``chunk`` again and again until the server answers (or ``most`` bytes went);
    the answer's first bytes, and how many bytes were sent."""
    sent = 0
    while sent < most:
        readable, _, _ = select.select([connection], [], [], 0)
        if readable:
            break
        try:
            connection.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    connection.settimeout(30)
    return connection.recv(4096), sent


def test_a_huge_sign_in_body_is_cut_off_and_the_server_stays_small(
    case: Path, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    megabyte = b"x" * (1024 * 1024)
    with serving_process(case, log) as (base, server):
        httpx.get(base + "/login")
        before = resident_kib(server.pid)
        # Declared: 200 MB. The answer comes before the body.
        declared = raw_request(
            base,
            "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 209715200\r\n",
        )
        with declared:
            answer, sent = answer_while_sending(declared, megabyte, 200 * len(megabyte))
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert b"no-store" in answer and b"default-src 'none'" in answer
        # Chunked, with no length: cut off once the limit has arrived.
        chunked = raw_request(
            base,
            "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        )
        with chunked:
            piece = b"%x\r\n%s\r\n" % (len(megabyte), megabyte)
            answer, sent = answer_while_sending(chunked, piece, 200 * len(piece))
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert b"nosniff" in answer
        assert sent < 100 * len(piece), "the server read on long after the limit"
        grown = resident_kib(server.pid) - before
        # Without the limit a 200 MB body is held whole (it took the server to 654 MB).
        assert grown < 40 * 1024, f"the server grew by {grown} KiB"
        # And it still serves.
        assert httpx.get(base + "/login").status_code == 200


def failed_sign_in(base: str, forwarded_for: str) -> httpx.Response:
    return httpx.post(
        base + "/api/login",
        json={"name": "nobody.here", "password": "not the passphrase"},
        headers={"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"},
        timeout=30,
    )


def recorded_addresses(case: Path) -> list[str]:
    """The address of each sign-in attempt, as the brake counts them and the audit
    log shows them."""
    engine = sqlalchemy.create_engine(f"sqlite:///{case / 'case.sqlite'}")
    try:
        with Session(engine) as session:
            attempts = list(session.scalars(sqlalchemy.select(LoginAttemptRow.address)))
            audited = [
                json.loads(row.detail)["address"]
                for row in session.scalars(
                    sqlalchemy.select(AuditEntryRow).where(AuditEntryRow.action == "login-failed")
                )
            ]
    finally:
        engine.dispose()
    assert attempts == audited
    return attempts


@pytest.mark.parametrize(
    ("options", "seen_as"),
    [
        ((), "127.0.0.1"),
        (("--behind-tls-proxy",), "203.0.113.7"),
        (("--behind-tls-proxy", "--proxy-address", "192.0.2.1"), "127.0.0.1"),
        (("--behind-tls-proxy", "--proxy-address", "127.0.0.0/8"), "203.0.113.7"),
    ],
)
def test_forwarded_addresses_are_believed_only_from_the_named_proxy(
    case: Path, tmp_path: Path, options: tuple[str, ...], seen_as: str
) -> None:
    with serving(case, tmp_path / "server.log", *options) as base:
        assert failed_sign_in(base, "203.0.113.7").status_code == 401
    assert recorded_addresses(case) == [seen_as]


def test_serve_refuses_a_proxy_address_that_is_not_one(tmp_path: Path) -> None:
    refused = run_cli(
        "serve", "--case", tmp_path, "--behind-tls-proxy", "--proxy-address", "proxy.lab"
    )
    assert refused.returncode == 2
    assert "--proxy-address 'proxy.lab'" in refused.stderr
    alone = run_cli("serve", "--case", tmp_path, "--proxy-address", "10.0.0.5")
    assert alone.returncode == 2
    assert "--proxy-address is for --behind-tls-proxy" in alone.stderr


def test_twenty_sign_ins_at_once_keep_the_server_small(case: Path, tmp_path: Path) -> None:
    with serving_process(case, tmp_path / "server.log") as (base, server):
        httpx.get(base + "/login")
        before = resident_kib(server.pid)
        peak = before
        done = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not done.wait(0.02):
                peak = max(peak, resident_kib(server.pid))

        def sign_in_by_api() -> int:
            answer = httpx.post(
                base + "/api/login",
                json={"name": "rita.reviewer", "password": PASSWORD},
                timeout=120,
            )
            return answer.status_code

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with ThreadPoolExecutor(20) as crowd:
                statuses = list(crowd.map(lambda _: sign_in_by_api(), range(20)))
        finally:
            done.set()
            watcher.join()
    assert statuses == [200] * 20
    # Each Argon2 check holds 64 MiB: twenty at once took the server past 1 GB.
    assert peak - before < 400 * 1024, f"the server grew by {(peak - before) // 1024} MiB"
