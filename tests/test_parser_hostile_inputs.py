"""Hostile inputs the parser fuzzers found or were seeded with (``benchmarks/fuzz_*.py``),
kept as fast regression tests: each is generated here, a few MB at most.

The origin readers must never raise for bad bytes and must stay within bounded time
and memory; a bank file either reads as entries and rejected lines or fails with a
one-line ``BankFormatError``, and never resolves an entity.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.reader import BankFormat, read_bank_file
from clearsight.banks.records import ImportedEntry, ImportEvent, RejectedLine
from clearsight.media.jpeg_segments import MAX_EXIF_SEGMENTS, MAX_SEGMENTS, crowded_jpeg
from clearsight.media.sniff import sniff_media_type
from clearsight.origin.c2pa_manifest import MANIFEST_STORE_TYPE, C2paDetector
from clearsight.origin.camera import CameraExifDetector
from clearsight.origin.editing import EditingSoftwareDetector
from clearsight.origin.evidence import Detector, Evidence, OriginInput
from clearsight.origin.generators import (
    MAX_FIELD_BYTES,
    GeneratorMetadataDetector,
    metadata_fields,
)
from clearsight.origin.quantisation import QuantisationDetector, read_quantisation
from clearsight.origin.watermark import WatermarkDetector
from clearsight.origin.xmp import XmpDetector

from .conftest import photo_like

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
PASSWD_LINE = "root:x:0:0"
DEEP = 100_000


def _pillow_detectors() -> list[Detector]:
    return [
        CameraExifDetector(),
        EditingSoftwareDetector(),
        QuantisationDetector(),
        GeneratorMetadataDetector(),
        WatermarkDetector(),
    ]


def examined(detector: Detector, data: bytes) -> list[Evidence]:
    """What ``detector`` finds, checked against the rules every detector keeps."""
    found = detector.examine(OriginInput(data, sniff_media_type(data[:8192])))
    for item in found:
        assert item.detail.isprintable(), item.detail
        assert PASSWD_LINE not in item.detail
    return found


def jpeg(**options: object) -> bytes:
    buffer = io.BytesIO()
    photo_like(5, (64, 48)).save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def with_segments(base: bytes, segments: Sequence[tuple[int, bytes]]) -> bytes:
    """``base`` (a JPEG) with marker segments inserted right after its SOI."""
    inserted = b"".join(
        struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body for marker, body in segments
    )
    return base[:2] + inserted + base[2:]


def png_with(chunks: Sequence[tuple[bytes, bytes]], mode: str = "RGB") -> bytes:
    """A small PNG with ``chunks`` (type, body) after IHDR, with correct CRCs."""
    buffer = io.BytesIO()
    photo_like(6, (16, 16)).convert(mode).save(buffer, "PNG")
    base = buffer.getvalue()
    extra = b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in chunks
    )
    return base[:33] + extra + base[33:]


def tiff(entries: Sequence[tuple[int, int, int, bytes]], next_ifd: int = 0) -> bytes:
    """A little-endian TIFF header and one IFD of (tag, type, count, 4-byte value)."""
    body = b"II*\x00" + struct.pack("<IH", 8, len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")[:4]
    return body + struct.pack("<I", next_ifd)


def exif_jpeg(tiff_bytes: bytes) -> bytes:
    return with_segments(jpeg(), [(0xE1, b"Exif\x00\x00" + tiff_bytes)])


def zlib_bomb(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9)
    block = b"\x00" * (1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()


# --- JPEG header segments: Pillow's EXIF join is quadratic ---------------------------------


def test_a_jpeg_crowded_with_exif_segments_is_not_handed_to_pillow() -> None:
    # Found by the fuzzer: Pillow joins EXIF APP1 segments by repeated concatenation;
    # 1,000 of 64 kB (a 62 MB file) kept Image.open busy for 77 s. Here 17 small ones.
    exif = b"Exif\x00\x00" + tiff([(0x010F, 2, 4, b"NIK\x00"), (0x0110, 2, 4, b"D70\x00")])
    crowded = with_segments(jpeg(), [(0xE1, exif)] * (MAX_EXIF_SEGMENTS + 1))
    assert crowded_jpeg(crowded)
    assert read_quantisation(crowded) is None
    for detector in _pillow_detectors():
        assert examined(detector, crowded) == []


def test_a_jpeg_of_many_empty_segments_is_crowded() -> None:
    # Pillow keeps each segment in a list: millions of four-byte segments fill memory.
    empties = with_segments(jpeg(), [(0xE0, b"")] * (MAX_SEGMENTS + 1))
    assert crowded_jpeg(empties)
    started = time.perf_counter()
    for detector in _pillow_detectors():
        assert examined(detector, empties) == []
    assert time.perf_counter() - started < 2


def test_ordinary_files_are_not_crowded(shared_data: Path) -> None:
    camera = (shared_data / "camera" / "Nikon_D70_0_19593.JPG").read_bytes()
    exif = b"Exif\x00\x00" + tiff([(0x010F, 2, 4, b"NIK\x00")])
    assert not crowded_jpeg(camera)
    assert not crowded_jpeg(jpeg())
    assert not crowded_jpeg(with_segments(jpeg(), [(0xE1, exif)] * MAX_EXIF_SEGMENTS))
    assert not crowded_jpeg(b"\xff\xd8\xff")  # truncated: Pillow's own checks fail it
    assert not crowded_jpeg(b"\x89PNG\r\n\x1a\n")
    # The camera file is still read as one.
    assert "camera-exif" in [e.kind for e in examined(CameraExifDetector(), camera)]
    assert read_quantisation(camera) is not None


def test_fill_bytes_and_standalone_markers_are_walked() -> None:
    padded = jpeg()[:2] + b"\xff\xff" + jpeg()[2:]  # fill bytes before a marker
    assert not crowded_jpeg(padded)
    assert read_quantisation(padded) is not None
    assert not crowded_jpeg(jpeg()[:2] + b"\xff\x01" + jpeg()[2:])  # TEM: no length


# --- PNG text chunks: read in place, within the caps ----------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_a_huge_text_chunk_is_read_without_copying_it(mode: str) -> None:
    # Found by the fuzzer: a 200 MB tEXt chunk cost 603 MB: the chunk was copied three
    # times before the 1 MB field cap applied, and in an RGBA picture (which may hide a
    # stealth record in its alpha) Pillow read it whole, twice, for the pixels. 4 MB
    # here: the old code peaked at 10 MB of Python allocations, the new at 2 MB.
    data = png_with([(b"tEXt", b"parameters\x00" + b"a" * 4_000_000)], mode)
    tracemalloc.start()
    try:
        fields = metadata_fields(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [len(field.text) for field in fields] == [MAX_FIELD_BYTES]
    assert peak < 3 * MAX_FIELD_BYTES


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_a_compressed_text_bomb_is_inflated_only_to_the_cap(kind: bytes) -> None:
    header = b"parameters\x00\x00" if kind == b"zTXt" else b"parameters\x00\x01\x00en\x00\x00"
    data = png_with([(kind, header + zlib_bomb(16))])  # 16 MB of zeros in 16 kB
    tracemalloc.start()
    try:
        fields = metadata_fields(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [len(field.text) for field in fields] == [MAX_FIELD_BYTES]
    assert peak < 4 * MAX_FIELD_BYTES


def test_text_chunks_keep_their_meaning() -> None:
    parameters = "hills\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 16x16"
    info = PngImagePlugin.PngInfo()
    info.add_itxt("parameters", parameters, lang="en", tkey="p", zip=True)
    buffer = io.BytesIO()
    photo_like(7, (16, 16)).save(buffer, "PNG", pnginfo=info)
    fields = metadata_fields(buffer.getvalue())
    assert [(field.key, field.text) for field in fields] == [("parameters", parameters)]
    plain = png_with([(b"tEXt", b"Software\x00caf\xe9"), (b"zTXt", b"\x00\x00broken")])
    assert [(field.key, field.text) for field in metadata_fields(plain)] == [
        ("Software", "caf\u00e9")
    ]


@pytest.mark.parametrize(
    "chunk",
    [
        (b"tEXt", b"k" * 200 + b"\x00value"),  # keyword past the 79-byte limit
        (b"tEXt", b"\x00no keyword"),
        (b"iTXt", b"parameters\x00\x01\x00"),  # compressed, and nothing after
        (b"iTXt", b"parameters\x00\x00\x00\xff\xfe\x00\xc3\x28"),
        (b"zTXt", b"prompt\x00\x00" + b"\x78\x9c" + b"\xff" * 100),
        (b"eXIf", b"\x00" * 100),
    ],
)
def test_malformed_text_chunks_give_no_record(chunk: tuple[bytes, bytes]) -> None:
    assert examined(GeneratorMetadataDetector(), png_with([chunk])) == []


def test_deep_and_huge_json_in_a_record_never_raises() -> None:
    for text in (
        "[" * DEEP + "]" * DEEP,
        '{"a":' * DEEP + "1" + "}" * DEEP,
        '{"1": {"class_type": "KSampler", "inputs": {"seed": '
        + "9" * 5000
        + ', "steps": 1e999999, "latent_image": ["1", 0]}}}',
    ):
        info = PngImagePlugin.PngInfo()
        info.add_text("prompt", text)
        buffer = io.BytesIO()
        photo_like(8, (16, 16)).save(buffer, "PNG", pnginfo=info)
        examined(GeneratorMetadataDetector(), buffer.getvalue())


# --- XMP: entities, depth, size -------------------------------------------------------------


def xmp_packet(body: str, doctype: str = "") -> bytes:
    return (
        f'{doctype}<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
        '<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">'
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def test_xmp_entity_expansion_and_external_entities_are_refused() -> None:
    laughs = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    for doctype, body in (
        (f"<!DOCTYPE x:xmpmeta [{laughs}]>", "<photoshop:Credit>&l9;</photoshop:Credit>"),
        (
            '<!doctype x:xmpmeta [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
            "<photoshop:Credit>&e;</photoshop:Credit>",
        ),
        (
            '<!DOCTYPE x:xmpmeta [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]>',
            "<photoshop:Credit>&e;</photoshop:Credit>",
        ),
    ):
        packet = xmp_packet(body, doctype)
        for data in (packet, jpeg(xmp=packet)):
            assert examined(XmpDetector(), data) == []


def test_deep_long_and_stuffed_xmp_never_raises() -> None:
    started = time.perf_counter()
    for data in (
        xmp_packet("<a>" * DEEP + "</a>" * DEEP),
        b"<x:xmpmeta" * 300_000,  # 3 MB of openers and no closer
        xmp_packet("<photoshop:Credit>" + "a" * 3_000_000 + "</photoshop:Credit>"),
        xmp_packet("<photoshop:Credit>\x00\x00</photoshop:Credit>"),
        xmp_packet("<photoshop:Credit>Made with AI</photoshop:Credit>")[:-20],
    ):
        assert examined(XmpDetector(), data) == []
    assert time.perf_counter() - started < 5


# --- EXIF records the camera and editing detectors read -------------------------------------


@pytest.mark.parametrize(
    "exif",
    [
        # an IFD, and its EXIF sub-IFD, that point to themselves
        tiff([(0x010F, 2, 4, b"NIK\x00"), (0x8769, 4, 1, struct.pack("<I", 8))], next_ifd=8),
        tiff([(0x010F, 2, 0x3FFFFFFF, struct.pack("<I", 26)), (0x0110, 2, 4, b"D70\x00")]),
        b"II*\x00" + struct.pack("<IH", 8, 65535) + b"\x0f\x01\x02\x00" * 200,
        tiff([(0x010F, 2, 4, b"NIK\x00"), (0x829A, 5, 1, struct.pack("<I", 26))]) + b"\x00" * 8,
        tiff([(0x010F, 2, 4, b"\xff\xfe\xc3(")]),
        b"\x00" * 60_000,
        b"MM\x00*" + b"\xff" * 100,
    ],
)
def test_broken_exif_never_raises(exif: bytes) -> None:
    data = exif_jpeg(exif)
    for detector in (CameraExifDetector(), EditingSoftwareDetector(), QuantisationDetector()):
        examined(detector, data)


def test_a_thumbnail_past_the_end_and_huge_dimensions_are_not_compared() -> None:
    record = tiff([(0x010F, 2, 4, b"NIK\x00"), (0x0110, 2, 4, b"D70\x00")], next_ifd=38)
    record += struct.pack("<H", 2)
    record += struct.pack("<HHII", 0x0201, 4, 1, 0xFFFFFFF0)
    record += struct.pack("<HHII", 0x0202, 4, 1, 0x7FFFFFFF) + b"\x00" * 4
    data = exif_jpeg(record)
    sof = data.find(b"\xff\xc0")
    huge = data[: sof + 5] + b"\xff\xff\xff\xff" + data[sof + 9 :]  # 65535 x 65535
    started = time.perf_counter()
    for file in (data, huge):
        found = examined(CameraExifDetector(), file)
        assert [e.kind for e in found] in ([], ["camera-exif"])
    assert time.perf_counter() - started < 2


def test_odd_quantisation_tables_never_raise() -> None:
    table = bytes(range(1, 65))
    for segments in (
        [(0xDB, b"\x10" + b"\xff\xff" * 64)],  # a 16-bit table
        [(0xDB, b"\x00\x01\x02")],  # truncated
        [(0xDB, bytes([index % 4]) + table) for index in range(200)],
    ):
        examined(QuantisationDetector(), with_segments(jpeg(), segments))


# --- the C2PA boundary ------------------------------------------------------------------------


def test_damaged_manifests_never_raise(shared_data: Path) -> None:
    signed = (shared_data / "provenance" / "CA.jpg").read_bytes()
    store = signed.find(MANIFEST_STORE_TYPE)
    lengths = bytearray(signed)
    for index in range(store, store + 30_000):
        if bytes(lengths[index + 4 : index + 8]) in (b"jumb", b"jumd", b"cbor", b"json"):
            lengths[index : index + 4] = b"\xff\xff\xff\xff"
    for data in (
        signed[: store + 500],
        bytes(lengths),
        signed[:store] + b"\x00" * 20_000 + signed[store + 20_000 :],
        signed.replace(b"c2pa.actions", b"c2pa.\xff\xfe\xc3(ons"),
    ):
        for media_type in ("image/jpeg", "image/png", "video/mp4", "image/heic"):
            for item in C2paDetector().examine(OriginInput(data, media_type)):
                assert item.detail.isprintable()


# --- bank files: only what holds now and after the readers' rewrite ------------------------


def read_or_refuse(tmp_path: Path, content: bytes, fmt: BankFormat) -> list[ImportEvent]:
    """The events of a bank file, or [] where it is refused with a BankFormatError."""
    path = tmp_path / "bank.dat"
    path.write_bytes(content)
    try:
        events = list(read_bank_file(path, fmt))
    except BankFormatError as error:
        assert "\n" not in str(error)
        return []
    assert all(isinstance(event, ImportedEntry | RejectedLine) for event in events)
    return events


def ncmec(doctype: str, entry_id: str) -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<queryResult><images><image><id>{entry_id}</id>'
        f"<classification>{entry_id}</classification><fingerprints><md5>{MD5}</md5>"
        "</fingerprints></image></images></queryResult>"
    ).encode()


@pytest.mark.parametrize("fmt", [BankFormat.NCMEC_XML, BankFormat.AUTO])
def test_ncmec_xml_entities_are_never_resolved(tmp_path: Path, fmt: BankFormat) -> None:
    laughs = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    cases = [
        (f"<!DOCTYPE queryResult [{laughs}]>", "&l9;"),
        ('<!DOCTYPE queryResult [<!ENTITY e SYSTEM "file:///etc/passwd">]>', "&e;"),
        ('<!DOCTYPE queryResult [<!ENTITY e SYSTEM "http://127.0.0.1:9/x.xml">]>', "&e;"),
        ('<!DOCTYPE queryResult [<!ENTITY % e SYSTEM "file:///etc/passwd"> %e;]>', "1"),
    ]
    for doctype, entry_id in cases:
        for event in read_or_refuse(tmp_path, ncmec(doctype, entry_id), fmt):
            text = repr(event)
            assert PASSWD_LINE not in text
            assert "lol" not in text


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        (b"<queryResult><images>" + b"<a>" * DEEP + b"</a>" * DEEP, BankFormat.NCMEC_XML),
        (ncmec("", "1")[:-40], BankFormat.NCMEC_XML),
        (ncmec("", "\x00"), BankFormat.NCMEC_XML),
        (b'{"value": [{"MD5": "' + MD5.encode() + b'"}', BankFormat.VICS),
        (b'{"hashRecords": [{"signalType": "VideoMD5",', BankFormat.STOPNCII),
        (b'{"value": [' + b"[" * 1000 + b"]" * 1000 + b"]}", BankFormat.VICS),
        (b"md5,external_id\n" + MD5.encode() + b",\x00\x00\n", BankFormat.CSV),
        (b"\x00\x00\n" + MD5.encode() + b"\n", BankFormat.TXT),
    ],
)
def test_bank_files_broken_or_odd_end_in_entries_or_one_error(
    tmp_path: Path, content: bytes, fmt: BankFormat
) -> None:
    started = time.perf_counter()
    read_or_refuse(tmp_path, content, fmt)
    read_or_refuse(tmp_path, content, BankFormat.AUTO)
    assert time.perf_counter() - started < 2


def test_a_png_read_by_pillow_alone_keeps_its_text() -> None:
    # The in-place reading gives what Pillow gives, for the chunks Pillow reads.
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "a plain comment")
    info.add_text("Description", "d" * 5000, zip=True)
    buffer = io.BytesIO()
    photo_like(9, (16, 16)).save(buffer, "PNG", pnginfo=info)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        expected = {key: value for key, value in image.info.items() if isinstance(value, str)}
    found = {field.key: field.text for field in metadata_fields(buffer.getvalue())}
    assert found == expected
