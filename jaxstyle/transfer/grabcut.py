"""The maps' finish: OpenCV GrabCut (Rother et al. 2004) from seed labels at a working size, the soft
edge of its result, and the map redone with a user's strokes (:func:`refine`, the web app's)."""
from __future__ import annotations

import numpy as np

from .edges import blurred_edge
from .mapconfig import MapConfig
from .matte import matted


def finish(rgb: np.ndarray, gm: np.ndarray, iters: int, seed: int = 0) -> np.ndarray:
    """GrabCut from labels ``gm`` on ``rgb`` (same size): float (h, w) in {0, 1}.

    GrabCut starts its colour models from k-means on OpenCV's per-thread random generator;
    it is seeded with ``seed`` first, so a photo's map does not depend on what ran before.
    """
    import cv2

    fg = (gm == cv2.GC_FGD) | (gm == cv2.GC_PR_FGD)
    if not fg.any() or fg.all():
        return fg.astype(np.float32)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    gm = gm.copy()
    cv2.setRNGSeed(seed)
    cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), gm, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
    return ((gm == cv2.GC_FGD) | (gm == cv2.GC_PR_FGD)).astype(np.float32)


def resized(a: np.ndarray, hw: tuple[int, int], nearest: bool = False) -> np.ndarray:
    import cv2

    return cv2.resize(np.asarray(a, np.float32), (hw[1], hw[0]),
                      interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


def grabcut_image(rgb: np.ndarray, side: int) -> np.ndarray:
    """``rgb`` (H, W, 3) as uint8 at long side ``side`` (each side at least 8 px): what GrabCut works on."""
    import cv2

    H, W = rgb.shape[:2]
    s = side / max(H, W)
    hw = (max(8, round(H * s)), max(8, round(W * s)))
    return cv2.resize(np.clip(rgb, 0, 255).astype(np.uint8), (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def refine(rgb: np.ndarray, current: np.ndarray, add: np.ndarray | None = None, remove: np.ndarray | None = None,
           cfg: MapConfig = MapConfig(), reach: float = 0.05, band: float = 0.02) -> np.ndarray:
    """The map of ``rgb`` (H, W, 3) redone with user strokes: soft (H, W) in [0, 1].

    The finish (:func:`finish`, GrabCut at ``grabcut_side``) seeded from ``current`` (a map
    (H, W)) and the strokes (H, W bool): ``add`` pixels sure object, ``remove`` pixels sure
    background (``add`` wins where they cross). Elsewhere the map's cells are probable object
    (>= 0.5) or background, and sure where they lie further than ``reach`` (a share of the
    long side) from a stroke that could change them and further than ``band`` from the map's
    edge, so a stroke changes the map near it and GrabCut cannot drop the rest. Upsampled with the automatic
    map's soft edge (blurred, or matted on ``rgb`` with ``cfg.edge == "matte"``); the stroke pixels are then
    set exactly (1 under ``add``, 0 under ``remove``).
    """
    import cv2

    H, W = rgb.shape[:2]
    small = grabcut_image(rgb, cfg.grabcut_side)
    hw = small.shape[:2]
    r = max(1, int(round(reach * max(hw))))
    obj = resized(current, hw) >= 0.5
    strokes = {v: (cv2.resize(np.asarray(m, np.float32), (hw[1], hw[0]), interpolation=cv2.INTER_AREA) > 0)
               for m, v in ((remove, cv2.GC_BGD), (add, cv2.GC_FGD)) if m is not None and np.any(m)}
    gm = np.where(obj, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
    edge = obj != cv2.erode(obj.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    near_edge = _within(edge, max(1, int(round(band * max(hw)))))
    gm[near_edge] = np.where(obj, cv2.GC_PR_FGD, cv2.GC_PR_BGD)[near_edge]
    for v, m in strokes.items():  # near a remove stroke the object is only probable, near an add the background
        near = _within(m, r) & (obj if v == cv2.GC_BGD else ~obj)
        gm[near] = cv2.GC_PR_FGD if v == cv2.GC_BGD else cv2.GC_PR_BGD
    for v in (cv2.GC_BGD, cv2.GC_FGD):
        if v in strokes:
            gm[strokes[v]] = v
    out = soft_edge(finish(small, gm, cfg.grabcut_iters, cfg.seed), (H, W), cfg)
    if cfg.edge == "matte":
        out = matted(rgb, out, cfg.band, cfg.matte)
    for v in (cv2.GC_BGD, cv2.GC_FGD):
        if v in strokes:
            out[resized(strokes[v], (H, W), nearest=True) > 0.5] = 1.0 if v == cv2.GC_FGD else 0.0
    return out


def _within(m: np.ndarray, r: int) -> np.ndarray:
    """Pixels at most ``r`` px from a true pixel of ``m`` (bool (h, w))."""
    import cv2

    if not m.any():
        return m
    return cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3) <= r


def soft_edge(m: np.ndarray, hw: tuple[int, int], cfg: MapConfig) -> np.ndarray:
    """A finished mask upsampled to ``hw`` with a soft edge ``feather`` of the long side wide."""
    return blurred_edge(resized(m, hw), cfg.feather)
