"""The map's edge from the photo: a trimap around a binary mask, and pymatting's alpha in its unknown band.

The finish's mask is sure object well inside its outline and sure background well outside it; in
between (``band`` of the long side on each side of the outline) the alpha of a natural-image matting
method (closed-form matting, Levin et al. 2008, by default) decides, so the soft edge follows fur, ears
and the photo's own boundary instead of a Gaussian ramp across the mask's outline.

pymatting compiles its numba kernels when it is first imported (about 45 s on two cores) and caches
them beside its sources, or in numba's user cache when its install is read-only; it is imported only
when a matte is asked for.
"""
from __future__ import annotations

import numpy as np

from ..errors import JaxstyleError
from .edges import edge_radius

# pymatting's estimators the finish can use (``MapConfig.matte``): closed-form, KNN, large-kernel, random-walk
ESTIMATORS = ("cf", "knn", "lkm", "rw")


def trimap(mask: np.ndarray, band: float) -> np.ndarray:
    """Trimap (H, W) of a binary ``mask``: 1 where the mask eroded by ``band`` of the long side is, 0 outside
    the mask dilated by it, 0.5 (unknown) between."""
    import cv2

    r = edge_radius(mask.shape, band)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    m = (np.asarray(mask) > 0).astype(np.uint8)
    tri = np.full(m.shape, 0.5)
    tri[cv2.erode(m, disk, borderType=cv2.BORDER_REPLICATE) > 0] = 1.0
    tri[cv2.dilate(m, disk, borderType=cv2.BORDER_REPLICATE) == 0] = 0.0
    return tri


def alpha(rgb: np.ndarray, tri: np.ndarray, estimator: str = "cf") -> np.ndarray:
    """pymatting's alpha (H, W) in [0, 1] of ``rgb`` (H, W, 3) in [0, 255] for trimap ``tri`` (H, W).

    Only the box around the unknown pixels (and a margin for the estimator's windows) is matted;
    known pixels keep the trimap's value. A trimap without sure object or sure background
    (nothing to learn the colours from) is returned as it is.
    """
    rgb, tri = np.asarray(rgb), np.asarray(tri, np.float64)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[:2] != tri.shape:
        raise JaxstyleError(f"matte: photo {rgb.shape} and trimap {tri.shape} do not match (need (H, W, 3) and (H, W))")
    if estimator not in ESTIMATORS:
        raise JaxstyleError(f"matte: unknown estimator {estimator!r} (one of {', '.join(ESTIMATORS)})")
    unknown = (tri > 0) & (tri < 1)
    if not unknown.any() or not (tri == 1).any() or not (tri == 0).any():
        return tri.astype(np.float32)
    ys, xs = np.nonzero(unknown)
    pad = 4
    y0, y1 = max(0, ys.min() - pad), min(tri.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(tri.shape[1], xs.max() + pad + 1)
    img = np.clip(np.asarray(rgb[y0:y1, x0:x1], np.float64) / 255.0, 0.0, 1.0)
    out = tri.copy()
    out[y0:y1, x0:x1] = _estimate(img, tri[y0:y1, x0:x1], estimator)
    out[~unknown] = tri[~unknown]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _estimate(img: np.ndarray, tri: np.ndarray, estimator: str) -> np.ndarray:
    """pymatting's ``estimate_alpha_<estimator>`` on a crop (its known pixels may be all one kind)."""
    if not (tri == 1).any() or not (tri == 0).any():
        return tri
    try:
        import pymatting
    except ImportError:
        raise JaxstyleError("the matted edge needs pymatting (pip install pymatting)") from None
    except RuntimeError as e:  # numba found no writable cache folder (read-only install and home)
        raise JaxstyleError(f"pymatting could not cache its compiled code ({e}); "
                            "set NUMBA_CACHE_DIR to a writable folder") from None
    fn = {"cf": pymatting.estimate_alpha_cf, "knn": pymatting.estimate_alpha_knn,
          "lkm": pymatting.estimate_alpha_lkm, "rw": pymatting.estimate_alpha_rw}[estimator]
    return fn(np.ascontiguousarray(img), np.ascontiguousarray(tri))


def matted(rgb: np.ndarray, soft: np.ndarray, band: float, estimator: str = "cf") -> np.ndarray:
    """The map ``soft`` (H, W) in [0, 1] with its edge matted on ``rgb``: the trimap of ``soft >= 0.5``
    (:func:`trimap`) and its :func:`alpha`. A map whose trimap has no sure object or no sure background
    (empty, full, or thinner than the band) is returned as it is."""
    tri = trimap(np.asarray(soft) >= 0.5, band)
    if not (tri == 1).any() or not (tri == 0).any():
        return np.asarray(soft, np.float32)
    return alpha(rgb, tri, estimator)
