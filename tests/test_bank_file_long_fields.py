"""Very long strings in bank files are rejected quickly and in bounded memory.

Before: a VICS file holding one 200 MB JSON string took over 20 s to be refused
(yajl lexes a string that spans chunks again from its start with each chunk), and an
NCMEC XML file with a 200 MB attribute took 416 MB of memory (libxml2 holds a start
tag whole). The JSON guard now drops the tail of a string past KEEP_STRING_BYTES at
a clean place (its entry is still over the field limit, so rejected as before), and
the XML reader refuses a run of more than 4 MiB without markup.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.banks.formats import json_stream
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.reader import BankFormat, read_bank_file
from clearsight.banks.records import ImportedEntry, ImportEvent, RejectedLine

from .conftest import run_cli


def _md5(word: str) -> str:
    return hashlib.md5(word.encode()).hexdigest()


def _events(path: Path, fmt: BankFormat) -> list[ImportEvent]:
    return list(read_bank_file(path, fmt))


def _peak_mib_reading(path: Path, fmt: BankFormat) -> tuple[float, str]:
    """Read ``path`` in a fresh interpreter: its peak memory (MiB) and how it ended."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from clearsight.banks.formats.reader import BankFormat, read_bank_file\n"
        "from clearsight.banks.formats.errors import BankFormatError\n"
        "try:\n"
        "    events = read_bank_file(Path(sys.argv[1]), BankFormat(sys.argv[2]))\n"
        "    outcome = f'{sum(1 for _ in events)} events'\n"
        "except BankFormatError as error:\n"
        "    outcome = str(error)\n"
        # VmHWM, not ru_maxrss, which keeps the forking parent's size across exec
        "status = Path('/proc/self/status').read_text().split('VmHWM:')[1]\n"
        "print(int(status.split()[0]) / 1024)\n"
        "print(outcome)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), fmt.value],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    peak, outcome = done.stdout.strip().split("\n", 1)
    return float(peak), outcome


def _vics_with_comment(path: Path, comment: str, *, ensure_ascii: bool) -> None:
    media = [
        {"MediaID": "a", "MD5": _md5("benign-1")},
        {"MediaID": "b", "MD5": _md5("benign-2"), "Comments": comment},
        {"MediaID": "c", "MD5": _md5("benign-3"), "Comments": 'ends "quoted" \\'},
    ]
    path.write_text(json.dumps({"value": media}, ensure_ascii=ensure_ascii), encoding="utf-8")


# --- JSON: one long string ---------------------------------------------------------------


