"""Generator metadata: the records AI image tools write into their files, found and parsed.

Real records come from the shared fixtures (written by the tools themselves); tools
with no shared fixture get one written here, in the layout the tool uses, with benign
prompts. The prompt must never reach a loggable field.
"""

from __future__ import annotations

import io
import json
import random
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength
from clearsight.origin.generator_formats import GeneratorRecord
from clearsight.origin.generators import (
    MAX_FIELD_BYTES,
    GeneratorMetadataDetector,
    generator_records,
    metadata_fields,
)

from .conftest import photo_like

PROMPT = "a lighthouse at dusk"
NEGATIVE = "blurry fog"
DETECTOR = GeneratorMetadataDetector()
EXIF_IFD = 0x8769


def examine(data: bytes, media_type: str = "image/png") -> list[Evidence]:
    return DETECTOR.examine(OriginInput(data, media_type, "fixture"))


def only_record(data: bytes) -> GeneratorRecord:
    records = generator_records(data)
    assert len(records) == 1, records
    return records[0]


def assert_prompt_kept_apart(evidence: Evidence) -> None:
    assert evidence.prompt
    for text in (evidence.detail, repr(evidence)):
        assert evidence.prompt.strip() not in text
        assert "lighthouse" not in text and "fog" not in text


# --- shared fixtures, written by the tools themselves --------------------------------


@dataclass(frozen=True)
class Expected:
    tool: str
    model: str | None
    seed: str
    steps: int
    points_to: PointsTo = PointsTo.AI


A1111_DUCK = Expected("AUTOMATIC1111", "realistic_realisticVisionV20_v20", "235284042", 15)
SHARED_FIXTURES = {
    "AUTOMATIC1111/automatic1111_cropped.png": A1111_DUCK,
    "AUTOMATIC1111/automatic1111_cropped.jpg": A1111_DUCK,
    "AUTOMATIC1111/automatic1111_stealth.png": Expected(
        "AUTOMATIC1111", "realisticVisionV51_v51VAE", "2015833630", 20
    ),
    "ComfyUI/img2img_cropped.png": Expected(
        "ComfyUI", "v1-5-pruned-emaonly.ckpt", "280823642470253", 20, PointsTo.AI_EDIT
    ),
    "ComfyUI/night_evening_day_morning_cropped.png": Expected(
        "ComfyUI", "AbyssOrangeMix2_hard.safetensors", "1122440447966177", 14
    ),
    "ComfyUI/noisy_latents_3_subjects_cropped.png": Expected(
        "ComfyUI", "Anything-V3.0.ckpt", "1084614416978598", 9
    ),
    "ComfyUI/unclip_2pass_cropped.png": Expected(
        "ComfyUI", "cardosAnimated_v20.safetensors", "119080905858220", 8
    ),
    "Fooocus/fooocus1_cropped.png": Expected(
        "Fooocus", "juggernautXL_v8Rundiffusion", "6952411511246973023", 30
    ),
    "InvokeAI/invokeai_dream1.png": Expected("InvokeAI", None, "2980747362", 50),
    "InvokeAI/invokeai_imeta1.png": Expected("InvokeAI", "juggernautXL", "3293022630", 35),
    "InvokeAI/invokeai_sdmeta1.png": Expected(
        "InvokeAI", "deliberateForInvoke_v08", "2980747362", 50
    ),
    "NovelAI/novelai1_cropped.png": Expected(
        "NovelAI", "Stable Diffusion 1D44365E", "2253955223", 50
    ),
}


def test_every_shared_fixture_has_an_expectation(shared_data: Path) -> None:
    folder = shared_data / "metadata-fixtures"
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == set(SHARED_FIXTURES)


