"""The server's access log: method, path, status and time; never a query string.

Uvicorn's own access log prints the whole request line, query string included, so the
``serve`` command turns it off and this one takes its place. No route puts anything
secret in a query string, but the log does not rely on that; nor does it ever see a
body, so no picture and no prompt can reach it.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = logging.getLogger("clearsight.server.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, noting_status)
        finally:
            client = scope.get("client")
            LOGGER.info(
                '%s "%s %s" %d %.1f ms',
                client[0] if client else "-",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
