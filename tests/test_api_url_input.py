"""Media by URL: off unless allowed, listed hosts only, no private addresses unless
listed, no redirects, capped in size; hashes equal to those of the same bytes posted."""

from __future__ import annotations

import functools
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clearsight.api.errors import ApiError
from clearsight.api.url_fetch import UrlPolicy, fetch

from .api_support import api_service, wait_for
from .conftest import photo_like


class _Redirecting(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the handler's own name
        if self.path == "/moved.png":
            self.send_response(302)
            self.send_header("Location", "/picture.png")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bytes]]:
    folder = tmp_path_factory.mktemp("media")
    buffer = io.BytesIO()
    photo_like(21).save(buffer, format="PNG")
    (folder / "picture.png").write_bytes(buffer.getvalue())
    handler = functools.partial(_Redirecting, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", buffer.getvalue()
    finally:
        server.shutdown()
        server.server_close()


def policy(*allowed: str, max_bytes: int = 10_000_000) -> UrlPolicy:
    return UrlPolicy(allowed, max_bytes, 10.0)


@pytest.mark.parametrize(
    ("url", "allowed", "message"),
    [
        ("http://127.0.0.1/x.png", (), "URL input is off"),
        ("http://127.0.0.1/x.png", ("*",), "private or local address"),
        ("http://10.1.2.3/x.png", ("*",), "private or local address"),
        ("http://169.254.169.254/latest/meta-data", ("*",), "private or local address"),
        ("http://[::1]/x.png", ("*",), "private or local address"),
        ("http://192.168.0.9:8080/x.png", ("example.org",), "not one this service may fetch"),
        ("ftp://example.org/x.png", ("*",), "http or https"),
        ("file:///etc/passwd", ("*",), "http or https"),
    ],
)
def test_refused_urls(url: str, allowed: tuple[str, ...], message: str) -> None:
    with pytest.raises(ApiError) as refused:
        fetch(url, policy(*allowed))
    assert refused.value.status == 400 and message in refused.value.message


def test_a_listed_host_is_fetched_within_its_caps(media_server: tuple[str, bytes]) -> None:
    host, data = media_server
    fetched = fetch(f"http://{host}/picture.png", policy(host))
    assert fetched.data == data and fetched.content_type == "image/png"
    with pytest.raises(ApiError) as large:
        fetch(f"http://{host}/picture.png", policy(host, max_bytes=1000))
    assert large.value.status == 413
    with pytest.raises(ApiError) as moved:
        fetch(f"http://{host}/moved.png", policy(host))
    assert "redirects are not followed" in moved.value.message
    with pytest.raises(ApiError) as other_port:
        fetch("http://127.0.0.1:9/picture.png", policy(host))
    assert other_port.value.status == 400


def test_url_input_through_the_service(media_server: tuple[str, bytes], tmp_path: Path) -> None:
    host, data = media_server
    url = f"http://{host}/picture.png"
    with api_service(tmp_path, "--allow-url", host) as service, service.client() as client:
        by_url = client.get("/h/hash", params={"url": url})
        assert by_url.status_code == 200, by_url.text
        posted = client.post("/h/hash", files={"photo": ("p.png", data, "image/png")})
        assert by_url.json() == posted.json()
        client.post("/c/banks", json={"name": "BY_URL"})
        added = client.post("/c/bank/BY_URL/content", params={"url": url})
        assert added.status_code == 200 and added.json()["signals"] == posted.json()

        def found() -> dict[str, object]:
            banks: dict[str, object] = client.get("/m/lookup", params={"url": url}).json()
            return banks.get("pdq", {})  # type: ignore[return-value]

        wait_for(found)
        assert set(found()) == {"BY_URL"}
        elsewhere = client.get("/h/hash", params={"url": "http://127.0.0.1:9/x.png"})
        assert elsewhere.status_code == 400


def test_no_auth_serves_only_loopback(tmp_path: Path) -> None:
    from .conftest import run_cli

    refused = run_cli("api", "--no-auth", "--host", "0.0.0.0", "--port", "5999")
    assert refused.returncode == 2
    assert "--no-auth serves only a loopback address" in refused.stderr
    with api_service(tmp_path, "--no-auth", keys=False) as service:
        assert "WARNING: --no-auth" in service.log.read_text()
        answer = httpx.get(service.base + "/c/banks")
        assert answer.status_code == 200 and answer.json() == []
