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


# The order pdqhash.compute_dihedral returns the variants in, after the original.
DIHEDRAL_TRANSFORMS = (
    "rotate-90",
    "rotate-180",
    "rotate-270",
    "flip-vertical",
    "flip-horizontal",
    "rotate-90-flip-vertical",
    "rotate-90-flip-horizontal",
)


@dataclass(frozen=True)
class PdqHash:
    """A PDQ hash as 64 lowercase hex digits, with the 0-100 quality it was made at.

    ``dihedral`` holds the hashes of the image rotated and flipped, in the order of
    :data:`DIHEDRAL_TRANSFORMS`, so a flipped or rotated copy can be matched without
    decoding the file again.
    """

    hex: str
    quality: int
    dihedral: tuple[str, ...] = ()


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
        # One DCT gives all eight: the variants are sign changes and transposes of it.
        vectors, quality = pdqhash.compute_dihedral(rgb)
        original, *variants = (_hex_of(bits) for bits in vectors)
        return PdqHash(original, int(quality), tuple(variants))

    @staticmethod
    def distance(a: str, b: str) -> int:
        """Hamming distance between two hex PDQ hashes (the brute-force reference)."""
        return (int(a, 16) ^ int(b, 16)).bit_count()


def _hex_of(bits: npt.NDArray[np.integer]) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()