@pytest.mark.parametrize("relative", sorted(SHARED_FIXTURES))
def test_shared_fixture_yields_its_tool(shared_data: Path, relative: str) -> None:
    expected = SHARED_FIXTURES[relative]
    data = (shared_data / "metadata-fixtures" / relative).read_bytes()

    record = only_record(data)
    assert record.tool == expected.tool
    assert expected.seed in record.seeds and expected.steps in record.steps
    if expected.model:
        assert expected.model in record.models
    [evidence] = examine(data)
    assert (evidence.kind, evidence.strength) == ("generator-metadata", Strength.STRONG)
    assert evidence.points_to is expected.points_to
    assert evidence.detail.startswith(expected.tool)
    assert expected.seed in evidence.detail and (expected.model or "") in evidence.detail
    assert evidence.prompt and evidence.prompt.strip() not in evidence.detail
    assert evidence.prompt.strip() not in repr(evidence)


@pytest.mark.parametrize(
    ("relative", "positive", "negative"),
    [
        ("AUTOMATIC1111/automatic1111_cropped.png", "photo of a duck", "monochrome"),
        ("AUTOMATIC1111/automatic1111_cropped.jpg", "photo of a duck", "monochrome"),
        ("AUTOMATIC1111/automatic1111_stealth.png", "a circle", "a square"),
        ("Fooocus/fooocus1_cropped.png", "a smiling goldfish", "cinematic"),
    ],
)
def test_prompt_is_the_positive_prompt_only(
    shared_data: Path, relative: str, positive: str, negative: str
) -> None:
    [evidence] = examine((shared_data / "metadata-fixtures" / relative).read_bytes())
    assert evidence.prompt == positive
    assert negative not in evidence.prompt


def test_comfyui_img2img_fixture_explains_the_edit(shared_data: Path) -> None:
    data = (shared_data / "metadata-fixtures/ComfyUI/img2img_cropped.png").read_bytes()
    [evidence] = examine(data)
    assert "img2img (LoadImage to VAEEncode to KSampler, denoise 0.87)" in evidence.detail


def test_dalle2_samples_yield_openai_tags(shared_data: Path) -> None:
    samples = sorted((shared_data / "generated").glob("dalle2-*.png"))
    assert len(samples) == 5
    for sample in samples:
        [evidence] = examine(sample.read_bytes())
        assert evidence.detail.startswith("DALL-E")
        assert "EXIF MakerNote (0x927C)" in evidence.detail and "OpenAI--req_" in evidence.detail
        assert (evidence.points_to, evidence.strength) == (PointsTo.AI, Strength.STRONG)


def test_sd1_reference_samples_carry_no_generator_record(shared_data: Path) -> None:
    # The CompVis reference scripts write no text record (their mark is a watermark,
    # another detector's job): silence here is expected, and it proves nothing.
    samples = sorted((shared_data / "generated").glob("sd1-*.png"))
    assert len(samples) == 9
    assert [examine(s.read_bytes()) for s in samples] == [[]] * 9


def test_camera_originals_yield_nothing(shared_data: Path) -> None:
    photos = sorted((shared_data / "camera").glob("*.JPG"))
    assert len(photos) == 16
    assert [examine(p.read_bytes(), "image/jpeg") for p in photos] == [[]] * 16


# --- fixtures written here, in each tool's layout ------------------------------------


def picture(mode: str = "RGB") -> Image.Image:
    return photo_like(7, (64, 48)).convert(mode)


def png(text: dict[str, str], *, zip_text: bool = False) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value, zip=zip_text)
    buffer = io.BytesIO()
    picture().save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def with_exif(
    ifd0: dict[int, Any],
    exif_ifd: dict[int, Any] | None = None,
    *,
    image_format: str = "JPEG",
    comment: bytes | None = None,
) -> bytes:
    exif = Image.Exif()
    exif.update(ifd0)
    exif.get_ifd(EXIF_IFD).update(exif_ifd or {})
    buffer = io.BytesIO()
    extra = {"comment": comment} if comment else {}
    picture().save(buffer, image_format, exif=exif, **extra)
    return buffer.getvalue()


def user_comment(text: str, encoding: str) -> bytes:
    if encoding == "ascii":
        return b"ASCII\0\0\0" + text.encode()
    return b"UNICODE\0" + text.encode(encoding)


