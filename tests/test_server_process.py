"""``clearsight serve`` as a user starts it: a real server process on loopback."""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .conftest import photo_like, run_cli
from .server_support import serving

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
