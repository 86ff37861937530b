"""Fuzz the bank-file readers: VICS JSON, NCMEC XML, StopNCII JSON, CSV/TSV, plain text.

Each input is written to a file and read through ``read_bank_file``, by the format's
name and with ``auto`` (which tells the format from the first bytes), to the end of
the stream. The rule: the only exception is ``BankFormatError`` (a file that is not
the format at all); a bad entry is a ``RejectedLine`` in the stream; every event is an
``ImportedEntry`` or a ``RejectedLine``; no entity is resolved (a file that names
``/etc/passwd`` must not import its lines); memory and time stay within the limits.

    python benchmarks/fuzz_bank_formats.py --minutes 10            # every format
    python benchmarks/fuzz_bank_formats.py --parser ncmec-xml --minutes 2
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_support import Hostile, Parser, RuleBroken, instrumented, main, mutations  # noqa: E402

with instrumented():
    from clearsight.banks.formats.errors import BankFormatError
    from clearsight.banks.formats.reader import BankFormat, read_bank_file
    from clearsight.banks.records import ImportedEntry, RejectedLine

BIG = 200 * 1024 * 1024  # a "200 MB single line"
DEEP = 100_000
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PASSWD_LINE = "root:x:0:0"

# --- seeds: small files of each format, as the field's tools write them ----------------

VICS_13 = json.dumps(
    {
        "odata.metadata": "http://github.com/VICSDATAMODEL/ProjectVic.svc/$metadata#Media",
        "value": [
            {
                "MediaID": 1,
                "MD5": MD5.upper(),
                "SHA1": SHA1,
                "Category": 1,
                "VictimIdentified": False,
                "IsDistributed": "true",
                "Tags": "test-category-1;tag-b",
                "AlternativeHashes": [{"HashName": "PDQ", "HashValue": PDQ}],
            },
            {"MediaID": "2", "SHA256": "0" * 64, "Comments": None},
        ],
    }
).encode()
VICS_20 = json.dumps(
    {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic.svc/v2.0/$metadata#Cases",
        "Cases": [{"CaseID": 7, "Media": [{"MediaID": 3, "MD5": MD5, "Series": "s-1"}]}],
    }
).encode()
STOPNCII = json.dumps(
    {
        "hashRecords": [
            {
                "signalType": "ImagePDQ",
                "hashValue": PDQ,
                "hashStatus": "Active",
                "caseNumbers": [12, "13"],
            },
            {"signalType": "VideoMD5", "hashValue": MD5, "hashStatus": "Deleted"},
            {"signalType": "VideoTMK", "hashValue": "x"},
        ],
        "nextPageToken": None,
    }
).encode()
NCMEC = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<queryResult xmlns="https://hashsharing.ncmec.org/HashSharing/v2">\n'
    "<images><image><id>1</id><classification>A1</classification>"
    f"<fingerprints><md5>{MD5}</md5><sha1>{SHA1}</sha1><pdq>{PDQ}</pdq></fingerprints></image>\n"
    "<deletedImage><id>2</id></deletedImage></images>\n"
    f"<videos><video><id>3</id><fingerprints><md5>{MD5}</md5></fingerprints></video></videos>\n"
    "</queryResult>\n"
).encode()
CSV = (
    "pdq,md5,external_id,category,victim_identified,tags,comments\n"
    f'{PDQ},{MD5},e-1,test-category-1,yes,"a;b","a, quoted ""comment"""\n'
    f",{MD5},e-2,,no,,\n"
).encode()
TSV = f"md5\tsha1\texternal_id\n{MD5}\t{SHA1}\te-3\n".encode()
TXT = f"# a list\n{MD5}\n{SHA1}\n\nnot a hash\n".encode()
SEEDS = {
    "vics": [VICS_13, VICS_20],
    "stopncii": [STOPNCII],
    "ncmec-xml": [NCMEC],
    "csv": [CSV, TSV],
    "txt": [TXT],
}

# --- hostile recipes ------------------------------------------------------------------------


def _billion_laughs() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE queryResult [{entities}]>'
        f"<queryResult><images><image><id>&lol9;</id><fingerprints><md5>{MD5}</md5>"
        "</fingerprints></image></images></queryResult>"
    ).encode()


def _external_entity(target: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE queryResult [<!ENTITY ext SYSTEM "{target}">]>'
        f"<queryResult><images><image><id>&ext;</id><classification>&ext;</classification>"
        f"<fingerprints><md5>{MD5}</md5></fingerprints></image></images></queryResult>"
    ).encode()


