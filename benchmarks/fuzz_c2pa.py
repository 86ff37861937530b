"""Fuzz the C2PA boundary: mutated copies of the shared signed fixtures, read by the
C2PA SDK (Rust, through c2pa-python) and turned into evidence by ``C2paDetector``.

The seeds are ``../shared/data/provenance/{C,CA,XCA,boxhash}.jpg`` (manifests: plain,
with an ingredient, tampered, box-hashed). The rule: ``examine`` never raises, whatever
the SDK makes of the bytes (a Rust panic surfaces in Python as ``PanicException``, a
``BaseException``, and counts), never crashes the process, and its details are one
printable line; memory and time stay within the limits. The media type is the one the
scan's sniffer gives, or a supported type picked at random, so that the SDK's other
format readers (PNG, WebP, HEIF, MP4, TIFF) meet JPEG bytes and garbage too.

    python benchmarks/fuzz_c2pa.py --minutes 10
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import strategies as st

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
    from clearsight.origin.c2pa_manifest import (
        MANIFEST_STORE_TYPE,
        SUPPORTED_MEDIA_TYPES,
        C2paDetector,
    )
    from clearsight.origin.evidence import Evidence, OriginInput

PROVENANCE = ROOT.parent / "shared" / "data" / "provenance"
SEEDS = [(PROVENANCE / name).read_bytes() for name in ("C.jpg", "CA.jpg", "XCA.jpg", "boxhash.jpg")]
_TYPES = sorted(SUPPORTED_MEDIA_TYPES)
_DETECTOR = C2paDetector()


def _store_at(seed: bytes) -> int:
    return max(seed.find(MANIFEST_STORE_TYPE), 0)


def _manifest_mutations() -> st.SearchStrategy[bytes]:
    """Mutations aimed at the manifest store: the JUMBF box and the bytes around it."""

    def aimed(seed: bytes, offset: int, value: int, span: int) -> bytes:
        at = _store_at(seed) + offset % 40_000 - 64
        at = min(max(at, 0), len(seed) - 1)
        data = bytearray(seed)
        data[at : at + 1 + span % 4] = bytes([value % 256]) * (1 + span % 4)
        return bytes(data)

    return st.builds(
        aimed,
        st.sampled_from(SEEDS),
        st.integers(0, 2**20),
        st.integers(0, 255),
        st.integers(0, 15),
    )


def _check(data: bytes) -> None:
    sniffed = sniff_media_type(data[:8192])
    media_type = sniffed if sniffed in SUPPORTED_MEDIA_TYPES else "image/jpeg"
    _examine(data, media_type)


def _examine(data: bytes, media_type: str) -> None:
    for item in _DETECTOR.examine(OriginInput(data, media_type)):
        if not isinstance(item, Evidence):
            raise RuleBroken(f"examine returned a {type(item).__name__}")
        if not item.detail.isprintable():
            raise RuleBroken(f"a detail that is not one printable line: {item.detail[:200]!r}")


def _check_typed(data: bytes) -> None:
    # The first byte picks the media type the SDK is told; the rest is the file.
    _examine(data[1:], _TYPES[data[0] % len(_TYPES)] if data else "image/jpeg")


def _lengths_to_max(seed: bytes) -> bytes:
    """Every JUMBF box length in the store set to 0xFFFFFFFF."""
    data = bytearray(seed)
    at = _store_at(seed)
    for index in range(at, min(len(data) - 8, at + 30_000)):
        if data[index + 4 : index + 8] in (b"jumb", b"jumd", b"cbor", b"json", b"uuid"):
            data[index : index + 4] = b"\xff\xff\xff\xff"
    return bytes(data)


HOSTILE = [
    Hostile("truncated in the manifest", lambda: SEEDS[0][: _store_at(SEEDS[0]) + 500]),
    Hostile("box lengths 2^32-1", lambda: _lengths_to_max(SEEDS[1])),
    Hostile(
        "manifest zeroed",
        lambda: (
            SEEDS[2][: _store_at(SEEDS[2])]
            + b"\x00" * 20_000
            + SEEDS[2][_store_at(SEEDS[2]) + 20_000 :]
        ),
    ),
    Hostile("200 MB after the image", lambda: SEEDS[0] + b"\x00" * (200 * 1024 * 1024)),
    Hostile("NUL bytes", lambda: b"\x00" * 100_000),
    Hostile(
        "invalid UTF-8 in the manifest",
        lambda: SEEDS[1].replace(b"c2pa.actions", b"c2pa.\xff\xfe\xc3(ons"),
    ),
]

PARSERS = [
    Parser(
        "c2pa",
        _check,
        (),
        st.one_of(mutations(SEEDS), _manifest_mutations(), st.sampled_from(SEEDS)),
        SEEDS,
        HOSTILE,
    ),
    Parser(
        "c2pa-any-type",
        _check_typed,
        (),
        st.builds(
            lambda kind, data: bytes([kind]) + data,
            st.integers(0, 255),
            st.one_of(mutations(SEEDS), st.binary(max_size=4096)),
        ),
        [bytes([index]) + seed for index, seed in enumerate(SEEDS)],
    ),
]

if __name__ == "__main__":
    raise SystemExit(main(PARSERS, __doc__ or ""))
