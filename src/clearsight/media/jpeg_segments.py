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

The pixels of such a file are still a picture to hash and to show: the scan's decoder
and the review preview hand Pillow :func:`uncrowded_jpeg`, the same file without its
application and comment segments, bar the first EXIF one (orientation) and the first
Adobe one (how CMYK is stored). It lives in ``media`` so that all three may use it.
"""

from __future__ import annotations

MAX_SEGMENTS = 1024
MAX_EXIF_SEGMENTS = 16
MAX_UNCROWDED_SEGMENTS = 65_536  # the most a header may hold to be walked and trimmed

_SOI = b"\xff\xd8"
_EXIF = b"Exif\x00\x00"
_START_OF_SCAN = 0xDA
_END_OF_IMAGE = 0xD9
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI: no length
_APP1 = 0xE1
_APP14 = 0xEE  # Adobe: tells the decoder how CMYK/YCCK samples are stored
_DROPPABLE = frozenset({*range(0xE0, 0xF0), 0xFE})  # APP0-APP15, COM


class CrowdedJpegError(ValueError):
    """A JPEG header of more segments than :data:`MAX_UNCROWDED_SEGMENTS`."""


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


def uncrowded_jpeg(data: bytes) -> bytes:
    """``data`` without its APPn and COM segments, bar the first EXIF and the first
    Adobe one; the other segments and the image data unchanged.

    Raises :class:`CrowdedJpegError` for a header of more than
    :data:`MAX_UNCROWDED_SEGMENTS` segments. A header that breaks off (no start of
    scan) is kept as far as it goes, for the decoder to refuse as it would the original.
    """
    kept = [data[: len(_SOI)]]
    position = len(_SOI)
    exif_kept = adobe_kept = False
    for _ in range(MAX_UNCROWDED_SEGMENTS):
        start = position
        while position < len(data) and data[position] == 0xFF:
            position += 1
        if position + 2 >= len(data) or position == start:
            return b"".join([*kept, data[start:]])
        marker = data[position]
        if marker in (_START_OF_SCAN, _END_OF_IMAGE):
            return b"".join([*kept, data[start:]])
        if marker in _STANDALONE:
            position += 1
            kept.append(data[start:position])
            continue
        end = position + 1 + max(int.from_bytes(data[position + 1 : position + 3], "big"), 2)
        keep = marker not in _DROPPABLE
        if marker == _APP1 and not exif_kept and data.startswith(_EXIF, position + 3):
            keep = exif_kept = True
        elif marker == _APP14 and not adobe_kept:
            keep = adobe_kept = True
        if keep:
            kept.append(data[start:end])
        position = end
    raise CrowdedJpegError(f"a JPEG header of more than {MAX_UNCROWDED_SEGMENTS} segments")
