"""PDQ, the perceptual hash that platform and NGO hash lists exchange.

The DCT and median step are pdqhash's (bindings to Meta's reference C++). The image is
handed over as 8-bit luma already fitted into the 512-pixel working box, which is what
the reference Python port hashes after its ``thumbnail((512, 512))``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pdqhash

# The reference implementations work on images fitted into a 512x512 box.
PDQ_WORKING_BOX = 512
# Distances at or below this are a match in the field's convention.
PDQ_MATCH_THRESHOLD = 31
# Below this quality the hash carries too little structure to be trusted.
PDQ_MIN_QUALITY = 50


@dataclass(frozen=True)
class PdqHash:
    """A PDQ hash as 64 lowercase hex digits, with the 0-100 quality it was made at."""

    hex: str
    quality: int


class PdqSignal:
    """The PDQ signal type: validation, hashing from luma, and the reference distance."""

    name = "pdq"
    hex_pattern = re.compile(r"^[0-9a-f]{64}$")

    @classmethod
    def validate(cls, value: str) -> str:
        normalised = value.strip().lower()
        if not cls.hex_pattern.match(normalised):
            raise ValueError(f"not a PDQ hash (64 hex digits): {value[:80]!r}")
        return normalised

    @staticmethod
    def hash_from_luma(luma: npt.NDArray[np.uint8]) -> PdqHash:
        """Hash a 2-D uint8 luma array.

        pdqhash only accepts three channels and mixes them with the luma weights
        (which sum to one), so grey broadcast to three channels hashes as itself.
        """
        if luma.ndim != 2:
            raise ValueError("expected a 2-D luma array")
        rgb = np.broadcast_to(luma[:, :, None], (*luma.shape, 3))
        bits, quality = pdqhash.compute(rgb)
        return PdqHash(np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality))

    @staticmethod
    def distance(a: str, b: str) -> int:
        """Hamming distance between two hex PDQ hashes (the brute-force reference)."""
        return (int(a, 16) ^ int(b, 16)).bit_count()
