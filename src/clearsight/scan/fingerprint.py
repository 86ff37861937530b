"""Fingerprint one file: read it once, digest it, and hash its pixels if it has any.

This runs in a worker process. It never raises for a bad file: whatever goes wrong
becomes an :class:`ItemError` on the returned record, so one broken file costs one
row, not the scan. The bytes are held only in this process's memory; nothing of the
media is logged or written anywhere.

The per-file time limit is meant for decoders, which can hang on hostile input, so it
covers decoding, hashing and examining the pixels and nothing else: reading and
digesting are bounded by I/O and always end, and a 10 GB file must get its digests
however long they take. Past the limit the kernel ends the worker with ``SIGALRM``
(its default action, which no C decoder can ignore); the scan then digests the file
again without decoding.
"""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial

from clearsight.media.decode import DecodeLimits, ImageDecodeError, decode_luma
from clearsight.media.sniff import (
    OCTET_STREAM,
    SNIFF_BYTES,
    MediaKind,
    kind_of,
    may_hold_pixels,
    sniff_media_type,
)
from clearsight.media.video import VideoLimits
from clearsight.origin.stage import RGB_FOR_ORIGIN_UP_TO, examine_bytes
from clearsight.scan.video_fingerprint import fingerprint_video
from clearsight.signals.digests import StreamingDigests
from clearsight.signals.features import extract
from clearsight.signals.pdq import PDQ_WORKING_BOX, PdqHash, PdqSignal
from clearsight.signals.scene import scene_views
from clearsight.signals.variants import Luma, VariantHash, hash_views, query_views
from clearsight.store.interface import ErrorStage, ItemError, PackedFeatures, ScannedFile

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FingerprintOptions:
    limits: DecodeLimits = DecodeLimits()
    video_limits: VideoLimits = VideoLimits()
    decode: bool = True
    origin: bool = True  # examine origin evidence while the bytes are in memory
    keep_prompts: bool = False  # store generator prompts (they can be abusive)
    pixel_model: str | None = None  # the user's ONNX pixel detector, if any
    # Seconds the pixels may take (decode, hash, examine) before SIGALRM ends this
    # process; only for a worker whose parent retries (see the module's docstring).
    decode_seconds: float | None = None


def fingerprint_file(abs_path: str, rel_path: str, options: FingerprintOptions) -> ScannedFile:
    """Everything the scan stage records about one file."""
    try:
        return _fingerprint(abs_path, rel_path, options)
    except OSError as exc:
        return unreadable(rel_path, ErrorStage.READ, f"cannot read file: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - the scan must go on whatever this file does
        return unreadable(rel_path, ErrorStage.WORKER, f"unexpected {type(exc).__name__}")


def unreadable(rel_path: str, stage: ErrorStage, reason: str) -> ScannedFile:
    """The record of a file nothing could be learned from."""
    return ScannedFile(
        path=rel_path,
        media_type=OCTET_STREAM,
        kind=MediaKind.OTHER,
        errors=(ItemError(stage, reason),),
    )


def _fingerprint(abs_path: str, rel_path: str, options: FingerprintOptions) -> ScannedFile:
    # O_NONBLOCK: should the path have become a pipe since the walk, opening must not hang.
    fd = os.open(abs_path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return unreadable(rel_path, ErrorStage.READ, "not a regular file; not read")
        head = handle.read(SNIFF_BYTES)
        media_type = sniff_media_type(head)
        digests = StreamingDigests()
        wants_pixels = options.decode and may_hold_pixels(media_type)
        data: bytes | None = None
        if wants_pixels and info.st_size <= options.limits.max_file_bytes:
            # One read of the rest, one join: the bytes are digested and decoded in memory.
            data = head + handle.read()
            digests.update(data)
        else:
            digests.update(head)
            while chunk := handle.read(CHUNK_BYTES):
                digests.update(chunk)
    record = ScannedFile(
        path=rel_path,
        media_type=media_type,
        kind=kind_of(media_type),
        size=digests.size,
        mtime=info.st_mtime,
        digests=digests.result(),
    )
    if data is not None:
        with _time_limit(options.decode_seconds):
            return _with_pixels(record, data, options)
    if options.decode and record.kind is MediaKind.VIDEO:
        # Streamed from the file, never read whole: a video may be many gigabytes.
        with _time_limit(options.decode_seconds):
            return fingerprint_video(abs_path, record, options.video_limits)
    if wants_pixels and record.kind is MediaKind.IMAGE:
        return _with_error(
            record,
            ErrorStage.DECODE,
            f"file of {info.st_size} bytes exceeds the decode cap of "
            f"{options.limits.max_file_bytes} bytes",
        )
    return record


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Ends this process with SIGALRM should the block take more than ``seconds``."""
    if seconds is None:
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _with_pixels(record: ScannedFile, data: bytes, options: FingerprintOptions) -> ScannedFile:
    limits = options.limits
    try:
        keep_rgb = RGB_FOR_ORIGIN_UP_TO if options.origin else 0
        image = decode_luma(data, limits, PDQ_WORKING_BOX, keep_rgb_up_to=keep_rgb)
    except ImageDecodeError as exc:
        if record.kind is not MediaKind.IMAGE and exc.media_type is None:
            return record  # unrecognised bytes that are not an image either: not an error
        media_type = exc.media_type or record.media_type
        failed = replace(record, media_type=media_type, kind=MediaKind.IMAGE)
        return _with_error(failed, ErrorStage.DECODE, str(exc))
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
        sharper = partial(_larger_luma, data, limits, image.luma)
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


def _larger_luma(data: bytes, limits: DecodeLimits, fallback: Luma, box: int) -> Luma:
    """The picture decoded again to fit ``box``; ``fallback`` should that fail."""
    try:
        return decode_luma(data, limits, box).luma
    except ImageDecodeError:
        return fallback


def _with_error(record: ScannedFile, stage: ErrorStage, reason: str) -> ScannedFile:
    return replace(record, errors=(*record.errors, ItemError(stage, reason)))
