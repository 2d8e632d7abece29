"""Training cells for the cell head (:mod:`jaxstyle.select.heads.cellhead`) from image-labelled pools.

No mask trains anything. Each pool image (``labels.csv`` with ``filename`` and ``wnid``) is
centre-cropped to ``size`` and run once through VGG-19 (:func:`jaxstyle.train.cellpass.extract`); a
sample of its ``conv5_4`` cells is kept (:class:`Cells`) with their hypercolumns and three numbers the
labels are made from:

- ``cover``: the share of the cell that the present probe-judged map of the image's own class
  covers (:func:`jaxstyle.transfer.objectmap.first_look`), for images of a class being trained
  (NaN otherwise, and where that map refuses the image);
- ``far``: no cell around it (3 x 3) is covered at all;
- ``obj``: objectness (SCDA) of the cell.

Labels for target T (:func:`labels`): an image of T gives T on cells its map covers fully and
``scene`` on cells far from it (the rest unlabelled); an image of T's kin (:func:`kin`: another
animal for an animal, another conveyance for a car), of a person or of anything else gives the kin
group, ``person`` or ``scene`` on its object cells (its own map's cover >= 0.5 where it has one, else
objectness > 1) and ``scene`` elsewhere. Self-training
(:func:`relabel`) replaces a class image's labels by the head's confident calls.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ...errors import JaxstyleError
from . import cellhead

ANIMAL, PERSON = "n00015388", "n00007846"
SYNSETS = Path(__file__).resolve().parents[2] / "data" / "pool_synsets.json"
KIN = SYNSETS.with_name("kin.json")


@dataclass(frozen=True)
class Item:
    id: str
    wnid: str
    path: Path


def read_pool(root: str | Path) -> list[Item]:
    """A folder's ``labels.csv`` rows (``filename``, ``wnid``) whose image exists (beside it or in ``images/``),
    or, for a masked folder (``index.csv`` with ``name`` and ``class``; ``more-masked/``), its photos by
    their class (:func:`masksplit.wnids`; never their masks) less every photo the map's evaluation scores
    (:func:`jaxstyle.select.pools.maskedphotos.photos`). ``masked:DIR``: the train side of the shipped split of
    a masked folder (:func:`masksplit.train_pool`), for heads scored on its held-out side."""
    kind, _, rest = str(root).partition(":")
    if kind == "masked" and rest:
        from ..pools.masksplit import train_pool

        return [Item(f"{Path(rest).name}/{id_}", wnid, path) for id_, wnid, path in train_pool(rest)]
    root = Path(root)
    if not (root / "labels.csv").is_file() and (root / "index.csv").is_file():
        return _masked_pool(root)
    try:
        with open(root / "labels.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise JaxstyleError(f"{root}: no readable labels.csv ({e.strerror or e})") from None
    if not rows or not {"filename", "wnid"} <= set(rows[0]):
        raise JaxstyleError(f"{root}/labels.csv: needs columns filename and wnid")
    out = []
    for r in rows:
        path = next((d / r["filename"] for d in (root, root / "images") if (d / r["filename"]).is_file()), None)
        if path is not None:
            out.append(Item(f"{root.name}/{r['filename']}", r["wnid"].strip(), path))
    return out


def _masked_pool(root: Path) -> list[Item]:
    from ..pools.maskedphotos import photos
    from ..pools.masksplit import wnids as masked_wnids

    wnids = masked_wnids()
    scored = {p.name for p in photos(root.parent)}
    with open(root / "index.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [Item(f"{root.name}/{r['name']}", wnids[r["class"]], root / f"{r['name']}.jpg") for r in rows
            if r.get("class") in wnids and r["name"] not in scored and (root / f"{r['name']}.jpg").is_file()]


def scored_photos(data: str | Path) -> list[tuple[Item, str]]:
    """The masked photos the map's evaluation scores under ``data`` (``../shared/data``;
    :func:`jaxstyle.select.pools.maskedphotos.photos`) as items labelled by their class, each with its source: image
    labels only, never their masks. Only a judge scored leave-one-source-out may learn from them."""
    from ..pools.maskedphotos import photos
    from ..pools.masksplit import wnids as masked_wnids

    wnids = masked_wnids()
    try:
        scored = photos(Path(data))
    except OSError as e:
        raise JaxstyleError(f"{data}: not the shared data folder ({e.strerror or e}: {e.filename})") from None
    return [(Item(f"{ph.source}:{ph.name}", wnids[ph.species], ph.photo), ph.source)
            for ph in scored if ph.species in wnids and ph.photo.is_file()]


@lru_cache(maxsize=1)
def _ancestry() -> dict[str, frozenset]:
    """wnid -> itself and its ancestors among what ``class_groups.json`` and ``pool_synsets.json`` know."""
    from .. import classes

    t = classes.table()
    out: dict[str, frozenset] = {}
    for g in t.groups:
        out[g.wnid] = frozenset({g.wnid, *g.hypernyms})
    holders: dict[int, set] = {}
    for g in t.groups:
        for i in g.classes:
            holders.setdefault(i, set()).add(g.wnid)
    for c in t.classes:
        out[c.wnid] = frozenset({c.wnid} | holders.get(c.index, set()))
    extra = json.loads(SYNSETS.read_text(encoding="utf-8"))
    for w, v in extra.items():
        out.setdefault(w, frozenset({w, *v["ancestors"]}))
    return out


def group_wnid(name: str) -> str:
    """The wnid of a class group (``dog`` -> n02084071) or of a pool synset by name (``horse``)."""
    from .. import classes

    for g in classes.table().groups:
        if g.name == name or g.wnid == name:
            return g.wnid
    extra = json.loads(SYNSETS.read_text(encoding="utf-8"))
    for w, v in extra.items():
        if v["name"] == name or w == name:
            return w
    raise JaxstyleError(f"unknown class {name!r}")


@lru_cache(maxsize=None)
def kin(target: str) -> tuple[str, str]:
    """The wnid and name of target wnid ``target``'s kin group: the first root of ``kin.json`` among its
    ancestors (animal for an animal, conveyance for a car), else animal."""
    anc = _ancestry().get(target, frozenset({target}))
    roots = json.loads(KIN.read_text(encoding="utf-8"))["roots"]
    return next(((r["wnid"], r["name"]) for r in roots if r["wnid"] in anc), (ANIMAL, "animal"))


def kind(wnid: str, target: str) -> int:
    """An image's group index for target wnid ``target`` (:func:`cellhead.group_names` order):
    0 the target, 1 its kin (:func:`kin`), 2 a person, 3 anything else; JaxstyleError for an unknown wnid."""
    anc = _ancestry().get(wnid)
    if anc is None:
        raise JaxstyleError(f"label {wnid!r} is neither an ImageNet class, a class group nor in {SYNSETS.name}")
    return 0 if target in anc else 1 if kin(target)[0] in anc else 2 if PERSON in anc else 3


def choose(items: Sequence[Item], targets: Sequence[str], per_kind: int, rng: np.random.Generator) -> list[Item]:
    """At most ``per_kind`` images of each kind (each target, animal, person, thing), drawn by ``rng``."""
    by: dict[str, list[Item]] = {}
    for it in items:
        ks = [kind(it.wnid, t) for t in targets]
        key = next((targets[i] for i, k in enumerate(ks) if k == 0), None) or cellhead.KINDS[max(ks) - 1]
        by.setdefault(key, []).append(it)
    out = []
    for key in sorted(by):
        group = by[key]
        idx = rng.permutation(len(group))[:per_kind]
        out += [group[i] for i in sorted(idx)]
    return out


@dataclass(frozen=True)
class Cells:
    """Sampled cells of pool images: ``feats`` (n, C) normalised hypercolumns and their row data."""

    ids: list[str]         # per image
    wnids: list[str]       # per image
    image: np.ndarray      # (n,) index into ids
    feats: np.ndarray      # (n, C) float16
    cover: np.ndarray      # (n,) own-class map cover, NaN without one
    far: np.ndarray        # (n,) bool
    obj: np.ndarray        # (n,) objectness
    dims: tuple[int, ...]  # channels per hypercolumn layer

    def save(self, path: Path) -> None:
        from ... import artifact

        path.parent.mkdir(parents=True, exist_ok=True)
        artifact.write(path, {"ids": np.array(self.ids), "wnids": np.array(self.wnids), "image": self.image,
                              "feats": self.feats, "cover": self.cover, "far": self.far, "obj": self.obj,
                              "dims": np.array(self.dims)}, None)

    @classmethod
    def concat(cls, parts: Sequence["Cells"]) -> "Cells":
        """One set of the cells of ``parts`` (same ``dims``)."""
        offs = np.cumsum([0] + [len(p.ids) for p in parts])
        return cls([i for p in parts for i in p.ids], [w for p in parts for w in p.wnids],
                   np.concatenate([p.image + o for p, o in zip(parts, offs)]),
                   *(np.concatenate([getattr(p, k) for p in parts]) for k in ("feats", "cover", "far", "obj")),
                   parts[0].dims)

    @classmethod
    def load(cls, path: Path) -> "Cells":
        from ... import artifact

        z, _ = artifact.load(path, "cell cache file")
        return cls([str(s) for s in z["ids"]], [str(s) for s in z["wnids"]], z["image"], z["feats"], z["cover"],
                   z["far"], z["obj"], tuple(int(d) for d in z["dims"]))


def labels(cells: Cells, target: str, cover: float = 0.95) -> np.ndarray:
    """Per cell, its group for target wnid ``target`` (:func:`cellhead.group_names` order), -1 unlabelled;
    a class image's cells are the class where its map covers at least ``cover`` of them."""
    k = np.array([kind(w, target) for w in cells.wnids])[cells.image]
    own = np.isfinite(cells.cover)
    obj_cell = np.where(own, np.nan_to_num(cells.cover) >= 0.5, cells.obj > 1.0)
    y = np.where(obj_cell, k, 3)
    pos = k == 0
    y[pos] = -1
    y[pos & own & (cells.cover >= cover)] = 0
    y[pos & own & cells.far] = 3
    return y


