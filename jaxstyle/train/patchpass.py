"""The patch judge's training rows: pool images through VGG-19 (:mod:`jaxstyle.transfer.mapfeatures`) and
their cell heads.

What :mod:`jaxstyle.select.heads.patchjudge` labels and trains on, as its
:class:`~jaxstyle.select.heads.patchjudge.PatchRows`: one batched VGG pass per image, whole at long side
``size``, and per head its animal patches (:func:`jaxstyle.select.heads.patches.animal_patches`) that hold a
cell of the head's class, a row each (:func:`jaxstyle.select.heads.patchjudge.rows`). It runs the map's
VGG pass, so it sits above ``transfer``, not in ``select``.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from .. import images
from ..errors import JaxstyleError
from ..select.heads import cellhead, patchjudge
from ..select.heads.cellpool import kind
from ..select.heads.patches import animal_patches
from ..select.heads.patchjudge import PatchRows
from ..transfer import mapfeatures


def extract(params: Mapping, items: Sequence, heads: Sequence[cellhead.CellHead], size: int, batch: int = 8,
            log: Callable[[str], None] | None = None) -> list[PatchRows]:
    """:class:`PatchRows` of pool ``items`` (:class:`~jaxstyle.select.heads.cellpool.Item`) under each of
    ``heads``, one VGG pass per image (whole, long side ``size``): every animal patch that holds a cell of
    the head's class."""
    acc = [([], []) for _ in heads]
    ids = []
    for s in range(0, len(items), batch):
        chunk = []
        for it in items[s: s + batch]:
            try:
                chunk.append((it, images.load_image(it.path, size)))
            except JaxstyleError:
                continue
        cs = mapfeatures.features_many(params, [x for _, x in chunk], buckets=4, batch=batch, hyper=True)
        for (it, _), c in zip(chunk, cs):
            for head, (ks, parts) in zip(heads, acc):
                ks.append(kind(it.wnid, head.meta["target_wnid"]))
                part = _image_rows(c, head)
                if part is not None:
                    parts.append((np.full(len(part[1]), len(ids)), *part))
            ids.append(it.id)
        if log:
            log(f"patches: {min(s + batch, len(items))}/{len(items)} images")
    return [_patch_rows(ids, ks, parts, head) for head, (ks, parts) in zip(heads, acc)]


def _image_rows(c: Mapping[str, np.ndarray], head: cellhead.CellHead) -> tuple[np.ndarray, np.ndarray] | None:
    """``(rows, class mass)`` of one photo's patches that hold a cell of ``head``'s class, None without one."""
    from scipy import ndimage

    hn = cellhead.normalise(c["h"], head.dims)
    probs = head.probs(hn)
    pt = animal_patches(probs)
    ids = [i for i in range(1, len(pt.share)) if pt.share[i] > 0]
    if not ids:
        return None
    mass = np.asarray(ndimage.sum(probs[..., 0], pt.labels, ids), np.float32)
    return patchjudge.rows(c["f"], hn, pt.labels, pt.animal, ids).astype(np.float16), mass


def _patch_rows(ids: list[str], kinds: list[int], parts: list, head: cellhead.CellHead) -> PatchRows:
    if not parts:
        raise JaxstyleError(f"the pools gave no animal patch with a {head.target} cell")
    image, feats, mass = (np.concatenate(c) for c in zip(*parts))
    c5 = int(feats.shape[1] - sum(head.dims)) // 2
    return PatchRows(list(ids), list(kinds), image.astype(np.int64), feats, mass, (c5, c5, sum(head.dims)))
