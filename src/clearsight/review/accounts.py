"""Reviewer accounts: roles, password rules and the account book.

The review services keep their SQL in the store,
:mod:`clearsight.store.review.accounts` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.review.accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    Account,
    AccountBook,
    Refusal,
    Role,
    check_name,
    check_password,
    check_role,
    subject_of,
)

__all__ = [
    "Account",
    "AccountBook",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Refusal",
    "Role",
    "check_name",
    "check_password",
    "check_role",
    "subject_of",
]
