"""The organisation's review settings, and one reviewer's preview preferences.

Defaults live in :class:`ReviewSettings`, so a case with no ``review_settings`` rows
is already safe: previews blurred and greyscale, a daily limit on unblurred viewing,
a break suggested after 45 minutes. A stored row overrides its default; each change
is validated and written with its audit entry in one transaction. An account's own
``blur``, ``greyscale`` and ``reveal_mode`` (NULL = the organisation's) override the
organisation for that person only (:class:`PreviewPrefs`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clearsight.errors import UserError
from clearsight.store.review.audit import AuditAction, record
from clearsight.store.review_models import AccountRow, ReviewSettingRow

# Blur strength is the Gaussian radius as a percentage of the preview's long side, so a
# thumbnail and a full preview hide the same share of the picture. Below 2 % a face
# that fills a fifth of the frame keeps its features; above 25 % nothing is left to see.
MIN_BLUR, MAX_BLUR = 2, 25
MAX_BUDGET_S = 24 * 3600
MIN_BREAK_AFTER, MAX_BREAK_AFTER = 5, 8 * 60
# A decision can be taken back for a few seconds (a key pressed by mistake), not for
# minutes: past that it may already have been exported or confirmed.
MAX_UNDO_WINDOW_S = 120
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


class RevealMode(StrEnum):
    """How a reviewer unblurs: ``hold`` shows the picture only while a key or button is
    held down; ``toggle`` keeps it shown until toggled back."""

    HOLD = "hold"
    TOGGLE = "toggle"


@dataclass(frozen=True)
class ReviewSettings:
    """The organisation's defaults for every reviewer of a case.

    ``blur``: Gaussian radius, percent of the preview's long side (4 % leaves a face
    that fills a fifth of the frame a featureless blob). ``greyscale``: previews drop
    colour, which lowers their emotional weight. ``reveal_mode``: see
    :class:`RevealMode`. ``daily_exposure_budget_s``: seconds of unblurred viewing a
    reviewer may have per UTC day before a supervisor must extend it.
    ``break_after_min``: continuous review after which a break is suggested.
    ``two_reviewer_banks``: banks whose matches need a second reviewer to confirm.
    ``category_scheme``: the name of the category scheme decisions use.
    ``undo_window_s``: seconds during which a reviewer may take back their last
    decision (0: never).
    """

    blur: int = 4
    greyscale: bool = True
    reveal_mode: RevealMode = RevealMode.HOLD
    daily_exposure_budget_s: int = 1800
    break_after_min: int = 45
    two_reviewer_banks: tuple[str, ...] = ()
    category_scheme: str = "project-vic"
    undo_window_s: int = 10


def _integer(low: int, high: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        # bool is an int in Python, and "blur": true is surely a mistake.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {_shown(value)}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return check


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_shown(value)}")
    return value


def _reveal_mode(value: object) -> RevealMode:
    for mode in RevealMode:
        if value == mode.value:
            return mode
    choices = " or ".join(repr(m.value) for m in RevealMode)
    raise ValueError(f"expected {choices}, got {_shown(value)}")


def _name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(f"expected a name of 1-80 letters, digits or . _ -, got {_shown(value)}")
    return value


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of bank names, got {_shown(value)}")
    names = tuple(_name(item) for item in value)
    if len(set(names)) != len(names):
        raise ValueError("names a bank more than once")
    return names


_CHECKS: dict[str, Callable[[object], object]] = {
    "blur": _integer(MIN_BLUR, MAX_BLUR),
    "greyscale": _boolean,
    "reveal_mode": _reveal_mode,
    "daily_exposure_budget_s": _integer(0, MAX_BUDGET_S),
    "break_after_min": _integer(MIN_BREAK_AFTER, MAX_BREAK_AFTER),
    "two_reviewer_banks": _names,
    "category_scheme": _name,
    "undo_window_s": _integer(0, MAX_UNDO_WINDOW_S),
}
SETTING_KEYS = tuple(f.name for f in fields(ReviewSettings))


def check_setting(key: str, value: object) -> object:
    """``value`` as ``key`` holds it; a one-line :class:`UserError` naming the key if
    the key is unknown or the value has the wrong type or range."""
    check = _checker(key)
    try:
        return check(value)
    except ValueError as exc:
        raise UserError(f"review setting {key!r}: {exc}") from None


class SettingsStore:
    """The review settings of one case database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load(self) -> ReviewSettings:
        """The defaults, with each stored setting in place of its default."""
        with Session(self._engine) as session:
            return _merged(session)

    def set(self, key: str, value: object, actor: str) -> ReviewSettings:
        """Store ``key`` = ``value`` for the whole organisation and audit who did it."""
        checked = check_setting(key, value)
        with Session(self._engine) as session, session.begin():
            old = _current(session, key)
            _write(session, key, checked)
            detail = {"key": key, "old": _jsonable(old), "new": _jsonable(checked)}
            record(session, actor, AuditAction.SETTING_CHANGED, f"setting:{key}", detail)
            return _merged(session)

    def reset(self, key: str, actor: str) -> ReviewSettings:
        """Go back to the shipped default of ``key`` (audited like a change)."""
        _checker(key)
        with Session(self._engine) as session, session.begin():
            old = _current(session, key)
            row = session.get(ReviewSettingRow, key)
            if row is not None:
                session.delete(row)
                session.flush()
            new = getattr(ReviewSettings(), key)
            detail = {"key": key, "old": _jsonable(old), "new": _jsonable(new), "reset": True}
            record(session, actor, AuditAction.SETTING_CHANGED, f"setting:{key}", detail)
            return _merged(session)


