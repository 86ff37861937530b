"""What a file is, judged from its bytes, never from its name.

Evidence files are often renamed to hide them, so the extension is ignored. The first
bytes are matched against puremagic's signature table; a decoder that later parses the
file (Pillow) may refine an image's type, which the caller does.

JPEG and PNG, most of what a seized drive holds, are told by their first bytes
without puremagic, whose table walk costs a millisecond or two a file: a scan's
single largest fixed cost after decoding small pictures. The answers are puremagic's
own (a test holds them to it), including JPEG-LS, whose marker follows JPEG's.
"""

from __future__ import annotations

import enum

import puremagic

OCTET_STREAM = "application/octet-stream"
SNIFF_BYTES = 8192


class MediaKind(enum.Enum):
    """The broad class that decides which stages apply to a file."""

    IMAGE = "image"
    VIDEO = "video"
    OTHER = "other"


_JPEG = b"\xff\xd8\xff"
_JPEG_LS = 0xF7  # the marker after SOI that makes a JPEG-LS file
_PNG = b"\x89PNG\r\n\x1a\n"


def sniff_media_type(head: bytes) -> str:
    """Return the MIME type that the leading bytes of a file declare."""
    if not head:
        return "application/x-empty"
    if head.startswith(_JPEG) and len(head) > 3 and head[3] != _JPEG_LS:
        return "image/jpeg"
    if head.startswith(_PNG):
        return "image/png"
    try:
        found = puremagic.from_string(head[:SNIFF_BYTES], mime=True)
    except (puremagic.PureError, ValueError):
        found = ""
    if found:
        return str(found)
    return "text/plain" if _looks_like_text(head) else OCTET_STREAM


def kind_of(media_type: str) -> MediaKind:
    if media_type.startswith("image/"):
        return MediaKind.IMAGE
    if media_type.startswith("video/"):
        return MediaKind.VIDEO
    return MediaKind.OTHER


def may_hold_pixels(media_type: str) -> bool:
    """Whether an image decoder should be tried: images, and bytes nothing recognised.

    Some image formats (TGA, PCX variants) carry no reliable magic number, so an
    unrecognised file is still offered to the decoder; a failure there is not an error.
    """
    return media_type.startswith("image/") or media_type == OCTET_STREAM


def _looks_like_text(head: bytes) -> bool:
    sample = head[:SNIFF_BYTES]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start >= len(sample) - 3
    return True
