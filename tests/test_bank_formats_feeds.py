"""The three feed formats: VICS JSON, NCMEC hash-sharing XML and StopNCII JSON.

Every fixture is written here into ``tmp_path`` from benign strings: the hashes are
digests of words like ``"benign-1"``, so no value refers to any real material.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.ncmec_xml import parse_ncmec_xml
from clearsight.banks.formats.stopncii import parse_stopncii
from clearsight.banks.formats.vics import parse_vics
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
)
from clearsight.errors import UserError

Parser = Callable[[Path], Iterator[ImportEvent]]


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pdq(text: str) -> str:
    """64 hex digits shaped like a PDQ hash, from a benign string."""
    return sha256(f"pdq:{text}")


def photodna(text: str) -> str:
    """An opaque PhotoDNA-like text, from a benign string."""
    return base64.b64encode(hashlib.sha512(text.encode()).digest()).decode()


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def rejected_where(events: list[ImportEvent]) -> list[str]:
    return [event.where for event in events if isinstance(event, RejectedLine)]


def peak_traced_bytes(parser: Parser, path: Path) -> tuple[int, int]:
    """(entries read, peak Python memory traced while reading them all)."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in parser(path))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def resident_bytes() -> int | None:
    """Resident set size of this process, where /proc tells it (libxml2 is not traced)."""
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return None
    return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


MEMORY_LIMIT = 20 * 1024 * 1024
MANY = 50_000


# --- VICS ---------------------------------------------------------------------------------


def full_media(media_id: int) -> dict[str, object]:
    """A VICS Media with every field clearsight reads, in the odd types files use."""
    name = f"benign-{media_id}"
    return {
        "MediaID": media_id,  # a number in some exports
        "Category": 1,  # likewise
        "MD5": md5(name).upper(),  # normalised to lower case
        "SHA1": sha1(name),
        "PhotoDNA": photodna(name),
        "AlternativeHashes": [
            {"HashName": "SHA-256", "HashValue": sha256(name)},
            {"HashName": "pdq", "HashValue": pdq(name)},
            {"HashName": "test-vendor-hash", "HashValue": "ignored"},
        ],
        "Series": "test-series-a",
        "VictimIdentified": "yes",
        "OffenderIdentified": False,
        "IsDistributed": True,
        "Tags": "test-tag-1; test-tag-2, ,test-tag-1",
        "Comments": "benign fixture",
    }


def full_entry(media_id: int, where: str) -> ImportedEntry:
    name = f"benign-{media_id}"
    return ImportedEntry(
        signals=(
            (BankSignal.MD5, md5(name)),
            (BankSignal.SHA1, sha1(name)),
            (BankSignal.SHA256, sha256(name)),
            (BankSignal.PDQ, pdq(name)),
            (BankSignal.PHOTODNA, photodna(name)),
        ),
        metadata=EntryMetadata(
            external_id=str(media_id),
            category="1",
            series="test-series-a",
            victim_identified=True,
            offender_identified=False,
            tags=("test-tag-1", "test-tag-2", "distributed"),
            comments="benign fixture",
        ),
        where=where,
    )


def small_media(media_id: int) -> dict[str, object]:
    return {
        "MediaID": f"test-media-{media_id}",
        "Category": "test-category-1",
        "MD5": md5(f"benign-{media_id}"),
        "SHA1": "",  # empty: just no SHA1
        "PhotoDNA": None,
        "Tags": ["test-tag-3", " ", "test-tag-4"],
    }


def small_entry(media_id: int, where: str) -> ImportedEntry:
    return ImportedEntry(
        signals=((BankSignal.MD5, md5(f"benign-{media_id}")),),
        metadata=EntryMetadata(
            external_id=f"test-media-{media_id}",
            category="test-category-1",
            tags=("test-tag-3", "test-tag-4"),
        ),
        where=where,
    )


def test_vics_1_3_value_list(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "bank.json",
        {
            "odata.metadata": "http://example.invalid/$metadata#Media",
            "value": [full_media(1), small_media(2)],
        },
    )
    assert list(parse_vics(path)) == [full_entry(1, "value[0]"), small_entry(2, "value[1]")]


