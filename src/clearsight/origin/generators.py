"""Generator metadata: what an AI image tool wrote about itself into the file it made.

This module finds the text fields and hands them to the per-tool recognisers in
:mod:`clearsight.origin.generator_formats`. PNG chunks are walked here, not by Pillow,
so that text after the image data and oversized compressed chunks are read within
caps instead of failing the whole file; EXIF (a PNG ``eXIf`` chunk, or any format
Pillow opens) and JPEG ``COM`` comments go through Pillow. No pixels are decoded,
with one exception: AUTOMATIC1111's "stealth" PNG info hides the record in the low
bits of the alpha channel, so an 8-bit RGBA PNG of at most 16 MP is decoded for it.

A structured record is strong evidence of generation; a bare ``Software`` string is
moderate. Both are easy to strip, so absence says nothing. The prompt goes only into
:attr:`Evidence.prompt`, never into ``detail``.
"""

from __future__ import annotations

import io
import json
import re
import struct
import warnings
import zlib
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from PIL import Image

from clearsight.media.jpeg_segments import crowded_jpeg
from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength
from clearsight.origin.generator_formats import GeneratorRecord, MetadataField, recognise

Alpha = npt.NDArray[np.uint8]  # (h, w), as the scan decoded it

KIND = "generator-metadata"
MAX_FIELD_BYTES = 1_000_000  # one field; a ComfyUI graph is rarely over 100 kB
MAX_TEXT_BYTES = 8_000_000  # all of one file's fields together
MAX_FIELDS = 256
MAX_STEALTH_PIXELS = 16_000_000
MAX_EXIF_BYTES = 4_000_000  # a PNG eXIf chunk; EXIF in JPEG is held to 64 kB segments
MAX_KEYWORD_BYTES = 79  # the PNG specification's limit
_INFLATE_STEP = 65_536  # compressed input is fed in pieces: no copy of a huge chunk
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_PNG_TEXT = (b"tEXt", b"zTXt", b"iTXt")
_PIXEL_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT"})
_IEND = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_XP_COMMENT = 0x9C9C
# Tag: (its name, the PNG keyword with the same role; see MetadataField.key).
_EXIF_TEXT_TAGS = {
    0x010E: ("ImageDescription", "Description"),
    0x010F: ("Make", "Make"),
    0x0110: ("Model", "Model"),
    0x0131: ("Software", "Software"),
    0x013B: ("Artist", "Artist"),
    0x927C: ("MakerNote", "MakerNote"),
    _USER_COMMENT: ("UserComment", "Comment"),
    _XP_COMMENT: ("XPComment", "Comment"),
}
# ComfyUI's WebP saver writes "prompt:{...}" into Model and "workflow:{...}" into Make.
_COMFYUI_EXIF = re.compile(r"(prompt|workflow):\s*(?=\{)")
_STEALTH_MAGIC = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}  # -> compressed
_STEALTH_HEADER_BITS = 8 * (15 + 4)  # the magic, then the payload length in bits
_LSB_DIGIT = bytes(b"01"[value & 1] for value in range(256))


class GeneratorMetadataDetector:
    """Finds the records AI image generators write into PNG text, EXIF and comments."""

    @property
    def name(self) -> str:
        return KIND

    def examine(self, file: OriginInput) -> list[Evidence]:
        return [_evidence(record) for record in generator_records(file.data, file.alpha)]


def generator_records(data: bytes, alpha: Alpha | None = None) -> list[GeneratorRecord]:
    """The generator records in a file's bytes; none for anything unreadable. ``alpha``
    is the picture's alpha channel where a scan decoded it already."""
    return recognise(metadata_fields(data, alpha))


