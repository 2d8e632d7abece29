"""Patch judge: is an animal patch the cell head found the class's animal, another animal or no animal?

The cell head (:mod:`jaxstyle.select.heads.cellhead`) reads one cell at a time; a cow's flank or a
horse's head can look like a dog there. The learned map joins the head's cells into animal
patches (:func:`jaxstyle.select.heads.patches.animal_patches`), and this judge reads each patch
whole: its ``conv5_4`` cells max- and mean-pooled and its normalised hypercolumns mean-pooled
(:func:`rows`), the means weighted by the cell's animal probability. A small MLP over
:data:`GROUPS` (the class, another animal, something else), fitted with :func:`cellhead.fit`.

It is trained on image labels only (:func:`labels`) on the pools' patches as :class:`PatchRows`
(:func:`jaxstyle.train.patchpass.extract`): in an image of the class, the patch with
the most class probability is the class; every patch holding a class cell in an image of
another animal is ``animal``, in an image of a person or a thing ``other``. So the other animals
of the pools (cows, horses and sheep among them) teach it what is not the class. It is saved
inside the cell head's ``.npz`` under ``judge/`` (:func:`cellhead.save`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from ...errors import JaxstyleError
from . import cellhead

GROUPS = ("animal", "other")
LAYOUT = ("conv5_4 max", "conv5_4 mean", "hypercolumn mean")


def group_names(target: str, kin: str = GROUPS[0]) -> tuple[str, ...]:
    """The judge's groups for ``target``: the target, its kin (the cell head's second group), then "other"."""
    return (target, kin) + GROUPS[1:]


def rows(f: np.ndarray, hn: np.ndarray, labels: np.ndarray, animal: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """One row per patch label in ``ids`` (k, 2 C_f + C_h) of a photo's ``conv5_4`` grid ``f`` (h, w, C_f) and
    normalised hypercolumns ``hn`` (h, w, C_h, :func:`cellhead.normalise`, what the head reads): :data:`LAYOUT`,
    the means weighted by ``animal`` (h, w)."""
    f = np.asarray(f, np.float32)
    out = []
    for i in ids:
        m = labels == i
        w = animal[m][:, None].astype(np.float32)
        w = w / max(float(w.sum()), 1e-6)
        out.append(np.concatenate([f[m].max(0), (f[m] * w).sum(0), (hn[m] * w).sum(0)]))
    return np.array(out, np.float32).reshape(len(out), 2 * f.shape[-1] + hn.shape[-1])


def kept(judge: cellhead.CellHead, r: np.ndarray, min_p: float = 0.0) -> np.ndarray:
    """Per row of :func:`rows`: the judge's class probability is at least ``min_p`` (0: the judge's own,
    ``meta["min_p"]``, :func:`cv_threshold`)."""
    t = min_p or float(judge.meta.get("min_p", 0.5))
    return judge.probs(r)[:, 0] >= t if len(r) else np.zeros(0, bool)


@dataclass(frozen=True)
class PatchRows:
    """The animal patches of pool images under one class's cell head: a row each and what labels it."""

    ids: list[str]       # per image
    kinds: list[int]     # per image: :func:`cellpool.kind` for the head's class
    image: np.ndarray    # (n,) index into ids
    feats: np.ndarray    # (n, C) :func:`rows`, float16
    mass: np.ndarray     # (n,) the patch's summed class probability
    dims: tuple[int, ...]

    def save(self, path) -> None:
        from ... import artifact

        artifact.write(path, {"ids": np.array(self.ids), "kinds": np.array(self.kinds), "image": self.image,
                              "feats": self.feats, "mass": self.mass, "dims": np.array(self.dims)}, None)

    @classmethod
    def load(cls, path) -> "PatchRows":
        from ... import artifact

        z, _ = artifact.load(path, "patch cache file")
        return cls([str(s) for s in z["ids"]], [int(k) for k in z["kinds"]], z["image"], z["feats"], z["mass"],
                   tuple(int(d) for d in z["dims"]))


