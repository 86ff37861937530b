"""Hostile and odd bank files end as entries, rejected lines, or one line naming the file.

From the reliability issue's probes: JSON nested 100,000 deep (it took ijson to 23 GB),
gzip, UTF-16 and Latin-1 files (each a ``UnicodeDecodeError`` traceback before), fields
of 200 KB to 40 MB, NUL bytes, a 10,000-digit number (it crashes ijson's C backend
outright) and formula-like CSV cells. Fixtures are generated here from benign words.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.banks.formats import json_stream
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.reader import BankFormat, read_bank_file
from clearsight.banks.records import BankSignal, ImportedEntry, ImportEvent, RejectedLine
from clearsight.banks.store import BankStore

from .conftest import run_cli

DEEP = 100_000


def md5(word: str) -> str:
    return hashlib.md5(word.encode()).hexdigest()


def events_of(path: Path, fmt: BankFormat = BankFormat.AUTO) -> list[ImportEvent]:
    return list(read_bank_file(path, fmt))


def entries_of(path: Path, fmt: BankFormat = BankFormat.AUTO) -> list[ImportedEntry]:
    return [event for event in events_of(path, fmt) if isinstance(event, ImportedEntry)]


def refusal(path: Path, fmt: BankFormat = BankFormat.AUTO) -> str:
    with pytest.raises(BankFormatError) as raised:
        events_of(path, fmt)
    message = str(raised.value)
    assert message.startswith(path.name) and "\n" not in message
    return message


def vics(*words: str, comments: str = "benign fixture") -> str:
    media = [{"MediaID": w, "MD5": md5(w), "Comments": comments} for w in words]
    return json.dumps({"odata.metadata": "test", "value": media})


# --- nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "fmt"),
    [
        ('{"value": [', BankFormat.VICS),
        ('{"hashRecords": [', BankFormat.STOPNCII),
        ('{"value": [', BankFormat.AUTO),
    ],
)
def test_deep_json_is_refused_at_once(tmp_path: Path, prefix: str, fmt: BankFormat) -> None:
    path = tmp_path / "deep.json"
    path.write_text(prefix + "[" * DEEP + "]" * DEEP + "]}", encoding="utf-8")
    started = time.perf_counter()
    assert "nested deeper than 64 levels" in refusal(path, fmt)
    assert time.perf_counter() - started < 5


def test_brackets_inside_strings_are_no_nesting(tmp_path: Path) -> None:
    path = tmp_path / "bank.json"
    comments = '[{"\\"[' * 5000 + "\\\\"  # quotes escaped, a backslash escaped, no nesting
    path.write_text(vics("benign-1", "benign-2", comments=comments), encoding="utf-8")
    assert [entry.metadata.comments for entry in entries_of(path)] == [comments] * 2


def test_deep_json_through_the_cli_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"value": [' + "[" * DEEP + "]" * DEEP + "]}", encoding="utf-8")
    result = run_cli("bank", "import", "deep", path)
    assert result.returncode == 2
    assert result.stderr.count("\n") <= 1 and "deep.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_huge_integer_is_a_syntax_error_not_a_crash(tmp_path: Path) -> None:
    """ijson's C backend dies on an int over Python's 4,300 digits; a float read does not."""
    path = tmp_path / "number.json"
    path.write_text('{"value": [{"MediaID": ' + "1" * 10_000 + "}]}", encoding="utf-8")
    result = run_cli("bank", "import", "numbers", path)
    assert result.returncode == 2, result.stderr
    assert "number.json" in result.stderr and "Traceback" not in result.stderr


# --- compression and encodings ------------------------------------------------------------


def _same_entries(path: Path, reference: Path) -> None:
    assert [(e.signals, e.metadata) for e in entries_of(path)] == [
        (e.signals, e.metadata) for e in entries_of(reference)
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("vics.json", vics("benign-1", "benign-2", comments="café ☕")),
        (
            "stopncii.json",
            json.dumps({"hashRecords": [{"signalType": "VideoMD5", "hashValue": md5("benign-1")}]}),
        ),
        ("list.csv", f"md5,comments\n{md5('benign-1')},café\n"),
        ("list.txt", f"{md5('benign-1')}\n{md5('benign-2')}\n"),
        (
            "ncmec.xml",
            f"<queryResult><images><image><id>test-1</id><fingerprints><md5>{md5('benign-1')}"
            "</md5></fingerprints></image></images></queryResult>",
        ),
    ],
)
def test_gzip_is_read_by_its_bytes_whatever_the_name(tmp_path: Path, name: str, text: str) -> None:
    plain = tmp_path / name
    plain.write_text(text, encoding="utf-8")
    packed = tmp_path / ("packed-" + name)  # no .gz: the magic bytes tell
    packed.write_bytes(gzip.compress(text.encode("utf-8")))
    assert entries_of(plain)
    _same_entries(packed, plain)


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: text.encode("utf-16"),  # with its byte order mark
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        lambda text: text.encode("utf-16-le"),  # none: told by the NULs
        lambda text: text.encode("utf-32"),
    ],
    ids=["utf-8-bom", "utf-16", "utf-16-be-bom", "utf-16-le-no-bom", "utf-32"],
)
@pytest.mark.parametrize("name", ["vics.json", "list.csv", "list.txt"])
def test_wide_encodings_are_transcoded(tmp_path: Path, encode: object, name: str) -> None:
    texts = {
        "vics.json": vics("benign-1", "benign-2", comments="café ☕"),
        "list.csv": f"md5,comments\n{md5('benign-1')},café ☕\n",
        "list.txt": f"{md5('benign-1')}\n{md5('benign-2')}\n",
    }
    reference = tmp_path / name
    reference.write_text(texts[name], encoding="utf-8")
    encoded = tmp_path / f"encoded-{name}"
    encoded.write_bytes(encode(texts[name]))  # type: ignore[operator]
    _same_entries(encoded, reference)


def test_latin1_and_cp1252_files_are_read_as_such(tmp_path: Path) -> None:
    csv_file = tmp_path / "latin1.csv"
    csv_file.write_bytes(f"md5,comments\n{md5('benign-1')},caf\xe9 \x80 5\n".encode("latin-1"))
    [entry] = entries_of(csv_file)
    assert entry.metadata.comments == "café € 5"
    json_file = tmp_path / "cp1252.json"
    json_file.write_bytes(vics("benign-1", comments="caf\xe9 \x9d").encode("latin-1"))
    [entry] = entries_of(json_file)
    assert entry.metadata.comments == "café \x9d"  # undefined in cp1252: read as Latin-1


def test_a_file_mixing_encodings_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        f"md5,comments\n{md5('benign-1')},café\n".encode()
        + f"{md5('benign-2')},caf\xe9\n".encode("latin-1")
    )
    assert "mixes UTF-8 with another encoding" in refusal(path)


# --- long fields and lines ----------------------------------------------------------------


def test_a_csv_field_over_128_kib_rejects_its_line(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        f"md5,comments\n{md5('benign-1')},short\n{md5('benign-2')},{'x' * 200_000}\n"
        f'{md5("benign-3")},"{"y" * 200_000}"\n{md5("benign-4")},short\n',
        encoding="utf-8",
    )
    events = events_of(path)
    assert [e.where for e in events if isinstance(e, RejectedLine)] == ["line 3", "line 4"]
    assert [e.where for e in events if isinstance(e, ImportedEntry)] == ["line 2", "line 5"]


@pytest.mark.parametrize(("name", "header"), [("long.csv", "md5\n"), ("long.txt", "")])
def test_a_line_over_the_line_limit_is_rejected_and_skipped(
    tmp_path: Path, name: str, header: str
) -> None:
    path = tmp_path / name
    path.write_text(
        f"{header}{md5('benign-1')}\n{'z' * 3_000_000}\n{md5('benign-2')}\n", encoding="utf-8"
    )
    events = events_of(path, BankFormat.CSV if name.endswith("csv") else BankFormat.TXT)
    first = 2 if header else 1
    rejected = [e for e in events if isinstance(e, RejectedLine)]
    assert [e.where for e in rejected] == [f"line {first + 1}"]
    assert "over the limit" in rejected[0].reason
    assert [e.where for e in events if isinstance(e, ImportedEntry)] == [
        f"line {first}",
        f"line {first + 2}",
    ]


def test_a_40_mb_json_string_rejects_its_entry_quickly(tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    media = [
        {"MD5": md5("benign-1")},
        {"MD5": md5("benign-2"), "Comments": "c" * 40_000_000},
        {"MD5": md5("benign-3")},
    ]
    path.write_text(json.dumps({"value": media}), encoding="utf-8")
    started = time.perf_counter()
    events = events_of(path)
    assert time.perf_counter() - started < 10
    assert [e.where for e in events if isinstance(e, RejectedLine)] == ["value[1]"]
    assert len([e for e in events if isinstance(e, ImportedEntry)]) == 2


def test_a_string_past_the_hard_limit_stops_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_stream, "MAX_STRING_BYTES", 1_000_000)
    path = tmp_path / "huge.json"
    path.write_text(vics("benign-1", comments="h" * 2_000_000), encoding="utf-8")
    assert "a JSON string longer than" in refusal(path)


# --- NUL bytes ----------------------------------------------------------------------------


def test_nul_bytes(tmp_path: Path) -> None:
    raw = tmp_path / "raw-nul.json"
    raw.write_bytes(vics("benign-1", comments="a\x00b").encode().replace(b"\\u0000", b"\x00"))
    assert "JSON syntax error" in refusal(raw)
    escaped = tmp_path / "escaped-nul.json"
    escaped.write_text(vics("benign-1", comments="a\x00b"), encoding="utf-8")
    [event] = events_of(escaped)
    assert isinstance(event, RejectedLine) and "NUL" in event.reason
    csv_file = tmp_path / "nul.csv"
    csv_file.write_text(f"md5,comments\n{md5('benign-1')},a\x00b\n{md5('benign-2')},ok\n")
    events = events_of(csv_file)
    assert [type(e).__name__ for e in events] == ["RejectedLine", "ImportedEntry"]


# --- one bad line with --on-error stop imports nothing ------------------------------------


def test_stop_on_error_imports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(
        f"md5,comments\n{md5('benign-1')},fine\n{md5('benign-2')},{'x' * 200_000}\n",
        encoding="utf-8",
    )
    result = run_cli("bank", "import", "stopped", path, "--on-error", "stop")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "bank.csv line 3" in result.stderr
    store = BankStore.open()
    try:
        assert "stopped" not in {summary.name for summary in store.summaries()}
    finally:
        store.close()


# --- CSV export: formula-like cells -------------------------------------------------------


def test_csv_export_neutralises_formulas_and_reads_back_the_same(tmp_path: Path) -> None:
    """Read from VICS (whose text is exact), written as CSV, read back: the same values,
    even one that already starts with an apostrophe before a formula character."""
    values = ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "'=already quoted", "''+x", "plain"]
    source = tmp_path / "source.json"
    media = [
        {"MD5": md5(f"benign-{n}"), "Comments": value, "Series": value, "Tags": [value]}
        for n, value in enumerate(values)
    ]
    source.write_text(json.dumps({"value": media}), encoding="utf-8")
    assert run_cli("bank", "import", "cells", source, "--on-error", "stop").returncode == 0
    exported = tmp_path / "exported.csv"
    result = run_cli("bank", "export", "cells", "--format", "csv", "--out", exported)
    assert result.returncode == 0, result.stderr
    with exported.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(values)
    for row in rows:
        for cell in (row["comments"], row["series"], row["tags"]):
            assert not cell.startswith(("=", "+", "-", "@"))
    assert run_cli("bank", "import", "again", exported, "--on-error", "stop").returncode == 0
    store = BankStore.open()
    try:
        first = {e.signals: e.metadata for e in store.iter_entries("cells")}
        again = {e.signals: e.metadata for e in store.iter_entries("again")}
    finally:
        store.close()
    assert {m.comments for m in first.values()} == set(values)
    assert again == first


# --- the nesting guard itself, across any chunking ----------------------------------------

_JSON_TEXT = st.text(alphabet='[]{}"\\ab\n\u00e9', max_size=8)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_JSON_TEXT, inner, max_size=3),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(value=_JSON_VALUES, size=st.integers(1, 40), extra=st.integers(0, 70))
def test_the_guard_counts_nesting_outside_strings_whatever_the_chunks(
    value: object, size: int, extra: int
) -> None:
    text = ("[" * extra + json.dumps(value, ensure_ascii=False) + "]" * extra).encode()
    guard = json_stream.JsonNestingGuard("test.json")
    deepest = _depth(value) + extra
    try:
        for start in range(0, len(text), size):
            guard(text[start : start + size])
        guard(b"")
    except BankFormatError:
        assert deepest > json_stream.MAX_DEPTH
        return
    assert deepest <= json_stream.MAX_DEPTH
    assert guard.depth == 0


@pytest.mark.parametrize("size", [7, 1000, 4301, 1 << 20])
def test_long_numbers_are_found_across_chunks(size: int) -> None:
    def fed(text: bytes) -> None:
        guard = json_stream.JsonNestingGuard("test.json")
        for start in range(0, len(text), size):
            guard(text[start : start + size])
        guard(b"")

    fed(b'{"value": [' + b"7" * 4300 + b"]}")
    with pytest.raises(BankFormatError, match="more than 4300 digits"):
        fed(b'{"value": [' + b"7" * 4301 + b"]}")


def test_big_integers_in_unknown_fields_are_ignored(tmp_path: Path) -> None:
    """A 64-bit id, or a number of thousands of digits, in a field clearsight does not read."""
    path = tmp_path / "big-numbers.json"
    media = {"MD5": md5("benign-1"), "test-vendor-id": 2**64 + 1, "test-huge": 10**4000}
    path.write_text(json.dumps({"value": [media], "MediaCount": 2**63}), encoding="utf-8")
    [entry] = entries_of(path)
    assert entry.signals == ((BankSignal.MD5, md5("benign-1")),)
