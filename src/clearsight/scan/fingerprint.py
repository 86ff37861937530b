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
again without decoding. A video gets the limit once for every ten minutes it declares.
"""

from __future__ import annotations

import math
import os
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial

from clearsight.media.decode import DecodeLimits
from clearsight.media.sniff import (
    OCTET_STREAM,
    SNIFF_BYTES,
    MediaKind,
    kind_of,
    may_hold_pixels,
    sniff_media_type,
)
from clearsight.media.video_facts import VideoFacts, VideoLimits
from clearsight.signals.digests import StreamingDigests
from clearsight.store.interface import ErrorStage, ItemError, ScannedFile

CHUNK_BYTES = 1024 * 1024
# The modules that read pixels, imported where the first file needs them: a worker has
# them from its fork server (:mod:`clearsight.scan.worker_server` preloads these), while
# the scan's own process, which only plans, writes and builds these options, never does.
PIXEL_MODULES = ("clearsight.scan.pixels", "clearsight.scan.video_fingerprint")
# A video gets the per-file time limit once for every ten minutes it lasts.
VIDEO_SECONDS_PER_LIMIT = 600.0


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
        from clearsight.scan.pixels import with_pixels  # the decoders: see PIXEL_MODULES

        with _time_limit(options.decode_seconds):
            return with_pixels(record, data, options)
    if options.decode and record.kind is MediaKind.VIDEO:
        from clearsight.scan.video_fingerprint import fingerprint_video

        # Streamed from the file, never read whole: a video may be many gigabytes.
        with _time_limit(options.decode_seconds):
            return fingerprint_video(
                abs_path,
                record,
                options.video_limits,
                origin=options.origin,
                keep_prompts=options.keep_prompts,
                on_facts=partial(_video_time_limit, options.decode_seconds),
            )
    if wants_pixels and record.kind is MediaKind.IMAGE:
        return with_error(
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


def _video_time_limit(seconds: float | None, facts: VideoFacts) -> None:
    """Re-arm the time limit for a video: the per-file limit for every started
    :data:`VIDEO_SECONDS_PER_LIMIT` seconds it declares, since decoding takes time in
    proportion to length (the duration cap bounds what a file may claim)."""
    if seconds is None:
        return
    spans = max(1, math.ceil((facts.duration or 0.0) / VIDEO_SECONDS_PER_LIMIT))
    signal.setitimer(signal.ITIMER_REAL, seconds * spans)


def with_error(record: ScannedFile, stage: ErrorStage, reason: str) -> ScannedFile:
    return replace(record, errors=(*record.errors, ItemError(stage, reason)))
