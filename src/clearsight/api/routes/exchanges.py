"""``/c/exchanges…`` and ``/c/exchange/<name>…``: HMA's exchange routes over clearsight's
exchanges (:mod:`clearsight.exchanges`; role: curator).

HMA names an exchange after its bank; so does this service (``bank`` in the body is
both). Credentials are never taken over HTTP: they are set on the service's machine
with ``clearsight exchange credentials``, and the API only says whether they are set.
Beyond HMA, ``POST /c/exchange/<name>/fetch`` starts a fetch in the background (HMA's
own scheduler fetches on a timer); the status route reports it.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clearsight.api.auth import CURATOR, Caller
from clearsight.api.context import authorize, json_object, service_of
from clearsight.api.errors import ApiError, json_response
from clearsight.api.service import MatchingService
from clearsight.banks.exchange_book import API_NAMES, ExchangeInfo
from clearsight.errors import UserError
from clearsight.exchanges.credentials import CredentialStore

_CURATOR = frozenset({CURATOR})
_NAME = re.compile(r"^[A-Z0-9_]+$")
_RUNNING: dict[str, threading.Thread] = {}
_RUNNING_LOCK = threading.Lock()
_ABANDONED_AFTER = timedelta(hours=6)


def _epoch(value: datetime | None) -> int | None:
    """Epoch seconds of a time the bank store wrote (UTC, without a zone)."""
    return None if value is None else int(value.replace(tzinfo=UTC).timestamp())


def _running(info: ExchangeInfo) -> bool:
    """A fetch of this exchange is under way, in this process or another worker's: it
    started and has not finished (one that started hours ago is taken as died)."""
    with _RUNNING_LOCK:
        if info.name in _RUNNING:
            return True
    if info.started_at is None:
        return False
    if info.finished_at is not None and info.finished_at >= info.started_at:
        return False
    started = info.started_at.replace(tzinfo=UTC)
    return datetime.now(UTC) - started < _ABANDONED_AFTER


def _get(service: MatchingService, name: str) -> ExchangeInfo:
    try:
        return service.banks.exchanges().get(name)
    except UserError:
        raise ApiError(404, f"Exchange '{name}' not found") from None


def _config_json(info: ExchangeInfo) -> dict[str, Any]:
    return {**info.config, "name": info.name, "api": info.api, "enabled": info.enabled}


async def _audit(request: Request, caller: Caller, action: str, subject: str, detail: Any) -> None:
    service = service_of(request)
    await run_in_threadpool(service.audit.append, caller.name, action, subject, detail)


async def api_list(request: Request) -> Response:
    authorize(request, _CURATOR)
    return json_response(list(API_NAMES))


async def api_config(request: Request) -> Response:
    authorize(request, _CURATOR)
    api = request.path_params["api_name"]
    if api not in API_NAMES:
        raise ApiError(400, f"no such Exchange API '{api[:40]}'")
    if request.method == "POST":
        data = await json_object(request)
        if data.get("credential_json"):
            raise ApiError(
                403,
                "credentials are not taken over HTTP: set them on the service's machine "
                "with `clearsight exchange credentials`",
            )
    has = await run_in_threadpool(lambda: CredentialStore().source(api).is_set)
    return json_response(
        {"supports_authentification": api != "file", "has_set_authentification": has}
    )


# What each API's ``api_json`` takes, in the shape of HMA's schema route (field
# descriptors for a form). Written out rather than read from the library's config
# classes: clearsight's configs are its own (clearsight.exchanges.apis.connect).
_FIELD = {"required": False, "default": None, "help": "", "choices": None}
_BASE_URL = {
    **_FIELD,
    "name": "base_url",
    "type": "string",
    "help": "Another address for the API (a test server, a proxy).",
}
_CONFIG_FIELDS: dict[str, list[dict[str, Any]]] = {
    "file": [
        {**_FIELD, "name": "filename", "type": "string", "required": True,
         "help": "The list's path on the service's machine."},
        {**_FIELD, "name": "signal_type", "type": "string",
         "help": "The signal type of every line, where lines do not name theirs."},
    ],
    "ncmec": [
        {**_FIELD, "name": "environment", "type": "enum",
         "default": "https://report.cybertip.org/hashsharing",
         "help": "Which NCMEC database to read (by its address, or its name: Industry)."},
        {**_FIELD, "name": "only_esp_ids", "type": "set_of_number",
         "help": "Only take entries from these electronic service provider ids."},
        _BASE_URL,
    ],
    "stop_ncii": [_BASE_URL],
    "fb_threatexchange": [
        {**_FIELD, "name": "privacy_group", "type": "number", "required": True,
         "help": "The ThreatPrivacyGroup id of the collaboration."},
        _BASE_URL,
    ],
    "tat": [_BASE_URL],
}  # fmt: skip


async def api_schema(request: Request) -> Response:
    """HMA's ``/c/exchanges/api/<name>/schema``. ``credentials_schema`` is null: the
    credentials are set on the service's machine, never over HTTP."""
    authorize(request, _CURATOR)
    api = request.path_params["api_name"]
    if api not in _CONFIG_FIELDS:
        raise ApiError(404, f"Exchange API '{api[:40]}' not found")
    fields = _CONFIG_FIELDS[api]
    if api == "ncmec":
        from clearsight.exchanges.apis import ncmec_environments  # the exchange extra

        fields = [
            {**field, "choices": ncmec_environments()} if field["name"] == "environment" else field
            for field in fields
        ]
    return json_response({"config_schema": {"fields": fields}, "credentials_schema": None})


