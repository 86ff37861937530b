"""Fetch media by URL for hashing, without letting a caller reach inside the network.

URL input is off unless the service was started with ``--allow-url``. Only the hosts
listed may be fetched (``*`` admits any public host). A host that is not listed by name
must resolve to public addresses only: loopback, private, link-local, shared and
reserved addresses are refused (no SSRF into the service's own network), and the
connection goes to the very address that was checked, so a second DNS answer cannot
swap in another (DNS rebinding). Redirects are not followed. The body is capped in
size, and the whole fetch in time.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from clearsight.api.errors import ApiError

ANY_PUBLIC_HOST = "*"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class UrlPolicy:
    allowed: tuple[str, ...]
    max_bytes: int
    timeout: float


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str


def fetch(url: str, policy: UrlPolicy) -> Fetched:
    """The body and content type at ``url``; ApiError (400, 413, 502, 504) otherwise."""
    if not policy.allowed:
        raise ApiError(400, "URL input is off: start the service with --allow-url HOST")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "url must be an http or https URL with a host")
    host = parts.hostname.lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ApiError(400, "url has an invalid port") from None
    listed = host in policy.allowed or f"{host}:{port}" in policy.allowed
    if not listed and ANY_PUBLIC_HOST not in policy.allowed:
        raise ApiError(400, "the url's host is not one this service may fetch (--allow-url)")
    address = _checked_address(host, port, listed)
    deadline = time.monotonic() + policy.timeout
    connection = _connection(parts.scheme, host, address, port, policy.timeout)
    response: http.client.HTTPResponse | None = None
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        connection.request("GET", path, headers={"Host": parts.netloc.rsplit("@", 1)[-1]})
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise ApiError(400, "the url redirects; redirects are not followed")
        if response.status != 200:
            raise ApiError(502, f"fetching the url answered HTTP {response.status}")
        data = _read_capped(response, policy.max_bytes, deadline)
        return Fetched(data, response.getheader("Content-Type") or "")
    except (OSError, http.client.HTTPException) as exc:
        raise ApiError(502, f"fetching the url failed: {type(exc).__name__}") from None
    finally:
        if response is not None:
            response.close()  # else its file keeps the socket open until collected
        connection.close()


def _checked_address(host: str, port: int, listed: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise ApiError(400, "the url's host does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise ApiError(400, "the url's host does not resolve")
    if not listed:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not ip.is_global or ip.is_multicast:
                raise ApiError(
                    400, "the url's host resolves to a private or local address (refused)"
                )
    return addresses[0]


def _connection(
    scheme: str, host: str, address: str, port: int, timeout: float
) -> http.client.HTTPConnection:
    if scheme == "http":
        return http.client.HTTPConnection(address, port, timeout=timeout)
    return _PinnedHttps(host, address, port, timeout)


class _PinnedHttps(http.client.HTTPSConnection):
    """HTTPS to the checked address, with the certificate checked for the host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address
        self._context = ssl.create_default_context()

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def _read_capped(response: http.client.HTTPResponse, limit: int, deadline: float) -> bytes:
    declared = response.getheader("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the url's content is larger than {limit} bytes")
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise ApiError(504, "fetching the url took too long")
        chunk = response.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the url's content is larger than {limit} bytes")
        parts.append(chunk)
