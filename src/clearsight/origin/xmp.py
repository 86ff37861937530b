"""XMP: the IPTC digital source type a file declares about its own origin.

Generators and editors that follow the IPTC guidance write
``Iptc4xmpExt:DigitalSourceType`` into the file's XMP packet, with a term from the IPTC
vocabulary: ``trainedAlgorithmicMedia`` for a generator's output,
``compositeWithTrainedAlgorithmicMedia`` for a picture partly made by one,
``digitalCapture`` for a camera's. The same vocabulary fills C2PA actions, so
:func:`source_type` is shared with the C2PA detector.

Weights. Metadata is easy to edit and easy to strip, but writing a source type is a
deliberate declaration: an AI term is moderate evidence. A camera term is weak: it is
as easy to forge, and an unsigned declaration of capture says little about who made it.
Terms that fit the verdict only loosely (``algorithmicMedia``: made by a program, with
no trained model; ``compositeSynthetic``) are one step weaker. A credit line reading
"Made with Google AI" (the line Google's generators write) is weak evidence. Free-text
fields such as ``dc:description`` are never read: some generators put the prompt there.

Finding the packet. The bytes are scanned for ``<x:xmpmeta`` ... ``</x:xmpmeta>``, which
finds the packet wherever a format keeps it uncompressed (JPEG APP1, WebP ``XMP``
chunk, TIFF tag 700, HEIF/AVIF items, MP4 boxes, PNG ``iTXt``) without a decoder
touching hostile input; a zlib-compressed PNG ``iTXt`` packet is inflated, within a
limit, and scanned the same way. JPEG extended XMP (split over several APP1 segments)
and UTF-16 packets are not joined or decoded. Photoshop's APP13 resources may hold a copy
of the packet, which the scan finds too; their IIM datasets are not read, as IPTC
defines the source type for XMP only. A packet with a DTD is refused outright
(XMP has no use for one), and the parser never resolves entities or touches the network.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/"  # then a date: 2008-02-29/ so far
PHOTOSHOP_NS = "http://ns.adobe.com/photoshop/1.0/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

MAX_PACKET = 4 * 1024 * 1024  # far above any real packet; bounds parsing and inflating
MAX_PACKETS = 8  # copies (APP1, Photoshop IRB, thumbnails) rarely exceed three
MAX_OPENERS = 16

_WEAKER = {Strength.STRONG: Strength.MODERATE, Strength.MODERATE: Strength.WEAK}


@dataclass(frozen=True)
class SourceType:
    """A term of the IPTC digital source type vocabulary that says something of origin."""

    term: str
    points_to: PointsTo
    meaning: str
    loose: bool = False  # the verdict fits only loosely: weigh one step lower

    @property
    def uri(self) -> str:
        return IPTC_SOURCE_TYPES + self.term

    def weigh(self, strength: Strength) -> Strength:
        """``strength``, one step lower for a term that fits its verdict only loosely."""
        return _WEAKER.get(strength, Strength.WEAK) if self.loose else strength


_VOCABULARY = (
    SourceType("trainedAlgorithmicMedia", PointsTo.AI, "made by a trained generative model"),
    SourceType(
        "compositeWithTrainedAlgorithmicMedia",
        PointsTo.AI_EDIT,
        "a composite that includes generative-model elements",
    ),
    SourceType(
        "algorithmicMedia", PointsTo.AI, "made by an algorithm without training data", loose=True
    ),
    SourceType(
        "compositeSynthetic",
        PointsTo.AI_EDIT,
        "a composite that includes synthetic elements",
        loose=True,
    ),
    SourceType("digitalCapture", PointsTo.CAMERA, "captured by a digital camera or sensor"),
    SourceType("computationalCapture", PointsTo.CAMERA, "captured with computational photography"),
    SourceType("negativeFilm", PointsTo.CAMERA, "scanned from a photographic negative"),
    SourceType("positiveFilm", PointsTo.CAMERA, "scanned from a photographic slide"),
)
_BY_TERM = {kind.term.lower(): kind for kind in _VOCABULARY}
# The full URI (either scheme) and the NewsML QCode form name the same terms.
_PREFIXES = (IPTC_SOURCE_TYPES, "https://cv.iptc.org/newscodes/digitalsourcetype/", "digsrctype:")


def source_type(value: str) -> SourceType | None:
    """The origin-bearing IPTC term ``value`` names (a URI, a QCode or the bare term),
    or None for any other value."""
    term = value.strip()
    for prefix in _PREFIXES:
        if term.lower().startswith(prefix):
            term = term[len(prefix) :]
            break
    else:
        if "/" in term or ":" in term:
            return None  # another vocabulary's URI: not ours to interpret
    return _BY_TERM.get(term.lower())


# Whole-value matches only, so nothing but the fixed phrase ever reaches ``detail``.
_AI_CREDITS = (
    (re.compile(r"made with (?:[A-Za-z0-9][\w.-]{0,20} ){0,3}AI\.?", re.IGNORECASE), PointsTo.AI),
    (
        re.compile(r"edited with (?:[A-Za-z0-9][\w.-]{0,20} ){0,3}AI\.?", re.IGNORECASE),
        PointsTo.AI_EDIT,
    ),
)
# Preferred first; a bare rdf:RDF only where a writer left out the x:xmpmeta wrapper.
_WRAPPERS = (
    (b"<x:xmpmeta", b"</x:xmpmeta>"),
    (b"<x:xapmeta", b"</x:xapmeta>"),
    (b"<rdf:RDF", b"</rdf:RDF>"),
)
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_XMP_CHUNK = b"iTXtXML:com.adobe.xmp\x00"  # chunk type, then keyword


class XmpDetector:
    """The IPTC digital source type (and a recognised AI credit line) in XMP packets."""

    @property
    def name(self) -> str:
        return "xmp"

    def examine(self, file: OriginInput) -> list[Evidence]:
        found: dict[str, Evidence] = {}
        for packet in xmp_packets(file.data):
            root = parse_packet(packet)
            if root is None:
                continue
            for item in _declarations(root):
                found.setdefault(item.detail, item)  # the same packet is often copied
        return list(found.values())


def xmp_packets(data: bytes) -> list[bytes]:
    """The XMP packets in a file's bytes: at most ``MAX_PACKETS``, each within
    ``MAX_PACKET``."""
    return [*_wrapped_packets(data), *_compressed_png_packets(data)][:MAX_PACKETS]


def _wrapped_packets(data: bytes) -> list[bytes]:
    for opener, closer in _WRAPPERS:
        packets = list(_spans(data, opener, closer))
        if packets:
            return packets
    return []


def _spans(data: bytes, opener: bytes, closer: bytes) -> Iterator[bytes]:
    """Each ``opener`` ... ``closer`` span within ``MAX_PACKET``. The number of openers
    tried is bounded too, so a file stuffed with openers costs a bounded scan."""
    start = data.find(opener)
    for _ in range(MAX_OPENERS):
        if start < 0:
            return
        end = data.find(closer, start, start + MAX_PACKET)
        if end >= 0:
            yield data[start : end + len(closer)]
            start = data.find(opener, end)
        else:
            start = data.find(opener, start + len(opener))


def _compressed_png_packets(data: bytes) -> list[bytes]:
    """Packets in zlib-compressed PNG ``iTXt`` chunks, which a byte scan cannot see.

    The chunk's type and keyword are adjacent, so one byte search finds each chunk
    without walking (possibly millions of) others."""
    if not data.startswith(_PNG_SIGNATURE):
        return []
    packets: list[bytes] = []
    at = data.find(_PNG_XMP_CHUNK)
    for _ in range(MAX_PACKETS):
        if at < 4:
            break
        (length,) = struct.unpack(">I", data[at - 4 : at])
        text = _inflated(data[at + len(_PNG_XMP_CHUNK) : at + 4 + length])
        if text is not None:
            packets.extend(_wrapped_packets(text))
        at = data.find(_PNG_XMP_CHUNK, at + 1)
    return packets


def _inflated(fields: bytes) -> bytes | None:
    """The text of an XMP ``iTXt`` chunk (the fields after its keyword), inflated;
    None where it is not compressed, as the byte scan sees those already."""
    if len(fields) < 2 or fields[0] != 1:
        return None
    _language, _, rest = fields[2:].partition(b"\x00")
    _translated, _, compressed = rest.partition(b"\x00")
    try:
        return zlib.decompressobj().decompress(compressed, MAX_PACKET)
    except zlib.error:
        return None


def parse_packet(packet: bytes) -> etree._Element | None:
    """The packet's XML tree, or None where it is malformed or carries a DTD. Entities
    are never resolved and nothing is fetched."""
    if _DTD.search(packet):
        return None  # entity expansion (billion laughs) and external entities start here
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        return etree.fromstring(packet, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None


def _declarations(root: etree._Element) -> Iterator[Evidence]:
    for name, value in _properties(root):
        if _is_source_type(name):
            kind = source_type(value)
            if kind is not None:
                yield _source_type_evidence(kind)
        elif name == f"{{{PHOTOSHOP_NS}}}Credit":
            credit = _ai_credit(value)
            if credit is not None:
                yield credit


def _properties(root: etree._Element) -> Iterator[tuple[str, str]]:
    """Every simple property as (qualified name, value), in both of RDF's spellings:
    an attribute of ``rdf:Description``, or an element holding text or ``rdf:resource``."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # an unresolved entity reference
        for name, value in element.attrib.items():
            yield str(name), str(value)
        text = element.text if element.text and element.text.strip() else None
        simple = text or element.get(f"{{{RDF_NS}}}resource")
        if simple is not None:
            yield element.tag, simple


def _is_source_type(name: str) -> bool:
    qname = etree.QName(name)
    namespace = qname.namespace or ""
    return qname.localname == "DigitalSourceType" and namespace.startswith(IPTC_EXT_NS)


def _source_type_evidence(kind: SourceType) -> Evidence:
    base = Strength.WEAK if kind.points_to is PointsTo.CAMERA else Strength.MODERATE
    return Evidence(
        kind="xmp",
        points_to=kind.points_to,
        strength=kind.weigh(base),
        detail=f"XMP Iptc4xmpExt:DigitalSourceType is {kind.uri} ({kind.meaning})",
    )


def _ai_credit(value: str) -> Evidence | None:
    phrase = " ".join(value.split())
    for pattern, points_to in _AI_CREDITS:
        if pattern.fullmatch(phrase):
            return Evidence(
                kind="xmp",
                points_to=points_to,
                strength=Strength.WEAK,
                detail=f"XMP photoshop:Credit reads {phrase!r}, a generator's credit line",
            )
    return None
