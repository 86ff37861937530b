"""``/m``: look signals and media up in the banks (role: matcher; media input needs
hasher too, as HMA's hashing role does).

``raw_lookup`` answers content ids whatever their bank's state; ``lookup`` answers
``{BANK: [{"bank_content_id", "distance"}]}`` over enabled content in the banks that
the lookup's coin flip lets it see (HMA's ``matching_enabled_ratio`` and ``seed``),
nested under the signal type for media input. Distances are strings, as HMA's
``pretty_str`` writes them ("-" for exact signals). Beyond HMA, and only when asked,
``include_metadata=true`` adds each match's entry metadata, the entry's own signals
and the signal that was looked up (``query_signal``: for media input, the hash the
service computed), which HMA's users ask for (HMA issues #1827, #1681).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clearsight.api.auth import HASHER, MATCHER, require_all
from clearsight.api.context import (
    authorize,
    hashes_of_upload,
    hashes_of_url,
    json_body,
    service_of,
)
from clearsight.api.errors import ApiError, json_response, require, str_to_bool
from clearsight.api.media_input import pdq_with_views, read_upload
from clearsight.api.service import PDQ, SIGNAL_TYPES, VPDQ, MatchingService
from clearsight.signals.pdq import PdqSignal
from clearsight.signals.signal_type import Md5Signal
from clearsight.signals.vpdq import VpdqSignal, match_percent_brute, parse_signal_string

_MATCHER = frozenset({MATCHER})
NO_DISTANCE = "-"


def signal_kind(name: str) -> str:
    kind = SIGNAL_TYPES.get(name)
    if kind is None:
        raise ApiError(400, f"No such SignalType '{name[:40]}'")
    return kind


def checked(kind: str, value: str) -> str:
    try:
        if kind == VPDQ:
            return VpdqSignal.validate(value)
        return PdqSignal.validate(value) if kind == PDQ else Md5Signal.validate(value)
    except ValueError as exc:
        raise ApiError(400, f"invalid signal: {exc}") from None


async def hits_of(
    service: MatchingService, signal_type: str, value: str, banks: Collection[str] | None
) -> list[tuple[str, int, str]]:
    """(bank, content id, distance) for every entry the signal meets, in any bank."""
    kind = signal_kind(signal_type)
    value = checked(kind, value)
    if service.index.snapshot is None:
        raise ApiError(503, "index not yet ready")
    if kind == PDQ:
        found = await service.pdq_hits(value)
        hits = [(hit.bank, hit.entry_id, str(hit.distance)) for hit in found]
    elif kind == VPDQ:
        videos = await run_in_threadpool(service.video_hits, value, banks)
        hits = [(hit.bank, hit.entry_id, hit.distance) for hit in videos]
    else:
        digests = await run_in_threadpool(service.digest_hits, value, banks)
        hits = [(hit.bank, hit.entry_id, NO_DISTANCE) for hit in digests]
    if banks is not None:
        hits = [hit for hit in hits if hit[0] in banks]
    return hits


def banks_param(params: Mapping[str, str]) -> set[str] | None:
    given = params.get("banks")
    return set(given.split(",")) if given else None


def _banks_param(request: Request) -> set[str] | None:
    return banks_param(request.query_params)


async def raw_lookup_result(
    service: MatchingService, params: Mapping[str, str]
) -> dict[str, list[Any]]:
    """HMA's ``raw_lookup`` answer for query ``params`` (the caller is authorised)."""
    signal = require(params, "signal")
    signal_type = require(params, "signal_type")
    include_distance = str_to_bool(params.get("include_distance", "false"))
    hits = await hits_of(service, signal_type, signal, banks_param(params))
    if include_distance:
        matches: list[Any] = [{"bank_content_id": e, "distance": d} for _, e, d in hits]
    else:
        matches = [entry for _, entry, _ in hits]
    return {"matches": matches}


async def raw_lookup(request: Request) -> Response:
    authorize(request, _MATCHER)
    return json_response(await raw_lookup_result(service_of(request), request.query_params))


