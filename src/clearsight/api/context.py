"""What every route needs of a request: the service, the caller, a JSON body, media."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from clearsight.api.auth import Caller, caller_of
from clearsight.api.errors import ApiError
from clearsight.api.media_input import (
    content_type_of,
    hash_media,
    read_body,
    read_upload,
    signal_types_for,
)
from clearsight.api.service import MatchingService
from clearsight.api.url_fetch import UrlPolicy, fetch
from clearsight.banks.access_keys import ApiRole

_JSON_LIMIT = 1024 * 1024


def service_of(request: Request) -> MatchingService:
    service: MatchingService = request.app.state.service
    return service


def authorize(request: Request, needs: frozenset[ApiRole]) -> Caller:
    service = service_of(request)
    return caller_of(request, service.keys, no_auth=service.config.no_auth, needs=needs)


async def json_body(request: Request) -> Any:
    body = await read_body(request, _JSON_LIMIT)
    try:
        return orjson.loads(body or b"null")
    except orjson.JSONDecodeError:
        raise ApiError(400, "the body is not valid JSON") from None


async def json_object(request: Request) -> dict[str, Any]:
    data = await json_body(request)
    if not isinstance(data, dict):
        raise ApiError(400, "this endpoint expects a json object payload")
    return data


async def hashes_of_url(request: Request, url: str) -> dict[str, str]:
    """HMA's ``hash_url_content``: fetch (under the URL policy), then hash."""
    service = service_of(request)
    config = service.config
    policy = UrlPolicy(config.allow_url, config.max_upload_bytes, config.url_timeout)
    fetched = await run_in_threadpool(fetch, url, policy)
    params = request.query_params
    content_type = content_type_of(fetched.content_type, params.get("content_type"))
    types = signal_types_for(content_type, params.get("types"))
    return await run_in_threadpool(hash_media, fetched.data, types)


async def hashes_of_upload(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    """HMA's ``hash_media_from_form_data``: the hashes of the one uploaded file, and
    the form's other fields."""
    upload = await read_upload(request, service_of(request).config.max_upload_bytes)
    types = signal_types_for(upload.field, request.query_params.get("types"))
    hashes = await run_in_threadpool(hash_media, upload.data, types)
    return hashes, upload.form
