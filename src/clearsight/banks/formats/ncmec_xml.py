"""NCMEC hash-sharing XML, read as a stream.

A hash-sharing download is ``<queryResult>`` holding ``<images>`` and ``<videos>``, whose
``<image>``/``<video>`` entries carry an ``<id>``, a ``<classification>`` and
``<fingerprints>`` (``md5``, ``sha1``, ``pdna``, ``pdq``), and whose
``<deletedImage>``/``<deletedVideo>`` entries withdraw an earlier entry by its id.
Each entry's uploading ``<member id="...">`` is kept as a ``member:<id>`` tag, and the
``<feedback>`` other members gave as ``feedback:<fingerprint>:affirmative|negative``
tags. ``<paging><next>``, the address of the next page where the download is one page
of more, becomes a :class:`~clearsight.banks.records.NextPage` event (after the
entries before it), so the import can say the list goes on; anything else is passed
over. The shapes are those python-threatexchange's ``GetEntriesResponse.from_xml``
reads, ``queryResult/paging/next`` included.

Downloads are large, so the file goes through ``iterparse`` and each entry is cleared,
with the entries before it, once read: the tree never holds more than a few entries.
Entities are not resolved and nothing is fetched from the network, so a hostile file
cannot expand itself or reach out. Elements are matched by local name, so the file may
declare a default namespace (the service's own output does) or none.

libxml2 caps a text node at 10 MB, but holds a start tag whole until its ``>``: a
200 MB attribute took 416 MB of memory before it was refused. No ``<`` may appear in
an attribute value or in text, so the bytes are watched on their way in, and a run of
more than :data:`MAX_MARKUP_GAP` bytes without one stops the file at once.

A file that declares no encoding is UTF-8 to libxml2, but some tools write Latin-1 and
no declaration. So such a file (no byte-order mark, no ``encoding=`` in its
declaration) is watched too: if its first bytes past ASCII are not UTF-8, it is read
as Latin-1 from there on, as it must then be (ASCII is the same in both). A file whose
bytes turn out not to be UTF-8 only later (after some that were) is refused in one
line that says so.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from clearsight.banks.formats.byte_source import open_decompressed
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.field_limits import checked_text
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    NextPage,
    RejectedLine,
    normalise_signal,
)

_ROOT = "queryResult"
_ENTRIES = ("image", "video")
_DELETED = ("deletedImage", "deletedVideo")
# "{*}name" lets libxml2 filter by local name in any namespace or none, so the Python
# loop sees only the entries and not each of their children.
_NEXT = "next"  # in <paging>, right under the root
_ENTRY_TAGS = [f"{{*}}{name}" for name in (*_ENTRIES, *_DELETED, _NEXT)]
_FINGERPRINTS = {
    "md5": BankSignal.MD5,
    "sha1": BankSignal.SHA1,
    "sha256": BankSignal.SHA256,
    "pdq": BankSignal.PDQ,
    "pdna": BankSignal.PHOTODNA,
}
_SIGNAL_ORDER = {kind: rank for rank, kind in enumerate(BankSignal)}
_SENTIMENTS = {"affirmativeFeedback": "affirmative", "negativeFeedback": "negative"}
# Far above any entry's field (FIELD_LIMIT characters, up to 9 bytes each as a
# character reference) and the whitespace between elements.
MAX_MARKUP_GAP = 4 * 1024 * 1024
_READ_LIMIT = 1024 * 1024  # at most this much per read, so a gap inside one is shorter
_BYTE_ORDER_MARKS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?\bencoding\s*=")
_NOT_ASCII = re.compile(rb"[\x80-\xff]")


def parse_ncmec_xml(path: Path) -> Iterator[ImportEvent]:
    """Stream the entries of an NCMEC XML file; raises BankFormatError if it is not one."""
    # The file is opened here, not by lxml, so that it is closed even when the reading
    # stops early (a format error, or a caller that stops iterating); gzip is read as
    # it is, and libxml2 itself honours the encoding the file declares.
    with open_decompressed(path) as stream:
        parser = etree.iterparse(
            _MarkupGapGuard(stream, path.name),
            events=("end",),
            tag=_ENTRY_TAGS,
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
        )
        try:
            yield from _entry_events(path, parser)
        except etree.XMLSyntaxError as error:
            raise _syntax_error(path, error) from None


class _MarkupGapGuard(io.RawIOBase):
    """The file's bytes for libxml2, refused once ``<`` is missing for too long, and
    turned from Latin-1 into UTF-8 where the file declares no encoding and is not
    UTF-8 (see :class:`_UndeclaredEncoding`)."""

    def __init__(self, source: BinaryIO, name: str) -> None:
        super().__init__()
        self._source = source
        self._name = name
        self._gap = 0  # bytes since the last "<"
        self._offset = 0
        self._encoding: _UndeclaredEncoding | None = None
        self._pending = b""  # bytes made ready but not yet read (Latin-1 grows in UTF-8)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        wanted = _READ_LIMIT if size is None or size < 0 else min(size, _READ_LIMIT)
        if not self._pending:
            self._pending = self._next_chunk(wanted)
        chunk, self._pending = self._pending[:wanted], self._pending[wanted:]
        return chunk

    def _next_chunk(self, wanted: int) -> bytes:
        chunk = self._source.read(wanted)
        first = chunk.find(b"<")
        if self._gap + (len(chunk) if first < 0 else first) > MAX_MARKUP_GAP:
            raise BankFormatError(
                f"{self._name}: over {MAX_MARKUP_GAP // 2**20} MiB without markup near byte "
                f"{self._offset}: no attribute or text of an entry is that long"
            )
        self._gap = self._gap + len(chunk) if first < 0 else len(chunk) - chunk.rfind(b"<") - 1
        if self._offset == 0:
            self._encoding = _UndeclaredEncoding.of(chunk, self._name)
        self._offset += len(chunk)
        return chunk if self._encoding is None else self._encoding.utf8(chunk)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        chunk = self.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)


class _UndeclaredEncoding:
    """A file with no declared encoding: UTF-8 unless its first bytes past ASCII are
    not, and then Latin-1 throughout (those before were ASCII, the same in both)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._latin1 = False
        self._utf8: codecs.IncrementalDecoder | None = None  # set at the first non-ASCII
        self._offset = 0

    @classmethod
    def of(cls, first_chunk: bytes, name: str) -> _UndeclaredEncoding | None:
        """A watcher for a file that begins with ``first_chunk``; None where the file
        has a byte-order mark or declares its encoding (libxml2 follows those)."""
        if first_chunk.startswith(_BYTE_ORDER_MARKS):
            return None
        head = first_chunk.lstrip()[:512]
        if head.startswith(b"<?xml") and _DECLARED_ENCODING.match(head[: head.find(b">") + 1]):
            return None
        return cls(name)

    def utf8(self, chunk: bytes) -> bytes:
        """``chunk`` in UTF-8 for libxml2; BankFormatError where it can be neither."""
        offset, self._offset = self._offset, self._offset + len(chunk)
        if self._latin1:
            return chunk.decode("latin-1").encode("utf-8")
        if self._utf8 is None:
            if chunk.isascii():
                return chunk
            self._utf8 = codecs.getincrementaldecoder("utf-8")()
            try:
                self._utf8.decode(chunk)
            except UnicodeDecodeError as error:
                beyond_ascii = _NOT_ASCII.search(chunk)
                if beyond_ascii is None or error.start != beyond_ascii.start():
                    raise self._not_utf8(offset + error.start) from None
                self._latin1 = True  # nothing but ASCII before it: Latin-1
                return chunk.decode("latin-1").encode("utf-8")
            return chunk
        try:
            self._utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            raise self._not_utf8(offset + error.start) from None
        return chunk

    def _not_utf8(self, offset: int) -> BankFormatError:
        return BankFormatError(
            f"{self._name}: not UTF-8 near byte {offset}, after UTF-8 before it, and the "
            'file declares no encoding: declare it (<?xml version="1.0" encoding="..."?>)'
        )


