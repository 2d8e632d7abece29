"""Labelled image pools for scoring: ``--data folder:PATH`` or ``--data tfds:NAME[:SPLIT]``,
several ``--data`` together forming one pool (:class:`MultiPool`).

A pool streams ``(ids, labels, uint8 (b, S, S, 3), consumed, skipped)`` batches from any
start position (for ``--resume``) and can re-fetch a few images by id (contact sheets).
Preprocessing (documented in docs/SCORING.md): decode to RGB (EXIF-rotated, grey and
alpha handled by :func:`jaxstyle.images.open_image`), resize the short side to ``S``
(bilinear) and centre-crop ``S x S``; the VGG input is then Caffe-style (BGR, mean-subtracted).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, Sequence

import numpy as np

from .. import classes
from ...images import PoolItem, folder_pool
from ...errors import JaxstyleError, UsageError
from .batching import batch_items, crop_array
from ..probes.scoring import Batch


class Pool(Protocol):
    name: str
    size: int | None

    def batches(self, batch: int, size: int, start: int = 0) -> Iterator[Batch]: ...

    def loaders(self, start: int = 0) -> Iterator[tuple[str, int, object]]: ...

    def fetch(self, ids: set[str], size: int) -> dict[str, np.ndarray]: ...


@dataclass
class FolderPool:
    """A folder of labelled images (see :func:`jaxstyle.images.folder_pool`)."""
    root: Path
    items: list[PoolItem]

    @property
    def name(self) -> str:
        return f"folder:{self.root}"

    @property
    def size(self) -> int:
        return len(self.items)

    def loaders(self, start: int = 0) -> Iterator[tuple[str, int, object]]:
        return ((it.id, it.label, it.load) for it in self.items[start:])

    def batches(self, batch: int, size: int, start: int = 0) -> Iterator[Batch]:
        return batch_items(self.loaders(start), batch, size)

    def fetch(self, ids: set[str], size: int) -> dict[str, np.ndarray]:
        out = {}
        for it in self.items:
            if it.id in ids:
                try:
                    out[it.id] = crop_array(it.load(), size)
                except JaxstyleError:
                    pass
        return out


@dataclass
class MultiPool:
    """Several pools read one after the other as one; ids become ``<source>/<id>``.

    Batches run across source boundaries, so every batch is full (one compiled shape)
    whatever the sources' sizes; each image is cropped to the same square first.
    """
    sources: list
    names: list[str]

    @classmethod
    def of(cls, pools: Sequence) -> "MultiPool":
        names: list[str] = []
        for p in pools:
            base = Path(str(getattr(p, "root", p.name.split(":", 1)[-1]))).name or "pool"
            n, i = base, 2
            while n in names:
                n, i = f"{base}{i}", i + 1
            names.append(n)
        return cls(list(pools), names)

    @property
    def name(self) -> str:
        return " + ".join(p.name for p in self.sources)

    @property
    def size(self) -> int | None:
        sizes = [p.size for p in self.sources]
        return None if any(s is None for s in sizes) else sum(sizes)

    def source_of(self, id_: str) -> int:
        """Index of the source an id came from."""
        return self.names.index(id_.split("/", 1)[0])

    def loaders(self, start: int = 0) -> Iterator[tuple[str, int, object]]:
        for name, p in zip(self.names, self.sources):
            if p.size is not None and start >= p.size:
                start -= p.size
                continue
            for id_, label, load in p.loaders(start):
                yield f"{name}/{id_}", label, load
            start = 0

    def batches(self, batch: int, size: int, start: int = 0) -> Iterator[Batch]:
        return batch_items(self.loaders(start), batch, size)

    def fetch(self, ids: set[str], size: int) -> dict[str, np.ndarray]:
        out = {}
        for name, p in zip(self.names, self.sources):
            mine = {i.split("/", 1)[1] for i in ids if i.split("/", 1)[0] == name}
            if mine:
                out.update({f"{name}/{k}": v for k, v in p.fetch(mine, size).items()})
        return out


def open_pools(specs: Sequence[str], tfds_data_dir: str | None = None) -> Pool:
    """One ``--data`` value -> its pool (ids unchanged); several -> a :class:`MultiPool`."""
    pools = [open_pool(s, tfds_data_dir) for s in specs]
    return pools[0] if len(pools) == 1 else MultiPool.of(pools)


def open_pool(spec: str, tfds_data_dir: str | None = None) -> Pool:
    """``folder:PATH`` (or a bare existing folder) / ``masked:PATH`` / ``tfds:NAME[:SPLIT]`` -> a pool."""
    kind, _, rest = spec.partition(":")
    if kind == "tfds":
        from .tfds_pool import TfdsPool

        name, _, split = rest.partition(":")
        if not name:
            raise UsageError("--data tfds:NAME[:SPLIT] needs a dataset name, e.g. tfds:imagenet_v2")
        return TfdsPool.open(name, split or None, tfds_data_dir)
    if kind == "masked" and rest:
        return masked_pool(Path(rest).expanduser())
    if kind == "folder" and rest:
        root = Path(rest).expanduser()
    elif Path(spec).is_dir():
        root = Path(spec)
    else:
        raise UsageError(f"--data {spec!r}: want folder:PATH, masked:PATH or tfds:NAME[:SPLIT]")
    return FolderPool(root, folder_pool(root, classes.label_code))


@dataclass
class MaskedPool(FolderPool):
    """``masked:PATH``: the train photos of a masked set (``more-masked/``) by the shipped split
    (:mod:`jaxstyle.select.pools.masksplit`), labelled by their class's synset; their masks are never read."""

    @property
    def name(self) -> str:
        return f"masked:{self.root}"


def masked_pool(root: Path) -> MaskedPool:
    """The :class:`MaskedPool` of ``root``."""
    from ...images import open_image
    from .masksplit import train_pool

    return MaskedPool(root, [PoolItem(id_, classes.label_code(wnid), lambda p=path: open_image(p))
                             for id_, wnid, path in train_pool(root)])