def stealth_png(payload: bytes, magic: bytes, claimed_bits: int | None = None) -> bytes:
    """The alpha-channel layout of AUTOMATIC1111's stealth PNG info, written here."""
    header = magic + (8 * len(payload) if claimed_bits is None else claimed_bits).to_bytes(4, "big")
    bits = "".join(f"{byte:08b}" for byte in header + payload)
    image = picture("RGBA")
    width, height = image.size
    assert len(bits) <= width * height
    column_major = bytes(254 | int(b) for b in bits).ljust(width * height, b"\xfe")
    alpha = Image.frombytes("L", (height, width), column_major)
    image.putalpha(alpha.transpose(Image.Transpose.TRANSPOSE))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def a1111_parameters(settings: str = "") -> str:
    return (
        f"{PROMPT}\nNegative prompt: {NEGATIVE}\nSteps: 28, Sampler: DPM++ 2M, CFG scale: 6.5, "
        "Seed: 90210, Size: 512x768, Model hash: 6ce0161689, Model: coastline_v2, "
        f'Lora hashes: "a: 1f2e, b: 3c4d"{settings}, Version: v1.10.1'
    )


def comfy_graph(encoder: str | None = None, denoise: float = 1.0) -> dict[str, Any]:
    def node(class_type: str, **inputs: Any) -> dict[str, Any]:
        return {"class_type": class_type, "inputs": inputs}

    graph = {
        "3": node(
            "KSampler",
            seed=424242,
            steps=25,
            denoise=denoise,
            model=["4", 0],
            positive=["6", 0],
            negative=["7", 0],
            latent_image=["5", 0],
        ),
        "4": node("CheckpointLoaderSimple", ckpt_name="landscape_v1.safetensors"),
        "5": node("EmptyLatentImage", width=512, height=512, batch_size=1),
        "6": node("CLIPTextEncode", text=PROMPT, clip=["4", 1]),
        "7": node("CLIPTextEncode", text=NEGATIVE, clip=["4", 1]),
        "8": node("VAEDecode", samples=["3", 0], vae=["4", 2]),
        "9": node("SaveImage", filename_prefix="ComfyUI", images=["8", 0]),
    }
    if encoder:
        graph["10"] = node("LoadImage", image="harbour.png")
        graph["11"] = node(encoder, pixels=["10", 0], vae=["4", 2])
        graph["3"]["inputs"]["latent_image"] = ["11", 0]
    return graph


def a1111_png(settings: str) -> bytes:
    return png({"parameters": a1111_parameters(settings)})


def a1111_jpeg(encoding: str) -> bytes:
    return with_exif({}, {0x9286: user_comment(a1111_parameters(), encoding)})


def comfyui_exif(image_format: str) -> bytes:
    # ComfyUI's WebP saver: the graph in Model, the editor workflow in Make.
    graph, workflow = json.dumps(comfy_graph()), comfy_workflow()
    return with_exif(
        {0x0110: f"prompt:{graph}", 0x010F: f"workflow:{workflow}"}, image_format=image_format
    )


