"""``/h/hash``: media in, ``{signal_type: hash}`` out (role: hasher)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clearsight.api.auth import HASHER
from clearsight.api.context import authorize, hashes_of_upload, hashes_of_url
from clearsight.api.errors import ApiError, json_response

_HASHER = frozenset({HASHER})


async def hash_get(request: Request) -> Response:
    authorize(request, _HASHER)
    url = request.query_params.get("url")
    if url is None:
        raise ApiError(400, "url is required")
    return json_response(await hashes_of_url(request, url))


async def hash_post(request: Request) -> Response:
    authorize(request, _HASHER)
    hashes, _ = await hashes_of_upload(request)
    return json_response(hashes)


ROUTES = [
    Route("/h/hash", hash_get, methods=["GET"]),
    Route("/h/hash", hash_post, methods=["POST"]),
]