def _entry_events(
    path: Path, parser: etree.iterparse[tuple[str, etree._Element]]
) -> Iterator[ImportEvent]:
    """One event per entry element, each released once read, and one for the first
    next-page address; the root is checked first."""
    checked_root = False
    paged = False
    for _event, element in parser:
        if not checked_root:
            _check_root(path, element.getroottree().getroot())
            checked_root = True
        if _local_name(element) != _NEXT:
            yield _entry_event(element)
            _release(element)
        elif _is_paging_next(element):
            if not paged and (page := _next_page(element)) is not None:
                yield page
                paged = True
            _release(element)
        # Any other <next> is left alone: it may be a child of an entry not yet read.
    if not checked_root and parser.root is not None:
        _check_root(path, parser.root)  # no entries at all: still say if it is not NCMEC


def _check_root(path: Path, root: etree._Element) -> None:
    name = _local_name(root)
    if name != _ROOT:
        raise BankFormatError(
            f"{path.name} line {root.sourceline}: not an NCMEC hash-sharing file: "
            f"the root element is <{name}>, not <{_ROOT}>"
        )


def _syntax_error(path: Path, error: etree.XMLSyntaxError) -> BankFormatError:
    line = f" line {error.lineno}" if error.lineno else ""  # 0 when libxml2 had no line
    text = (error.msg or str(error)).strip()
    reason = text.splitlines()[0] if text else "malformed XML"
    return BankFormatError(f"{path.name}{line}: XML syntax error: {reason}")


