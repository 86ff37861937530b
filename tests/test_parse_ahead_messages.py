"""The parsing process's messages come back as they were sent, however they travel.

A batch of plain rows travels in marshal's format (cheaper to read for the importing
process); a batch with rejected lines, or with a value marshal does not take, is
pickled. Either way the importer must get the very batch the parser made.
"""

from __future__ import annotations

from decimal import Decimal

from clearsight.banks.parse_ahead import _decoded, _encoded
from clearsight.banks.prepared import (
    BatchBuilder,
    PreparedBatch,
    SignalRun,
    prepare,
    run_signal_rows,
    value_key,
)
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    NextPage,
    NotImportable,
    RejectedLine,
)

_ROWS = [(0, "sig:0123", None, "1", "test-series", True, None, '["a"]', None, None)]
_SIGNALS: list[SignalRun] = [
    (("md5", "pdq"), [(0, "ab" * 16, 0xABABABABABABABA, "cd" * 32, None)]),
]


def test_a_plain_batch_is_marshalled_and_comes_back_whole() -> None:
    batch = PreparedBatch(list(_ROWS), list(_SIGNALS), [0], [])
    message = _encoded(batch)
    assert message[:1] == b"m"
    assert _decoded(message) == batch


def test_a_batch_with_other_events_is_pickled_and_comes_back_whole() -> None:
    others = [
        RejectedLine("line 3", "not a hash"),
        NotImportable("hashRecords", "2 VideoTMK record(s)", kind="VideoTMK", count=2),
        NextPage("line 9", "the list has a next page", address="/v2/entries?start=2001"),
    ]
    batch = PreparedBatch(list(_ROWS), list(_SIGNALS), [], others)
    message = _encoded(batch)
    assert message[:1] == b"p"
    assert _decoded(message) == batch


def test_a_value_marshal_does_not_take_is_pickled_instead() -> None:
    rows = [(0, "sig:0123", None, Decimal("1.5"), None, None, None, None, None, None)]
    batch = PreparedBatch(rows, [], [], [])
    message = _encoded(batch)
    assert message[:1] == b"p"
    assert _decoded(message) == batch


def test_entries_of_different_kinds_come_back_in_order_after_the_pipe() -> None:
    """Entries travel as runs of like kinds; a batch mixing kinds (and withdrawals,
    which have none) comes back entry for entry, keys included."""
    made = [
        prepare(
            ImportedEntry(((BankSignal.MD5, "ab" * 16), (BankSignal.PDQ, "cd" * 32)), meta("A"))
        ),
        prepare(
            ImportedEntry(((BankSignal.PDQ, "ef" * 32), (BankSignal.MD5, "12" * 16)), meta("B"))
        ),
        prepare(ImportedEntry(((BankSignal.SHA1, "34" * 20),), meta("C"))),
        prepare(ImportedEntry((), meta("D"), remove=True)),
        prepare(
            ImportedEntry(((BankSignal.MD5, "56" * 16), (BankSignal.PDQ, "78" * 32)), meta("E"))
        ),
    ]
    builder = BatchBuilder()
    for entry in made:
        builder.add(entry)
    batch = builder.take()
    assert [kinds for kinds, _ in batch.signal_runs] == [("md5", "pdq"), ("sha1",), ("md5", "pdq")]
    back = _decoded(_encoded(batch))
    assert back.entries() == made
    assert made[0][3] == ("ab" * 16, value_key("md5", "ab" * 16), "cd" * 32, None)
    assert [row[:3] for row in run_signal_rows(back.signal_runs[0])] == [
        (0, "md5", "ab" * 16),
        (0, "pdq", "cd" * 32),
        (1, "md5", "12" * 16),
        (1, "pdq", "ef" * 32),
    ]


def meta(external_id: str) -> EntryMetadata:
    return EntryMetadata(external_id=external_id)
