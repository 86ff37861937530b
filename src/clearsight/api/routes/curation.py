"""``/c``: banks, their content, and the signal and content types (role: curator; the
type listings admit any key). Every change is written to the service's audit log
with the key's name, and wakes the index refresh, so that content added here is
matchable within about a second.

Banks made here follow HMA's naming rule (``^[A-Z0-9_]+$``). A bank's ``enabled_ratio``
is HMA's: the share of lookups that see it, 0 to 1, a number or its text as HMA takes
it (``"0.5"``); ``enabled`` sets 1 or 0.
"""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clearsight.api.auth import ANY_ROLE, CURATOR, HASHER, Caller, require_all
from clearsight.api.context import (
    authorize,
    hashes_of_upload,
    hashes_of_url,
    json_object,
    service_of,
)
from clearsight.api.errors import ApiError, json_response, str_to_bool
from clearsight.api.media_input import CONTENT_TYPES, is_multipart
from clearsight.api.routes.matching import asked_signal_types, checked, signal_kind
from clearsight.api.service import MD5, PDQ, SIGNAL_TYPES, VPDQ, MatchingService
from clearsight.banks.records import BankSignal, EntryMetadata
from clearsight.banks.service_edits import (
    BankExists,
    ContentRecord,
    NoSuchBank,
    NoSuchEntry,
    metadata_comments,
)
from clearsight.errors import UserError

_CURATOR = frozenset({CURATOR})
BANK_NAME = re.compile(r"^[A-Z0-9_]+$")
_METADATA_KEYS = {"content_id", "content_uri", "json"}
_FIVE_YEARS = 5 * 365 * 24 * 3600
_BANK_SIGNALS = {PDQ: BankSignal.PDQ, MD5: BankSignal.MD5, VPDQ: BankSignal.VPDQ}


def _bank_json(name: str, ratio: float) -> dict[str, Any]:
    return {"name": name, "matching_enabled_ratio": ratio}


def _ratio(data: dict[str, Any], default: float | None) -> float | None:
    """HMA's reading of a bank's body: ``enabled_ratio`` first, else ``enabled``."""
    if "enabled_ratio" in data:
        given = data["enabled_ratio"]
        try:
            ratio = float(given)
        except (TypeError, ValueError):
            raise ApiError(400, "enabled_ratio must be a number") from None
        if not 0.0 <= ratio <= 1.0:
            raise ApiError(400, "enabled_ratio must be between 0 and 1")
        return ratio
    if "enabled" in data:
        return 1.0 if str_to_bool(str(data["enabled"])) else 0.0
    return default


def _banks(service: MatchingService) -> dict[str, float]:
    return {state.target.name: state.enabled_ratio for state in service.edits.bank_states()}


async def _audit(
    request: Request, caller: Caller, action: str, subject: str, detail: dict[str, Any]
) -> None:
    service = service_of(request)
    await run_in_threadpool(service.audit.append, caller.name, action, subject, detail)
    service.changed()


async def banks_index(request: Request) -> Response:
    authorize(request, _CURATOR)
    banks = await run_in_threadpool(_banks, service_of(request))
    return json_response([_bank_json(name, on) for name, on in banks.items()])


async def bank_show(request: Request) -> Response:
    authorize(request, _CURATOR)
    name = request.path_params["bank_name"]
    banks = await run_in_threadpool(_banks, service_of(request))
    if name not in banks:
        raise ApiError(404, f"bank '{name}' not found")
    return json_response(_bank_json(name, banks[name]))


