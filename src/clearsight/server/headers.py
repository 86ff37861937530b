"""Headers every response carries, whatever route or error produced it.

Nothing is cached anywhere (``no-store``): pages and pictures are evidence. The
Content-Security-Policy admits only this server's own images, styles and scripts (no
inline code, no CDN), lets forms post only here, and forbids framing. ``connect-src
'self'`` is there for the review script's reveal calls.

The middleware sits outside the app's exception handlers, but Starlette's own
last-resort handler sits outside every middleware and answers without them; so an
exception no handler took is answered here, as a bare 500 with the headers, and raised
on for the server to log.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """ASGI middleware that sets :data:`SECURITY_HEADERS` on every response,
    replacing any a route set (a static file's own cache headers among them)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        extra = (*SECURITY_HEADERS, _HSTS) if scope.get("scheme") == "https" else SECURITY_HEADERS
        replaced = {name for name, _ in extra} | {b"etag", b"last-modified", b"expires"}

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in replaced
                ]
                message["headers"] = [*headers, *extra]
            await send(message)

        try:
            await self._app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                failed = PlainTextResponse("Internal Server Error", status_code=500)
                await failed(scope, receive, send_with_headers)
            raise