async def exchange_create(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    data = await json_object(request)
    bank = data.get("bank")
    if bank is None:
        raise ApiError(400, "bank is required")
    if not isinstance(bank, str) or not _NAME.match(bank):
        raise ApiError(400, "Field `bank` must match /^[A-Z0-9_]+$/")
    api_json = data.get("api_json", {})
    if not isinstance(api_json, dict):
        raise ApiError(400, "Field `api_json` must be object")
    api = data.get("api")
    if api is None:
        raise ApiError(400, "Field `api_type` is required")
    if api not in API_NAMES:
        raise ApiError(400, f"No such exchange type '{str(api)[:40]}'")
    service = service_of(request)
    try:
        await run_in_threadpool(service.banks.exchanges().add, bank, api, bank, api_json)
    except UserError as exc:
        raise ApiError(400, f"Failed to parse `api_json` - {exc}") from None
    await _audit(request, caller, "exchange-added", bank, {"api": api})
    return json_response({"message": "Created successfully"}, 201)


async def exchange_list(request: Request) -> Response:
    authorize(request, _CURATOR)
    infos = await run_in_threadpool(service_of(request).banks.exchanges().all)
    return json_response([info.name for info in infos])


async def exchange_show(request: Request) -> Response:
    authorize(request, _CURATOR)
    info = await run_in_threadpool(_get, service_of(request), request.path_params["exchange_name"])
    return json_response(_config_json(info))


async def exchange_status(request: Request) -> Response:
    authorize(request, _CURATOR)
    info = await run_in_threadpool(_get, service_of(request), request.path_params["exchange_name"])
    running = _running(info)
    finished = info.finished_at is not None
    return json_response(
        {
            "checkpoint_ts": _epoch(info.checkpoint_at),
            "running_fetch_start_ts": _epoch(info.started_at) if running else None,
            "last_fetch_complete_ts": _epoch(info.finished_at),
            "last_fetch_succeeded": (info.last_error is None) if finished else None,
            "up_to_date": info.up_to_date,
            "fetched_items": info.fetched,
        }
    )


async def exchange_update(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    service = service_of(request)
    name = request.path_params["exchange_name"]
    data = await json_object(request)
    info = await run_in_threadpool(_get, service, name)
    if data.get("enabled") is not None:
        enabled = bool(data["enabled"])
        info = await run_in_threadpool(service.banks.exchanges().set_enabled, name, enabled)
        await _audit(request, caller, "exchange-changed", name, {"enabled": enabled})
    return json_response(_config_json(info))


async def exchange_delete(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    service = service_of(request)
    name = request.path_params["exchange_name"]
    try:
        await run_in_threadpool(service.banks.exchanges().remove, name)
    except UserError:
        return json_response({"message": "Exchange deleted"})
    await _audit(request, caller, "exchange-removed", name, {})
    return json_response({"message": "Exchange deleted"})


async def exchange_fetch(request: Request) -> Response:
    """Start fetching the exchange into its bank, unless a fetch of it is running."""
    caller = authorize(request, _CURATOR)
    service = service_of(request)
    info = await run_in_threadpool(_get, service, request.path_params["exchange_name"])
    if _running(info):
        return json_response({"message": "a fetch of this exchange is running"}, 409)
    with _RUNNING_LOCK:
        if info.name in _RUNNING:
            return json_response({"message": "a fetch of this exchange is running"}, 409)
        thread = threading.Thread(
            target=_fetch, args=(service, info.name), name=f"fetch-{info.name}", daemon=True
        )
        _RUNNING[info.name] = thread
    await _audit(request, caller, "exchange-fetch", info.name, {})
    thread.start()
    return json_response({"message": "fetch started"}, 202)


def _fetch(service: MatchingService, name: str) -> None:
    try:
        service.banks.fetch_exchange(name, progress=None)
    except Exception:  # noqa: BLE001 - the exchange's row records what went wrong
        pass
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(name, None)
        service.changed()


ROUTES = [
    Route("/c/exchanges/apis", api_list, methods=["GET"]),
    Route("/c/exchanges/api/{api_name}", api_config, methods=["GET", "POST"]),
    Route("/c/exchanges/api/{api_name}/schema", api_schema, methods=["GET"]),
    Route("/c/exchanges", exchange_create, methods=["POST"]),
    Route("/c/exchanges", exchange_list, methods=["GET"]),
    Route("/c/exchange/{exchange_name}", exchange_show, methods=["GET"]),
    Route("/c/exchange/{exchange_name}", exchange_update, methods=["PUT"]),
    Route("/c/exchange/{exchange_name}", exchange_delete, methods=["DELETE"]),
    Route("/c/exchange/{exchange_name}/status", exchange_status, methods=["GET"]),
    Route("/c/exchange/{exchange_name}/fetch", exchange_fetch, methods=["POST"]),
]
