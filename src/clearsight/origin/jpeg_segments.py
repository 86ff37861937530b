"""A count of a JPEG's header segments, taken before Pillow is let near the file.

Pillow keeps every segment before the image data in a list, and joins the EXIF APP1
segments by repeated concatenation, so a file of many segments costs time with the
square of their number: 3,300 EXIF segments of 64 kB (a 200 MB file) kept it busy for
minutes, and millions of empty segments would fill memory with the list. Cameras and
editors write a handful of segments, rarely more than 30, and EXIF in one (a few split
FlashPix or extended data over several). So a JPEG past :data:`MAX_SEGMENTS` segments,
or :data:`MAX_EXIF_SEGMENTS` EXIF segments, is not handed to Pillow by the origin
detectors: it holds no evidence they would read. The walk reads only the segments'
lengths, and stops at the first that breaks the rules, so it costs at most
:data:`MAX_SEGMENTS` steps.
"""

from __future__ import annotations

MAX_SEGMENTS = 1024
MAX_EXIF_SEGMENTS = 16

_SOI = b"\xff\xd8"
_EXIF = b"Exif\x00\x00"
_START_OF_SCAN = 0xDA
_END_OF_IMAGE = 0xD9
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI: no length


def crowded_jpeg(data: bytes) -> bool:
    """Whether ``data`` is a JPEG whose header has more segments, or more EXIF segments,
    than Pillow should be asked to read. Anything that is not a JPEG is not crowded."""
    if not data.startswith(_SOI):
        return False
    position = len(_SOI)
    exif = 0
    for _ in range(MAX_SEGMENTS):
        while position < len(data) and data[position] == 0xFF:
            position += 1  # a marker may be preceded by any number of fill bytes
        if position + 2 >= len(data) or data[position - 1] != 0xFF:
            return False  # truncated or not a marker: Pillow's own checks will fail it
        marker = data[position]
        if marker in (_START_OF_SCAN, _END_OF_IMAGE):
            return False
        if marker in _STANDALONE:
            position += 1
            continue
        length = int.from_bytes(data[position + 1 : position + 3], "big")
        if marker == 0xE1 and data.startswith(_EXIF, position + 3):
            exif += 1
            if exif > MAX_EXIF_SEGMENTS:
                return True
        position += 1 + max(length, 2)
    return True
