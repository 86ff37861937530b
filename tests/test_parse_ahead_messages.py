"""The parsing process's messages come back as they were sent, however they travel.

A batch of plain rows travels in marshal's format (cheaper to read for the importing
process); a batch with rejected lines, or with a value marshal does not take, is
pickled. Either way the importer must get the very batch the parser made.
"""

from __future__ import annotations

from decimal import Decimal

from clearsight.banks.parse_ahead import _decoded, _encoded
from clearsight.banks.prepared import BatchSignalRow, PreparedBatch
from clearsight.banks.records import NextPage, NotImportable, RejectedLine

_ROWS = [(0, "sig:0123", None, "1", "test-series", True, None, '["a"]', None, None)]
_SIGNALS: list[BatchSignalRow] = [
    (0, "md5", "ab" * 16, 0xABABABABABABABA),
    (0, "pdq", "cd" * 32, None),
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