def test_a_200_mb_json_string_fails_fast_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"value": [{"MediaID": "a", "MD5": "' + _md5("benign-1") + '", "Comments": "')
        for _ in range(200):
            handle.write("c" * 1_000_000)
        handle.write('"}]}')
    started = time.perf_counter()
    with pytest.raises(BankFormatError, match="a JSON string longer than 64 MiB"):
        _events(path, BankFormat.VICS)
    assert time.perf_counter() - started < 5  # over 20 s before
    peak, outcome = _peak_mib_reading(path, BankFormat.VICS)
    assert "longer than 64 MiB" in outcome
    assert peak < 80, peak  # 99 MiB before: ijson held the 64 MiB string


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize(
    "text",
    [
        "c",  # plain ASCII
        "é☕😀",  # UTF-8 of 2, 3 and 4 bytes; as \\uXXXX escapes (surrogate pairs too)
        '\n"\\é😀',  # an escape after another
        "\\",  # nothing but escaped backslashes
    ],
    ids=["ascii", "unicode", "escapes", "backslashes"],
)
def test_a_long_string_rejects_only_its_entry_quickly(
    tmp_path: Path, text: str, ensure_ascii: bool
) -> None:
    """30 MB of each kind (as written): the entry is rejected, the next one read whole."""
    path = tmp_path / "long.json"
    written = len(json.dumps(text, ensure_ascii=ensure_ascii).encode("utf-8")) - 2
    _vics_with_comment(path, text * (30_000_000 // written), ensure_ascii=ensure_ascii)
    started = time.perf_counter()
    events = _events(path, BankFormat.VICS)
    assert time.perf_counter() - started < 5
    assert [type(event) for event in events] == [ImportedEntry, RejectedLine, ImportedEntry]
    assert isinstance(events[1], RejectedLine) and "Comments: over the limit" in events[1].reason
    last = events[2]
    assert isinstance(last, ImportedEntry) and last.metadata.comments == 'ends "quoted" \\'


def test_a_long_stopncii_string_rejects_only_its_record(tmp_path: Path) -> None:
    path = tmp_path / "stopncii.json"
    records = [
        {
            "signalType": "VideoMD5",
            "hashValue": _md5("benign-1"),
            "caseNumbers": ["x" * 20_000_000],
        },
        {"signalType": "VideoMD5", "hashValue": _md5("benign-2")},
    ]
    path.write_text(json.dumps({"hashRecords": records}), encoding="utf-8")
    started = time.perf_counter()
    events = _events(path, BankFormat.STOPNCII)
    assert time.perf_counter() - started < 5
    assert isinstance(events[-1], ImportedEntry)
    assert any(isinstance(event, RejectedLine) for event in events[:-1])


# The guard's cut, for any strings and any chunking: what ijson sees is the same JSON,
# every string whole or (past the kept length) a prefix of itself.

_KEEP = 40  # small, so that Hypothesis's strings are cut


def _without_lone_surrogate(text: str) -> str:
    """A cut between the halves of an escaped surrogate pair leaves the high half."""
    return text[:-1] if text and "\ud800" <= text[-1] <= "\udbff" else text


def _same_but_cut(original: object, seen: object) -> None:
    if isinstance(original, str):
        assert isinstance(seen, str)
        if seen != original:
            assert original.startswith(_without_lone_surrogate(seen))
            assert len(json.dumps(original)) > _KEEP
        return
    if isinstance(original, list):
        assert isinstance(seen, list) and len(seen) == len(original)
        for one, other in zip(original, seen, strict=True):
            _same_but_cut(one, other)
        return
    if isinstance(original, dict):
        assert isinstance(seen, dict) and list(seen) == list(original)
        for key in original:
            _same_but_cut(original[key], seen[key])
        return
    assert seen == original


_STRINGS = st.text(
    alphabet=st.sampled_from(["a", "é", "☕", "😀", '"', "\\", "\n", "\x01", "{", "]"]),
    max_size=200,
)
_VALUES = st.recursive(
    st.none() | st.integers() | _STRINGS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="abc", max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_VALUES, ensure_ascii=st.booleans(), cuts=st.lists(st.integers(0, 4000), max_size=12))
def test_the_cut_keeps_the_json_valid_whatever_the_chunks(
    value: object, ensure_ascii: bool, cuts: list[int]
) -> None:
    raw = json.dumps({"value": value}, ensure_ascii=ensure_ascii).encode("utf-8")
    bounds = sorted({0, len(raw), *(cut for cut in cuts if cut < len(raw))})
    guard = json_stream.JsonNestingGuard("test.json")
    original_keep = json_stream.KEEP_STRING_BYTES
    json_stream.KEEP_STRING_BYTES = _KEEP
    try:
        seen = b"".join(guard(raw[start:end]) for start, end in itertools.pairwise(bounds))
        seen += guard(b"")
    finally:
        json_stream.KEEP_STRING_BYTES = original_keep
    parsed = json.loads(seen.decode("utf-8", errors="surrogatepass"))
    _same_but_cut({"value": value}, parsed)


# --- NCMEC XML: a long attribute or text -------------------------------------------------


def _ncmec_with(path: Path, middle: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("<queryResult><images><image><id>test-1</id>")
        handle.write(middle)
        handle.write(f"<fingerprints><md5>{_md5('benign-1')}</md5></fingerprints></image>")
        handle.write("</images></queryResult>")


def test_a_200_mb_xml_attribute_fails_fast_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "attribute.xml"
    _ncmec_with(path, '<member id="' + "m" * 200_000_000 + '"/>')
    started = time.perf_counter()
    with pytest.raises(BankFormatError, match="without markup"):
        _events(path, BankFormat.NCMEC_XML)
    assert time.perf_counter() - started < 5
    peak, outcome = _peak_mib_reading(path, BankFormat.NCMEC_XML)
    assert "without markup" in outcome
    assert peak < 100, peak  # 416 MiB before


def test_a_long_xml_text_through_the_cli_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "text.xml"
    _ncmec_with(path, "<classification>" + "t" * 50_000_000 + "</classification>")
    result = run_cli("bank", "import", "long", path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "text.xml" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_xml_field_over_the_field_limit_but_short_rejects_only_its_entry(
    tmp_path: Path,
) -> None:
    path = tmp_path / "field.xml"
    _ncmec_with(path, "<classification>" + "t" * 1_000_000 + "</classification>")
    [event] = _events(path, BankFormat.NCMEC_XML)
    assert isinstance(event, RejectedLine) and "over the limit" in event.reason


# --- CSV: a header field over the csv module's limit -------------------------------------


def test_a_csv_header_field_over_the_csv_limit_is_one_line(tmp_path: Path) -> None:
    """Found by the fuzzer: ``_csv.Error: field larger than field limit`` escaped."""
    path = tmp_path / "header.csv"
    path.write_text("md5," + "h" * 200_000 + "\n" + _md5("benign-1") + ",x\n", encoding="utf-8")
    with pytest.raises(BankFormatError, match=r"^header\.csv line 1: not a CSV header"):
        _events(path, BankFormat.CSV)
    result = run_cli("bank", "import", "header", path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0