def _release(element: etree._Element) -> None:
    """Drop an entry already read and the entries before it, to keep the tree small."""
    element.clear()
    parent = element.getparent()
    if parent is None:
        return
    while element.getprevious() is not None:
        del parent[0]


def _entry_event(element: etree._Element) -> ImportEvent:
    """The entry one ``image``/``video``/``deleted*`` element makes, or why it cannot."""
    where = f"line {element.sourceline}"
    parts = _EntryParts(element)
    try:
        signals = _signals(parts.fingerprints)
        metadata = EntryMetadata(
            external_id=_field("id", parts.texts.get("id")),
            category=_field("classification", parts.texts.get("classification")),
            tags=parts.tags(),
        )
    except ValueError as error:
        return RejectedLine(where, str(error))
    if _local_name(element) in _DELETED:
        # A withdrawal names the entry by id (or, failing that, by its fingerprints).
        if metadata.external_id is None and not signals:
            return RejectedLine(where, "a deleted entry with no id and no fingerprint")
        return ImportedEntry(signals, metadata, remove=True, where=where)
    if not signals:
        return RejectedLine(where, "no md5, sha1, sha256, pdq or pdna fingerprint")
    return ImportedEntry(signals, metadata, where=where)


def _is_paging_next(element: etree._Element) -> bool:
    """Whether ``element`` is ``queryResult/paging/next``, where threatexchange looks
    for the next page (a ``<next>`` anywhere else is not the paging's)."""
    paging = element.getparent()
    if paging is None or _local_name(paging) != "paging":
        return False
    root = paging.getparent()
    return root is not None and root.getparent() is None


def _next_page(element: etree._Element) -> NextPage | RejectedLine | None:
    """The next page's address as the file gives it, or None where it is empty."""
    where = f"line {element.sourceline}"
    try:
        address = _field("next", (element.text or "").strip() or None)
    except ValueError as error:
        return RejectedLine(where, str(error))
    return None if address is None else NextPage(where, "the list has a next page", address)


def _field(name: str, text: str | None) -> str | None:
    return None if text is None else checked_text(f"<{name}>", text)


class _EntryParts:
    """An entry's children by local name: the non-empty text of each (first wins), its
    fingerprints, the uploading member's id and the feedback other members gave."""

    def __init__(self, element: etree._Element) -> None:
        self.texts: dict[str, str] = {}
        self.fingerprints: list[etree._Element] = []
        self.member_id: str | None = None
        self.feedback: list[etree._Element] = []
        for child in element:
            name = _local_name(child)
            if name == "fingerprints":
                self.fingerprints.append(child)
            elif name == "feedback":
                self.feedback.append(child)
            elif name == "member":
                self.member_id = self.member_id or (child.get("id") or "").strip() or None
            elif name is not None and (text := (child.text or "").strip()):
                self.texts.setdefault(name, text)

    def tags(self) -> tuple[str, ...]:
        """``member:<id>``, then ``feedback:<fingerprint>:affirmative|negative``."""
        tags: list[str] = []
        if self.member_id is not None:
            tags.append(checked_text("<member id>", f"member:{self.member_id}"))
        for feedback in self.feedback:
            for sentiment in feedback:
                name = _local_name(sentiment)
                kind = (sentiment.get("type") or "").strip().lower()
                if name in _SENTIMENTS and kind:
                    tags.append(checked_text("<feedback>", f"feedback:{kind}:{_SENTIMENTS[name]}"))
        return tuple(dict.fromkeys(tags))


def _signals(fingerprints: list[etree._Element]) -> tuple[tuple[BankSignal, str], ...]:
    """The fingerprints of an entry, deduplicated, in a fixed order; ValueError if bad."""
    found: dict[tuple[BankSignal, str], None] = {}
    for child in (child for group in fingerprints for child in group):
        name = _local_name(child)
        kind = _FINGERPRINTS.get(name or "")
        text = (child.text or "").strip()
        if kind is None or not text:
            continue  # unknown fingerprint kinds and empty ones carry nothing for us
        try:
            found[(kind, normalise_signal(kind, text))] = None
        except ValueError as error:
            raise ValueError(f"<{name}>: {error}") from None
    return tuple(sorted(found, key=lambda signal: _SIGNAL_ORDER[signal[0]]))


def _local_name(element: etree._Element) -> str | None:
    """The tag without its namespace; None for comments, PIs and entity references.

    The same as ``etree.QName(element).localname`` on the "{namespace}name" tag, without
    building a QName for every child of what may be millions of entries.
    """
    tag = element.tag
    if not isinstance(tag, str):
        return None
    return tag.rpartition("}")[2]