async def bank_create(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    data = await json_object(request)
    name = data.get("name")
    if name is None:
        raise ApiError(400, "name is required")
    if not isinstance(name, str) or not BANK_NAME.match(name):
        raise ApiError(400, "Bank names must be UPPER_WITH_UNDERSCORE (^[A-Z0-9_]+$)")
    ratio = _ratio(data, 1.0)
    assert ratio is not None
    try:
        await run_in_threadpool(service_of(request).edits.create_bank, name, ratio=ratio)
    except BankExists:
        raise ApiError(403, "Bank already exists") from None
    await _audit(request, caller, "bank-created", name, {"enabled_ratio": ratio})
    return json_response(_bank_json(name, ratio), 201)


async def bank_update(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    service = service_of(request)
    name = request.path_params["bank_name"]
    data = await json_object(request)
    banks = await run_in_threadpool(_banks, service)
    if name not in banks:
        raise ApiError(404, "Bank not found")
    new_name = data.get("name")
    if new_name is not None and new_name != name:
        if not isinstance(new_name, str) or not BANK_NAME.match(new_name):
            raise ApiError(400, "Bank names must be UPPER_WITH_UNDERSCORE (^[A-Z0-9_]+$)")
        try:
            await run_in_threadpool(service.edits.rename_bank, name, new_name)
        except BankExists:
            raise ApiError(403, "Bank name already exists") from None
        await _audit(request, caller, "bank-renamed", name, {"to": new_name})
        name = new_name
    ratio = _ratio(data, None)
    if ratio is not None and ratio != banks.get(name, ratio):
        await run_in_threadpool(service.edits.set_enabled_ratio, name, ratio)
        await _audit(request, caller, "bank-changed", name, {"enabled_ratio": ratio})
    now = await run_in_threadpool(_banks, service)
    return json_response(_bank_json(name, now[name]))


async def bank_delete(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    service = service_of(request)
    name = request.path_params["bank_name"]
    banks = await run_in_threadpool(_banks, service)
    if name in banks:
        entries = await run_in_threadpool(service.banks.remove, name)
        await _audit(request, caller, "bank-removed", name, {"entries": entries})
    return json_response({"message": "Done"})


def _metadata(data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ApiError(400, "metadata should be a json object")
    kept: dict[str, Any] = {key: value for key, value in data.items() if key != "collab"}
    unexpected = set(kept) - _METADATA_KEYS
    if unexpected:
        raise ApiError(400, f"Invalid metadata: unexpected keys {', '.join(sorted(unexpected))}")
    return kept


def _note(value: Any) -> str | None:
    if not value:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "note should be a string")
    if len(value) > 255:
        raise ApiError(400, "note must be at most 255 characters")
    return value


async def _add_signals(
    request: Request,
    caller: Caller,
    bank: str,
    hashes: dict[str, str],
    metadata: dict[str, Any] | None,
    note: str | None,
) -> Response:
    if not hashes:
        raise ApiError(400, "No signals given")
    signals: dict[str, str] = {}
    for name, value in hashes.items():
        if name not in SIGNAL_TYPES:
            raise ApiError(400, f"No such signal type {name[:40]}")
        if not isinstance(value, str):
            raise ApiError(400, f"Invalid {name} signal: not a string")
        try:
            signals[name] = checked(signal_kind(name), value)
        except ApiError as exc:
            raise ApiError(400, f"Invalid {name} signal: {exc.message}") from None
    kinds = [(_BANK_SIGNALS[SIGNAL_TYPES[name]], value) for name, value in signals.items()]
    meta = metadata or {}
    entry = EntryMetadata(
        external_id=meta.get("content_id"),
        comments=metadata_comments(meta.get("content_uri"), meta.get("json"), note),
    )
    service = service_of(request)
    try:
        content_id = await run_in_threadpool(service.edits.add_content, bank, kinds, entry)
    except NoSuchBank:
        raise ApiError(404, f"bank '{bank}' not found") from None
    await _audit(request, caller, "content-added", bank, {"id": content_id, "signals": signals})
    return json_response({"id": content_id, "signals": signals})


async def bank_add_content(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    bank = request.path_params["bank_name"]
    if bank not in await run_in_threadpool(_banks, service_of(request)):
        raise ApiError(404, f"bank '{bank}' not found")
    url = request.query_params.get("url")
    metadata: dict[str, Any] | None = None
    note: str | None = None
    if url:
        require_all(caller, HASHER)
        if request.headers.get("content-type", "").startswith("application/json"):
            data = await json_object(request)
            metadata, note = _metadata(data.get("metadata")), _note(data.get("note"))
        hashes = await hashes_of_url(request, url)
    elif is_multipart(request):
        require_all(caller, HASHER)
        hashes, form = await hashes_of_upload(request)
        if "metadata" in form:
            try:
                metadata = _metadata(orjson.loads(form["metadata"]))
            except orjson.JSONDecodeError:
                raise ApiError(400, "metadata form field must be valid JSON") from None
        note = _note(form.get("note"))
    else:
        raise ApiError(400, "Neither `url` nor multipart file upload was received")
    return await _add_signals(request, caller, bank, hashes, metadata, note)


async def bank_add_signals(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    bank = request.path_params["bank_name"]
    data = await json_object(request)
    note = _note(data.pop("note", None))
    return await _add_signals(request, caller, bank, data, None, note)


def _content_id(request: Request) -> int:
    try:
        return int(request.path_params["content_id"])
    except ValueError:
        raise ApiError(404, "content not found") from None


async def _content(request: Request) -> tuple[str, int, ContentRecord]:
    service = service_of(request)
    bank, content_id = request.path_params["bank_name"], _content_id(request)
    if bank not in await run_in_threadpool(_banks, service):
        raise ApiError(404, f"bank '{bank}' not found")
    found = await run_in_threadpool(service.edits.contents, [content_id])
    if not found or found[0].bank != bank:
        raise ApiError(404, f"content '{content_id}' not found")
    return bank, content_id, found[0]


def _content_json(record: ContentRecord, *, signals: bool, metadata: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.id,
        "disable_until_ts": record.disabled_until,
        "original_media_uri": None,
        "bank": _bank_json(record.bank, record.bank_enabled_ratio),
    }
    stored: dict[str, Any] = {}
    if record.metadata.comments:
        try:
            stored = orjson.loads(record.metadata.comments)
        except orjson.JSONDecodeError:
            stored = {}
    if signals and record.signals:
        body["signals"] = {
            ("pdq" if kind == BankSignal.PDQ else kind): value
            for kind, value in record.signals.items()
        }
    shown = {
        key: value
        for key, value in (
            ("content_id", record.metadata.external_id),
            ("content_uri", stored.get("content_uri")),
            ("json", stored.get("json")),
        )
        if value is not None
    }
    if metadata and shown:
        body["metadata"] = shown
    if stored.get("note"):
        body["note"] = stored["note"]
    return body


async def content_get(request: Request) -> Response:
    authorize(request, _CURATOR)
    _, _, record = await _content(request)
    params = request.query_params
    return json_response(
        _content_json(
            record,
            signals=params.get("include_signals", "false").lower() == "true",
            metadata=params.get("include_metadata", "true").lower() == "true",
        )
    )


async def content_update(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    service = service_of(request)
    bank, content_id, record = await _content(request)
    data = await json_object(request)
    if "disable_until_ts" in data:
        try:
            until = int(data["disable_until_ts"])
        except (TypeError, ValueError):
            raise ApiError(400, "Invalid int") from None
        if until < 0:
            raise ApiError(400, "disable_until_ts must be a non-negative integer")
        if until > time.time() + _FIVE_YEARS:
            raise ApiError(400, "disable_until_ts must be less than 5 years in the future")
        try:
            await run_in_threadpool(service.edits.set_disabled_until, bank, content_id, until)
        except NoSuchEntry as exc:
            raise ApiError(404, str(exc)) from None
        await _audit(request, caller, "content-changed", bank, {"id": content_id, "until": until})
    _, _, record = await _content(request)
    return json_response(_content_json(record, signals=False, metadata=True))


async def content_delete(request: Request) -> Response:
    caller = authorize(request, _CURATOR)
    service = service_of(request)
    bank, content_id = request.path_params["bank_name"], _content_id(request)
    if bank not in await run_in_threadpool(_banks, service):
        raise ApiError(404, f"bank '{bank}' not found")
    try:
        count = await run_in_threadpool(service.edits.remove_content, bank, content_id)
    except UserError as exc:
        raise ApiError(404, str(exc)) from None
    if count:
        await _audit(request, caller, "content-removed", bank, {"id": content_id})
    return json_response({"deleted": count})


async def signal_types(request: Request) -> Response:
    authorize(request, ANY_ROLE)
    ratios = await run_in_threadpool(service_of(request).edits.signal_type_ratios)
    return json_response(
        [{"name": name, "enabled_ratio": ratios.get(name, 1.0)} for name in SIGNAL_TYPES]
    )


async def signal_type_update(request: Request) -> Response:
    """HMA's ``PUT /c/signal_type/<name>``: keep the signal type's ``enabled_ratio``
    (listed by ``GET /c/signal_type``). As in HMA, every ratio still hashes and
    matches: HMA's SignalTypeConfig.enabled is ``ratio >= 0`` (its coin flip a TODO).
    HMA answers 204, so no body reaches the caller."""
    caller = authorize(request, _CURATOR)
    name = request.path_params["signal_type_name"]
    if name not in SIGNAL_TYPES:
        raise ApiError(400, f"No such SignalType '{name[:40]}'")
    data = await json_object(request)
    if "enabled_ratio" not in data:
        raise ApiError(400, "enabled_ratio is required")
    ratio = _ratio(data, None)
    assert ratio is not None
    await run_in_threadpool(service_of(request).edits.set_signal_type_ratio, name, ratio)
    await _audit(request, caller, "signal-type-changed", name, {"enabled_ratio": ratio})
    return Response(status_code=204)


async def signal_type_index(request: Request) -> Response:
    service = service_of(request)
    authorize(request, ANY_ROLE)
    names = asked_signal_types(request)
    snapshot = service.index.snapshot
    states = await run_in_threadpool(service.edits.bank_states)
    behind = snapshot is None or any(
        state.target.name not in snapshot.banks
        or snapshot.banks[state.target.name].revision != state.target.revision
        for state in states
    )
    built_to = service.built_to()
    result = {}
    for name in names:
        if SIGNAL_TYPES[name] == PDQ:
            size = 0 if snapshot is None else snapshot.pdq_size()
            db_size = await run_in_threadpool(service.signal_count, PDQ)
        else:
            kind = SIGNAL_TYPES[name]
            size = db_size = await run_in_threadpool(service.signal_count, kind)
        result[name] = {
            "db_size": db_size,
            "index_size": size,
            "index_out_of_date": behind,
            "newest_db_item": int(time.time()) if behind else built_to,
            "index_built_to": built_to,
        }
    return json_response(result)


async def content_types(request: Request) -> Response:
    authorize(request, ANY_ROLE)
    return json_response([{"name": name, "enabled": True} for name in CONTENT_TYPES])


ROUTES = [
    Route("/c/banks", banks_index, methods=["GET"]),
    Route("/c/banks", bank_create, methods=["POST"]),
    Route("/c/bank/{bank_name}", bank_show, methods=["GET"]),
    Route("/c/bank/{bank_name}", bank_update, methods=["PUT"]),
    Route("/c/bank/{bank_name}", bank_delete, methods=["DELETE"]),
    Route("/c/bank/{bank_name}/content", bank_add_content, methods=["POST"]),
    Route("/c/bank/{bank_name}/content/{content_id}", content_get, methods=["GET"]),
    Route("/c/bank/{bank_name}/content/{content_id}", content_update, methods=["PUT"]),
    Route("/c/bank/{bank_name}/content/{content_id}", content_delete, methods=["DELETE"]),
    Route("/c/bank/{bank_name}/signal", bank_add_signals, methods=["POST"]),
    Route("/c/signal_type", signal_types, methods=["GET"]),
    Route("/c/signal_type/index", signal_type_index, methods=["GET"]),
    Route("/c/signal_type/{signal_type_name}", signal_type_update, methods=["PUT"]),
    Route("/c/content_type", content_types, methods=["GET"]),
]
