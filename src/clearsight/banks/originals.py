"""Bank entries made from original pictures the user holds (``clearsight bank add``).

A list from elsewhere gives one hash per picture; with the picture itself in hand a
bank can keep more. Each original is fingerprinted as a scan would (digests, PDQ from
the same 512-pixel luma), and also hashed as centre crops, small turns and quadrants,
and its ORB local features are packed beside them, so that crops, turns and partial
edits of it can still be found and confirmed. The picture itself is not kept. Original
videos are accepted too, and kept as dense vPDQ (:mod:`.video_originals`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
)
from clearsight.banks.video_originals import video_entry_of
from clearsight.media.decode import DecodeLimits, ImageDecodeError, decode_luma
from clearsight.media.sniff import SNIFF_BYTES, MediaKind, kind_of, sniff_media_type
from clearsight.signals.digests import digest_bytes
from clearsight.signals.features import extract
from clearsight.signals.pdq import PDQ_MIN_QUALITY, PDQ_WORKING_BOX, PdqSignal
from clearsight.signals.variants import bank_views, hash_views


def original_files(paths: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    """Each file named, and every file under each folder named (sorted), with the name
    it is known by in the bank: its path below the folder, or its own name."""
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    found = Path(folder) / name
                    yield found, found.relative_to(path).as_posix()
        else:
            yield path, path.name


def entry_of(path: Path, name: str, metadata: EntryMetadata, limits: DecodeLimits) -> ImportEvent:
    """The bank entry for one original, or the one-line reason it cannot be one. A video
    (known by its bytes) becomes a video's entry (see :mod:`.video_originals`)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        if kind_of(sniff_media_type(head)) is MediaKind.VIDEO:
            return video_entry_of(path, name, metadata)
        if path.stat().st_size > limits.max_file_bytes:
            return RejectedLine(str(path), f"larger than {limits.max_file_bytes} bytes")
        data = path.read_bytes()
    except OSError as exc:
        return RejectedLine(str(path), f"cannot read: {exc.strerror or exc}")
    try:
        image = decode_luma(data, limits, PDQ_WORKING_BOX)
    except ImageDecodeError as exc:
        return RejectedLine(str(path), f"not a decodable picture: {exc}")
    pdq = PdqSignal.hash_from_luma(image.luma)
    if pdq.quality < PDQ_MIN_QUALITY:
        return RejectedLine(
            str(path), f"PDQ quality {pdq.quality} is below {PDQ_MIN_QUALITY}: too plain to match"
        )
    digests = digest_bytes(data)
    variants = hash_views(bank_views(image.luma), pdq.hex)
    return ImportedEntry(
        signals=(
            *((BankSignal(name), value) for name, value in digests.as_dict().items()),
            (BankSignal.PDQ, pdq.hex),
        ),
        metadata=EntryMetadata(
            external_id=name,
            category=metadata.category,
            series=metadata.series,
            victim_identified=metadata.victim_identified,
            comments=metadata.comments,
        ),
        where=str(path),
        pdq_variants=tuple((variant.name, variant.hex) for variant in variants),
        features=extract(image.luma).to_text(),
    )
