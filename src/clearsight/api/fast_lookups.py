"""The two routes platforms call on every upload, served straight from ASGI.

``GET /m/raw_lookup`` and ``GET /m/lookup`` with a signal are answered here, before
the framework's routing, request objects and exception layers: under load these cost
more than the lookup itself (a search of a million codes takes about 0.2 ms). The
answers are the routes' own (:func:`~clearsight.api.routes.matching.raw_lookup_result`,
:func:`~clearsight.api.routes.matching.lookup_result`), with the same authorisation;
anything else, a ``/m/lookup`` by URL included, goes on to the app.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from clearsight.api.auth import MATCHER, caller_from
from clearsight.api.errors import ApiError
from clearsight.api.routes.matching import banks_param, lookup_result, raw_lookup_result
from clearsight.api.service import MatchingService

_MATCHER = frozenset({MATCHER})
_JSON = (b"content-type", b"application/json")
_RAW, _LOOKUP = "/m/raw_lookup", "/m/lookup"


class FastLookups:
    def __init__(self, app: ASGIApp, state: State) -> None:
        self._app = app
        self._state = state  # holds the service once the app has started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] not in (_RAW, _LOOKUP)
        ):
            await self._app(scope, receive, send)
            return
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        if scope["path"] == _LOOKUP and params.get("url"):
            await self._app(scope, receive, send)
            return
        status, extra = 200, []
        try:
            answer = await self._answer(scope, params)
        except ApiError as exc:
            status, answer = exc.status, {"message": exc.message}
            if exc.status == 401:
                extra = [(b"www-authenticate", b"Bearer")]
        body = orjson.dumps(answer)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [_JSON, (b"content-length", str(len(body)).encode()), *extra],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, params: dict[str, str]) -> Any:
        service: MatchingService = self._state.service
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        caller_from(header, service.keys, no_auth=service.config.no_auth, needs=_MATCHER)
        if scope["path"] == _RAW:
            return await raw_lookup_result(service, params)
        signal, signal_type = params.get("signal"), params.get("signal_type")
        if not signal or not signal_type:
            raise ApiError(400, "Either url or both signal and signal_type are required")
        return await lookup_result(service, params, signal, signal_type, banks_param(params))