async def lookup(
    request: Request,
    signal: str,
    signal_type: str,
    banks: set[str] | None,
    bypass_coinflip: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    return await lookup_result(
        service_of(request), request.query_params, signal, signal_type, banks, bypass_coinflip
    )


async def lookup_result(
    service: MatchingService,
    params: Mapping[str, str],
    signal: str,
    signal_type: str,
    banks: set[str] | None,
    bypass_coinflip: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """HMA's ``lookup`` answer for one signal: matches by bank, in the banks the
    lookup's coin flip lets it see (see :meth:`MatchingService.banks_seen`)."""
    hits = await hits_of(service, signal_type, signal, banks)
    query_signal = checked(signal_kind(signal_type), signal)
    seen = service.banks_seen(params.get("seed"), bypass_coinflip)
    hits = [hit for hit in hits if hit[0] in seen]
    if not hits:
        return {}
    include_metadata = str_to_bool(params.get("include_metadata", "false"))
    records = {
        record.id: record
        for record in await run_in_threadpool(service.edits.contents, [e for _, e, _ in hits])
    }
    now = time.time()
    result: dict[str, list[dict[str, Any]]] = {}
    for bank, entry, distance in hits:
        record = records.get(entry)
        if record is None or record.disabled_until > now:
            continue  # removed meanwhile, or disabled for now
        match: dict[str, Any] = {"bank_content_id": entry, "distance": distance}
        if include_metadata:
            meta = record.metadata
            match["metadata"] = {
                "content_id": meta.external_id,
                "category": meta.category,
                "series": meta.series,
                "comments": meta.comments,
            }
            match["signals"] = dict(record.signals)
            match["query_signal"] = query_signal
        result.setdefault(bank, []).append(match)
    return result


async def lookup_get(request: Request) -> Response:
    caller = authorize(request, _MATCHER)
    params = request.query_params
    banks = _banks_param(request)
    url = params.get("url")
    if url:
        require_all(caller, HASHER)
        hashes = await hashes_of_url(request, url)
        nested = {st: await lookup(request, value, st, banks) for st, value in hashes.items()}
        selected = params.get("signal_type")
        return json_response(nested.get(selected, {}) if selected else nested)
    signal, signal_type = params.get("signal"), params.get("signal_type")
    if not signal or not signal_type:
        raise ApiError(400, "Either url or both signal and signal_type are required")
    return json_response(await lookup(request, signal, signal_type, banks))


async def lookup_post(request: Request) -> Response:
    caller = authorize(request, _MATCHER)
    require_all(caller, HASHER)
    banks = _banks_param(request)
    if str_to_bool(request.query_params.get("views", "false")):
        upload = await read_upload(request, service_of(request).config.max_upload_bytes)
        if upload.field != "photo":
            raise ApiError(400, "views=true is for photos")
        return json_response({PDQ: await lookup_views(request, upload.data, banks)})
    hashes, _ = await hashes_of_upload(request)
    # As HMA: only the upload's lookup reads bypass_coinflip, and only "true" sets it.
    bypass = request.query_params.get("bypass_coinflip", "false") == "true"
    return json_response(
        {st: await lookup(request, value, st, banks, bypass) for st, value in hashes.items()}
    )


async def lookup_views(
    request: Request, data: bytes, banks: set[str] | None
) -> dict[str, list[dict[str, Any]]]:
    """Beyond HMA (``views=true``): the picture, turned and flipped, and its query views
    (:func:`~clearsight.api.media_input.pdq_with_views`) looked up at once; per entry
    the closest, with ``matched_as`` naming which of them met it."""
    service = service_of(request)
    labelled = await run_in_threadpool(pdq_with_views, data)
    codes = PdqSignal.pack([value for _, value in labelled])
    found = await run_in_threadpool(service.index.search_pdq, codes, banks)
    best: dict[tuple[str, int], tuple[int, str]] = {}
    for hit in found:
        key = (hit.bank, hit.entry_id)
        if key not in best or hit.distance < best[key][0]:
            best[key] = (hit.distance, labelled[hit.query][0])
    now = time.time()
    records = {
        record.id: record
        for record in await run_in_threadpool(service.edits.contents, [e for _, e in best])
    }
    result: dict[str, list[dict[str, Any]]] = {}
    for (bank, entry), (distance, label) in sorted(best.items()):
        record = records.get(entry)
        if record is None or record.disabled_until > now:
            continue
        result.setdefault(bank, []).append(
            {"bank_content_id": entry, "distance": str(distance), "matched_as": label}
        )
    return result


def asked_signal_types(request: Request) -> list[str]:
    """The signal types a status route reports: the one ``signal_type`` names, or all."""
    limit = request.query_params.get("signal_type")
    if limit is None:
        return list(SIGNAL_TYPES)
    if limit not in SIGNAL_TYPES:
        raise ApiError(400, f"No such signal type '{limit[:40]}'")
    return [limit]


async def index_status(request: Request) -> Response:
    service = service_of(request)
    authorize(request, _MATCHER)
    names = asked_signal_types(request)
    snapshot, built_to = service.index.snapshot, service.built_to()
    result = {}
    for name in names:
        if snapshot is None:
            result[name] = {"present": False, "built_to": -1, "size": 0}
        elif SIGNAL_TYPES[name] == PDQ:
            result[name] = {"present": True, "built_to": built_to, "size": snapshot.pdq_size()}
        else:  # exact signals and videos are looked up through the bank store
            size = await run_in_threadpool(service.signal_count, SIGNAL_TYPES[name])
            result[name] = {"present": True, "built_to": built_to, "size": size}
    return json_response(result)


async def compare(request: Request) -> Response:
    authorize(request, _MATCHER)
    data = await json_body(request)
    if not isinstance(data, dict):
        raise ApiError(400, "Request input was not a dict")
    result: dict[str, Any] = {}
    for name, pair in data.items():
        if not isinstance(pair, list):
            raise ApiError(400, f"Comparison hashes for {name[:40]} was not a list")
        if len(pair) != 2:
            raise ApiError(400, "Comparison hash list length must be exactly 2")
        kind = signal_kind(name)
        try:
            left, right = (checked(kind, str(value)) for value in pair)
        except ApiError as exc:
            raise ApiError(400, f"Invalid {name[:40]} hash: {exc.message}") from None
        if kind == PDQ:
            distance = PdqSignal.distance(left, right)
            result[name] = [distance <= service_of(request).pdq_threshold, {"distance": distance}]
        elif kind == VPDQ:  # as python-threatexchange's VPDQSignal.compare_hash
            percent = match_percent_brute(parse_signal_string(left), parse_signal_string(right))
            result[name] = [
                percent.is_match(),
                {
                    "query_match_percent": percent.query,
                    "compared_match_percent": percent.compared,
                },
            ]
        else:
            result[name] = [left == right, {}]
    return json_response(result)


ROUTES = [
    Route("/m/raw_lookup", raw_lookup, methods=["GET"]),
    Route("/m/lookup", lookup_get, methods=["GET"]),
    Route("/m/lookup", lookup_post, methods=["POST"]),
    Route("/m/index/status", index_status, methods=["GET"]),
    Route("/m/compare", compare, methods=["POST"]),
]
