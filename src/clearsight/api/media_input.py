"""Media given to the service: a multipart upload, read in memory, and its hashes.

HMA takes one file per request, in a multipart field named after its content type
(``photo``, ``video``). The body is read into memory, capped, and parsed there: an
upload is never spooled to a temporary file, since clearsight never writes a copy of
the media. Hashing follows HMA's content types: a photo gives ``pdq`` (and ``md5`` on
request, with ``types``), a video ``video_md5`` and ``vpdq`` (and ``md5``), as HMA with
its vPDQ extension does. The vPDQ is python-threatexchange's signal string of one frame
a second (:mod:`clearsight.signals.vpdq`), decoded by PyAV from the bytes in memory.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from clearsight.api.errors import ApiError
from clearsight.media.decode import DecodeLimits, ImageDecodeError, decode_luma
from clearsight.media.video import VideoDecodeError, VideoLimits, VideoReader
from clearsight.signals.frame_pdq import FrameTooSmallError, frame_pdq
from clearsight.signals.pdq import DIHEDRAL_TRANSFORMS, PDQ_WORKING_BOX, PdqSignal
from clearsight.signals.signal_type import Md5Signal
from clearsight.signals.variants import hash_views, query_views
from clearsight.signals.vpdq import VpdqFeature, to_signal_string

# Per content type: the signal types it yields by default, then those it may yield.
CONTENT_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "photo": (("pdq",), ("pdq", "md5")),
    "video": (("video_md5", "vpdq"), ("video_md5", "md5", "vpdq")),
}
_LIMITS = DecodeLimits(max_pixels=100_000_000)
_VIDEO_LIMITS = VideoLimits()  # the scan's caps: streams, frame size, length, frames


@dataclass(frozen=True)
class Upload:
    field: str
    data: bytes
    form: dict[str, str]


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the upload is larger than {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the upload is larger than {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def read_upload(request: Request, limit: int) -> Upload:
    """The one file of a multipart body, by its field name, and the body's text fields."""
    if not is_multipart(request):
        raise ApiError(400, "Missing multipart/form-data file upload")
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(400, "Missing multipart/form-data file upload")
    body = await read_body(request, limit)
    files: list[tuple[str, bytes]] = []
    fields: dict[str, str] = {}
    for name, is_file, data in _parts(body, boundary):
        if is_file:
            files.append((name, data))
        else:
            fields[name] = data.decode("utf-8", "replace")
    if not files:
        raise ApiError(400, "Missing multipart/form-data file upload")
    if len(files) > 1:
        raise ApiError(400, "Only one file allowed per request")
    return Upload(files[0][0], files[0][1], fields)


def _parts(body: bytes, boundary: bytes) -> list[tuple[str, bool, bytes]]:
    found: list[tuple[str, bool, bytes]] = []
    state: dict[str, object] = {}
    header_field = bytearray()
    header_value = bytearray()
    data = bytearray()

    def on_part_begin() -> None:
        state.clear()
        data.clear()

    def on_header_field(chunk: bytes, start: int, end: int) -> None:
        header_field.extend(chunk[start:end])

    def on_header_value(chunk: bytes, start: int, end: int) -> None:
        header_value.extend(chunk[start:end])

    def on_header_end() -> None:
        if bytes(header_field).lower() == b"content-disposition":
            _, options = parse_options_header(bytes(header_value))
            state["name"] = options.get(b"name", b"").decode("utf-8", "replace")
            state["file"] = b"filename" in options
        header_field.clear()
        header_value.clear()

    def on_part_data(chunk: bytes, start: int, end: int) -> None:
        data.extend(chunk[start:end])

    def on_part_end() -> None:
        found.append((str(state.get("name", "")), bool(state.get("file")), bytes(data)))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception:  # noqa: BLE001 - any malformed body is the caller's 400
        raise ApiError(400, "the multipart body is malformed") from None
    return found


def signal_types_for(content_type: str, types: str | None) -> tuple[str, ...]:
    """HMA's rule: the content type's signal types, or those of ``types`` it has."""
    if content_type not in CONTENT_TYPES:
        raise ApiError(400, f"no such content_type: '{content_type[:40]}'")
    default, possible = CONTENT_TYPES[content_type]
    if types is None:
        return default
    chosen: list[str] = []
    for name in (part.strip() for part in types.split(",")):
        if not name:
            continue
        if name not in possible:
            raise ApiError(400, f"signal type '{name[:40]}' doesn't exist or is disabled")
        chosen.append(name)
    if not chosen:
        raise ApiError(400, "empty signal type selection")
    return tuple(chosen)


def content_type_of(declared: str, given: str | None) -> str:
    """The content type of fetched media: as given, else from its MIME type."""
    if given:
        return given
    if declared.lower().startswith("image"):
        return "photo"
    if declared.lower().startswith("video"):
        return "video"
    raise ApiError(
        400,
        f"unsupported url ContentType: '{declared[:80]}', if you know the expected type, "
        "provide it with the content_type query param",
    )


def hash_media(data: bytes, signal_types: tuple[str, ...]) -> dict[str, str]:
    """``{signal_type: hash}`` of the media's bytes (CPU-bound: call off the loop)."""
    hashes: dict[str, str] = {}
    for name in signal_types:
        if name == "pdq":
            try:
                image = decode_luma(data, _LIMITS, PDQ_WORKING_BOX)
            except ImageDecodeError as exc:
                raise ApiError(400, f"not a decodable picture: {exc}") from None
            hashes[name] = PdqSignal.hash_from_luma(image.luma).hex
        elif name == "vpdq":
            hashes[name] = video_vpdq(data)
        else:
            hashes[name] = Md5Signal.hash_bytes(data)
    return hashes


def video_vpdq(data: bytes) -> str:
    """The video's vPDQ signal string (one frame a second, as vPDQ samples); a 400
    where the bytes are not a whole, decodable video."""
    features: list[VpdqFeature] = []
    try:
        with VideoReader(io.BytesIO(data), _VIDEO_LIMITS) as reader:
            for frame in reader.frames(1.0):
                hex_value, quality = frame_pdq(frame.rgb)
                features.append(VpdqFeature(hex_value, quality, frame.timestamp))
            stopped = reader.stopped
    except (VideoDecodeError, FrameTooSmallError) as exc:
        raise ApiError(400, f"not a decodable video: {exc}") from None
    if stopped is not None:
        raise ApiError(400, f"not a whole video: {stopped}")
    if not features:
        raise ApiError(400, "not a decodable video: no frames")
    return to_signal_string(features)


def pdq_with_views(data: bytes) -> list[tuple[str, str]]:
    """The picture's PDQ hash and those clearsight's query views add, each labelled:
    "original", its seven rotations and flips, and views of what it may hold (a
    picture in a frame, under a caption or beside others), as a scan would search."""
    try:
        image = decode_luma(data, _LIMITS, PDQ_WORKING_BOX)
    except ImageDecodeError as exc:
        raise ApiError(400, f"not a decodable picture: {exc}") from None
    pdq = PdqSignal.hash_from_luma(image.luma)
    labelled = [("original", pdq.hex), *zip(DIHEDRAL_TRANSFORMS, pdq.dihedral, strict=True)]
    views = hash_views(query_views(image.luma), pdq.hex)
    return labelled + [(f"view:{view.name}", view.hex) for view in views]
