"""Review settings (stored over the defaults, validated, audited), one reviewer's
preview preferences, and the category scheme with its enums and CyberTipline map."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from clearsight.categories import (
    AgeGroup,
    CybertipClass,
    Depiction,
    HumanOrigin,
    VictimIdentified,
    cybertip_class,
    default_scheme,
    load_scheme,
)
from clearsight.errors import UserError
from clearsight.review.audit import AuditAction
from clearsight.review.settings import (
    MAX_BLUR,
    MIN_BLUR,
    SETTING_KEYS,
    PreviewPrefs,
    RevealMode,
    ReviewSettings,
    settings_as_dict,
)
from clearsight.store.review_models import ReviewSettingRow
from clearsight.store.sql import SqlCaseStore, engine_of

# Settings


def test_an_empty_case_has_the_documented_defaults(case_store: SqlCaseStore) -> None:
    settings = case_store.review_settings().load()
    assert settings == ReviewSettings()
    assert (settings.blur, settings.greyscale, settings.reveal_mode) == (4, True, RevealMode.HOLD)
    assert settings.daily_exposure_budget_s == 1800 and settings.break_after_min == 45
    assert settings.two_reviewer_banks == () and settings.category_scheme == "project-vic"
    assert set(SETTING_KEYS) == {f.name for f in fields(ReviewSettings)}


def test_a_change_is_stored_merged_and_audited_together(case_store: SqlCaseStore) -> None:
    store = case_store.review_settings()
    changed = store.set("blur", 8, actor="admin-1")
    changed = store.set("two_reviewer_banks", ["ncmec", "local"], actor="admin-1")
    changed = store.set("reveal_mode", "toggle", actor="admin-2")
    assert changed.blur == 8 and changed.reveal_mode is RevealMode.TOGGLE
    assert changed.two_reviewer_banks == ("ncmec", "local")
    assert changed.greyscale is True  # untouched keys keep their defaults
    assert store.load() == changed
    entries = case_store.audit_log().entries()
    assert [(e.actor, e.action, e.subject) for e in entries] == [
        ("admin-1", AuditAction.SETTING_CHANGED, "setting:blur"),
        ("admin-1", AuditAction.SETTING_CHANGED, "setting:two_reviewer_banks"),
        ("admin-2", AuditAction.SETTING_CHANGED, "setting:reveal_mode"),
    ]
    assert entries[0].detail == {"key": "blur", "old": 4, "new": 8}
    assert entries[2].detail == {"key": "reveal_mode", "old": "hold", "new": "toggle"}
    assert settings_as_dict(changed)["two_reviewer_banks"] == ["ncmec", "local"]

    reset = store.reset("blur", actor="admin-1")
    assert reset.blur == 4 and store.load().blur == 4
    assert case_store.audit_log().entries()[-1].detail == {
        "key": "blur",
        "old": 8,
        "new": 4,
        "reset": True,
    }
    assert case_store.audit_log().verify().intact


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("blur", 0),
        ("blur", 99),
        ("blur", True),
        ("blur", "4"),
        ("greyscale", 1),
        ("reveal_mode", "peek"),
        ("daily_exposure_budget_s", -1),
        ("daily_exposure_budget_s", 1.5),
        ("break_after_min", 1),
        ("two_reviewer_banks", "ncmec"),
        ("two_reviewer_banks", ["a", "a"]),
        ("two_reviewer_banks", [""]),
        ("category_scheme", "has spaces"),
        ("colour", "blue"),
    ],
)
def test_a_bad_value_is_refused_with_one_line_naming_the_key(
    case_store: SqlCaseStore, key: str, value: object
) -> None:
    store = case_store.review_settings()
    with pytest.raises(UserError) as caught:
        store.set(key, value, actor="admin-1")
    message = str(caught.value)
    assert repr(key) in message and "\n" not in message
    assert store.load() == ReviewSettings()
    assert case_store.audit_log().entries() == []


def test_a_hand_edited_stored_value_is_named_when_loaded(case_store: SqlCaseStore) -> None:
    with Session(engine_of(case_store)) as session, session.begin():
        session.add(ReviewSettingRow(key="break_after_min", value="2"))
        session.add(ReviewSettingRow(key="from_a_newer_version", value="1"))
    with pytest.raises(UserError, match="'break_after_min'"):
        case_store.review_settings().load()
    with engine_of(case_store).begin() as connection:
        connection.execute(
            text("UPDATE review_settings SET value = '{' WHERE key = 'break_after_min'")
        )
    with pytest.raises(UserError, match="'break_after_min'.*not valid JSON"):
        case_store.review_settings().load()
    # Setting a good value replaces the bad one, and the audit entry shows what was there.
    assert case_store.review_settings().set("break_after_min", 60, "admin").break_after_min == 60
    assert case_store.audit_log().entries()[-1].detail["old"] == "{"
    with Session(engine_of(case_store)) as session:
        assert session.scalar(select(func.count()).select_from(ReviewSettingRow)) == 2


def test_preview_prefs_take_the_account_values_over_the_organisation() -> None:
    org = ReviewSettings(blur=6, greyscale=True, reveal_mode=RevealMode.HOLD)
    assert PreviewPrefs.resolve(None, None, None, org) == PreviewPrefs(6, True, RevealMode.HOLD)
    assert PreviewPrefs.resolve(10, False, "toggle", org) == PreviewPrefs(
        10, False, RevealMode.TOGGLE
    )
    # A stored value out of range is pulled in, never trusted to weaken the blur.
    assert PreviewPrefs.resolve(0, None, None, org).blur == MIN_BLUR
    assert PreviewPrefs.resolve(500, None, None, org).blur == MAX_BLUR
    assert PreviewPrefs.resolve(None, None, "sideways", org).reveal_mode is RevealMode.HOLD


# Categories


def test_the_default_scheme_is_project_vic_with_neutral_labels() -> None:
    scheme = default_scheme()
    assert scheme.name == "project-vic"
    assert [c.code for c in scheme.categories] == ["0", "1", "2", "3", "4", "5"]
    assert [c.key for c in scheme.categories] == ["0", "1", "2", "3", "4", "5"]
    for category in scheme.categories:
        assert category.label.startswith(f"Category {category.code}")
        assert category.vics_meaning
    assert scheme.by_code("1").vics_meaning == "Child abuse material (CAM)"
    assert scheme.by_key("5") == scheme.by_code("5")
    assert scheme.by_key("x") is None
    with pytest.raises(UserError, match="not in the project-vic scheme"):
        scheme.by_code("9")


def test_cybertip_classes_are_given_only_where_defined() -> None:
    scheme = default_scheme()
    cam = scheme.by_code("1")
    assert cybertip_class(cam) is None  # age group and depiction not yet given
    assert cybertip_class(cam, AgeGroup.PREPUBESCENT, Depiction.SEX_ACT) is CybertipClass.A1
    assert (
        cybertip_class(cam, AgeGroup.PREPUBESCENT, Depiction.LASCIVIOUS_EXHIBITION)
        is CybertipClass.A2
    )
    assert cybertip_class(cam, AgeGroup.PUBESCENT, Depiction.SEX_ACT) is CybertipClass.B1
    assert (
        cybertip_class(cam, AgeGroup.PUBESCENT, Depiction.LASCIVIOUS_EXHIBITION) is CybertipClass.B2
    )
    for code in "02345":
        category = scheme.by_code(code)
        assert cybertip_class(category, AgeGroup.PREPUBESCENT, Depiction.SEX_ACT) is None


def test_the_decision_enums_hold_the_stored_values() -> None:
    assert [o.value for o in HumanOrigin] == ["ai-generated", "ai-edited", "camera", "unsure"]
    assert [v.value for v in VictimIdentified] == ["yes", "no", "unknown"]


SCHEME = """
name = "local"
title = "Local scheme"

