"""Request bodies have a size limit, enforced as the bytes arrive, before anything parses them.

FastAPI reads and parses a body whole before a route's access rule runs, so without a
limit anyone could make the server hold a body of any size, signed in or not (a 200 MB
sign-in once took it to 654 MB). This middleware answers 413 at once when
``Content-Length`` says too much, and otherwise counts the bytes of each chunk as the
app reads them, and cuts the request off at the first byte past the limit (a chunked
body declares no length).

Two limits: a small one for a request with no session cookie, the sign-in among them
(a name, a password and a token fit in far less), and a larger one for everybody else.
The server takes no uploads; its largest bodies are decisions with notes and setting
lists.
"""

from __future__ import annotations

from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearsight.server.access import PLAIN_COOKIE, SECURE_COOKIE

_SESSION_COOKIES = frozenset({PLAIN_COOKIE, SECURE_COOKIE})


class BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the limit (already answered)."""


class BodyLimit:
    """ASGI middleware that refuses with 413 a body over ``anonymous`` bytes from a
    request without a session cookie, or over ``signed_in`` bytes from one with it."""

    def __init__(self, app: ASGIApp, *, anonymous: int, signed_in: int) -> None:
        self._app = app
        self._anonymous = anonymous
        self._signed_in = signed_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, limit)(scope, receive, send)
            return
        received = 0
        started = False
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started:
                        await _too_large(scope, limit)(scope, receive, send)
                        answered = True
                    raise BodyTooLarge(f"request body over {limit} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 went out; whatever the app says after it is moot
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._app(scope, counting_receive, tracking_send)
        except Exception:
            if not answered:
                raise

    def _limit(self, scope: Scope) -> int:
        cookies = _header(scope, b"cookie")
        if cookies and not cookie_parser(cookies).keys().isdisjoint(_SESSION_COOKIES):
            return self._signed_in
        return self._anonymous


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def _too_large(scope: Scope, limit: int) -> Response:
    message = f"request body too large: the limit is {limit} bytes"
    headers = {"Connection": "close"}
    if str(scope.get("path", "")).startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=413, headers=headers)
    return PlainTextResponse(message, status_code=413, headers=headers)
