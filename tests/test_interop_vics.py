"""VICS files in every public shape are read, and clearsight's VICS is shaped as they are.

The fixtures are written here, by helpers that share no code with clearsight's VICS
writers, in the shapes Project VIC's data model publishes: the 2.0 case form
(``$metadata#Cases``, ``value: [Case{CaseID, ..., Media: [...]}]``) for the US, UK and
Default models, the 2.0 media form, and 1.3 (``odata.metadata``), with values as real
sets write them. Exports are checked for that shape *before* they are re-imported, so a
writer and reader sharing one misreading cannot pass.

Every hash is generated from benign words or random bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearsight.banks.formats.vics import media_event, parse_vics
from clearsight.banks.formats.vics_fast import plain_media_entry, plain_media_prepared
from clearsight.banks.prepared import prepare
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry, RejectedLine
from clearsight.banks.store import BankStore
from clearsight.report import ExportRequest, ReportFormat
from clearsight.store.sql import SqlCaseStore

from .conftest import run_cli
from .test_report_vics import export_file, imported

MODEL = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels"
UPPER_MD5 = re.compile(r"^[0-9A-F]{32}$")
UPPER_SHA1 = re.compile(r"^[0-9A-F]{40}$")


def md5(word: str) -> str:
    return hashlib.md5(word.encode()).hexdigest()


def sha1(word: str) -> str:
    return hashlib.sha1(word.encode()).hexdigest()


def case_document(cases: list[dict[str, Any]], region: str, context_first: bool) -> str:
    """A 2.0 case file as the public model shapes it, the context first or last."""
    context = f"{MODEL}/2.0.xml/{region}/$metadata#Cases"
    if context_first:
        return json.dumps({"@odata.context": context, "value": cases})
    return json.dumps({"value": cases, "@odata.context": context})


def case(number: int, media: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "CaseID": f"00000000-0000-0000-0000-{number:012d}",
        "CaseNumber": f"TEST-{number:04d}",
        "SourceApplicationName": "test-source-application",
        "SourceApplicationVersion": "1.0",
        "Contact": {"ContactName": "Test Examiner", "Agency": "Test Agency"},
        "Media": media,
    }


def simple_media(word: str) -> dict[str, Any]:
    return {"MediaID": word, "MD5": md5(word).upper(), "SHA1": sha1(word).upper()}


def read(path: Path) -> list[ImportedEntry]:
    events = list(parse_vics(path))
    assert not [event for event in events if isinstance(event, RejectedLine)]
    return [event for event in events if isinstance(event, ImportedEntry)]


@pytest.mark.parametrize("region", ["US", "UK", "Default"])
@pytest.mark.parametrize("context_first", [True, False])
def test_every_case_of_a_2_0_case_file_is_read(
    tmp_path: Path, region: str, context_first: bool
) -> None:
    cases = [
        case(1, [simple_media("benign-1"), simple_media("benign-2")]),
        case(2, []),
        case(3, [simple_media("benign-3")]),
    ]
    path = tmp_path / "case.json"
    path.write_text(case_document(cases, region, context_first), encoding="utf-8")
    entries = read(path)
    assert [entry.where for entry in entries] == [
        "value[0].Media[0]",
        "value[0].Media[1]",
        "value[2].Media[0]",
    ]
    assert [entry.metadata.external_id for entry in entries] == ["benign-1", "benign-2", "benign-3"]
    assert entries[0].signals == (
        (BankSignal.MD5, md5("benign-1")),
        (BankSignal.SHA1, sha1("benign-1")),
    )


def test_a_case_file_without_a_context_is_told_by_its_cases(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"value": [case(1, [simple_media("benign-1")])]}), "utf-8")
    assert [entry.where for entry in read(path)] == ["value[0].Media[0]"]


def test_a_case_in_a_list_called_media_is_still_read(tmp_path: Path) -> None:
    document = {
        "@odata.context": f"{MODEL}/2.0.xml/US/$metadata#Media",
        "value": [simple_media("benign-1"), case(2, [simple_media("benign-2")])],
    }
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert [entry.where for entry in read(path)] == ["value[0]", "value[1].Media[0]"]


@pytest.mark.parametrize(
    "document",
    [
        {"@odata.context": f"{MODEL}/2.0.xml/US/$metadata#Media", "value": None},
        {"odata.metadata": f"{MODEL}/1.3.xml#Media", "value": None},
        {"value": None},
    ],
    ids=["2.0-media", "1.3", "no-context"],
)
def test_media_forms(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "media.json"
    path.write_text(
        json.dumps({**document, "value": [simple_media(f"benign-{n}") for n in range(3)]}),
        encoding="utf-8",
    )
    assert [entry.where for entry in read(path)] == ["value[0]", "value[1]", "value[2]"]


# --- values as real sets write them -------------------------------------------------------


@st.composite
def written_media(draw: st.DrawFn) -> tuple[dict[str, Any], ImportedEntry]:
    """A Media in one of the ways sets write each value, and the entry it means."""
    word = f"benign-{draw(st.integers(0, 10**6))}"
    cased = draw(st.sampled_from([str.upper, str.lower, lambda text: text[:5].upper() + text[5:]]))
    media: dict[str, Any] = {"MediaID": word, "MD5": cased(md5(word))}
    signals = [(BankSignal.MD5, md5(word))]
    if draw(st.booleans()):
        media["SHA1"] = cased(sha1(word))
        signals.append((BankSignal.SHA1, sha1(word)))
    alternatives = []
    if draw(st.booleans()):
        sha256 = hashlib.sha256(word.encode()).hexdigest()
        alternatives.append(
            {
                "HashName": draw(st.sampled_from(["SHA256", "sha256", "Sha-256"])),
                "HashValue": cased(sha256),
            }
        )
        signals.append((BankSignal.SHA256, sha256))
    if draw(st.booleans()):
        pdq = hashlib.sha256(f"pdq:{word}".encode()).hexdigest()
        alternatives.append(
            {"HashName": draw(st.sampled_from(["PDQ", "pdq", "Pdq"])), "HashValue": pdq}
        )
        signals.append((BankSignal.PDQ, pdq))
    if alternatives:
        alternatives.append({"HashName": "test-vendor-hash", "HashValue": "0123"})
        media["AlternativeHashes"] = alternatives
    if draw(st.booleans()):
        raw = draw(st.binary(min_size=144, max_size=144))
        media["PhotoDNA"] = raw.hex() if draw(st.booleans()) else base64.b64encode(raw).decode()
        signals.append((BankSignal.PHOTODNA, base64.b64encode(raw).decode()))

    category = draw(st.none() | st.integers(0, 5))
    media["Category"] = draw(
        st.sampled_from([category, None if category is None else str(category)])
    )
    victim = draw(st.none() | st.booleans())
    if victim is not None or draw(st.booleans()):
        media["VictimIdentified"] = (
            victim if draw(st.booleans()) or victim is None else str(victim).lower()
        )
    distributed = draw(st.booleans())
    media["IsDistributed"] = distributed if draw(st.booleans()) else str(distributed).lower()
    tags = draw(
        st.lists(
            st.sampled_from(["test-tag-1", "test-tag-2", "test-tag-3"]), unique=True, max_size=3
        )
    )
    if tags:
        media["Tags"] = tags if draw(st.booleans()) else ";".join(tags)
    size = draw(st.integers(1, 10**10))
    media["MediaSize"] = size if draw(st.booleans()) else str(size)
    media["MediaFiles"] = [
        {"FileName": f"{word}.jpg", "FilePath": f"C:\\evidence\\{word}.jpg", "FileSize": size}
    ]
    media["test-unknown-field"] = draw(
        st.none()
        | st.integers()
        | st.lists(st.integers(), max_size=2)
        | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
    )

    expected_tags = tuple(tags) + (("distributed",) if distributed else ())
    order = list(BankSignal)
    entry = ImportedEntry(
        tuple(sorted(signals, key=lambda signal: order.index(signal[0]))),
        EntryMetadata(
            external_id=word,
            category=None if media["Category"] is None else str(category),
            victim_identified=victim if "VictimIdentified" in media else None,
            tags=expected_tags,
        ),
    )
    return media, entry


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(written=st.lists(written_media(), min_size=1, max_size=6))
def test_values_as_real_sets_write_them(
    tmp_path: Path, written: list[tuple[dict[str, Any], ImportedEntry]]
) -> None:
    path = tmp_path / "set.json"
    path.write_text(
        case_document([case(1, [media for media, _ in written])], "US", context_first=True),
        encoding="utf-8",
    )
    got = read(path)
    assert [(e.signals, e.metadata) for e in got] == [(e.signals, e.metadata) for _, e in written]


# --- exports: their shape first, then the round trip ------------------------------------


def _check_media_shape(media: dict[str, Any]) -> None:
    assert UPPER_MD5.match(media["MD5"]), media["MD5"]
    if "SHA1" in media:
        assert UPPER_SHA1.match(media["SHA1"]), media["SHA1"]


def test_the_case_report_has_the_2_0_case_shape(report_case: SqlCaseStore, tmp_path: Path) -> None:
    path = export_file(
        report_case, ExportRequest(ReportFormat.VICS, case_number="TEST-0001"), tmp_path / "c.json"
    )
    document = json.loads(path.read_text("utf-8"))
    assert set(document) == {"@odata.context", "value"}
    assert document["@odata.context"].endswith("/2.0.xml/US/$metadata#Cases")
    [only_case] = document["value"]
    assert only_case["CaseID"] and only_case["CaseNumber"] == "TEST-0001"
    assert only_case["SourceApplicationName"] == "clearsight"
    assert only_case["SourceApplicationVersion"]
    assert len(only_case["Media"]) == 8
    for media in only_case["Media"]:
        _check_media_shape(media)
    # Only now, the round trip: every Media comes back with its hashes.
    entries = imported("case-report", path)
    assert {dict(signals)[BankSignal.MD5] for signals, _ in entries} == {
        media["MD5"].lower() for media in only_case["Media"]
    }


def test_the_hashset_export_has_the_2_0_media_shape(
    report_case: SqlCaseStore, tmp_path: Path
) -> None:
    path = export_file(report_case, ExportRequest(ReportFormat.VICS_HASHSET), tmp_path / "h.json")
    document = json.loads(path.read_text("utf-8"))
    assert set(document) == {"@odata.context", "value"}
    assert document["@odata.context"].endswith("/2.0.xml/US/$metadata#Media")
    assert document["value"], "the case holds confirmed new items"
    for media in document["value"]:
        assert "Media" not in media and "CaseID" not in media  # Media, not cases
        _check_media_shape(media)
    # Only now, the round trip: every Media comes back with its MD5.
    assert {dict(signals)[BankSignal.MD5] for signals, _ in imported("hashset", path)} == {
        media["MD5"].lower() for media in document["value"]
    }


def test_the_bank_export_has_the_2_0_media_shape(tmp_path: Path) -> None:
    source = tmp_path / "source.json"
    media = [
        {**simple_media(f"benign-{n}"), "Category": n % 3, "Tags": "test-tag-1"} for n in range(4)
    ]
    source.write_text(json.dumps({"value": media}), encoding="utf-8")
    assert run_cli("bank", "import", "source", source, "--on-error", "stop").returncode == 0
    exported = tmp_path / "exported.json"
    result = run_cli("bank", "export", "source", "--format", "vics", "--out", exported)
    assert result.returncode == 0, result.stderr
    document = json.loads(exported.read_text("utf-8"))
    assert set(document) == {"@odata.context", "value"}
    assert document["@odata.context"].endswith("/2.0.xml/US/$metadata#Media")
    for written in document["value"]:
        _check_media_shape(written)
        assert isinstance(written["Category"], int)
    assert imported("again", exported) == imported("source-copy", source)
    store = BankStore.open()
    try:
        assert store.summary("again").entries == 4
    finally:
        store.close()


# --- the fast path for the common Media gives what the general path gives ---------------

_FIELD_NAMES = st.sampled_from(
    ["MediaID", "MD5", "SHA1", "SHA256", "PhotoDNA", "Category", "Series", "Comments", "Tags"]
    + ["VictimIdentified", "OffenderIdentified", "IsDistributed", "AlternativeHashes"]
    + ["md5", "Sha1", "MediaSize", "test-unknown-field"]
)
_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.sampled_from(["true", "False", "yes", "", " x ", "a,b", "a;b", "distributed", "\x00"]),
    st.text(alphabet="0123456789abcdefABCDEF", min_size=30, max_size=66),
    st.lists(
        st.fixed_dictionaries(
            {
                "HashName": st.sampled_from(["SHA256", "PDQ", "pdq", "MD5", "test-vendor"]),
                "HashValue": st.text(alphabet="0123456789abcdefABCDEF", min_size=62, max_size=65),
            }
        ),
        max_size=3,
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    media=st.dictionaries(_FIELD_NAMES, _ODD_VALUES, max_size=8)
    | written_media().map(lambda pair: pair[0])
)
def test_the_fast_path_agrees_with_the_general_path(media: dict[str, Any]) -> None:
    fast = plain_media_entry(media, "value[0]")
    if fast is not None:
        assert fast == media_event(media, "value[0]")
    # The import's form of the same Media: made only where the fast path reads it, and
    # then exactly what the write path makes of the general path's entry.
    prepared = plain_media_prepared(media)
    assert (prepared is None) == (fast is None)
    if prepared is not None:
        general = media_event(media, "value[0]")
        assert isinstance(general, ImportedEntry)
        assert prepared == prepare(general)
