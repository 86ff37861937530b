"""``/status``, ``/status/live`` and ``/site-map``: open to anyone, as in HMA."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from clearsight.api.context import service_of
from clearsight.api.errors import json_response


async def status(request: Request) -> Response:
    word = service_of(request).status()
    return PlainTextResponse(word, 200 if word == "I-AM-ALIVE" else 503)


async def status_live(request: Request) -> Response:
    return PlainTextResponse("I-AM-ALIVE")


async def site_map(request: Request) -> Response:
    paths = {getattr(route, "path", "") for route in request.app.routes}
    # Written as HMA's Flask writes them: /c/bank/<bank_name>.
    shown = sorted(path.replace("{", "<").replace("}", ">") for path in paths if path)
    return json_response(shown)


ROUTES = [
    Route("/status", status, methods=["GET"]),
    Route("/status/live", status_live, methods=["GET"]),
    Route("/site-map", site_map, methods=["GET"]),
]
