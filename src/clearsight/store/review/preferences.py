"""A reviewer's own preview preferences: blur, greyscale and how to reveal.

Each may be left to the organisation (``None``). Blur stays within the organisation's
allowed range, so nobody can choose to see previews less blurred than the weakest
blur allowed. A change is audited like an organisation setting, under the account.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from clearsight.errors import UserError
from clearsight.store.review.accounts import subject_of
from clearsight.store.review.audit import AuditAction, record
from clearsight.store.review.settings import (
    MAX_BLUR,
    MIN_BLUR,
    PreviewPrefs,
    RevealMode,
    ReviewSettings,
)
from clearsight.store.review_models import AccountRow


@dataclass(frozen=True)
class OwnPreferences:
    """What the account chose; None means the organisation's default."""

    blur: int | None
    greyscale: bool | None
    reveal_mode: RevealMode | None


class PreferenceBook:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def own(self, account_id: int) -> OwnPreferences:
        with Session(self._engine) as session:
            row = _row(session, account_id)
            mode = row.reveal_mode
            return OwnPreferences(
                row.blur,
                row.greyscale,
                RevealMode(mode) if mode in {m.value for m in RevealMode} else None,
            )

    def effective(self, account_id: int, settings: ReviewSettings) -> PreviewPrefs:
        with Session(self._engine) as session:
            return PreviewPrefs.for_account(_row(session, account_id), settings)

    def set(self, account_id: int, chosen: OwnPreferences) -> OwnPreferences:
        if chosen.blur is not None and not MIN_BLUR <= chosen.blur <= MAX_BLUR:
            raise UserError(f"blur must be {MIN_BLUR}-{MAX_BLUR} percent, not {chosen.blur}")
        with Session(self._engine) as session, session.begin():
            row = _row(session, account_id)
            old = {"blur": row.blur, "greyscale": row.greyscale, "reveal_mode": row.reveal_mode}
            row.blur = chosen.blur
            row.greyscale = chosen.greyscale
            row.reveal_mode = chosen.reveal_mode.value if chosen.reveal_mode else None
            new = {"blur": row.blur, "greyscale": row.greyscale, "reveal_mode": row.reveal_mode}
            session.flush()
            record(
                session,
                row.name,
                AuditAction.SETTING_CHANGED,
                subject_of(row.name),
                {"key": "preview-preferences", "old": old, "new": new},
            )
        return chosen


def _row(session: Session, account_id: int) -> AccountRow:
    row = session.get(AccountRow, account_id)
    if row is None:
        raise UserError(f"no account {account_id}")
    return row
