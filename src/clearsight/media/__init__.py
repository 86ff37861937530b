"""Reading media bytes safely: what a file is, and its pixels within fixed limits.

This package imports nothing else of clearsight's, so it can be reused by any stage.
"""

from clearsight.media.decode import (
    DecodedImage,
    DecodeLimits,
    ImageDecodeError,
    decode_luma,
    fit_in_box,
)
from clearsight.media.sniff import MediaKind, kind_of, sniff_media_type

__all__ = [
    "DecodeLimits",
    "DecodedImage",
    "ImageDecodeError",
    "MediaKind",
    "decode_luma",
    "fit_in_box",
    "kind_of",
    "sniff_media_type",
]
