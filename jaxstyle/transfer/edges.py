"""Soft edges of masks (H, W) in [0, 1]: the object map's, blurred across its outline, and a
user mask's, faded inside it. ``feather`` is the edge's width as a share of the long side.
"""
from __future__ import annotations

import numpy as np


def edge_radius(shape, feather: float) -> int:
    """``feather`` of the long side of ``shape``, in whole pixels (at least 1)."""
    return max(1, int(round(feather * max(shape[:2]))))


def blurred_edge(m: np.ndarray, feather: float) -> np.ndarray:
    """``m`` (H, W) blurred by a Gaussian ``2 * feather`` of the long side across (OpenCV's sigma for it)."""
    import cv2

    k = 2 * edge_radius(m.shape, feather) + 1
    return np.clip(cv2.GaussianBlur(np.asarray(m, np.float32), (k, k), 0), 0.0, 1.0)


def inner_edge(m: np.ndarray, feather: float) -> np.ndarray:
    """``m`` (H, W) in [0, 1] with a soft edge that lies inside it: eroded, blurred, never above ``m``.

    For a user's mask: the composite fades the style out towards the outline, and nothing
    outside the mask changes.
    """
    import cv2

    r = edge_radius(m.shape, feather)
    m = np.asarray(m, np.float32)
    inner = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return np.minimum(m, blurred_edge(inner, feather))
