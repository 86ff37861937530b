"""The organisation's review settings and the preview preferences they bound.

The review services keep their SQL in the store,
:mod:`clearsight.store.review.settings` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.review.settings import (
    MAX_BLUR,
    MAX_BUDGET_S,
    MIN_BLUR,
    SETTING_KEYS,
    PreviewPrefs,
    RevealMode,
    ReviewSettings,
    SettingsStore,
    check_setting,
    settings_as_dict,
)

__all__ = [
    "MAX_BLUR",
    "MAX_BUDGET_S",
    "MIN_BLUR",
    "PreviewPrefs",
    "RevealMode",
    "ReviewSettings",
    "SETTING_KEYS",
    "SettingsStore",
    "check_setting",
    "settings_as_dict",
]
