"""Class probe: is a region of a photo the class, or one of its look-alikes?

Softmax regressions over WordNet groups on VGG-19 ``conv5_4`` features, trained on the
scoring pool (the scoring preprocessing). Groups: the target class first, then its
look-alikes in a fixed order (dog, cat, other carnivores, other mammals, birds, other
animals) minus the target, then everything else. Two heads over the same groups:

- the first reads features **max-pooled** over cells; its rows are each pool image whole
  and again its strongest object-like region, as the object map sees an object. The max
  of a region is the strongest response of each filter in it (a dog's face filters fire
  or do not); a mean mixes in coat and ground, and grows with the region's share of
  strong cells, where a probe on image means is overconfident;
- the mean head reads means; its rows are image means. It reads single cells of a grid
  and a region's mean.

The object map (:mod:`jaxstyle.transfer.objectmap`) judges each object-like region of a photo
with both (:meth:`Probe.judge`): kept when either head calls it the class, evidence that the
class is in the photo only where both do, so a cat, a goat or a swan is not taken for a
dog. ``scripts/train_probe.py`` makes the shipped ones. A probe saved without a ``pooling``
field was trained on means and has one head.

Saved as a flat ``.npz`` (``W`` (C, K), ``b`` (K,), ``groups``, ``meta`` JSON, and the mean
head's ``means/W``, ``means/b``), a :mod:`jaxstyle.artifact` read with ``allow_pickle=False``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ... import artifact
from ...errors import JaxstyleError
from .regions import image_rows, pool

LAYER = "conv5_4"
CONFUSERS = ("dog", "cat", "carnivore", "mammal", "bird", "animal", "person")  # the look-alikes, nearest first
OTHER = "other"
DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "probes"


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (max-shifted)."""
    p = np.exp(z - z.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


def _probs(f: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return softmax(np.asarray(f, np.float32) @ np.asarray(W, np.float32) + np.asarray(b, np.float32))


@dataclass(frozen=True)
class Probe:
    """Softmax over ``groups`` (the target is ``groups[0]``) of pooled features ``f``: logits = f @ W + b.

    ``means`` is a second head, ``(W, b)`` over the same groups, on mean-pooled features
    (:meth:`mean_probs`): trained on image means, it reads single cells of a feature grid
    (whose scale a mean has) and a region's mean. None: the first head serves both.
    """

    W: np.ndarray
    b: np.ndarray
    groups: tuple[str, ...]
    meta: Mapping
    means: tuple[np.ndarray, np.ndarray] | None = None

    def probs(self, f: np.ndarray) -> np.ndarray:
        """Group probabilities (..., K) of pooled features ``f`` (..., C) (:meth:`pool`)."""
        return _probs(f, self.W, self.b)

    def mean_probs(self, f: np.ndarray) -> np.ndarray:
        """Group probabilities (..., K) of mean-pooled features or single cells ``f`` (..., C)."""
        return _probs(f, *self.means) if self.means is not None else self.probs(f)

    def judge(self, pooled: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regions, by their pooled (:meth:`pool`) and mean features (k, C): ``(kept (k,), evidence (k,))``.

        Kept: the class beats every other group for either head (a body without its face is
        often the class for the mean head only). Evidence: the first head's class probability
        where both heads call it the class (a look-alike passes one at most), else 0.
        """
        p = self.probs(pooled)
        first, second = p.argmax(-1) == 0, self.mean_probs(mean).argmax(-1) == 0
        return first | second, np.where(first & second, p[..., 0], 0.0)

    @property
    def pooling(self) -> str:
        """How cells are pooled into one feature (:func:`pool`); probes without the field were trained on means."""
        return str(self.meta.get("pooling", "mean"))

    def pool(self, cells: np.ndarray) -> np.ndarray:
        """One feature (C,) of cells (n, C), pooled the way this probe's training rows were."""
        return pool(cells, self.pooling)

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
    from .. import classes

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


@dataclass(frozen=True)
class PoolFeatures:
    """A pool as the probe sees it: each image, and each of its object-like regions, pooled by ``how``."""

    ids: list[str]
    codes: np.ndarray          # (N,) label codes (:func:`jaxstyle.select.classes.label_code`)
    image: np.ndarray          # (N, C): the whole image pooled
    regions: list[np.ndarray]  # per image (k, C): the object map's regions of it pooled, strongest first
    means: np.ndarray          # (N, C): the whole image's mean (the mean head's rows)
    region_means: list[np.ndarray]  # per image (k, C): the same regions' means
    how: str = "max"

    def training_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """``(X, codes)`` of the region head. ``max``: every image whole, and again as its strongest
        region (the map's view of an object; the whole image again without a region). ``mean``
        (the probe before max pooling): every image whole."""
        if self.how == "mean":
            return self.image, self.codes
        strongest = np.stack([r[0] if len(r) else x for r, x in zip(self.regions, self.image)])
        return np.concatenate([self.image, strongest]), np.concatenate([self.codes, self.codes])

    def subset(self, keep: np.ndarray) -> "PoolFeatures":
        """The images where ``keep`` (N,) bool is true."""
        idx = np.nonzero(keep)[0]
        return replace(self, ids=[self.ids[i] for i in idx], codes=self.codes[idx], image=self.image[idx],
                       regions=[self.regions[i] for i in idx], means=self.means[idx],
                       region_means=[self.region_means[i] for i in idx])


def pooled_features(params: Mapping, batches, how: str = "max") -> PoolFeatures:
    """Each pool image's ``conv5_4`` pooled (``how``), whole and per region (:func:`image_rows`).

    One compiled program: the last, smaller batch is padded to the first one's size.
    """
    import jax
    import jax.numpy as jnp

    from ...model import vgg

    fn = jax.jit(lambda p, x: vgg.apply(p, vgg.preprocess(x), (LAYER,))[LAYER])
    ids, codes, whole, regions, means, region_means, size = [], [], [], [], [], [], None
    for b_ids, labels, images, *_ in batches:
        if not len(b_ids):
            continue
        size = size or len(b_ids)
        x = np.zeros((size,) + images.shape[1:], np.float32)
        x[: len(b_ids)] = images
        for grid in np.asarray(fn(params, jnp.asarray(x)))[: len(b_ids)]:
            w, r, rm = image_rows(grid, how)
            whole.append(w)
            regions.append(r)
            means.append(grid.mean((0, 1)))
            region_means.append(rm)
        ids += list(b_ids)
        codes.append(np.asarray(labels))
    if not ids:
        raise JaxstyleError("the pool gave no image")
    return PoolFeatures(ids, np.concatenate(codes), np.stack(whole), regions, np.stack(means), region_means, how)


def concat(parts: Sequence[PoolFeatures]) -> PoolFeatures:
    """Several pools' features as one (the same pooling)."""
    if len({p.how for p in parts}) != 1:
        raise JaxstyleError("pool features pooled in different ways cannot be joined")
    return PoolFeatures([i for p in parts for i in p.ids], np.concatenate([p.codes for p in parts]),
                        np.concatenate([p.image for p in parts]), [r for p in parts for r in p.regions],
                        np.concatenate([p.means for p in parts]), [r for p in parts for r in p.region_means],
                        parts[0].how)


def save_features(pf: PoolFeatures, path: str | Path) -> Path:
    """Keep a pool's features (:func:`pooled_features`) for another training run (``jaxstyle probe --features``)."""
    n = np.array([len(r) for r in pf.regions], np.int64)
    c = pf.image.shape[1]
    cat = lambda xs: np.concatenate([np.asarray(x, np.float32).reshape(-1, c) for x in xs])  # noqa: E731
    artifact.write(path, {"ids": np.array(pf.ids), "codes": pf.codes, "image": pf.image, "means": pf.means, "n": n,
                          "regions": cat(pf.regions), "region_means": cat(pf.region_means),
                          "how": np.array(pf.how)}, None)
    return Path(path)


def load_features(path: str | Path) -> PoolFeatures:
    z, _ = artifact.load(path, "saved pool features file")
    try:
        cut = np.cumsum(z["n"])[:-1]
        return PoolFeatures([str(i) for i in z["ids"]], z["codes"], z["image"], np.split(z["regions"], cut),
                            z["means"], np.split(z["region_means"], cut), str(z["how"]))
    except KeyError as e:
        raise JaxstyleError(f"{path}: not a saved pool features file (no {e.args[0]})") from None


def fit(X: np.ndarray, y: np.ndarray, groups: Sequence[str], l2: float = 1e-3, meta: Mapping | None = None,
        how: str = "max") -> Probe:
    """Class-balanced softmax regression on features ``X`` (N, C), pooled by ``how``, with group labels ``y``."""
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
    info = {"layer": LAYER, "pooling": how, "l2": l2, "counts": {g: int(n_) for g, n_ in zip(groups, counts)}, **(meta or {})}
    return Probe(W_raw, b_raw, tuple(groups), info)


def train(pf: PoolFeatures, groups: Sequence[str], l2: float = 1e-3, meta: Mapping | None = None) -> Probe:
    """The probe for ``groups`` on pool features ``pf``: its first head on :meth:`PoolFeatures.training_rows`
    and, when those are max-pooled, a mean head on the image means."""
    from .. import classes

    y_of = group_of_codes(groups, classes.num_labels())
    X, codes = pf.training_rows()
    rows = "each image whole and as its strongest region" if pf.how == "max" else "each image whole"
    pr = fit(X, y_of[codes], groups, l2, {**(meta or {}), "rows": rows}, how=pf.how)
    if pf.how == "mean":
        return pr
    return with_means(pr, fit(pf.means, y_of[pf.codes], groups, l2, how="mean"))


def with_means(probe: Probe, means: Probe) -> Probe:
    """``probe`` with ``means``'s head (same groups, trained on image means) as its mean head."""
    if means.groups != probe.groups or means.W.shape != probe.W.shape:
        raise JaxstyleError(f"mean head disagrees: groups {means.groups} vs {probe.groups}, W {means.W.shape} vs {probe.W.shape}")
    return replace(probe, means=(means.W, means.b), meta={**probe.meta, "means": "a head trained on image means"})


def save(probe: Probe, path: str | Path) -> Path:
    """Write ``probe`` to ``path`` as it is named (:func:`jaxstyle.artifact.write`)."""
    heads = {} if probe.means is None else {"means/W": probe.means[0], "means/b": probe.means[1]}
    artifact.write(path, {"W": probe.W, "b": probe.b, "groups": np.array(probe.groups), **heads}, probe.meta)
    return Path(path)


def load(path: str | Path) -> Probe:
    z, meta = artifact.load(path, "jaxstyle probe")
    names = ("W", "b", "groups") + (("means/b",) if "means/W" in z else ())
    meta = artifact.require(path, "jaxstyle probe", z, meta, names)
    W, b, groups = z["W"], z["b"], tuple(str(g) for g in z["groups"])
    means = (z["means/W"], z["means/b"]) if "means/W" in z else None
    for name, (W_, b_) in {"": (W, b), "means/": means or (W, b)}.items():
        if W_.ndim != 2 or W_.shape != W.shape or W_.shape[1] != len(groups) or b_.shape != (len(groups),):
            raise JaxstyleError(f"{path}: probe shapes disagree: {name}W {W_.shape}, {name}b {b_.shape}, {len(groups)} groups")
    return Probe(W, b, groups, meta, means)


def shipped(name: str, data_dir: Path | None = None) -> Probe | None:
    """The shipped probe for class ``name`` (a name or wnid; ``data/probes/<canonical name>.npz``), or None."""
    from ..classes import canonical

    path = (DATA_DIR if data_dir is None else Path(data_dir)) / f"{canonical(name)}.npz"
    return load(path) if path.is_file() else None