def _parameter_entity() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE queryResult [<!ENTITY % ext SYSTEM '
        b'"file:///etc/passwd"> %ext;]><queryResult/>'
    )


def _xml_deep() -> bytes:
    return b"<queryResult><images>" + b"<a>" * DEEP + b"</a>" * DEEP + b"</images></queryResult>"


def _xml_big_text() -> bytes:
    return (
        b"<queryResult><images><image><id>" + b"7" * BIG + b"</id></image></images></queryResult>"
    )


def _damaged_gzip(make: Callable[[], bytes]) -> list[Hostile]:
    """gzip of a sound file, cut short, with a bad CRC, and with garbage for its data."""

    def bad_crc() -> bytes:
        packed = bytearray(gzip.compress(make()))
        packed[-6] ^= 0x01
        return bytes(packed)

    return [
        Hostile("gzip cut short", lambda: gzip.compress(make() * 50)[:-40]),
        Hostile("gzip with a bad CRC", bad_crc),
        Hostile("gzip holding garbage", lambda: gzip.compress(b"")[:10] + os.urandom(4096)),
    ]


def _json_deep_arrays(prefix: bytes, suffix: bytes) -> Hostile:
    return Hostile("100k-deep arrays", lambda: prefix + b"[" * DEEP + b"]" * DEEP + suffix)


def _json_deep_objects(prefix: bytes, suffix: bytes) -> Hostile:
    return Hostile(
        "100k-deep objects", lambda: prefix + b'{"a":' * DEEP + b"1" + b"}" * DEEP + suffix
    )


def _json_hostiles(prefix: bytes, suffix: bytes, field: bytes) -> list[Hostile]:
    """``prefix`` opens a list of entries, ``suffix`` closes it; ``field`` is a key."""
    entry = b'{"' + field + b'":'
    return [
        _json_deep_arrays(prefix, suffix),
        _json_deep_objects(prefix, suffix),
        Hostile("100k-deep inside an entry", lambda: prefix + entry + b"[" * DEEP),
        Hostile("200 MB string", lambda: prefix + entry + b'"' + b"a" * BIG + b'"}' + suffix),
        Hostile(
            "200 MB of escapes",
            lambda: prefix + entry + b'"' + b"\\u00e9\\n" * (BIG // 8) + b'"}' + suffix,
        ),
        Hostile("200 MB number", lambda: prefix + entry + b"9" * BIG + b"}" + suffix),
        Hostile("200 MB of whitespace", lambda: prefix + b" " * BIG + suffix),
        Hostile(
            "huge numbers",
            lambda: (
                prefix
                + entry
                + b"1e999999},"
                + entry
                + b"9" * 100_000
                + b"},"
                + entry
                + b"-1e-999999}"
                + suffix
            ),
        ),
        Hostile("invalid UTF-8", lambda: prefix + entry + b'"\xc3\x28\xff"}' + suffix),
        Hostile("NUL bytes", lambda: prefix + entry + b'"\x00\x00"}\x00' + suffix),
        Hostile(
            "UTF-16",
            lambda: (
                codecs.BOM_UTF16_LE
                + (prefix + entry + b'"a"}' + suffix).decode().encode("utf-16-le")
            ),
        ),
        Hostile("gzip", lambda: gzip.compress(prefix + entry + b'"a"}' + suffix)),
        Hostile("truncated", lambda: (prefix + entry + b'"a"}' + suffix)[:-3]),
        Hostile("100k entries", lambda: prefix + b",".join([b"{}"] * 100_000) + suffix),
        *_damaged_gzip(lambda: prefix + entry + b'"a"},' + entry + b'"b"}' + suffix),
    ]


def _line_hostiles(header: bytes) -> list[Hostile]:
    return [
        Hostile("200 MB single line", lambda: header + b"a" * BIG + b"\n"),
        Hostile("200 MB line without newline", lambda: header + b"0" * BIG),
        Hostile("200 MB quoted field", lambda: header + b'"' + b"x" * BIG + b'"\n'),
        Hostile("unterminated quote", lambda: header + b'"' + (MD5.encode() + b"\n") * 100_000),
        Hostile("200 kB field", lambda: header + MD5.encode() + b',"' + b"y" * 200_000 + b'"\n'),
        Hostile("invalid UTF-8", lambda: header + b"\xc3\x28\xff\xfe" + MD5.encode() + b"\n"),
        Hostile("NUL bytes", lambda: header + b"\x00" * 1000 + b"\n" + MD5.encode() + b"\x00\n"),
        Hostile("Latin-1", lambda: header + MD5.encode() + ",caf\xe9\n".encode("latin-1")),
        Hostile("UTF-16", lambda: (header + MD5.encode() + b"\n").decode().encode("utf-16")),
        Hostile("gzip", lambda: gzip.compress(header + MD5.encode() + b"\n")),
        Hostile("64 hex digits", lambda: header + b"a" * 64 + b"\n"),
        Hostile("10M empty lines", lambda: header + b"\n" * 10_000_000),
        *_damaged_gzip(lambda: header + (MD5.encode() + b"\n") * 100),
    ]


_XML_HOSTILES = [
    Hostile("billion laughs", _billion_laughs),
    Hostile("external entity file:///etc/passwd", lambda: _external_entity("file:///etc/passwd")),
    Hostile("external entity http", lambda: _external_entity("http://127.0.0.1:9/list.xml")),
    Hostile("parameter entity", _parameter_entity),
    Hostile("100k-deep elements", _xml_deep),
    Hostile("200 MB text node", _xml_big_text),
    Hostile("200 MB attribute", lambda: b'<queryResult a="' + b"b" * BIG + b'"/>'),
    Hostile("invalid UTF-8", lambda: NCMEC.replace(b"A1", b"\xc3\x28\xff")),
    Hostile("NUL bytes", lambda: NCMEC.replace(b"A1", b"\x00")),
    Hostile("UTF-16", lambda: NCMEC.decode().replace("UTF-8", "UTF-16").encode("utf-16")),
    Hostile("truncated", lambda: NCMEC[: len(NCMEC) // 2]),
    Hostile("gzip", lambda: gzip.compress(NCMEC)),
    *_damaged_gzip(lambda: NCMEC),
]

# --- structure-aware strategies ------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "value",
        "Cases",
        "Media",
        "MediaID",
        "MD5",
        "SHA1",
        "SHA256",
        "PhotoDNA",
        "Category",
        "Tags",
        "IsDistributed",
        "VictimIdentified",
        "AlternativeHashes",
        "HashName",
        "HashValue",
        "hashRecords",
        "signalType",
        "hashValue",
        "hashStatus",
        "caseNumbers",
        "id",
    ]
) | st.text(max_size=8)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from([MD5, SHA1, PDQ, "PDQ", "ImagePDQ", "VideoMD5", "yes", "1", ""])
    | st.text(max_size=40)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=40,
)


