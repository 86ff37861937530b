"""The XMP detector, on packets written into generated files in the test."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import PngImagePlugin

from clearsight.media.sniff import sniff_media_type
from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength
from clearsight.origin.xmp import (
    MAX_PACKET,
    XmpDetector,
    parse_packet,
    source_type,
    xmp_packets,
)

from .conftest import photo_like

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"


def packet(properties: str, attributes: str = "") -> str:
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="{RDF}">'
        f'<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="{EXT}"'
        ' xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"'
        f' xmlns:dc="http://purl.org/dc/elements/1.1/" {attributes}>'
        f"{properties}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )


def declaring(value: str) -> str:
    return packet(f"<Iptc4xmpExt:DigitalSourceType>{value}</Iptc4xmpExt:DigitalSourceType>")


def saved(fmt: str, xmp: str) -> bytes:
    """A benign generated picture in ``fmt`` carrying ``xmp`` where that format keeps it."""
    image = photo_like(3, (64, 48))
    buffer = io.BytesIO()
    if fmt in ("PNG", "PNG-compressed"):
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp, zip=fmt == "PNG-compressed")
        image.save(buffer, "PNG", pnginfo=info)
    elif fmt == "TIFF":
        image.save(buffer, "TIFF", tiffinfo={700: xmp.encode()})
    else:
        image.save(buffer, fmt, xmp=xmp.encode())
    return buffer.getvalue()


def examine(data: bytes) -> list[Evidence]:
    return XmpDetector().examine(OriginInput(data, sniff_media_type(data[:8192])))


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG", "PNG-compressed", "TIFF"])
def test_a_generators_declaration_is_found_in_each_container(fmt: str) -> None:
    data = saved(fmt, declaring(IPTC + "trainedAlgorithmicMedia"))
    if fmt == "PNG-compressed":
        assert b"trainedAlgorithmicMedia" not in data  # only inflating finds it

    [item] = examine(data)

    assert item.kind == "xmp"
    assert item.points_to is PointsTo.AI
    assert item.strength is Strength.MODERATE
    assert item.detail == (
        f"XMP Iptc4xmpExt:DigitalSourceType is {IPTC}trainedAlgorithmicMedia"
        " (made by a trained generative model)"
    )


@pytest.mark.parametrize(
    ("term", "points_to", "strength"),
    [
        ("trainedAlgorithmicMedia", PointsTo.AI, Strength.MODERATE),
        ("compositeWithTrainedAlgorithmicMedia", PointsTo.AI_EDIT, Strength.MODERATE),
        ("algorithmicMedia", PointsTo.AI, Strength.WEAK),  # no trained model: a loose fit
        ("compositeSynthetic", PointsTo.AI_EDIT, Strength.WEAK),
        ("digitalCapture", PointsTo.CAMERA, Strength.WEAK),  # as easy to forge, says less
        ("computationalCapture", PointsTo.CAMERA, Strength.WEAK),
    ],
)
def test_each_source_type(term: str, points_to: PointsTo, strength: Strength) -> None:
    [item] = examine(saved("JPEG", declaring(IPTC + term)))

    assert (item.points_to, item.strength) == (points_to, strength)
    assert f"{IPTC}{term} (" in item.detail


@pytest.mark.parametrize(
    "xmp",
    [
        packet("", f'Iptc4xmpExt:DigitalSourceType="{IPTC}compositeWithTrainedAlgorithmicMedia"'),
        packet(
            f'<Iptc4xmpExt:DigitalSourceType rdf:resource="{IPTC}'
            'compositeWithTrainedAlgorithmicMedia"/>'
        ),
        declaring(
            "  https://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia\n"
        ),
        declaring("digsrctype:compositeWithTrainedAlgorithmicMedia"),
        declaring("compositeWithTrainedAlgorithmicMedia"),
        # Another prefix for the same namespace: names are matched by namespace.
        declaring(IPTC + "compositeWithTrainedAlgorithmicMedia")
        .replace("xmlns:Iptc4xmpExt", "xmlns:ext")
        .replace("Iptc4xmpExt:", "ext:"),
    ],
    ids=["attribute", "resource", "https", "qcode", "bare-term", "other-prefix"],
)
def test_every_spelling_of_the_property(xmp: str) -> None:
    [item] = examine(saved("WEBP", xmp))

    assert item.points_to is PointsTo.AI_EDIT
    assert item.detail.startswith(
        f"XMP Iptc4xmpExt:DigitalSourceType is {IPTC}compositeWithTrainedAlgorithmicMedia"
    )


@pytest.mark.parametrize(
    "value",
    [
        IPTC + "digitalArt",
        IPTC + "screenCapture",
        "http://example.com/vocabulary/trainedAlgorithmicMedia",
        "a lighthouse at dusk",
        "",
    ],
)
def test_other_values_say_nothing(value: str) -> None:
    assert examine(saved("JPEG", declaring(value))) == []


def test_the_property_in_another_namespace_says_nothing() -> None:
    xmp = declaring(IPTC + "trainedAlgorithmicMedia").replace(EXT, "http://example.com/ns/")
    assert examine(saved("JPEG", xmp)) == []


def test_a_recognised_credit_line_is_weak_and_free_text_is_never_read() -> None:
    google = packet("<photoshop:Credit>Made with Google AI</photoshop:Credit>")
    edited = packet("<photoshop:Credit>Edited with Google AI</photoshop:Credit>")
    free_text = packet(
        "<photoshop:Credit>Made with AI: a lighthouse at dusk</photoshop:Credit>"
        "<dc:description><rdf:Alt><rdf:li xml:lang='x-default'>Made with Google AI"
        "</rdf:li></rdf:Alt></dc:description>"
    )

    [made] = examine(saved("JPEG", google))
    [edit] = examine(saved("JPEG", edited))

    assert (made.points_to, made.strength) == (PointsTo.AI, Strength.WEAK)
    assert (
        made.detail == "XMP photoshop:Credit reads 'Made with Google AI', a generator's credit line"
    )
    assert edit.points_to is PointsTo.AI_EDIT
    assert examine(saved("JPEG", free_text)) == []


def test_copies_of_one_declaration_are_reported_once() -> None:
    xmp = declaring(IPTC + "trainedAlgorithmicMedia")
    data = saved("JPEG", xmp) + xmp.encode()  # a second copy, as Photoshop's IRB keeps

    assert len(xmp_packets(data)) == 2
    assert len(examine(data)) == 1


def test_files_without_a_declaration_yield_nothing(shared_data: Path) -> None:
    cameras = sorted((shared_data / "camera").glob("*.JPG"))
    assert len(cameras) >= 10
    for path in cameras:
        assert examine(path.read_bytes()) == [], path.name
    # The shared WebP carries Photoshop's XMP, with no source type in it.
    webp = (shared_data / "provenance" / "test_xmp.webp").read_bytes()
    [found] = xmp_packets(webp)
    assert b"Adobe Photoshop 24.0" in found
    assert examine(webp) == []


def test_malformed_files_never_raise(shared_data: Path) -> None:
    """No damaged file declares a source type; the packets some carry (Photoshop's) are
    still read through the damage, and a declaration added to any of them is found."""
    files = sorted((shared_data / "malformed").iterdir())
    assert len(files) > 50
    declaration = declaring(IPTC + "trainedAlgorithmicMedia").encode()
    with_packets: list[str] = []
    for path in files:
        data = path.read_bytes()
        assert examine(data) == [], path.name
        packets = xmp_packets(data)
        if packets:
            assert all(parse_packet(packet) is not None for packet in packets), path.name
            with_packets.append(path.name)
        [found] = examine(data + declaration)
        assert (found.kind, found.points_to) == ("xmp", PointsTo.AI), path.name
    assert {"hopper.psd", "photoshop-200dpi-broken.jpg"} <= set(with_packets)


def hostile_dtd(external: Path, laughs: bool = True) -> str:
    """An entity spelling a generator's term (&t;), an external entity whose file holds
    a generator's declaration (&e;) and, with ``laughs``, billion laughs (10**9 copies
    of "a" behind &j;)."""
    levels = "".join(
        f'<!ENTITY {chr(98 + level)} "{("&" + chr(97 + level) + ";") * 10}">' for level in range(9)
    )
    return (
        "<!DOCTYPE x:xmpmeta ["
        + ('<!ENTITY a "aaaaaaaaaa">' + levels if laughs else "")
        + '<!ENTITY t "trainedAlgorithmicMedia">'
        + f'<!ENTITY e SYSTEM "{external.as_uri()}">]>'
    )


@pytest.mark.parametrize("placement", ["before-packet", "inside-packet"])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG-compressed"])
def test_xml_bombs_and_external_entities_never_expand(
    tmp_path: Path, placement: str, fmt: str
) -> None:
    external = tmp_path / "entity.txt"
    external.write_text(IPTC + "trainedAlgorithmicMedia")
    dtd = hostile_dtd(external)
    body = declaring(f"{IPTC}&t;").replace(
        "</rdf:Description>",
        "<Iptc4xmpExt:DigitalSourceType>&e;</Iptc4xmpExt:DigitalSourceType>"
        "<dc:source>&j;</dc:source></rdf:Description>",
    )
    hostile = (
        dtd + body if placement == "before-packet" else body.replace("<rdf:RDF", dtd + "<rdf:RDF")
    )

    # Any expansion would either hang (&j;) or declare a generator (&t;, &e;).
    assert examine(saved(fmt, hostile)) == []


@pytest.mark.parametrize("entities", ["laughs", "terms"])
def test_the_parser_refuses_a_dtd_and_never_expands_entities(tmp_path: Path, entities: str) -> None:
    external = tmp_path / "entity.txt"
    external.write_text(IPTC + "trainedAlgorithmicMedia")
    # Without the laughs, libxml2's own amplification guard has nothing to catch.
    dtd = hostile_dtd(external, laughs=entities == "laughs")
    body = declaring("&t;&e;" + ("&j;" if entities == "laughs" else ""))

    assert parse_packet(('<?xml version="1.0"?>' + dtd + body).encode()) is None
    # Without its DTD the packet parses, and the references stay references.
    undeclared = parse_packet(body.encode())
    assert undeclared is None or "trainedAlgorithmicMedia" not in "".join(undeclared.itertext())


def test_a_compressed_packet_is_inflated_within_a_limit() -> None:
    padding = " " * (MAX_PACKET * 4)
    bomb = declaring(IPTC + "trainedAlgorithmicMedia").replace("<rdf:RDF", padding + "<rdf:RDF")
    data = saved("PNG-compressed", bomb)
    assert len(data) < MAX_PACKET // 100  # highly compressed

    assert examine(data) == []  # its end lies beyond the limit, so no packet is whole


def test_a_file_stuffed_with_unclosed_packets_is_scanned_in_bounded_time() -> None:
    # Unbounded, each of a million openers would search megabytes for its end.
    stuffed = b"<x:xmpmeta " * 1_000_000 + declaring(IPTC + "trainedAlgorithmicMedia").encode()

    [item] = examine(stuffed)  # past the openers tried, the packet's rdf:RDF is found

    assert item.points_to is PointsTo.AI


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(noise: bytes) -> None:
    for data in (noise, b"<x:xmpmeta " + noise + b"</x:xmpmeta>", b"\x89PNG\r\n\x1a\n" + noise):
        XmpDetector().examine(OriginInput(data, "image/png"))


def test_source_type_vocabulary() -> None:
    ai = source_type(IPTC + "trainedAlgorithmicMedia")
    assert ai is not None and ai.points_to is PointsTo.AI and not ai.loose
    assert ai.uri == IPTC + "trainedAlgorithmicMedia"
    assert ai.weigh(Strength.STRONG) is Strength.STRONG
    loose = source_type("ALGORITHMICMEDIA")
    assert loose is not None and loose.weigh(Strength.STRONG) is Strength.MODERATE
    assert loose.weigh(Strength.WEAK) is Strength.WEAK
    assert source_type("urn:other:trainedAlgorithmicMedia") is None
    assert source_type(IPTC + "minorHumanEdits") is None
