"""Fuzz the origin metadata readers: XMP, generator records, camera EXIF, quantisation
tables and the editing signs.

Each input goes through the detector as a scan runs it: ``examine`` on an
``OriginInput`` holding the bytes and their sniffed media type. The rule (the
``Detector`` protocol's): ``examine`` never raises for bad bytes, it returns no
evidence (or an item that says what is broken); each item's ``detail`` is one
printable line (it reaches logs and terminals); no entity is resolved; memory and time
stay within the limits.

    python benchmarks/fuzz_origin_metadata.py --minutes 10           # every reader
    python benchmarks/fuzz_origin_metadata.py --parser xmp --minutes 2
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_support import (  # noqa: E402
    ROOT,
    Hostile,
    Parser,
    RuleBroken,
    instrumented,
    main,
    mutations,
)

with instrumented():
    from clearsight.media.sniff import sniff_media_type
    from clearsight.origin.camera import CameraExifDetector
    from clearsight.origin.editing import EditingSoftwareDetector
    from clearsight.origin.evidence import Detector, Evidence, OriginInput
    from clearsight.origin.generators import GeneratorMetadataDetector
    from clearsight.origin.quantisation import QuantisationDetector
    from clearsight.origin.xmp import XmpDetector

SHARED = ROOT.parent / "shared" / "data"
MB = 1024 * 1024
BIG = 200 * MB
DEEP = 100_000
PASSWD_LINE = "root:x:0:0"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"

# --- benign generated carriers --------------------------------------------------------------


def _picture(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, (size[1], size[0], len(mode)), dtype=np.uint8)
    return Image.fromarray(pixels, mode)


def _saved(fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    _picture(mode="RGBA" if fmt == "PNG" else "RGB").save(buffer, fmt, **options)
    return buffer.getvalue()


def _packet(body: str) -> str:
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="{RDF}"><rdf:Description rdf:about="" xmlns:Iptc4xmpExt="{EXT}" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )


XMP_AI = _packet(
    f"<Iptc4xmpExt:DigitalSourceType>{IPTC}trainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType>"
    "<photoshop:Credit>Made with Google AI</photoshop:Credit>"
    "<xmp:CreatorTool>Adobe Photoshop 25.0</xmp:CreatorTool>"
)


def _png_with(chunks: list[tuple[bytes, bytes]], base: bytes | None = None) -> bytes:
    """A PNG with ``chunks`` (type, body) inserted after IHDR; CRCs are correct."""
    png = base or _saved("PNG")
    ihdr_end = 8 + 8 + 13 + 4
    extra = b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in chunks
    )
    return png[:ihdr_end] + extra + png[ihdr_end:]


def _jpeg_with(segments: list[tuple[int, bytes]], base: bytes | None = None) -> bytes:
    """A JPEG with marker segments inserted after SOI (each body at most 65533 bytes)."""
    jpeg = base or _saved("JPEG", quality=90)
    inserted = b"".join(
        struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body for marker, body in segments
    )
    return jpeg[:2] + inserted + jpeg[2:]


def _tiff(entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0) -> bytes:
    """A little-endian TIFF header and one IFD: (tag, type, count, 4-byte value)."""
    body = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")[:4]
    return body + struct.pack("<I", next_ifd)


def _exif_jpeg(tiff: bytes) -> bytes:
    return _jpeg_with([(0xE1, b"Exif\x00\x00" + tiff)])


def _text_png(keyword: str, text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text(keyword, text)
    buffer = io.BytesIO()
    _picture(mode="RGBA").save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def _files(folder: Path, pattern: str, limit: int | None = None) -> list[bytes]:
    paths = sorted(folder.glob(pattern), key=lambda p: p.stat().st_size)
    return [path.read_bytes() for path in paths[:limit]]


def _xmp_seeds() -> list[bytes]:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_AI, zip=True)
    compressed = io.BytesIO()
    _picture().save(compressed, "PNG", pnginfo=info)
    return [
        _saved("JPEG", xmp=XMP_AI.encode()),
        _saved("WEBP", xmp=XMP_AI.encode()),
        _saved("TIFF", tiffinfo={700: XMP_AI.encode()}),
        compressed.getvalue(),
        XMP_AI.encode(),
        *_files(SHARED / "provenance", "test_xmp.webp"),
    ]


def _generator_seeds() -> list[bytes]:
    a1111 = (
        "a landscape with hills\nNegative prompt: blur\nSteps: 20, Sampler: Euler a, "
        "CFG scale: 7, Seed: 1234, Size: 512x512, Model hash: abc, Model: sd15"
    )
    graph = (
        '{"3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "denoise": 0.5, '
        '"positive": ["6", 0], "latent_image": ["9", 0]}}, "6": {"class_type": '
        '"CLIPTextEncode", "inputs": {"text": "hills"}}, "9": {"class_type": "VAEEncode", '
        '"inputs": {"pixels": ["10", 0]}}, "10": {"class_type": "LoadImage", "inputs": {}}}'
    )
    exif = Image.Exif()
    exif[0x0131] = "NovelAI"
    exif[0x010F] = "workflow:{}"
    user_comment = Image.Exif()
    user_comment.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + a1111.encode("utf-16-be")
    return [
        *_files(SHARED / "metadata-fixtures", "*/*"),
        _text_png("parameters", a1111),
        _text_png("prompt", graph),
        _saved("JPEG", exif=exif.tobytes()),
        _saved("JPEG", exif=user_comment.tobytes()),
        _saved("WEBP", exif=exif.tobytes()),
        _jpeg_with([(0xFE, a1111.encode())]),
        _png_with([(b"zTXt", b"parameters\x00\x00" + zlib.compress(a1111.encode()))]),
        _png_with(
            [(b"eXIf", exif.tobytes()[6:] if exif.tobytes()[:4] == b"Exif" else exif.tobytes())]
        ),
    ]


def _camera_seeds() -> list[bytes]:
    exif = Image.Exif()
    exif[0x010F] = "NIKON CORPORATION"
    exif[0x0110] = "NIKON D70"
    exif[0x0131] = "Ver.2.00"
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = (1, 250)
    sub[0x829D] = (56, 10)
    sub[0x9003] = "2020:01:02 03:04:05"
    sub[0x927C] = b"Nikon\x00\x02\x10\x00\x00"
    return [
        *_files(SHARED / "camera", "*.JPG", limit=2),
        _saved("JPEG", exif=exif.tobytes(), quality=75),
        _saved("TIFF", exif=exif.tobytes()),
        _saved("JPEG", quality=100),
        _saved("JPEG", quality=5, subsampling=0),
    ]


# --- hostile recipes ------------------------------------------------------------------------


def _billion_laughs_packet() -> str:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return (
        f'<!DOCTYPE x:xmpmeta [{entities}]><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="{RDF}"><rdf:Description xmlns:photoshop='
        '"http://ns.adobe.com/photoshop/1.0/"><photoshop:Credit>&lol9;</photoshop:Credit>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def _external_packet(target: str) -> str:
    return f'<!DOCTYPE x:xmpmeta [<!ENTITY ext SYSTEM "{target}">]>' + _packet(
        "<photoshop:Credit>&ext;</photoshop:Credit>"
    )


def _zlib_bomb(size: int = 1024 * MB) -> bytes:
    compressor = zlib.compressobj(9)
    chunk = b"\x00" * (16 * MB)
    return b"".join(compressor.compress(chunk) for _ in range(size // len(chunk))) + (
        compressor.flush()
    )


def _xmp_hostiles() -> list[Hostile]:
    deep = "<a>" * DEEP + "</a>" * DEEP
    return [
        Hostile("billion laughs", lambda: _saved("JPEG", xmp=_billion_laughs_packet().encode())),
        Hostile(
            "billion laughs, no DOCTYPE keyword case",
            lambda: _billion_laughs_packet().replace("DOCTYPE", "doctype").encode(),
        ),
        Hostile(
            "external entity file:///etc/passwd",
            lambda: _external_packet("file:///etc/passwd").encode(),
        ),
        Hostile("external entity http", lambda: _external_packet("http://127.0.0.1:9/x").encode()),
        Hostile("100k-deep elements", lambda: _packet(deep).encode()),
        Hostile("200 MB packet opener, no closer", lambda: b"<x:xmpmeta" + b"a" * BIG),
        Hostile("200 MB of openers", lambda: b"<x:xmpmeta" * (BIG // 10)),
        Hostile("200 MB of open/close pairs", lambda: b"<x:xmpmeta></x:xmpmeta>" * (BIG // 23)),
        Hostile("200 MB of rdf openers", lambda: b"<rdf:RDF " * (BIG // 9)),
        Hostile(
            "200 MB single line in a packet",
            lambda: _packet("<photoshop:Credit>" + "a" * BIG + "</photoshop:Credit>").encode(),
        ),
        Hostile(
            "compressed iTXt bomb (1 GB of zeros)",
            lambda: _png_with([(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + _zlib_bomb())]),
        ),
        Hostile(
            "invalid UTF-8 in a packet",
            lambda: _packet("<photoshop:Credit>\xff\xfe</photoshop:Credit>").encode("latin-1"),
        ),
        Hostile("NUL bytes in a packet", lambda: _packet("\x00" * 100).encode()),
        Hostile("UTF-16 packet", lambda: _packet("").encode("utf-16")),
        Hostile("huge numbers", lambda: _packet("<x:n>" + "9" * 100_000 + "</x:n>").encode()),
        Hostile("truncated", lambda: _saved("JPEG", xmp=XMP_AI.encode())[:300]),
    ]


def _generator_hostiles() -> list[Hostile]:
    return [
        Hostile(
            "zTXt bomb (1 GB of zeros)",
            lambda: _png_with([(b"zTXt", b"parameters\x00\x00" + _zlib_bomb())]),
        ),
        Hostile(
            "iTXt bomb",
            lambda: _png_with([(b"iTXt", b"prompt\x00\x01\x00\x00\x00" + _zlib_bomb())]),
        ),
        Hostile(
            "200 MB tEXt chunk", lambda: _png_with([(b"tEXt", b"parameters\x00" + b"a" * BIG)])
        ),
        Hostile(
            "10,000 text chunks",
            lambda: _png_with([(b"tEXt", b"k%d\x00v" % i) for i in range(10_000)]),
        ),
        Hostile("100k-deep JSON prompt", lambda: _text_png("prompt", "[" * DEEP + "]" * DEEP)),
        Hostile(
            "100k-deep JSON object", lambda: _text_png("prompt", '{"a":' * DEEP + "1" + "}" * DEEP)
        ),
        Hostile(
            "huge numbers in a graph",
            lambda: _text_png(
                "prompt",
                '{"1": {"class_type": "KSampler", "inputs": {"seed": '
                + "9" * 100_000
                + ', "steps": 1e999999, "denoise": -1e999, "latent_image": ["1", 0]}}}',
            ),
        ),
        Hostile(
            "100k-node chain graph",
            lambda: _text_png(
                "prompt",
                "{"
                + ",".join(
                    f'"{i}": {{"class_type": "VAEEncode", "inputs": '
                    f'{{"latent_image": ["{i + 1}", 0], "positive": ["{i + 1}", 0]}}}}'
                    for i in range(100_000)
                )
                + "}",
            ),
        ),
        Hostile(
            "chunk length 2^31", lambda: _saved("PNG")[:33] + b"\x7f\xff\xff\xfftEXt" + b"a" * 100
        ),
        Hostile("stealth header claiming 2^32 bits", _stealth_huge),
        Hostile("200 MB of JPEG comments", lambda: _jpeg_with([(0xFE, b"c" * 65000)] * 3300)),
        Hostile(
            "invalid UTF-8 and NUL",
            lambda: _png_with([(b"iTXt", b"parameters\x00\x00\x00\x00\x00\xff\xfe\x00\xc3\x28")]),
        ),
        Hostile("UserComment of odd length UTF-16", _odd_user_comment),
        Hostile("truncated", lambda: _text_png("parameters", "Steps: 20, Seed: 1")[:-20]),
    ]


def _stealth_huge() -> bytes:
    size = (256, 256)
    alpha = np.full((size[1], size[0]), 255, np.uint8)
    header = "".join(f"{byte:08b}" for byte in b"stealth_pnginfo" + (2**32 - 1).to_bytes(4, "big"))
    flat = alpha.T.reshape(-1)  # column by column
    for index, bit in enumerate(header):
        flat[index] = 254 | int(bit)
    alpha = flat.reshape(size[0], size[1]).T
    rgba = np.dstack([np.zeros((size[1], size[0], 3), np.uint8), alpha])
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def _odd_user_comment() -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + b"\x00a" * 1000 + b"\x00"
    return _saved("JPEG", exif=exif.tobytes())


def _camera_hostiles() -> list[Hostile]:
    loop = _tiff([(0x010F, 2, 4, b"NIK\x00"), (0x8769, 4, 1, struct.pack("<I", 8))], next_ifd=8)
    huge_count = _tiff([(0x010F, 2, 0x3FFFFFFF, struct.pack("<I", 26)), (0x0110, 2, 4, b"D70\x00")])
    many = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 65535) + b"\x0f\x01\x02\x00" * 200
    thumb = _tiff([(0x010F, 2, 4, b"NIK\x00"), (0x0110, 2, 4, b"D70\x00")], next_ifd=38) + (
        struct.pack("<H", 2)
        + struct.pack("<HHI", 0x0201, 4, 1)
        + struct.pack("<I", 0xFFFFFFF0)
        + struct.pack("<HHI", 0x0202, 4, 1)
        + struct.pack("<I", 0x7FFFFFFF)
        + b"\x00" * 4
    )
    zero_rational = _tiff([(0x010F, 2, 4, b"NIK\x00"), (0x829A, 5, 1, struct.pack("<I", 26))]) + (
        b"\x00" * 8
    )
    huge_jpeg = _saved("JPEG")
    sof = huge_jpeg.find(b"\xff\xc0")
    huge_dims = huge_jpeg[: sof + 5] + b"\xff\xff\xff\xff" + huge_jpeg[sof + 9 :]
    return [
        Hostile("IFD that points to itself", lambda: _exif_jpeg(loop)),
        Hostile("tag count 2^30", lambda: _exif_jpeg(huge_count)),
        Hostile("65535 entries, truncated", lambda: _exif_jpeg(many)),
        Hostile("thumbnail offset past the end", lambda: _exif_jpeg(thumb)),
        Hostile("rational with zero denominator", lambda: _exif_jpeg(zero_rational)),
        Hostile("JPEG 65535x65535 header, tiny data", lambda: huge_dims),
        Hostile("JPEG 65535x65535 with EXIF", lambda: _exif_jpeg(thumb)[:20] + huge_dims[2:]),
        Hostile("EXIF of NUL bytes", lambda: _exif_jpeg(b"\x00" * 60000)),
        Hostile(
            "invalid UTF-8 make", lambda: _exif_jpeg(_tiff([(0x010F, 2, 4, b"\xff\xfe\xc3(")]))
        ),
        Hostile(
            "many DQT tables",
            lambda: _jpeg_with([(0xDB, bytes([i % 4]) + bytes(range(1, 65))) for i in range(2000)]),
        ),
        Hostile("16-bit DQT table", lambda: _jpeg_with([(0xDB, b"\x10" + b"\xff\xff" * 64)])),
        Hostile("truncated DQT", lambda: _jpeg_with([(0xDB, b"\x00\x01\x02")])),
        Hostile(
            "200 MB of APP1 segments",
            lambda: _jpeg_with([(0xE1, b"Exif\x00\x00" + b"\x00" * 65000)] * 3300),
        ),
        Hostile("truncated camera file", lambda: _camera_seeds()[0][:5000]),
    ]


# --- the check, in the worker --------------------------------------------------------------


def _checker(detector: Detector) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        found = detector.examine(OriginInput(data, sniff_media_type(data[:8192])))
        if not isinstance(found, list):
            raise RuleBroken(f"examine returned {type(found).__name__}, not a list")
        for item in found:
            if not isinstance(item, Evidence):
                raise RuleBroken(f"examine returned a {type(item).__name__}")
            if not item.detail.isprintable():
                raise RuleBroken(f"a detail that is not one printable line: {item.detail[:200]!r}")
            if PASSWD_LINE in item.detail:
                raise RuleBroken("an external entity was resolved: /etc/passwd was read")

    return check


def _parser(name: str, detector: Detector, seeds: list[bytes], hostile: list[Hostile]) -> Parser:
    inputs = st.one_of(st.sampled_from(seeds), mutations(seeds), st.binary(max_size=2048))
    return Parser(name, _checker(detector), (), inputs, seeds, hostile)


def parsers() -> list[Parser]:
    camera = _camera_seeds()
    return [
        _parser("xmp", XmpDetector(), _xmp_seeds(), _xmp_hostiles()),
        _parser(
            "generators", GeneratorMetadataDetector(), _generator_seeds(), _generator_hostiles()
        ),
        _parser("camera", CameraExifDetector(), camera, _camera_hostiles()),
        _parser("quantisation", QuantisationDetector(), camera, _camera_hostiles()[-6:]),
        _parser("editing", EditingSoftwareDetector(), camera + _xmp_seeds()[:1], []),
    ]


if __name__ == "__main__":
    raise SystemExit(main(parsers(), __doc__ or ""))
