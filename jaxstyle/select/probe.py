"""Class probe: is a region of a photo the class, or one of its look-alikes?

A softmax regression over WordNet groups on VGG-19 ``conv5_4`` features averaged over an
image, trained on the scoring pool (one row per image, the scoring preprocessing). Groups:
the target class first, then its look-alikes in a fixed order (dog, cat, other carnivores,
other mammals, birds, other animals) minus the target, then everything else. The object
map (:mod:`jaxstyle.transfer.objectmap`) averages the same features over each object-like region
of a photo and keeps the regions where the class beats every other group, so a cat, a
goat or a swan is not taken for a dog. ``scripts/train_probe.py`` makes the shipped ones.

Saved as a flat ``.npz`` (``W`` (C, K), ``b`` (K,), ``groups``, ``meta`` JSON) read with
``allow_pickle=False``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import JaxstyleError

LAYER = "conv5_4"
CONFUSERS = ("dog", "cat", "carnivore", "mammal", "bird", "animal")  # the look-alikes, nearest first
OTHER = "other"
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "probes"


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (max-shifted)."""
    p = np.exp(z - z.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


@dataclass(frozen=True)
class Probe:
    """Softmax over ``groups`` (the target is ``groups[0]``) of features ``f``: logits = f @ W + b."""

    W: np.ndarray
    b: np.ndarray
    groups: tuple[str, ...]
    meta: Mapping

    def probs(self, f: np.ndarray) -> np.ndarray:
        """Group probabilities (..., K) of features ``f`` (..., C)."""
        return softmax(np.asarray(f, np.float32) @ np.asarray(self.W, np.float32) + np.asarray(self.b, np.float32))

    @property
    def target(self) -> str:
        return self.groups[0]


def group_names(target: str) -> tuple[str, ...]:
    """The probe's groups for ``target``: the target, its confusers, then ``other``."""
    return tuple(dict.fromkeys((target,) + CONFUSERS)) + (OTHER,)


def assign(members: Mapping[str, set], groups: Sequence[str], class_index: int, synsets: set[str]) -> int:
    """Index of the first group an image belongs to (by ImageNet class or by any of its synsets)."""
    for i, g in enumerate(groups[:-1]):
        if class_index in members.get(g, ()) or g in synsets:
            return i
    return len(groups) - 1


def group_of_codes(groups: Sequence[str], n_codes: int) -> np.ndarray:
    """Per pool label code (:func:`jaxstyle.select.classes.label_code`): the index of its probe group.

    An ImageNet class belongs to a group when the group's classes hold it; a group label
    (a Kaggle ``n02121808`` cat) when it is that group or below it. First match wins.
    """
    from . import classes

    t = classes.table()
    by_name = {g.name: g for g in t.groups}
    out = np.full(n_codes, len(groups) - 1, np.int64)
    for code in range(n_codes - 1, -1, -1):
        if code < len(t.classes):
            hit = [i for i, g in enumerate(groups[:-1]) if g in by_name and code in by_name[g].classes]
        else:
            lab = t.groups[code - len(t.classes)]
            anc = {lab.wnid, *lab.hypernyms}
            hit = [i for i, g in enumerate(groups[:-1]) if g in by_name and by_name[g].wnid in anc]
        if hit:
            out[code] = hit[0]
    return out


def pooled_features(params: Mapping, batches) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(ids, label codes, features (N, C))``: ``conv5_4`` averaged per image over pool batches.

    One compiled program: the last, smaller batch is padded to the first one's size.
    """
    import jax
    import jax.numpy as jnp

    from ..model import vgg

    fn = jax.jit(lambda p, x: jnp.mean(vgg.apply(p, vgg.preprocess(x), (LAYER,))[LAYER], axis=(1, 2)))
    ids, codes, feats, size = [], [], [], None
    for b_ids, labels, images, *_ in batches:
        if not len(b_ids):
            continue
        size = size or len(b_ids)
        x = np.zeros((size,) + images.shape[1:], np.float32)
        x[: len(b_ids)] = images
        feats.append(np.asarray(fn(params, jnp.asarray(x)))[: len(b_ids)])
        ids += list(b_ids)
        codes.append(np.asarray(labels))
    if not ids:
        raise JaxstyleError("the pool gave no image")
    return ids, np.concatenate(codes), np.concatenate(feats)


def fit(X: np.ndarray, y: np.ndarray, groups: Sequence[str], l2: float = 1e-3, meta: Mapping | None = None) -> Probe:
    """Class-balanced softmax regression on pooled features ``X`` (N, C) with group labels ``y``."""
    import scipy.optimize

    k = len(groups)
    counts = np.bincount(y, minlength=k)
    if counts[0] == 0:
        raise JaxstyleError(f"no image of {groups[0]!r} in the pool: cannot train its probe")
    w = np.where(counts[y] > 0, 1.0 / np.maximum(counts[y], 1), 0.0)
    mu, sd = X.mean(0), X.std(0) + 1e-3
    Z = (X - mu) / sd
    onehot = np.eye(k)[y]
    n, c = Z.shape

    def loss_grad(theta):
        W, b = theta[: c * k].reshape(c, k), theta[c * k:]
        p = softmax(Z @ W + b)
        loss = -np.sum(w * np.log(p[np.arange(n), y] + 1e-12)) / w.sum() + l2 * np.sum(W * W)
        g = (p - onehot) * (w / w.sum())[:, None]
        return loss, np.concatenate([(Z.T @ g + 2 * l2 * W).ravel(), g.sum(0)])

    r = scipy.optimize.minimize(loss_grad, np.zeros(c * k + k), jac=True, method="L-BFGS-B",
                                options={"maxiter": 500})
    W, b = r.x[: c * k].reshape(c, k), r.x[c * k:]
    W_raw = (W / sd[:, None]).astype(np.float32)  # logits on raw features: f @ W_raw + b_raw
    b_raw = (b - mu @ (W / sd[:, None])).astype(np.float32)
    info = {"layer": LAYER, "l2": l2, "counts": {g: int(n_) for g, n_ in zip(groups, counts)}, **(meta or {})}
    return Probe(W_raw, b_raw, tuple(groups), info)


def save(probe: Probe, path: str | Path) -> Path:
    path = Path(path)
    with open(path, "wb") as fh:  # a file handle: np.savez would append ".npz" to a temporary name
        np.savez(fh, W=probe.W, b=probe.b, groups=np.array(probe.groups), meta=np.array(json.dumps(probe.meta)))
    return path


def load(path: str | Path) -> Probe:
    try:
        with np.load(path, allow_pickle=False) as z:
            W, b, groups, meta = z["W"], z["b"], tuple(str(g) for g in z["groups"]), json.loads(str(z["meta"]))
    except (OSError, KeyError, ValueError) as e:
        raise JaxstyleError(f"{path}: not a jaxstyle probe ({type(e).__name__}: {e})") from None
    if W.ndim != 2 or W.shape[1] != len(groups) or b.shape != (len(groups),):
        raise JaxstyleError(f"{path}: probe shapes disagree: W {W.shape}, b {b.shape}, {len(groups)} groups")
    return Probe(W, b, groups, meta)


def shipped(name: str, data_dir: Path | None = None) -> Probe | None:
    """The shipped probe for class ``name`` (``data/probes/<name>.npz``), or None."""
    path = (DATA_DIR if data_dir is None else Path(data_dir)) / f"{name.strip().lower()}.npz"
    return load(path) if path.is_file() else None