def test_vics_2_0_cases(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "bank.json",
        {
            "@odata.context": "http://example.invalid/$metadata#Cases",
            "Cases": [
                {"CaseID": 1, "Media": [small_media(1)]},
                {
                    "CaseID": 2,
                    "SourceName": "test-source",
                    "Media": [small_media(2), full_media(3)],
                },
            ],
        },
    )
    assert list(parse_vics(path)) == [
        small_entry(1, "Cases[0].Media[0]"),
        small_entry(2, "Cases[1].Media[0]"),
        full_entry(3, "Cases[1].Media[1]"),
    ]


def test_vics_2_0_bare_value_with_bom_and_direct_sha256(tmp_path: Path) -> None:
    media = {"MediaID": "test-media-1", "SHA256": sha256("benign-1").upper()}
    path = tmp_path / "bank.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"value": [media]}).encode())
    assert list(parse_vics(path)) == [
        ImportedEntry(
            ((BankSignal.SHA256, sha256("benign-1")),),
            EntryMetadata(external_id="test-media-1"),
            where="value[0]",
        )
    ]


def test_vics_bad_entries_are_rejected_where_they_are(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "bank.json",
        {
            "value": [
                small_media(1),
                {**small_media(2), "MD5": "abc123"},  # too short
                {**small_media(3), "VictimIdentified": "perhaps"},
                {"MediaID": "test-media-4", "Category": "test-category-1"},  # no hash at all
                {
                    **small_media(5),
                    "AlternativeHashes": [{"HashName": "PDQ", "HashValue": "zz"}],
                },
                "not-an-object",
                small_media(7),
            ]
        },
    )
    events = list(parse_vics(path))
    assert rejected_where(events) == [f"value[{i}]" for i in (1, 2, 3, 4, 5)]
    assert [e for e in events if isinstance(e, ImportedEntry)] == [
        small_entry(1, "value[0]"),
        small_entry(7, "value[6]"),
    ]
    reasons = [e.reason for e in events if isinstance(e, RejectedLine)]
    assert reasons[0].startswith("MD5: not a md5 value")
    assert reasons[1].startswith("VictimIdentified: not a yes/no value")
    assert "PDQ" in reasons[3]
    assert all("\n" not in reason for reason in reasons)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"value": [{"MD5": "' + md5("benign-1") + '"}, {"MD5": ',
            "JSON syntax error after value[0]",
        ),
        ('{"value": [1 2]}', "JSON syntax error"),
        ("", "JSON syntax error"),
        ("[]", "not a VICS JSON file"),
        ('{"odata.metadata": "x"}', "no 'value' or 'Cases' list"),
        ('{"value": {}}', "'value' is not a list"),
    ],
)
def test_vics_unreadable_file_raises(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "broken-bank.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BankFormatError) as raised:
        list(parse_vics(path))
    message = str(raised.value)
    assert message.startswith("broken-bank.json")
    assert expected in message
    assert "\n" not in message
    assert isinstance(raised.value, UserError)


def test_vics_memory_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("w", encoding="utf-8") as out:
        out.write('{"odata.metadata": "test", "value": [\n')
        for i in range(MANY):
            media = {
                "MediaID": i,
                "Category": 1,
                "MD5": md5(f"benign-{i}"),
                "SHA1": sha1(f"benign-{i}"),
                "Comments": "benign fixture",
            }
            out.write(("," if i else "") + json.dumps(media) + "\n")
        out.write("]}\n")
    count, peak = peak_traced_bytes(parse_vics, path)
    assert count == MANY
    assert peak < MEMORY_LIMIT


# --- StopNCII -----------------------------------------------------------------------------


def stopncii_document(*records: object) -> dict[str, object]:
    return {"hashRecords": list(records), "count": len(records)}


def test_stopncii_records(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "stopncii.json",
        stopncii_document(
            {
                "signalType": "ImagePDQ",
                "hashValue": pdq("benign-1").upper(),
                "hashStatus": "Active",
                "caseNumbers": [12, "34"],
            },
            {"id": "test-record-2", "signalType": "VideoMD5", "hashValue": md5("benign-2")},
        ),
    )
    assert list(parse_stopncii(path)) == [
        ImportedEntry(
            ((BankSignal.PDQ, pdq("benign-1")),),
            EntryMetadata(tags=("status:Active", "case:12", "case:34")),
            where="hashRecords[0]",
        ),
        ImportedEntry(
            ((BankSignal.MD5, md5("benign-2")),),
            EntryMetadata(external_id="test-record-2"),
            where="hashRecords[1]",
        ),
    ]


def test_stopncii_bad_records_are_rejected_where_they_are(tmp_path: Path) -> None:
    good = {"signalType": "VideoMD5", "hashValue": md5("benign-1")}
    path = write_json(
        tmp_path / "stopncii.json",
        stopncii_document(
            good,
            {"signalType": "test-signal-type", "hashValue": md5("benign-2")},
            {"signalType": "ImagePDQ", "hashValue": md5("benign-3")},  # 32 digits, not 64
            {"signalType": "ImagePDQ", "hashValue": ""},
            {"signalType": "VideoMD5", "hashValue": md5("benign-5"), "caseNumbers": [{}]},
            good,
        ),
    )
    events = list(parse_stopncii(path))
    assert rejected_where(events) == [f"hashRecords[{i}]" for i in (1, 2, 3, 4)]
    assert [e.where for e in events if isinstance(e, ImportedEntry)] == [
        "hashRecords[0]",
        "hashRecords[5]",
    ]
    reasons = [e.reason for e in events if isinstance(e, RejectedLine)]
    assert "test-signal-type" in reasons[0]
    assert reasons[1].startswith("hashValue: not a pdq value")
    assert reasons[2] == "no hashValue"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"hashRecords": [{"signalType": "VideoMD5",', "JSON syntax error"),
        ('{"hashRecords": [{}], }', "JSON syntax error after hashRecords[0]"),
        ('[{"hashRecords": []}]', "not a StopNCII JSON file"),
        ('{"records": []}', "no 'hashRecords' list"),
        ('{"hashRecords": null}', "'hashRecords' is not a list"),
    ],
)
def test_stopncii_unreadable_file_raises(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "broken-stopncii.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BankFormatError) as raised:
        list(parse_stopncii(path))
    assert str(raised.value).startswith("broken-stopncii.json")
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_stopncii_empty_list_is_a_valid_file(tmp_path: Path) -> None:
    assert list(parse_stopncii(write_json(tmp_path / "s.json", stopncii_document()))) == []


def test_stopncii_memory_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("w", encoding="utf-8") as out:
        out.write('{"hashRecords": [\n')
        for i in range(MANY):
            record = {
                "signalType": "ImagePDQ",
                "hashValue": pdq(f"benign-{i}"),
                "hashStatus": "Active",
                "caseNumbers": [i],
            }
            out.write(("," if i else "") + json.dumps(record) + "\n")
        out.write("]}\n")
    count, peak = peak_traced_bytes(parse_stopncii, path)
    assert count == MANY
    assert peak < MEMORY_LIMIT


# --- NCMEC XML ----------------------------------------------------------------------------


def ncmec_image(n: int, tag: str = "image", md5_value: str | None = None) -> str:
    """One entry on one line, so that its ``where`` is its line number."""
    name = f"benign-{n}"
    return (
        f"<{tag}><id>test-id-{n}</id><classification>test-category-1</classification>"
        f"<memberId>7</memberId><fingerprints><md5>{md5_value or md5(name)}</md5>"
        f"<sha1>{sha1(name).upper()}</sha1><pdna>{photodna(name)}</pdna>"
        f"<pdq>{pdq(name)}</pdq><test-vendor>ignored</test-vendor></fingerprints></{tag}>"
    )


def ncmec_entry(n: int, line: int) -> ImportedEntry:
    name = f"benign-{n}"
    return ImportedEntry(
        signals=(
            (BankSignal.MD5, md5(name)),
            (BankSignal.SHA1, sha1(name)),
            (BankSignal.PDQ, pdq(name)),
            (BankSignal.PHOTODNA, photodna(name)),
        ),
        metadata=EntryMetadata(external_id=f"test-id-{n}", category="test-category-1"),
        where=f"line {line}",
    )


def ncmec_document(root_attributes: str = "") -> str:
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',  # line 1
            f"<queryResult{root_attributes}>",
            '<images count="3" maxTimestamp="2000-01-01T00:00:00Z">',
            ncmec_image(1),  # line 4
            "<!-- benign fixture -->",
            ncmec_image(2),  # line 6
            "<deletedImage><id>test-id-0</id></deletedImage>",  # line 7
            "</images>",
            "<videos>",
            ncmec_image(3, tag="video"),  # line 10
            "<deletedVideo><id>test-id-9</id></deletedVideo>",  # line 11
            "</videos>",
            "</queryResult>",
        ]
    )