@dataclass(frozen=True)
class PreviewPrefs:
    """How one reviewer's previews look: their own choices where they made them, the
    organisation's elsewhere."""

    blur: int
    greyscale: bool
    reveal_mode: RevealMode

    @classmethod
    def resolve(
        cls,
        blur: int | None,
        greyscale: bool | None,
        reveal_mode: str | None,
        settings: ReviewSettings,
    ) -> PreviewPrefs:
        """Account values (NULL = the organisation's) over ``settings``. A stored blur
        outside the allowed range is pulled into it rather than trusted: a preview
        must never come out less blurred than the weakest blur allowed."""
        chosen_blur = settings.blur if blur is None else min(max(blur, MIN_BLUR), MAX_BLUR)
        try:
            mode = settings.reveal_mode if reveal_mode is None else RevealMode(reveal_mode)
        except ValueError:
            mode = settings.reveal_mode
        return cls(chosen_blur, settings.greyscale if greyscale is None else bool(greyscale), mode)

    @classmethod
    def for_account(cls, account: AccountRow, settings: ReviewSettings) -> PreviewPrefs:
        return cls.resolve(account.blur, account.greyscale, account.reveal_mode, settings)


def _checker(key: str) -> Callable[[object], object]:
    check = _CHECKS.get(key)
    if check is None:
        raise UserError(f"unknown review setting {key!r} (known: {', '.join(SETTING_KEYS)})")
    return check


def _merged(session: Session) -> ReviewSettings:
    stored: dict[str, Any] = {}
    for row in session.scalars(select(ReviewSettingRow)):
        if row.key not in _CHECKS:
            continue  # written by a newer clearsight; this one has no use for it
        try:
            value = json.loads(row.value)
        except ValueError:
            raise UserError(f"review setting {row.key!r} in the case is not valid JSON") from None
        stored[row.key] = check_setting(row.key, value)
    return replace(ReviewSettings(), **stored)


def _current(session: Session, key: str) -> object:
    """What ``key`` is now, for the audit entry; a stored value that is not valid is
    shown as stored, so that setting a good value can replace it."""
    row = session.get(ReviewSettingRow, key)
    if row is None:
        return getattr(ReviewSettings(), key)
    try:
        return check_setting(key, json.loads(row.value))
    except (ValueError, UserError):
        return row.value


def _write(session: Session, key: str, value: object) -> None:
    text = json.dumps(_jsonable(value), separators=(",", ":"))
    row = session.get(ReviewSettingRow, key)
    if row is None:
        session.add(ReviewSettingRow(key=key, value=text))
    else:
        row.value = text
    session.flush()


def _jsonable(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def _shown(value: object) -> str:
    return repr(value)[:60]


def settings_as_dict(settings: ReviewSettings) -> Mapping[str, object]:
    """The settings as JSON values, for a settings page or ``--json`` output."""
    return {key: _jsonable(value) for key, value in asdict(settings).items()}
