"""CSV cells of a bank export that no spreadsheet runs, and that read back exactly.

A cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, a tab or a
carriage return first) gets a leading ``'``, by :func:`~clearsight.text_safety.spreadsheet_cell`.
So that the CSV reader can take that ``'`` off again without guessing, a cell that
already starts with apostrophes before such a character gets one more too: the reader
then takes exactly one ``'`` off any cell of apostrophes followed by a formula
character, and every value comes back as it was. Hashes never start so; comments,
tags and categories can. A list written elsewhere whose cell really is ``'=...`` is
read without its first apostrophe, the one ambiguity this leaves.
"""

from __future__ import annotations

from clearsight.text_safety import spreadsheet_cell


def csv_cell(value: str) -> str:
    """``value`` as a cell that no spreadsheet runs and :func:`unguarded_cell` undoes."""
    if value.startswith("'") and _runs_as_formula(value.lstrip("'")):
        return "'" + value
    return str(spreadsheet_cell(value))


def unguarded_cell(value: str) -> str:
    """A cell as it was before :func:`csv_cell`."""
    if value.startswith("'") and _runs_as_formula(value.lstrip("'")):
        return value[1:]
    return value


def _runs_as_formula(value: str) -> bool:
    return spreadsheet_cell(value) != value
