"""The origin issue's targets, through every detector and the verdict together:
every AI-declaring fixture gets an AI verdict, and no camera original or unmarked
picture of ours does."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from clearsight.media.sniff import SNIFF_BYTES, sniff_media_type
from clearsight.origin.stage import examine_bytes
from clearsight.origin.watermark import PAYLOADS, ChannelOrder
from clearsight.robustness.landscapes import render_landscape

from .c2pa_signing import created, manifest, sign
from .conftest import photo_like
from .watermark_encoder import embed

AI_VERDICTS = {"ai-generated", "ai-edited"}
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def verdict_of(data: bytes) -> str:
    return examine_bytes(
        data, sniff_media_type(data[:SNIFF_BYTES]), keep_prompts=False
    ).summary.verdict


def saved(picture: Image.Image | np.ndarray, fmt: str, **options: object) -> bytes:
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def xmp_declaring(term: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        f"<Iptc4xmpExt:DigitalSourceType>{IPTC}{term}</Iptc4xmpExt:DigitalSourceType>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def declaring_fixtures(shared: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted((shared / "generated").glob("dalle2-*.png")):
        yield path.name, path.read_bytes()
    for path in sorted((shared / "metadata-fixtures").rglob("*")):
        if path.is_file():
            yield path.name, path.read_bytes()
    provenance = shared / "provenance"
    for name, media_type in (("A.jpg", "image/jpeg"), ("sample1.png", "image/png")):
        source = (provenance / name).read_bytes()
        for term in ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"):
            definition = manifest(created(term))
            yield f"c2pa {term} {name}", sign(provenance, source, media_type, definition)
    declaration = xmp_declaring("trainedAlgorithmicMedia")
    for fmt in ("JPEG", "WEBP"):
        yield f"xmp {fmt}", saved(photo_like(11), fmt, xmp=declaration)
    in_png = PngImagePlugin.PngInfo()
    in_png.add_itxt("XML:com.adobe.xmp", declaration.decode())
    yield "xmp PNG", saved(photo_like(11), "PNG", pnginfo=in_png)
    scene = np.asarray(photo_like(12, (640, 480)))
    for payload in PAYLOADS:
        for order in ChannelOrder:
            marked = embed(scene, payload.bits, order)
            yield f"watermark {payload.name} {order} png", saved(marked, "PNG")
            jpeg = saved(marked, "JPEG", quality=90, subsampling=0)
            yield f"watermark {payload.name} {order} jpeg", jpeg


def unmarked_pictures() -> Iterator[tuple[str, bytes]]:
    for seed in range(4):
        landscape = Image.fromarray(render_landscape((77, seed), 640, 427))
        yield f"landscape {seed} q95 4:4:4", saved(landscape, "JPEG", quality=95, subsampling=0)
        yield f"landscape {seed} q80", saved(landscape, "JPEG", quality=80)
        yield f"landscape {seed} png", saved(landscape, "PNG")
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", "GIMP 2.10")
        yield f"photo {seed} png edited", saved(photo_like(20 + seed), "PNG", pnginfo=info)
        yield f"photo {seed} webp", saved(photo_like(30 + seed, (512, 384)), "WEBP", quality=90)


def test_every_ai_declaring_fixture_gets_an_ai_verdict(shared_data: Path) -> None:
    found = {name: verdict_of(data) for name, data in declaring_fixtures(shared_data)}
    missed = {name: verdict for name, verdict in found.items() if verdict not in AI_VERDICTS}
    assert len(found) == 5 + 12 + 4 + 3 + 12  # DALL-E, metadata, C2PA, XMP, watermarks
    assert missed == {}
    assert found["c2pa compositeWithTrainedAlgorithmicMedia A.jpg"] == "ai-edited"


@pytest.mark.parametrize("kind", ["camera", "unmarked"])
def test_no_camera_original_or_unmarked_picture_gets_an_ai_verdict(
    kind: str, shared_data: Path
) -> None:
    if kind == "camera":
        pictures = [(p.name, p.read_bytes()) for p in sorted((shared_data / "camera").glob("*"))]
        assert len(pictures) == 16
    else:
        pictures = list(unmarked_pictures())
    claimed = {name: v for name, data in pictures if (v := verdict_of(data)) in AI_VERDICTS}
    assert claimed == {}
