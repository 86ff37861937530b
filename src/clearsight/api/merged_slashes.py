"""A path with doubled slashes is redirected to the path without them, as HMA's Flask
does (werkzeug merges slashes with a 308, which keeps the method and the body).

Clients depend on it without knowing: ROOST Coop's default HMA address ends in a
slash, and it joins paths on with another (``http://host:9876//c/banks``).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

_SLASHES = re.compile(r"/{2,}")


class MergedSlashes:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "//" not in scope["path"]:
            await self._app(scope, receive, send)
            return
        raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        location = _SLASHES.sub("/", raw.decode("latin-1"))
        if scope["query_string"]:
            location += "?" + scope["query_string"].decode("latin-1")
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})