[[category]]
code = "none"
key = "n"
label = "Nothing here"
vics_meaning = "Not pertinent"

[[category]]
code = "p1"
key = "p"
label = "Priority one"
vics_meaning = "Fixed class"
cybertip = "B2"
"""


def test_a_scheme_loads_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "scheme.toml"
    path.write_text(SCHEME, encoding="utf-8")
    scheme = load_scheme(path)
    assert (scheme.name, scheme.title) == ("local", "Local scheme")
    assert [c.key for c in scheme.categories] == ["n", "p"]
    assert cybertip_class(scheme.by_code("p1")) is CybertipClass.B2
    assert cybertip_class(scheme.by_code("none")) is None


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (('code = "p1"', 'code = "none"'), "code 'none' is used by more than one"),
        (('key = "p"', 'key = "n"'), "key 'n' is used by more than one"),
        (('key = "p"', 'key = "pp"'), "one character"),
        (('cybertip = "B2"', 'cybertip = "Z9"'), "cybertip must be one of"),
        (('cybertip = "B2"', 'colour = "red"'), "unknown field"),
        (('label = "Priority one"', ""), "label must be one line"),
        (('name = "local"', 'name = "local'), "line 2"),
    ],
)
def test_a_mistake_in_a_scheme_is_one_line_naming_the_file(
    tmp_path: Path, change: tuple[str, str], complaint: str
) -> None:
    path = tmp_path / "scheme.toml"
    path.write_text(SCHEME.replace(*change), encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_scheme(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and complaint in message and "\n" not in message


def test_a_missing_scheme_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        load_scheme(tmp_path / "absent.toml")
