"""Which CyberTipline industry classification (A1, A2, B1, B2) a decided category gives.

The mapping is the category scheme's (``clearsight.categories``): only a
category that fixes a class by itself maps to one. A category that is merely eligible
(VICS category 1) would need an age group and a depiction, which decisions do not
record, so it maps to nothing rather than to a guess, and the element is left out.
"""

from __future__ import annotations

from pathlib import Path

from clearsight.categories import (
    CategoryScheme,
    CybertipClass,
    default_scheme,
    load_scheme,
)
from clearsight.errors import UserError
from clearsight.review.settings import ReviewSettings


def classification_of(scheme: CategoryScheme) -> dict[str, CybertipClass]:
    return {c.code: c.cybertip for c in scheme.categories if c.cybertip is not None}


def case_scheme(settings: ReviewSettings, scheme_file: Path | None = None) -> CategoryScheme:
    """The scheme the case's decisions use: the file given, or else the shipped one,
    provided that is the scheme the case's review settings name."""
    if scheme_file is not None:
        return load_scheme(scheme_file)
    shipped = default_scheme()
    wanted = settings.category_scheme
    if wanted != shipped.name:
        raise UserError(
            f"the case's decisions use the category scheme {wanted!r}: "
            "give its file with --category-scheme"
        )
    return shipped


def category_labels(settings: ReviewSettings) -> dict[str, str]:
    """Each category code with its label in the case's scheme ("0" is "Category 0 —
    not pertinent"), for a report to show; empty where the case uses a scheme other
    than the shipped one, whose file a report is not given (codes are shown then)."""
    shipped = default_scheme()
    if settings.category_scheme != shipped.name:
        return {}
    return {category.code: category.label for category in shipped.categories}
