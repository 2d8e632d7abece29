"""Animal patches: the 8-connected patches of a photo's cells that a cell head calls an animal.

The learned map (:mod:`jaxstyle.transfer.learnedmap`) joins the class's cells to the patch that holds them;
the patch judge (:mod:`jaxstyle.select.heads.patchjudge`) learns and judges whole patches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Patches:
    """The 8-connected patches of cells a cell head calls an animal (:func:`animal_patches`)."""

    labels: np.ndarray  # (h, w): patch label per cell, 0 the rest
    animal: np.ndarray  # (h, w): class + kin probability (another animal for an animal)
    share: np.ndarray   # (n + 1,): the class's share of each patch's animal probability (0: label 0, no class cell)


def animal_patches(probs: np.ndarray) -> Patches:
    """The patches of cells whose class + kin probability (``probs`` (h, w, K) over a cell head's groups:
    the class first, its kin second, another animal for an animal) is >= 0.5, and the class's share of
    each: 0 for a patch without a cell the head calls the class."""
    from scipy import ndimage

    pc = probs[..., 0]
    pa = pc + probs[..., 1]
    lab, n = ndimage.label(pa >= 0.5, structure=np.ones((3, 3)))
    ids = np.arange(1, n + 1)
    share = ndimage.sum(pc, lab, ids) / np.maximum(ndimage.sum(pa, lab, ids), 1e-6)
    share = np.where(ndimage.maximum(pc, lab, ids) >= 0.5, share, 0.0) if n else share
    return Patches(lab, pa, np.concatenate([[0.0], share]))