def metadata_fields(data: bytes, alpha: Alpha | None = None) -> list[MetadataField]:
    """The text fields of a file that may hold a generator's record, within the caps."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about odd EXIF; it is not news here
            if data.startswith(PNG_SIGNATURE):
                fields = _png_fields(data, alpha)
            elif crowded_jpeg(data):
                fields = []  # Pillow would take minutes over it (see media.jpeg_segments)
            else:
                fields = _pillow_fields(data)
    except Exception:  # noqa: BLE001 - an unreadable file holds no record
        return []
    return fields[:MAX_FIELDS]


def describe(record: GeneratorRecord) -> str:
    """The record's facts in one line, safe to log: never the prompt."""
    facts = [
        _count("model", record.models),
        _count("seed", record.seeds),
        _count("steps", tuple(map(str, record.steps)), plural="steps"),
        f"version {_plain(record.version)}" if record.version else "",
        _plain(record.reference) if record.reference else "",
    ]
    line = f"{record.tool} {record.form} in {record.location}"
    listed = ", ".join(fact for fact in facts if fact)
    if listed:
        line += f": {listed}"
    if record.edit:
        line += f"; records an edit of a source image: {_plain(record.edit)}"
    return line


def _evidence(record: GeneratorRecord) -> Evidence:
    return Evidence(
        kind=KIND,
        points_to=PointsTo.AI_EDIT if record.edit else PointsTo.AI,
        strength=Strength.STRONG if record.structured else Strength.MODERATE,
        detail=describe(record),
        prompt=record.prompt,
    )


def _count(noun: str, values: tuple[str, ...], plural: str | None = None) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{noun} {_plain(values[0])}"
    shown = ", ".join(_plain(v) for v in values[:4]) + (", ..." if len(values) > 4 else "")
    return f"{plural or noun + 's'} [{shown}]"  # brackets: the facts are comma-separated too


def _plain(text: str, limit: int = 100) -> str:
    """One printable line: names from a hostile file must not forge log lines."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text[: limit * 2]).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# --- PNG ---------------------------------------------------------------------------------


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body length) of each whole chunk; a truncated file ends early."""
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        start = position + 8
        if start + length > len(data):
            return
        yield kind, start, length
        if kind == b"IEND":
            return
        position = start + length + 4  # skip the CRC: a bad one does not change the text