def _json_document(top_key: str) -> st.SearchStrategy[bytes]:
    documents = st.one_of(
        _JSON,
        st.builds(lambda entries: {top_key: entries}, st.lists(_JSON, max_size=6)),
        st.builds(lambda entries: {"Cases": [{"Media": entries}]}, st.lists(_JSON, max_size=4)),
    )
    return st.builds(
        lambda doc, ascii_only: json.dumps(doc, ensure_ascii=ascii_only).encode(),
        documents,
        st.booleans(),
    )


_XML_NAMES = st.sampled_from(
    [
        "queryResult",
        "images",
        "videos",
        "image",
        "video",
        "deletedImage",
        "id",
        "classification",
        "fingerprints",
        "md5",
        "sha1",
        "pdq",
        "pdna",
        "x",
    ]
)
_XML_TEXT = st.sampled_from([MD5, SHA1, PDQ, "", "&amp;", "&lt;x", "A1"]) | st.text(
    st.characters(codec="utf-8", exclude_characters="<&"), max_size=20
)
_XML = st.recursive(
    st.builds(lambda name, text: f"<{name}>{text}</{name}>", _XML_NAMES, _XML_TEXT),
    lambda inner: st.builds(
        lambda name, children: f"<{name}>{''.join(children)}</{name}>",
        _XML_NAMES,
        st.lists(inner, max_size=5),
    ),
    max_leaves=30,
)
_XML_DOCUMENT = st.builds(
    lambda body, ns: (
        f"<queryResult{' xmlns=' + repr(ns) if ns else ''}>{body}</queryResult>".encode()
    ),
    _XML,
    st.sampled_from(["", "https://hashsharing.ncmec.org/HashSharing/v2", "urn:x"]),
)
_CELL = st.sampled_from([MD5, SHA1, PDQ, "yes", "no", "", '"', '""', "a;b"]) | st.text(max_size=20)
_COLUMNS = st.sampled_from(
    [
        "pdq",
        "md5",
        "sha1",
        "sha256",
        "photodna",
        "external_id",
        "category",
        "victim_identified",
        "tags",
        "comments",
        "date",
        "other",
    ]
)
_CSV = st.builds(
    lambda header, rows, sep: (
        sep.join(header) + "\n" + "\n".join(sep.join(row) for row in rows)
    ).encode("utf-8", "surrogatepass"),
    st.lists(_COLUMNS, min_size=1, max_size=6),
    st.lists(st.lists(_CELL, max_size=8), max_size=10),
    st.sampled_from([",", "\t", ";"]),
)
_TXT = st.builds(
    lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"),
    st.lists(st.sampled_from([MD5, SHA1, PDQ, "#", ""]) | st.text(max_size=70), max_size=20),
)
_STRUCTURED = {
    "vics": _json_document("value"),
    "stopncii": _json_document("hashRecords"),
    "ncmec-xml": _XML_DOCUMENT,
    "csv": _CSV,
    "txt": _TXT,
}

