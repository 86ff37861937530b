"""What the two robustness benchmarks share: progress lines, bases, how a scan and a
``bank add`` see a picture. (``robustness.py`` runs the fixed edit suite,
``robust_matching.py`` the edits drawn at random on the held-out half.)"""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.signals.features import extract
from clearsight.signals.pdq import PDQ_WORKING_BOX, PdqSignal
from clearsight.signals.variants import bank_views, hash_views

Luma = npt.NDArray[np.uint8]
STARTED = time.perf_counter()


def log(message: str) -> None:
    """Progress on stderr, with the seconds since start (to size a run by its phases)."""
    print(f"[{time.perf_counter() - STARTED:,.0f} s] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Base:
    """A known picture; bases of one ``scene`` are related."""

    name: str
    picture: Image.Image
    scene: str


def jpeg(picture: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def scanned_luma(data: bytes, box: int = PDQ_WORKING_BOX) -> Luma:
    """The luma a scan hashes and takes keypoints from (or a larger decode, ``box``)."""
    return decode_luma(data, DecodeLimits(), box).luma


def own_entry(name: str, luma: Luma) -> ImportedEntry:
    """A bank entry as ``bank add`` makes it from pixels: the hash, the hashes of the
    bank-side views, and the keypoints."""
    pdq = PdqSignal.hash_from_luma(luma)
    variants = hash_views(bank_views(luma), pdq.hex)
    return ImportedEntry(
        ((BankSignal.PDQ, pdq.hex),),
        EntryMetadata(external_id=name),
        pdq_variants=tuple((v.name, v.hex) for v in variants),
        features=extract(luma).to_text(),
    )
