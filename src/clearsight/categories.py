"""What a reviewer can decide about an item: its category, its origin, whether the
victim is identified, and how a category maps to the CyberTipline classification.

The category scheme is data (``categories.toml``, Project VIC's VICS categories by
default) so an organisation can use its own. Labels shown on screen are neutral
("Category 1"); the official meaning is kept apart in ``vics_meaning`` for reports.

CyberTipline industry classification: A1 = prepubescent minor, sex act; A2 =
prepubescent minor, lascivious exhibition; B1 = pubescent minor, sex act; B2 =
pubescent minor, lascivious exhibition. No VICS category says which of the four
applies, so none is fixed to one: category 1 (CAM) is *eligible*, and
:func:`cybertip_class` gives its class only once the reviewer has chosen an age group
and a depiction. Categories 0, 2, 3, 4 and 5 map to nothing (None): they are not
material the classification describes, or not yet decided. A scheme whose categories
do say age group and depiction can fix the class per category (``cybertip = "A1"``).

A leaf module (it imports only :mod:`clearsight.errors`): the case store checks
decisions against the scheme, and the exports, the case and the server show it, so
it belongs to none of them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from clearsight.errors import UserError

DEFAULT_SCHEME = "project-vic"


class HumanOrigin(StrEnum):
    """Where the reviewer judges a picture came from (the tool's verdict is separate)."""

    AI_GENERATED = "ai-generated"
    AI_EDITED = "ai-edited"
    CAMERA = "camera"
    UNSURE = "unsure"


class VictimIdentified(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class CybertipClass(StrEnum):
    """The CyberTipline industry classification (see the module docstring)."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"


class AgeGroup(StrEnum):
    PREPUBESCENT = "prepubescent"
    PUBESCENT = "pubescent"


class Depiction(StrEnum):
    SEX_ACT = "sex-act"
    LASCIVIOUS_EXHIBITION = "lascivious-exhibition"


_CYBERTIP = {
    (AgeGroup.PREPUBESCENT, Depiction.SEX_ACT): CybertipClass.A1,
    (AgeGroup.PREPUBESCENT, Depiction.LASCIVIOUS_EXHIBITION): CybertipClass.A2,
    (AgeGroup.PUBESCENT, Depiction.SEX_ACT): CybertipClass.B1,
    (AgeGroup.PUBESCENT, Depiction.LASCIVIOUS_EXHIBITION): CybertipClass.B2,
}


@dataclass(frozen=True)
class Category:
    code: str
    key: str
    label: str
    vics_meaning: str
    cybertip_eligible: bool = False
    cybertip: CybertipClass | None = None


@dataclass(frozen=True)
class CategoryScheme:
    name: str
    title: str
    categories: tuple[Category, ...]

    def by_code(self, code: str) -> Category:
        for category in self.categories:
            if category.code == code:
                return category
        raise UserError(f"category {code!r} is not in the {self.name} scheme")

    def by_key(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)


def cybertip_class(
    category: Category, age_group: AgeGroup | None = None, depiction: Depiction | None = None
) -> CybertipClass | None:
    """The classification of an item in ``category``, or None where none is defined
    (not an eligible category, or the reviewer has not said age group and depiction)."""
    if category.cybertip is not None:
        return category.cybertip
    if not category.cybertip_eligible or age_group is None or depiction is None:
        return None
    return _CYBERTIP[age_group, depiction]


def default_scheme() -> CategoryScheme:
    """The shipped Project VIC scheme."""
    shipped = resources.files("clearsight").joinpath("categories.toml")
    return _scheme(tomllib.loads(shipped.read_text("utf-8")), "categories.toml (shipped)")


def load_scheme(path: Path) -> CategoryScheme:
    """A scheme from a TOML file laid out like the shipped ``categories.toml``."""
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or type(exc).__name__}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: {exc}") from None
    return _scheme(document, str(path))


_FIELDS = {"code", "key", "label", "vics_meaning", "cybertip_eligible", "cybertip"}


def _scheme(document: dict[str, Any], where: str) -> CategoryScheme:
    unknown = set(document) - {"name", "title", "category"}
    if unknown:
        raise UserError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
    name, title = document.get("name"), document.get("title", document.get("name"))
    if not isinstance(name, str) or not name or not isinstance(title, str):
        raise UserError(f"{where}: needs a name (and a title, if given, must be text)")
    entries = document.get("category")
    if not isinstance(entries, list) or not entries:
        raise UserError(f"{where}: defines no [[category]]")
    categories = tuple(
        _category(entry, f"{where}: category #{n}") for n, entry in enumerate(entries, 1)
    )
    for attribute in ("code", "key"):
        seen: set[str] = set()
        for category in categories:
            value = getattr(category, attribute)
            if value in seen:
                raise UserError(f"{where}: {attribute} {value!r} is used by more than one category")
            seen.add(value)
    return CategoryScheme(name, title, categories)


def _category(entry: object, where: str) -> Category:
    if not isinstance(entry, dict):
        raise UserError(f"{where}: must be a table")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise UserError(f"{where}: unknown field(s): {', '.join(sorted(unknown))}")
    texts: dict[str, str] = {}
    for field in ("code", "key", "label", "vics_meaning"):
        value = entry.get(field)
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise UserError(f"{where}: {field} must be one line of text")
        texts[field] = value
    if len(texts["key"]) != 1:
        raise UserError(f"{where}: key must be one character, not {texts['key']!r}")
    eligible = entry.get("cybertip_eligible", False)
    if not isinstance(eligible, bool):
        raise UserError(f"{where}: cybertip_eligible must be true or false")
    fixed = entry.get("cybertip")
    try:
        cybertip = None if fixed is None else CybertipClass(fixed)
    except ValueError:
        choices = ", ".join(c.value for c in CybertipClass)
        raise UserError(f"{where}: cybertip must be one of {choices}, not {fixed!r}") from None
    return Category(
        texts["code"], texts["key"], texts["label"], texts["vics_meaning"], eligible, cybertip
    )
