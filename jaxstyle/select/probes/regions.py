"""Object-like regions of a ``conv5_4`` feature grid, and their pooled features.

Pure NumPy/OpenCV code shared by the object map (:mod:`jaxstyle.transfer.objectmap`), which
judges a photo's regions with the class probe, and the probe (:mod:`jaxstyle.select.probes.probe`),
which is trained on the same regions of the pool's images.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...errors import JaxstyleError

POOLINGS = ("max", "mean")


def objectness(f: np.ndarray) -> np.ndarray:
    """Summed activation per cell over its mean on the photo (SCDA): (h, w), > 1 = object-like."""
    a = np.asarray(f, np.float32).sum(-1)
    return a / (a.mean() + 1e-6)


def object_regions(obj: np.ndarray) -> tuple[int, np.ndarray]:
    """``(n, labels (h, w))``: the 8-connected components of ``obj > 1`` (label 0: the rest; n counts it)."""
    import cv2

    return cv2.connectedComponents((np.asarray(obj) > 1.0).astype(np.uint8), connectivity=8)


def pool(cells: np.ndarray, how: str) -> np.ndarray:
    """Cells (n, C) pooled over the first axis: ``max`` or ``mean``."""
    if how not in POOLINGS:
        raise JaxstyleError(f"unknown pooling {how!r} (one of {', '.join(POOLINGS)})")
    cells = np.asarray(cells, np.float32)
    return cells.max(0) if how == "max" else cells.mean(0)


def region_rows(grid: np.ndarray, lab: np.ndarray, labels: Sequence[int], how: str) -> tuple[np.ndarray, np.ndarray]:
    """``(pooled (k, C), means (k, C))`` of the regions ``labels`` of label map ``lab`` on a grid (h, w, C):
    each region's cells pooled (:func:`pool`, ``how``) and averaged, the two heads' inputs."""
    c = grid.shape[-1]
    cells = [grid[lab == i] for i in labels]
    return (np.array([pool(x, how) for x in cells], np.float32).reshape(-1, c),
            np.array([x.mean(0) for x in cells], np.float32).reshape(-1, c))


def image_rows(grid: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(whole (C,), regions (k, C), region means (k, C))`` of one ``conv5_4`` grid (h, w, C): the
    image pooled, and its object-like regions (:func:`object_regions`) pooled and averaged, the
    one with the most objectness first."""
    grid = np.asarray(grid, np.float32)
    obj = objectness(grid)
    n, lab = object_regions(obj)
    order = np.argsort(-np.bincount(lab.ravel(), weights=obj.ravel(), minlength=n)[1:], kind="stable") + 1
    regs, means = region_rows(grid, lab, order, how)
    return pool(grid.reshape(-1, grid.shape[-1]), how), regs, means