# --- the check, in the worker --------------------------------------------------------------

_FOLDER: dict[int, Path] = {}


def _bank_file(data: bytes) -> Path:
    pid = os.getpid()
    if pid not in _FOLDER:
        _FOLDER[pid] = Path(tempfile.mkdtemp(prefix="clearsight-fuzz-bank-"))
    path = _FOLDER[pid] / "bank.dat"
    path.write_bytes(data)
    return path


def _holds_passwd_line(data: bytes) -> bool:
    """Whether the input itself spells the passwd line (a generated cell may), as
    ASCII, in UTF-16/32 (its NULs dropped) or gzipped: then reading it is no entity."""
    candidates = [data]
    if data.startswith(b"\x1f\x8b"):
        try:
            candidates.append(gzip.decompress(data))
        except (OSError, EOFError, zlib.error):
            pass
    needle = PASSWD_LINE.encode()
    return any(needle in raw.replace(b"\x00", b"") for raw in candidates)


def _checker(fmt: BankFormat) -> object:
    def check(data: bytes) -> None:
        path = _bank_file(data)
        try:
            for event in read_bank_file(path, fmt):
                if isinstance(event, ImportedEntry):
                    text = repr(event.metadata)
                elif isinstance(event, RejectedLine):
                    text = event.reason
                else:
                    raise RuleBroken(f"an event that is neither entry nor rejection: {event!r}")
                if PASSWD_LINE in text and not _holds_passwd_line(data):
                    raise RuleBroken("an external entity was resolved: /etc/passwd was read")
        finally:
            path.unlink(missing_ok=True)

    return check


def _parser(name: str, fmt: BankFormat, hostile: list[Hostile]) -> Parser:
    seeds = (
        [seed for family in SEEDS.values() for seed in family] if name == "auto" else SEEDS[name]
    )
    structured = st.one_of(*_STRUCTURED.values()) if name == "auto" else _STRUCTURED[name]
    inputs = st.one_of(
        st.sampled_from(seeds), mutations(seeds), structured, st.binary(max_size=512)
    )
    return Parser(name, _checker(fmt), (BankFormatError,), inputs, seeds, hostile)  # type: ignore[arg-type]


_VICS_OPEN, _CLOSE = b'{"value":[', b"]}"
PARSERS = [
    _parser("vics", BankFormat.VICS, _json_hostiles(_VICS_OPEN, _CLOSE, b"MD5")),
    _parser(
        "stopncii",
        BankFormat.STOPNCII,
        _json_hostiles(b'{"hashRecords":[', _CLOSE, b"hashValue"),
    ),
    _parser("ncmec-xml", BankFormat.NCMEC_XML, _XML_HOSTILES),
    _parser("csv", BankFormat.CSV, _line_hostiles(b"md5,external_id\n")),
    _parser("txt", BankFormat.TXT, _line_hostiles(b"")),
    _parser(
        "auto",
        BankFormat.AUTO,
        [_json_deep_arrays(_VICS_OPEN, _CLOSE), *_XML_HOSTILES[:4]],
    ),
]

if __name__ == "__main__":
    raise SystemExit(main(PARSERS, __doc__ or ""))