def concat(parts: Sequence[PatchRows]) -> PatchRows:
    """One :class:`PatchRows` of ``parts`` (same ``dims``; image ids kept distinct by their offsets)."""
    if len({p.dims for p in parts}) > 1:
        raise JaxstyleError(f"patch rows of different layouts: {sorted({p.dims for p in parts})}")
    offs = np.cumsum([0] + [len(p.ids) for p in parts])
    return PatchRows([i for p in parts for i in p.ids], [k for p in parts for k in p.kinds],
                     np.concatenate([p.image + o for p, o in zip(parts, offs)]),
                     np.concatenate([p.feats for p in parts]), np.concatenate([p.mass for p in parts]), parts[0].dims)


def without(pr: PatchRows, drop: Callable[[str], bool]) -> PatchRows:
    """``pr`` less the patches of every image whose id ``drop`` names (the image list itself is kept)."""
    keep = ~np.array([drop(i) for i in pr.ids], bool)[pr.image] if len(pr.image) else np.zeros(0, bool)
    return dataclasses.replace(pr, image=pr.image[keep], feats=pr.feats[keep], mass=pr.mass[keep])


def labels(pr: PatchRows) -> np.ndarray:
    """Per patch its group (:func:`group_names` order), -1 unlabelled: an image of the class gives the class
    to its patch with the most class probability (its other patches stay unlabelled); an image of another
    animal gives ``animal`` to every patch, of a person or thing ``other``."""
    k = np.asarray(pr.kinds)[pr.image]
    y = np.where(k == 1, 1, 2)
    y[k == 0] = -1
    for i in np.unique(pr.image[k == 0]):
        j = np.nonzero(pr.image == i)[0]
        y[j[np.argmax(pr.mass[j])]] = 0
    return y


def cv_threshold(X: np.ndarray, y: np.ndarray, image: np.ndarray, groups: Sequence[str], key, hidden: int,
                 steps: int, folds: int = 5) -> tuple[float, dict]:
    """The class probability the map asks of a patch: the threshold (0.05 to 0.95) with the most class
    patches kept less other animals' patches kept (Youden's J) when each of ``folds`` image folds is
    judged by a judge fitted on the others: chosen on the pools, never on a masked photo."""
    import jax

    k_fold, key = jax.random.split(key)
    fold = np.asarray(jax.random.randint(k_fold, (int(image.max()) + 1,), 0, folds))[image]
    p = np.zeros(len(y), np.float32)
    for k, kk in enumerate(jax.random.split(key, folds)):
        tr, te = fold != k, fold == k
        if (y[tr] == 0).any() and te.any():
            p[te] = cellhead.fit(X[tr], y[tr], groups, kk, hidden, steps, l2=1e-3).probs(X[te])[:, 0]
    ts = np.round(np.arange(0.05, 0.951, 0.05), 2)
    kept = np.array([[(p[y == g] >= t).mean() if (y == g).any() else 0.0 for g in (0, 1)] for t in ts])
    best = int(np.argmax(kept[:, 0] - kept[:, 1]))
    return float(ts[best]), {"class_kept": round(float(kept[best, 0]), 3),
                             "animal_kept": round(float(kept[best, 1]), 3), "folds": folds}


def train(pr: PatchRows, target: str, key, hidden: int = 16, steps: int = 400, meta: Mapping | None = None,
          kin: str = GROUPS[0]) -> cellhead.CellHead:
    """The judge of class ``target`` on ``pr`` (:func:`labels`, :func:`cellhead.fit`), with its threshold
    (:func:`cv_threshold`) in ``meta["min_p"]``; ``kin`` names its second group (the head's)."""
    import jax

    y = labels(pr)
    m = y >= 0
    X = pr.feats[m].astype(np.float32)
    k_fit, k_cv = jax.random.split(key)
    groups = group_names(target, kin)
    min_p, cv = cv_threshold(X, y[m], pr.image[m], groups, k_cv, hidden, steps)
    info = {"dims": list(pr.dims), "layout": list(LAYOUT), "images": len(pr.ids), "min_p": min_p, "cv": cv,
            **(meta or {})}
    return cellhead.fit(X, y[m], groups, k_fit, hidden, steps, l2=1e-3, meta=info)
