"""The pixels of one file: decode it, hash it and its views, take its keypoints and
examine its origin evidence (see :mod:`clearsight.scan.fingerprint`, which reads the
file and calls this in a worker process).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from clearsight.media.decode import DecodeLimits, ImageDecodeError, decode_luma
from clearsight.media.sniff import MediaKind
from clearsight.origin.stage import RGB_FOR_ORIGIN_UP_TO, examine_bytes
from clearsight.scan.fingerprint import FingerprintOptions, with_error
from clearsight.signals.features import extract
from clearsight.signals.pdq import PDQ_WORKING_BOX, PdqHash, PdqSignal
from clearsight.signals.scene import scene_views
from clearsight.signals.variants import Luma, VariantHash, hash_views, query_views
from clearsight.store.interface import ErrorStage, ItemError, PackedFeatures, ScannedFile


def with_pixels(record: ScannedFile, data: bytes, options: FingerprintOptions) -> ScannedFile:
    limits = options.limits
    try:
        keep_rgb = RGB_FOR_ORIGIN_UP_TO if options.origin else 0
        image = decode_luma(data, limits, PDQ_WORKING_BOX, keep_rgb_up_to=keep_rgb)
    except ImageDecodeError as exc:
        if record.kind is not MediaKind.IMAGE and exc.media_type is None:
            return record  # unrecognised bytes that are not an image either: not an error
        media_type = exc.media_type or record.media_type
        failed = replace(record, media_type=media_type, kind=MediaKind.IMAGE)
        return with_error(failed, ErrorStage.DECODE, str(exc))
    pdq: PdqHash | None = None
    variants: tuple[VariantHash, ...] = ()
    scene: tuple[VariantHash, ...] = ()
    features: PackedFeatures | None = None
    errors = record.errors
    try:
        pdq = PdqSignal.hash_from_luma_numpy(image.luma)
        # The views a known picture may hide in: trimmed, screenshot, collage tiles. Even
        # a picture too plain to hash well as a whole (a mostly empty screenshot) may
        # hold a well-hashed photo.
        sharper = partial(larger_luma, data, limits, image.luma)
        variants = tuple(hash_views(query_views(image.luma, sharper), pdq.hex))
        # Quadrants and centre crops: how triage finds scene-mates (a region replaced,
        # a crop) among the case's items without comparing all pairs.
        scene = tuple(hash_views(scene_views(image.luma), pdq.hex))
        # Keypoints find what PDQ cannot (an off-centre crop, a turn, another camera on
        # the same tripod) and confirm links later without reading the file again.
        height, width = image.luma.shape
        features = PackedFeatures(extract(image.luma).to_bytes(), int(width), int(height))
    except Exception as exc:  # noqa: BLE001 - a hashing failure is this file's error row
        errors = (*errors, ItemError(ErrorStage.HASH, f"PDQ failed: {type(exc).__name__}"))
    origin = None
    if options.origin:
        origin = examine_bytes(
            data,
            image.media_type,
            keep_prompts=options.keep_prompts,
            luma=image.luma,
            rgb=image.rgb,
            alpha=image.alpha,
            pixel_model=options.pixel_model,
        )
    return replace(
        record,
        media_type=image.media_type,
        kind=MediaKind.IMAGE,
        width=image.width,
        height=image.height,
        orientation=image.orientation,
        pdq=pdq,
        pdq_variants=variants,
        scene_views=scene,
        features=features,
        errors=errors,
        origin=origin,
    )


def larger_luma(data: bytes, limits: DecodeLimits, fallback: Luma, box: int) -> Luma:
    """The picture decoded again to fit ``box``; ``fallback`` should that fail."""
    try:
        return decode_luma(data, limits, box).luma
    except ImageDecodeError:
        return fallback