def comfy_workflow() -> str:
    loader = {"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["landscape_v1.ckpt"]}
    encoder = {"id": 6, "type": "CLIPTextEncode", "widgets_values": [PROMPT]}
    return json.dumps({"last_node_id": 6, "nodes": [loader, encoder], "links": []})


@dataclass(frozen=True)
class Written:
    """A fixture written in one tool's layout, and what must be read back from it."""

    build: Callable[[], bytes]
    tool: str
    location: str
    model: str | None = None
    seed: str | None = None
    steps: int | None = None
    points_to: PointsTo = PointsTo.AI
    strength: Strength = Strength.STRONG
    in_detail: str = ""


SWARM = {
    "sui_image_params": {
        "prompt": PROMPT,
        "negativeprompt": NEGATIVE,
        "model": "Flux/flux1-dev",
        "seed": 77,
        "steps": 20,
        "swarm_version": "0.9.4",
    },
    "sui_extra_data": {"date": "2024-10-01"},
}
NOVELAI_SETTINGS = json.dumps({"steps": 28, "sampler": "k_euler", "seed": 31337, "uc": NEGATIVE})
JOB_ID = "2c6a7e1b-0d4f-4b8e-9a61-3f5b2d8c9e70"
INVOKE_IMG2IMG = {
    "generation_mode": "sdxl_img2img",
    "positive_prompt": PROMPT,
    "negative_prompt": NEGATIVE,
    "seed": 5150,
    "steps": 30,
    "model": {"name": "juggernautXL", "base": "sdxl", "type": "main"},
}
A1111_EDITS = {"img2img": ", Denoising strength: 0.55", "inpainting": ", Mask blur: 4"}

WRITTEN = {
    "a1111-png-hires-fix": Written(
        partial(a1111_png, ", Denoising strength: 0.4, Hires upscale: 2"),
        "AUTOMATIC1111",
        "PNG tEXt chunk 'parameters'",
        "coastline_v2",
        "90210",
        28,
    ),
    **{
        f"a1111-png-{edit}": Written(
            partial(a1111_png, settings),
            "AUTOMATIC1111",
            "PNG tEXt chunk 'parameters'",
            "coastline_v2",
            "90210",
            28,
            PointsTo.AI_EDIT,
            in_detail=edit,
        )
        for edit, settings in A1111_EDITS.items()
    },
    **{
        f"a1111-jpeg-usercomment-{encoding}": Written(
            partial(a1111_jpeg, encoding),
            "AUTOMATIC1111",
            "EXIF UserComment (0x9286)",
            "coastline_v2",
            "90210",
            28,
        )
        for encoding in ("utf-16-be", "utf-16-le", "ascii")
    },
    "a1111-jpeg-comment": Written(
        lambda: with_exif({}, comment=a1111_parameters().encode()),
        "AUTOMATIC1111",
        "JPEG comment",
        "coastline_v2",
        "90210",
        28,
    ),
    "a1111-png-ztxt-after-image-data": Written(
        lambda: move_text_after_idat(png({"parameters": a1111_parameters()}, zip_text=True)),
        "AUTOMATIC1111",
        "PNG zTXt chunk 'parameters'",
        "coastline_v2",
        "90210",
        28,
    ),
    "a1111-stealth-pnginfo": Written(
        lambda: stealth_png(a1111_parameters().encode(), b"stealth_pnginfo"),
        "AUTOMATIC1111",
        "alpha-channel stealth info (stealth_pnginfo)",
        "coastline_v2",
        "90210",
        28,
    ),
    "fooocus-a1111-scheme": Written(
        lambda: png({"parameters": a1111_parameters().replace("v1.10.1", "Fooocus v2.5.3")}),
        "Fooocus",
        "PNG tEXt chunk 'parameters'",
        "coastline_v2",
        "90210",
        28,
    ),
    "comfyui-png-txt2img": Written(
        lambda: png({"prompt": json.dumps(comfy_graph()), "workflow": comfy_workflow()}),
        "ComfyUI",
        "PNG tEXt chunk 'prompt'",
        "landscape_v1.safetensors",
        "424242",
        25,
    ),
    "comfyui-png-img2img-full-denoise": Written(
        lambda: png({"prompt": json.dumps(comfy_graph("VAEEncode", denoise=1.0))}),
        "ComfyUI",
        "PNG tEXt chunk 'prompt'",
        "landscape_v1.safetensors",
        "424242",
        25,
    ),
    "comfyui-png-img2img": Written(
        lambda: png({"prompt": json.dumps(comfy_graph("VAEEncode", denoise=0.6))}, zip_text=True),
        "ComfyUI",
        "PNG zTXt chunk 'prompt'",
        "landscape_v1.safetensors",
        "424242",
        25,
        PointsTo.AI_EDIT,
        in_detail="img2img (LoadImage to VAEEncode to KSampler, denoise 0.6)",
    ),
    "comfyui-png-inpainting": Written(
        lambda: png({"prompt": json.dumps(comfy_graph("VAEEncodeForInpaint"))}),
        "ComfyUI",
        "PNG tEXt chunk 'prompt'",
        "landscape_v1.safetensors",
        "424242",
        25,
        PointsTo.AI_EDIT,
        in_detail="inpainting",
    ),
    "comfyui-png-workflow-only": Written(
        lambda: png({"prompt": "{not json", "workflow": comfy_workflow()}),
        "ComfyUI",
        "PNG tEXt chunk 'workflow'",
        "landscape_v1.ckpt",
    ),
    **{
        f"comfyui-{image_format.lower()}-exif": Written(
            partial(comfyui_exif, image_format),
            "ComfyUI",
            "EXIF Model (0x0110) 'prompt:' value",
            "landscape_v1.safetensors",
            "424242",
            25,
        )
        for image_format in ("WEBP", "JPEG")
    },
    "invokeai-dream-img2img": Written(
        lambda: png({"Dream": f'"{PROMPT} [{NEGATIVE}]" -s 40 -S 8675309 -I harbour.png -f 0.6'}),
        "InvokeAI",
        "PNG tEXt chunk 'Dream'",
        None,
        "8675309",
        40,
        PointsTo.AI_EDIT,
        in_detail="img2img",
    ),
    "invokeai-metadata-img2img": Written(
        lambda: png({"invokeai_metadata": json.dumps(INVOKE_IMG2IMG)}),
        "InvokeAI",
        "PNG tEXt chunk 'invokeai_metadata'",
        "juggernautXL",
        "5150",
        30,
        PointsTo.AI_EDIT,
        in_detail="generation_mode sdxl_img2img",
    ),
    "novelai-jpeg-exif": Written(
        lambda: with_exif(
            {0x0131: "NovelAI", 0x010E: PROMPT},
            {0x9286: user_comment(NOVELAI_SETTINGS, "utf-16-be")},
        ),
        "NovelAI",
        "EXIF Software (0x0131) and EXIF UserComment (0x9286)",
        None,
        "31337",
        28,
    ),
    "novelai-stealth-pngcomp": Written(
        lambda: stealth_png(
            zlib_gzip(
                json.dumps(
                    {
                        "Description": PROMPT,
                        "Software": "NovelAI",
                        "Source": "NovelAI Diffusion V3 7BCCAA2C",
                        "Comment": NOVELAI_SETTINGS,
                    }
                ).encode()
            ),
            b"stealth_pngcomp",
        ),
        "NovelAI",
        "alpha-channel stealth info (stealth_pngcomp), key 'Software' and "
        "alpha-channel stealth info (stealth_pngcomp), key 'Comment'",
        "NovelAI Diffusion V3 7BCCAA2C",
        "31337",
        28,
    ),
    "swarmui-png": Written(
        lambda: png({"parameters": json.dumps(SWARM, indent=2)}),
        "SwarmUI",
        "PNG tEXt chunk 'parameters'",
        "Flux/flux1-dev",
        "77",
        20,
    ),
    "swarmui-jpeg": Written(
        lambda: with_exif({}, {0x9286: user_comment(json.dumps(SWARM), "utf-16-le")}),
        "SwarmUI",
        "EXIF UserComment (0x9286)",
        "Flux/flux1-dev",
        "77",
        20,
    ),
    "midjourney-png": Written(
        lambda: png({"Description": f"{PROMPT} --ar 3:2 --v 6.1 Job ID: {JOB_ID}", "Author": "x"}),
        "Midjourney",
        "PNG tEXt chunk 'Description'",
        in_detail=f"Job ID {JOB_ID}",
    ),
    "midjourney-jpeg": Written(
        lambda: with_exif({0x010E: f"{PROMPT} --v 6 Job ID: {JOB_ID}"}),
        "Midjourney",
        "EXIF ImageDescription (0x010E)",
        in_detail=f"Job ID {JOB_ID}",
    ),
}
SOFTWARE_ONLY = {
    "stability-png": Written(
        lambda: png({"Software": "Stability AI image API"}),
        "Stability AI",
        "PNG tEXt chunk 'Software'",
        strength=Strength.MODERATE,
    ),
    "stability-jpeg": Written(
        lambda: with_exif({0x0131: "stability.ai DreamStudio"}),
        "Stability AI",
        "EXIF Software (0x0131)",
        strength=Strength.MODERATE,
    ),
    "novelai-software-only": Written(
        lambda: png({"Software": "NovelAI", "Comment": "{truncated"}),
        "NovelAI",
        "PNG tEXt chunk 'Software'",
        strength=Strength.MODERATE,
    ),
}


def zlib_gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, whole chunk bytes) of each chunk after the signature."""
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack_from(">I", data, position)
        chunks.append((data[position + 4 : position + 8], data[position : position + 12 + length]))
        position += 12 + length
    return chunks


def move_text_after_idat(data: bytes) -> bytes:
    chunks = png_chunks(data)
    text = [whole for kind, whole in chunks if kind in (b"tEXt", b"zTXt", b"iTXt")]
    rest = [whole for kind, whole in chunks if kind not in (b"tEXt", b"zTXt", b"iTXt")]
    assert rest[-1].endswith(b"IEND\xaeB`\x82")
    return data[:8] + b"".join(rest[:-1] + text + rest[-1:])


@pytest.mark.parametrize("name", sorted(WRITTEN) + sorted(SOFTWARE_ONLY))
def test_written_fixture_is_read_back(name: str) -> None:
    written = WRITTEN.get(name) or SOFTWARE_ONLY[name]
    data = written.build()

    record = only_record(data)
    assert (record.tool, record.location) == (written.tool, written.location)
    assert record.models == ((written.model,) if written.model else ())
    if written.seed:
        assert record.seeds == (written.seed,) and record.steps == (written.steps,)
    [evidence] = examine(data)
    assert (evidence.points_to, evidence.strength) == (written.points_to, written.strength)
    assert evidence.detail.startswith(f"{written.tool} ")
    assert written.in_detail in evidence.detail
    if written.points_to is PointsTo.AI:
        assert "records an edit" not in evidence.detail


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_prompt_is_kept_out_of_detail_and_repr(name: str) -> None:
    [evidence] = examine(WRITTEN[name].build())
    assert_prompt_kept_apart(evidence)
    assert evidence.prompt is not None and NEGATIVE not in evidence.prompt
    assert PROMPT in evidence.prompt


# --- files that must yield nothing ----------------------------------------------------


def encoded(image: Image.Image, image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(encoded(picture(), "PNG"), id="png"),
        pytest.param(encoded(picture(), "JPEG", quality=90), id="jpeg"),
        pytest.param(encoded(picture(), "WEBP"), id="webp"),
        pytest.param(encoded(photo_like(4, (96, 80)).convert("RGBA"), "PNG"), id="rgba-png"),
        pytest.param(
            png({"Description": PROMPT, "Software": "GIMP 2.10", "Comment": "Steps: 3 of 5"}),
            id="captioned-png",
        ),
        pytest.param(with_exif({0x0131: "Adobe Photoshop 25.0", 0x010E: PROMPT}), id="edited"),
        pytest.param(png({"Dream": f'"{PROMPT}"'}), id="quoted-caption-without-options"),
    ],
)
def test_plain_images_yield_nothing(data: bytes) -> None:
    assert examine(data) == []


def test_random_alpha_is_not_taken_for_stealth_info() -> None:
    noise = Image.frombytes("L", (64, 64), random.Random(5).randbytes(64 * 64))
    image = photo_like(2, (64, 64)).convert("RGBA")
    image.putalpha(noise)
    assert examine(encoded(image, "PNG")) == []


# --- malformed and hostile input: never an exception ---------------------------------


def test_every_truncation_of_a_record_is_survived(shared_data: Path) -> None:
    data = (shared_data / "metadata-fixtures/AUTOMATIC1111/automatic1111_cropped.png").read_bytes()
    for end in range(len(data)):
        records = generator_records(data[:end])
        assert all(r.tool == "AUTOMATIC1111" for r in records)
    stealth = (
        shared_data / "metadata-fixtures/AUTOMATIC1111/automatic1111_stealth.png"
    ).read_bytes()
    cut = [generator_records(stealth[:end]) for end in range(0, len(stealth), 97)]
    assert all(r.tool == "AUTOMATIC1111" for records in cut for r in records)
    assert cut[1] == []  # the pixels are cut short: no hidden record is made up


@pytest.mark.parametrize(
    "text",
    [
        {"prompt": '{"3": {"class_type": "KSampler", "inputs": {"seed": 1,'},
        {"prompt": '{"3": [1, 2]}', "workflow": '{"nodes": "none"}'},
        {"invokeai_metadata": "{'seed': 1}", "sd-metadata": '{"image": 3}', "Dream": '"x -s 3'},
        {"parameters": '{"sui_image_params": 5, "version": ["Fooocus"]}'},
        {"parameters": "Steps: many, Sampler: none"},
        {"Description": "Job ID: not-a-uuid"},
        {"prompt": "{" + '"a": [' * 100_000},
        {"parameters": "\x00\xff" * 1000},
    ],
)
def test_malformed_records_yield_no_record(text: dict[str, str]) -> None:
    assert examine(png(text)) == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(5000),
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*garbage",
        random.Random(2).randbytes(20_000),
    ],
    ids=["empty", "png-signature", "png-garbage", "jpeg-bad-exif", "garbage"],
)
def test_garbage_yields_nothing(data: bytes) -> None:
    assert examine(data) == []


def test_compressed_text_bomb_is_capped() -> None:
    bomb = zlib.compress(b"Steps: 1, Sampler: x" + b" " * 64_000_000, 9)
    chunk = b"zTXt" + b"parameters\0\0" + bomb
    data = png({})
    iend = data.rindex(b"IEND") - 4
    data = data[:iend] + struct.pack(">I", len(chunk) - 4) + chunk + b"\0\0\0\0" + data[iend:]

    [found] = metadata_fields(data)
    assert len(found.text) == MAX_FIELD_BYTES
    assert only_record(data).tool == "AUTOMATIC1111"


def test_huge_text_costs_linear_time() -> None:
    # A settings line of one long word would cost a pass per position with a searching
    # regex: quadratic. Pairs are matched from the start, so this stays well under a second.
    data = png({"parameters": "Steps: 20, " + "a" * 60_000 + ", Seed: 5, Sampler: x"})
    started = time.perf_counter()
    record = only_record(data)
    assert time.perf_counter() - started < 5
    assert record.seeds == ("5",)


@pytest.mark.parametrize("magic", [b"stealth_pnginfo", b"stealth_pngcomp"])
def test_stealth_length_beyond_the_image_is_survived(magic: bytes) -> None:
    # The header claims 2**32 - 1 bits of payload, in a 64 x 48 image.
    assert examine(stealth_png(b"", magic, claimed_bits=2**32 - 1)) == []


def test_shared_malformed_files_never_raise(shared_data: Path) -> None:
    files = [p for p in sorted((shared_data / "malformed").iterdir()) if p.is_file()]
    assert len(files) > 50
    for path in files:
        evidence = examine(path.read_bytes(), "application/octet-stream")
        assert all(e.kind == "generator-metadata" for e in evidence)


def test_stealth_info_is_read_from_the_alpha_channel_a_scan_decoded(shared_data: Path) -> None:
    stealth = shared_data / "metadata-fixtures" / "AUTOMATIC1111" / "automatic1111_stealth.png"
    decoded = decode_luma(stealth.read_bytes(), DecodeLimits(), 512, keep_rgb_up_to=10**8)
    assert decoded.alpha is not None
    # Bytes of a plain RGBA picture: only the alpha channel handed over holds the record.
    plain = io.BytesIO()
    Image.new("RGBA", (decoded.width, decoded.height), (90, 120, 150, 255)).save(plain, "PNG")
    assert GeneratorMetadataDetector().examine(OriginInput(plain.getvalue(), "image/png")) == []
    handed = OriginInput(plain.getvalue(), "image/png", alpha=decoded.alpha)
    [found] = GeneratorMetadataDetector().examine(handed)
    assert found.detail.startswith("AUTOMATIC1111")
