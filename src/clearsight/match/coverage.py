"""How much of a picture the local features that confirmed a match cover.

A match confirmed by local features is shown with the agreeing features and the share
of the picture they span: 200 features bunched in one corner say less than 200 spread
over the whole frame. The share is the convex hull of the agreeing features over the
convex hull of all the item's features, not over its frame: a lookup without a case
knows the features but not the size of the picture they came from, and ORB finds no
keypoint in a flat margin, so the frame would understate a full match.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt


def feature_coverage(
    agreeing: npt.NDArray[np.float32] | None, everything: npt.NDArray[np.float32]
) -> float:
    """The share (0-1, two decimals) of the area ``everything`` spans that ``agreeing``
    spans; 0 where either is too few points to span an area."""
    whole = _hull_area(everything)
    if agreeing is None or whole <= 0:
        return 0.0
    return round(min(1.0, _hull_area(agreeing) / whole), 2)


def _hull_area(points: npt.NDArray[np.float32]) -> float:
    if len(points) < 3:
        return 0.0
    hull = cv2.convexHull(np.ascontiguousarray(points, dtype=np.float32))
    return float(cv2.contourArea(hull))
