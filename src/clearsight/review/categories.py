"""The category scheme, under the review package's name for it.

The scheme and the decision vocabulary live in :mod:`clearsight.categories`, a leaf
module that the case store imports too (the store must not depend on review). The
review screens, the exports and the server keep importing them from here.
"""

from __future__ import annotations

from clearsight.categories import (
    DEFAULT_SCHEME,
    AgeGroup,
    Category,
    CategoryScheme,
    CybertipClass,
    Depiction,
    HumanOrigin,
    VictimIdentified,
    cybertip_class,
    default_scheme,
    load_scheme,
)

__all__ = [
    "DEFAULT_SCHEME",
    "AgeGroup",
    "Category",
    "CategoryScheme",
    "CybertipClass",
    "Depiction",
    "HumanOrigin",
    "VictimIdentified",
    "cybertip_class",
    "default_scheme",
    "load_scheme",
]