def _png_fields(data: bytes, alpha: Alpha | None) -> list[MetadataField]:
    # Chunks are read in place, by offset: a chunk's body is never copied whole, as a
    # hostile file may make one hundreds of MB long.
    fields: list[MetadataField] = []
    budget = MAX_TEXT_BYTES
    has_stealth_room = False
    pixel_budget = 0
    pixel_chunks: list[tuple[int, int]] = []  # where each chunk a decoder needs lies
    for kind, start, length in _png_chunks(data):
        if kind in _PIXEL_CHUNKS:
            pixel_chunks.append((start - 8, start + length + 4))
        if kind == b"IHDR" and length >= 10:
            width, height, depth, colour = struct.unpack_from(">IIBB", data, start)
            has_stealth_room = depth == 8 and colour == 6 and width * height <= MAX_STEALTH_PIXELS
            # Compressed pixels are never much larger than raw ones (stored deflate
            # blocks add 5 bytes in 64 kB): more is not a picture worth decoding.
            pixel_budget = 2 * (width * (4 * depth // 8 + 1) * height) + 65_536
        elif kind in _PNG_TEXT and budget > 0 and len(fields) < MAX_FIELDS:
            if found := _png_text(kind, data, start, start + length, min(budget, MAX_FIELD_BYTES)):
                fields.append(found)
                budget -= len(found.text)
        elif kind == b"eXIf" and length <= MAX_EXIF_BYTES:
            fields += _exif_fields(_load_exif(data[start : start + length]))
    if has_stealth_room and alpha is not None:
        fields += _stealth_fields(b"", alpha)
    elif has_stealth_room and sum(end - start for start, end in pixel_chunks) <= pixel_budget:
        fields += _stealth_fields(_pixels_only(data, pixel_chunks), None)
    return fields


def _pixels_only(data: bytes, chunks: list[tuple[int, int]]) -> bytes:
    """The PNG with only the chunks its pixels need: a decoder (Pillow) reads every text
    chunk whole, before and after the pixels, and a 200 MB one cost 600 MB."""
    return b"".join([PNG_SIGNATURE, *(data[start:end] for start, end in chunks), _IEND])


def _png_text(kind: bytes, data: bytes, start: int, end: int, cap: int) -> MetadataField | None:
    """The text of the chunk whose body is ``data[start:end]``, at most ``cap`` bytes."""
    separator = data.find(b"\0", start, min(end, start + MAX_KEYWORD_BYTES + 1))
    if separator <= start:
        return None
    keyword = data[start:separator]
    rest = separator + 1
    if kind == b"tEXt":
        raw: bytes | None = data[rest : min(end, rest + cap)]
        encoding = "latin-1"
    elif kind == b"zTXt":  # a compression method byte, then the zlib stream
        raw = _inflate(memoryview(data)[rest + 1 : end], cap)
        encoding = "latin-1"
    else:  # iTXt: compression flag, method, language\0, translated keyword\0, UTF-8 text
        compressed = data[rest : rest + 1] == b"\1"
        text = rest + 2
        for _ in range(2):  # past the language tag and the translated keyword
            found = data.find(b"\0", text, end)
            text = found + 1 if found >= 0 else text
        raw = (
            _inflate(memoryview(data)[text:end], cap)
            if compressed
            else data[text : min(end, text + cap)]
        )
        encoding = "utf-8"
    if raw is None:
        return None
    name = _plain(keyword.decode("latin-1"), 80)
    return MetadataField(
        f"PNG {kind.decode()} chunk '{name}'", name, raw.decode(encoding, "replace")
    )


def _inflate(compressed: bytes | memoryview, cap: int, wbits: int = zlib.MAX_WBITS) -> bytes | None:
    """At most ``cap`` bytes inflated from ``compressed``, fed in pieces, so that neither
    a bomb's output nor a huge input is ever held whole."""
    inflater = zlib.decompressobj(wbits)
    pieces: list[bytes] = []
    size = 0
    try:
        for at in range(0, len(compressed), _INFLATE_STEP):
            piece = inflater.decompress(compressed[at : at + _INFLATE_STEP], cap - size)
            pieces.append(piece)
            size += len(piece)
            if size >= cap or inflater.eof:
                break
    except zlib.error:
        return None
    return b"".join(pieces)


def _stealth_fields(data: bytes, alpha: Alpha | None) -> list[MetadataField]:
    """AUTOMATIC1111's stealth PNG info: the alpha channel's low bits, column by column.
    The alpha channel the scan decoded is used where given: decoding it here again would
    cost more than everything else this detector does."""
    try:
        if alpha is not None:
            return _stealth_record(Image.fromarray(alpha))
        with Image.open(io.BytesIO(data)) as image:
            if image.mode != "RGBA":
                return []
            return _stealth_record(image.getchannel("A"))
    except Exception:  # noqa: BLE001 - truncated or corrupt pixels: no hidden record
        return []


def _stealth_record(alpha: Image.Image) -> list[MetadataField]:
    header = _lsb_bytes(alpha, 0, _STEALTH_HEADER_BITS)
    magic = header[:15]
    if magic not in _STEALTH_MAGIC:
        return []
    payload_bits = min(int.from_bytes(header[15:], "big"), 8 * MAX_FIELD_BYTES)
    payload = _lsb_bytes(alpha, _STEALTH_HEADER_BITS, payload_bits - payload_bits % 8)
    if _STEALTH_MAGIC[magic]:
        payload = _inflate(payload, MAX_FIELD_BYTES, 16 + zlib.MAX_WBITS) or b""
    return _stealth_payload_fields(
        f"alpha-channel stealth info ({magic.decode()})", payload.decode("utf-8", "replace")
    )


def _lsb_bytes(alpha: Image.Image, first_bit: int, bit_count: int) -> bytes:
    width, height = alpha.size
    end = first_bit + bit_count
    columns = min(width, -(-end // height))
    column_major = alpha.crop((0, 0, columns, height)).transpose(Image.Transpose.TRANSPOSE)
    digits = column_major.tobytes()[first_bit:end].translate(_LSB_DIGIT)
    whole = len(digits) - len(digits) % 8
    return int(digits[:whole], 2).to_bytes(whole // 8, "big") if whole else b""


def _stealth_payload_fields(location: str, text: str) -> list[MetadataField]:
    # AUTOMATIC1111 hides its parameters text; NovelAI hides a JSON object of its PNG
    # text fields (Software, Comment, Description...), read here as those fields.
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else None
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        return [MetadataField(location, "parameters", text)]
    return [
        MetadataField(
            f"{location}, key '{_plain(str(key), 80)}'",
            str(key),
            value if isinstance(value, str) else json.dumps(value),
        )
        for key, value in list(document.items())[:MAX_FIELDS]
    ]


# --- EXIF and comments, through Pillow ---------------------------------------------------


def _pillow_fields(data: bytes) -> list[MetadataField]:
    with Image.open(io.BytesIO(data)) as image:
        try:
            fields = _exif_fields(image.getexif())
        except Exception:  # noqa: BLE001 - corrupt EXIF: the comments may still be read
            fields = []
        comments = [body for marker, body in getattr(image, "applist", []) if marker == "COM"]
        if not comments and image.info.get("comment"):
            comments = [image.info["comment"]]
        where = f"{image.format or 'image'} comment"
    for comment in comments[:MAX_FIELDS]:
        text = comment if isinstance(comment, str) else bytes(comment).decode("utf-8", "replace")
        fields.append(MetadataField(where, "Comment", text[:MAX_FIELD_BYTES]))
    return fields


def _load_exif(raw: bytes) -> Image.Exif:
    exif = Image.Exif()
    try:
        exif.load(raw)
    except Exception:  # noqa: BLE001 - corrupt EXIF is no record
        return Image.Exif()
    return exif


def _exif_fields(exif: Image.Exif) -> list[MetadataField]:
    directories: list[dict[int, object]] = [dict(exif)]
    try:
        directories.append(dict(exif.get_ifd(_EXIF_IFD)))
    except Exception:  # noqa: BLE001 - a broken sub-directory loses only its own tags
        pass
    fields = []
    for directory in directories:
        for tag, (name, key) in _EXIF_TEXT_TAGS.items():
            text = _exif_text(tag, directory.get(tag))
            if text:
                fields.append(_exif_field(f"EXIF {name} (0x{tag:04X})", key, text))
    return fields


def _exif_field(location: str, key: str, text: str) -> MetadataField:
    if comfyui := _COMFYUI_EXIF.match(text):
        return MetadataField(f"{location} '{comfyui[1]}:' value", comfyui[1], text[comfyui.end() :])
    return MetadataField(location, key, text)


def _exif_text(tag: int, value: object) -> str | None:
    if isinstance(value, tuple) and all(isinstance(v, int) and 0 <= v < 256 for v in value):
        value = bytes(value)  # Pillow gives some UNDEFINED tags as tuples of byte values
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        raw = value[:MAX_FIELD_BYTES]
        if tag == _USER_COMMENT:
            text = _user_comment(raw)
        elif tag == _XP_COMMENT:
            text = raw.decode("utf-16-le", "replace")
        else:
            text = raw.decode("utf-8", "replace")
    else:
        return None
    return text.strip("\0") or None


def _user_comment(raw: bytes) -> str:
    """EXIF UserComment: an 8-byte character-code prefix, then the text."""
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\0":
        return _utf16(body)
    if prefix in (b"ASCII\0\0\0", b"\0" * 8):
        return body.decode("utf-8", "replace")
    if prefix == b"JIS\0\0\0\0\0":
        return body.decode("shift_jis", "replace")
    return raw.decode("utf-8", "replace")


def _utf16(body: bytes) -> str:
    # The prefix does not say the byte order, and writers differ (A1111 writes big-endian
    # even inside little-endian EXIF). Mostly-ASCII text has its zero bytes on one side.
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return body.decode("utf-16", "replace")
    sample = body[:2000]
    big_endian = sample[0::2].count(0) > sample[1::2].count(0)
    return body[: len(body) - len(body) % 2].decode(
        "utf-16-be" if big_endian else "utf-16-le", "replace"
    )