def relabel(cells: Cells, y: np.ndarray, head: cellhead.CellHead, target: str, sure: float = 0.9) -> np.ndarray:
    """Self-training: cells of the class's images that the head calls the class, or not, with
    probability >= ``sure`` get that label (class, or scene); every other cell keeps ``y``."""
    p = head.probs(cells.feats.astype(np.float32))[:, 0]
    pos = np.array([kind(w, target) == 0 for w in cells.wnids])[cells.image]
    out = y.copy()
    out[pos & (p >= sure)] = 0
    out[pos & (p <= 1 - sure)] = 3
    return out


def cache_key(items: Sequence[Item], targets: Sequence[str], size: int, cells: int, seed: int, extra: str) -> str:
    h = hashlib.sha256(json.dumps([[i.id for i in items], list(targets), size, cells, seed, extra]).encode())
    return h.hexdigest()[:16]


def train(cells: Cells, name: str, key, self_train: int = 0, hidden: int = 64, steps: int = 400,
          meta: Mapping | None = None) -> cellhead.CellHead:
    """The head for class ``name`` on ``cells``: :func:`labels`, a fit, then ``self_train`` rounds of
    :func:`relabel` and a fit."""
    import jax

    target = group_wnid(name)
    y = labels(cells, target)
    X = cells.feats.astype(np.float32)
    groups = cellhead.group_names(name, kin(target)[1])
    info = {"dims": list(cells.dims), "layers": list(cellhead.LAYERS), "target_wnid": target, **(meta or {})}
    keys = jax.random.split(key, self_train + 1)
    head = cellhead.fit(X[y >= 0], y[y >= 0], groups, keys[0], hidden, steps, meta={**info, "self_train": 0})
    for r in range(self_train):
        y = relabel(cells, y, head, target)
        head = cellhead.fit(X[y >= 0], y[y >= 0], groups, keys[r + 1], hidden, steps,
                            meta={**info, "self_train": r + 1})
    return head
