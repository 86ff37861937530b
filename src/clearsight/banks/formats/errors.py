"""The one error a bank parser raises: the file is not its format at all.

A bad entry inside a readable file is never an exception (it becomes a
:class:`~clearsight.banks.records.RejectedLine` and the import goes on); only a file
that cannot be read as the format at all (broken syntax, wrong top-level shape) stops
the import. That is the user's mistake (a wrong or damaged file), hence a ``UserError``
with its exit status, and a one-line message naming the file and, where known, the place.
"""

from __future__ import annotations

from clearsight.errors import UserError


class BankFormatError(UserError):
    """A bank file that cannot be parsed as its format; the message is one line."""