NCMEC_EXPECTED = [
    ncmec_entry(1, 4),
    ncmec_entry(2, 6),
    ImportedEntry((), EntryMetadata(external_id="test-id-0"), remove=True, where="line 7"),
    ncmec_entry(3, 10),
    ImportedEntry((), EntryMetadata(external_id="test-id-9"), remove=True, where="line 11"),
]


def test_ncmec_entries_and_deletions(tmp_path: Path) -> None:
    path = tmp_path / "bank.xml"
    path.write_text(ncmec_document(), encoding="utf-8")
    assert list(parse_ncmec_xml(path)) == NCMEC_EXPECTED


def test_ncmec_default_namespace(tmp_path: Path) -> None:
    path = tmp_path / "bank.xml"
    path.write_text(ncmec_document(' xmlns="urn:test:benign-namespace"'), encoding="utf-8")
    assert list(parse_ncmec_xml(path)) == NCMEC_EXPECTED


def test_ncmec_bad_entries_are_rejected_where_they_are(tmp_path: Path) -> None:
    lines = [
        "<queryResult><images>",
        ncmec_image(1),
        ncmec_image(2, md5_value="0123"),  # line 3: too short
        "<image><id>test-id-3</id><fingerprints><md5> </md5></fingerprints></image>",  # line 4
        "<deletedImage><memberId>7</memberId></deletedImage>",  # line 5: withdraws nothing
        ncmec_image(6),
        "</images></queryResult>",
    ]
    path = tmp_path / "bank.xml"
    path.write_text("\n".join(lines), encoding="utf-8")
    events = list(parse_ncmec_xml(path))
    assert rejected_where(events) == ["line 3", "line 4", "line 5"]
    assert [e for e in events if isinstance(e, ImportedEntry)] == [
        ncmec_entry(1, 2),
        ncmec_entry(6, 6),
    ]
    assert next(e for e in events if isinstance(e, RejectedLine)).reason.startswith(
        "<md5>: not a md5 value"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<queryResult>\n<images>\n<image><id>1</id></imag>\n</images>", "bank.xml line 3: XML"),
        ("<queryResult><images>", "bank.xml"),
        ("", "XML syntax error"),
        ("<otherRoot><image><id>1</id></image></otherRoot>", "not an NCMEC hash-sharing file"),
        ("<otherRoot/>", "the root element is <otherRoot>"),
    ],
)
def test_ncmec_unreadable_file_raises(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bank.xml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BankFormatError) as raised:
        list(parse_ncmec_xml(path))
    assert str(raised.value).startswith("bank.xml")
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_ncmec_entities_are_not_expanded(tmp_path: Path) -> None:
    path = tmp_path / "bank.xml"
    path.write_text(
        '<!DOCTYPE queryResult [<!ENTITY word "test-category-1">]>\n'
        "<queryResult><images><image><id>test-id-1</id>"
        f"<classification>&word;</classification><fingerprints><md5>{md5('benign-1')}</md5>"
        "</fingerprints></image></images></queryResult>",
        encoding="utf-8",
    )
    [event] = parse_ncmec_xml(path)
    assert isinstance(event, ImportedEntry)
    assert event.metadata.category is None


@pytest.fixture(scope="module")
def big_ncmec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ncmec") / "big.xml"
    with path.open("w", encoding="utf-8") as out:
        out.write('<queryResult xmlns="urn:test:benign-namespace"><images>\n')
        for i in range(MANY):
            out.write(ncmec_image(i) + "\n")
        out.write("</images></queryResult>\n")
    return path


def test_ncmec_memory_stays_bounded(big_ncmec_file: Path) -> None:
    count, peak = peak_traced_bytes(parse_ncmec_xml, big_ncmec_file)
    assert count == MANY
    assert peak < MEMORY_LIMIT


def test_ncmec_tree_is_pruned_while_reading(big_ncmec_file: Path) -> None:
    """libxml2's tree is not traced by tracemalloc: check the process's resident growth."""
    before = resident_bytes()
    if before is None:
        pytest.skip("no /proc/self/statm to read resident memory from")
    events = parse_ncmec_xml(big_ncmec_file)
    for _ in range(MANY - 1):
        next(events)
    during = resident_bytes()  # the parser is still open, holding whatever tree it kept
    assert during is not None
    assert during - before < MEMORY_LIMIT
    assert len(list(events)) == 1
