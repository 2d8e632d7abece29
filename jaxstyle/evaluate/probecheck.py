"""Held-out check of a class probe on its own pool, tested the way the object map uses it.

The pool is split into folds by ImageNet class, so a held-out class is one the probe never
saw (as a user's cow is, when the pool holds six cattle); photos labelled by a group synset
(the Kaggle cats and dogs) are split by a hash of their id. A probe is trained on the other
folds (:meth:`jaxstyle.select.probes.probe.PoolFeatures.training_rows`), and on each held-out image
the map's region test is run (:func:`claims`): the image is *claimed* when one of its
object-like regions gives the class evidence of at least ``min_evidence`` (both heads call
it the class, the first with that probability; the map's refusal threshold by default).
The report gives, per group, the share of its images claimed: high for the class, low for
its look-alikes.
"""
from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np

from ..select import classes
from ..select.probes import probe as pb
from ..transfer.objectmap import MapConfig


def folds(pf: pb.PoolFeatures, k: int) -> np.ndarray:
    """Fold (N,) of each image: its ImageNet class modulo ``k``, or a hash of its id for a synset label."""
    n_classes = len(classes.table().classes)
    by_id = np.array([zlib.crc32(i.encode()) % k for i in pf.ids], np.int64)
    return np.where(pf.codes < n_classes, pf.codes % k, by_id)


def claims(probe: pb.Probe, pooled: np.ndarray, means: np.ndarray, min_evidence: float) -> bool:
    """The map's test on one image's regions, pooled and averaged (k, C) each: is the class's evidence
    (:meth:`jaxstyle.select.probes.probe.Probe.judge`) at least ``min_evidence`` in one of them?"""
    if not len(pooled):
        return False
    return bool(probe.judge(pooled, means)[1].max() >= min_evidence)


def cross_validate(pf: pb.PoolFeatures, groups: Sequence[str], k: int = 5, l2: float = 1e-3,
                   min_evidence: float = MapConfig.min_evidence) -> tuple[np.ndarray, np.ndarray]:
    """``(y, claimed)``: each image's group index, and whether the probe trained without its fold
    (both heads, :func:`jaxstyle.select.probes.probe.train`) claims it."""
    y_of = pb.group_of_codes(groups, classes.num_labels())
    fold = folds(pf, k)
    claimed = np.zeros(len(fold), bool)
    for f in range(k):
        probe = pb.train(pf.subset(fold != f), groups, l2)
        for i in np.nonzero(fold == f)[0]:
            claimed[i] = claims(probe, pf.regions[i], pf.region_means[i], min_evidence)
    return y_of[pf.codes], claimed


def report(groups: Sequence[str], y: np.ndarray, claimed: np.ndarray) -> str:
    """Markdown: per group, its images and the share claimed as ``groups[0]``."""
    rows = [f"| {g} | {int((y == i).sum())} | {claimed[y == i].mean():.3f} |" if (y == i).any() else f"| {g} | 0 | – |"
            for i, g in enumerate(groups)]
    return "\n".join([f"| group | images | claimed as {groups[0]} |", "|---|---:|---:|", *rows])
