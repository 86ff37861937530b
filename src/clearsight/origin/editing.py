"""Signs that a file was saved again after capture, by an editor or any other program.

An edit is not AI: most pictures on any device went through an editor, a phone's
gallery or a platform's re-encoder. But a file that was re-saved is not a camera
original, so each sign is reported, pointing nowhere and weak, for the verdict to name:

* a Software, ProcessingSoftware or HostComputer field, a PNG ``Software`` text, or an
  XMP ``xmp:CreatorTool`` or history ``stEvt:softwareAgent`` that names an editor
  (:data:`clearsight.origin.camera.EDITORS`);
* a DateTime (when the file was last written) later than DateTimeOriginal (when it was
  taken) by more than a minute: cameras write both at capture, and a long exposure or
  in-camera processing accounts for seconds, not more;
* a JPEG with a camera's make in its EXIF whose quantisation tables are libjpeg's own
  at some quality: a camera that tunes its tables did not write them. Some cameras,
  many phones among them, do use libjpeg's tables, so this stays a hint; tables at
  libjpeg's quality 99 or 100 are too fine to say anything (a Nikon D200 writes them).

XMP is found by a byte search of the packet Pillow already holds, not parsed: a name is
all that is read from it.
"""

from __future__ import annotations

import re
from datetime import timedelta

from PIL import Image

from clearsight.origin.camera import (
    ExifRecord,
    editor_named,
    opened,
    read_exif_record,
    safe_text,
)
from clearsight.origin.evidence import Evidence, OriginInput, Strength
from clearsight.origin.quantisation import match_ijg

CAPTURE_TO_WRITE_SLACK = timedelta(minutes=1)
_XMP_TOOL = re.compile(
    rb"(CreatorTool|softwareAgent)\s*(?:=\s*[\"']([^\"'<>]{1,200})[\"']|>([^<>]{1,200})<)"
)
_MAX_XMP = 4 * 1024 * 1024


class EditingSoftwareDetector:
    """Signs of re-saving after capture: editor names, a later write time, and a camera
    record over libjpeg's tables. Each points nowhere, weakly."""

    @property
    def name(self) -> str:
        return "editing-software"

    def examine(self, file: OriginInput) -> list[Evidence]:
        with opened(file.data) as im:
            if im is None:
                return []
            record = read_exif_record(im)
            signs = [*_named_editors(im, record), *_write_after_capture(record)]
            signs += _resaved_camera_jpeg(im, record)
        return [Evidence(self.name, None, Strength.WEAK, sign) for sign in signs]


def _named_editors(im: Image.Image, record: ExifRecord | None) -> list[str]:
    signs: list[str] = []
    seen: set[str] = set()
    if record is not None and (editor := record.editor):
        field, software = editor
        signs.append(f"EXIF {field} {software!r} names an editor ({editor_named(software)})")
        seen.add(software)
    png_software = im.info.get("Software") if im.format == "PNG" else None
    for where, value in [("PNG Software", png_software), *_xmp_tools(im)]:
        text = safe_text(value)
        if text and text not in seen and (name := editor_named(text)):
            signs.append(f"{where} {text!r} names an editor ({name})")
            seen.add(text)
    return signs


def _xmp_tools(im: Image.Image) -> list[tuple[str, str]]:
    """(field, value) of each CreatorTool and softwareAgent in the XMP packet."""
    packet = im.info.get("xmp", im.info.get("XML:com.adobe.xmp"))
    if isinstance(packet, str):
        packet = packet.encode("utf-8", "replace")
    if not isinstance(packet, bytes):
        return []
    tools = []
    for match in _XMP_TOOL.finditer(packet[:_MAX_XMP]):
        value = (match.group(2) or match.group(3)).decode("utf-8", "replace")
        tools.append((f"XMP {match.group(1).decode()}", value))
    return tools


def _write_after_capture(record: ExifRecord | None) -> list[str]:
    if record is None or record.modified is None or record.taken is None:
        return []
    if record.modified - record.taken <= CAPTURE_TO_WRITE_SLACK:
        return []
    return [
        f"EXIF DateTime {record.modified:%Y-%m-%d %H:%M:%S} is later than DateTimeOriginal "
        f"{record.taken:%Y-%m-%d %H:%M:%S}: written again after capture"
    ]


def _resaved_camera_jpeg(im: Image.Image, record: ExifRecord | None) -> list[str]:
    if record is None or record.make is None or im.format not in ("JPEG", "MPO"):
        return []
    tables = getattr(im, "quantization", None)
    found = match_ijg(tables) if tables else None
    if found is None or not found.exact or found.near_flat:
        return []
    return [
        f"EXIF make {record.make!r} but {found.describe()}: re-saved after capture, or a "
        "camera that uses libjpeg's tables"
    ]
