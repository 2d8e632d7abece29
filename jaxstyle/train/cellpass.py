"""The cell head's training cells: pool images through VGG-19 and the probe-judged map (:mod:`jaxstyle.transfer`).

What :mod:`jaxstyle.select.heads.cellpool` labels and trains on, as its :class:`~jaxstyle.select.heads.cellpool.Cells`:
each image centre-cropped to ``size``, one VGG pass for its hypercolumns and ``conv5_4`` grid, its objectness,
and, for an image of a class being trained, the cover of that class's probe map
(:func:`jaxstyle.transfer.objectmap.first_look`). It runs the map, so it sits above ``transfer``, not in ``select``.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from .. import images
from ..errors import JaxstyleError
from ..model import vgg
from ..select.heads import cellhead
from ..select.heads.cellpool import Cells, Item, kind
from ..select.pools.batching import crop_array
from ..select.probes.regions import objectness
from ..transfer import objectmap


def _sample(obj_cell: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``n`` cell indices of a flat grid: half from object cells, the rest from the others."""
    a, b = np.nonzero(obj_cell)[0], np.nonzero(~obj_cell)[0]
    na = min(len(a), n // 2)
    nb = min(len(b), n - na)
    na = min(len(a), n - nb)
    return np.concatenate([rng.choice(a, na, replace=False), rng.choice(b, nb, replace=False)]).astype(np.int64)


def own_cover(rgb: np.ndarray, f5: np.ndarray, probe, size: int) -> np.ndarray | None:
    """The probe-judged map of ``rgb`` (its own class) pooled to the ``conv5_4`` grid, or None where it refuses."""
    cfg = objectmap.MapConfig(size=size, grabcut_side=size)
    s, m = objectmap.first_look(rgb, {"f": f5}, probe, cfg)
    if s.presence < cfg.min_evidence:
        return None
    h, w = f5.shape[:2]
    k = rgb.shape[0] // h
    return m[: h * k, : w * k].reshape(h, k, w, k).mean((1, 3))


def extract(params: Mapping, items: Sequence[Item], probes: Mapping[str, object], size: int, cells: int,
            rng: np.random.Generator, batch: int = 8, log: Callable[[str], None] | None = None) -> Cells:
    """:class:`Cells` of ``items`` at ``size`` (square centre crops), ``cells`` per image; ``probes``
    (target wnid -> probe) give the own-class map of images of those targets."""
    import jax
    import jax.numpy as jnp
    from scipy.ndimage import maximum_filter

    fn = jax.jit(lambda p, x: (lambda f: (cellhead.hypercolumns(f), f["conv5_4"]))(
        vgg.apply(p, vgg.preprocess(x), cellhead.LAYERS)))
    dims = tuple(vgg.num_channels(params, l) for l in cellhead.LAYERS)
    ids, wnids, rows = [], [], []
    for s in range(0, len(items), batch):
        chunk, imgs = [], []
        for it in items[s: s + batch]:
            try:
                imgs.append(crop_array(images.open_image(it.path), size).astype(np.float32))
                chunk.append(it)
            except JaxstyleError:
                continue
        if not chunk:
            continue
        x = np.zeros((batch, size, size, 3), np.float32)
        x[: len(imgs)] = imgs
        hyper, f5 = (np.asarray(a) for a in fn(params, jnp.asarray(x)))
        for j, it in enumerate(chunk):
            obj = objectness(f5[j])
            own = next((pr for t, pr in probes.items() if kind(it.wnid, t) == 0), None)
            cov = own_cover(imgs[j], f5[j], own, size) if own is not None else None
            cover = np.full(obj.shape, np.nan, np.float32) if cov is None else cov.astype(np.float32)
            far = (maximum_filter(np.nan_to_num(cover), size=3) < 0.01) & np.isfinite(cover)
            obj_cell = (np.nan_to_num(cover) >= 0.5) if cov is not None else obj > 1.0
            pick = _sample(obj_cell.ravel(), cells, rng)
            g = cellhead.normalise(hyper[j], dims).reshape(-1, sum(dims))
            rows.append((np.full(len(pick), len(ids)), g[pick].astype(np.float16), cover.ravel()[pick],
                         far.ravel()[pick], obj.ravel()[pick].astype(np.float32)))
            ids.append(it.id)
            wnids.append(it.wnid)
        if log:
            log(f"{min(s + batch, len(items))}/{len(items)} images")
    if not rows:
        raise JaxstyleError("the pools gave no image")
    cols = [np.concatenate(c) for c in zip(*rows)]
    return Cells(ids, wnids, cols[0].astype(np.int64), cols[1], cols[2], cols[3].astype(bool), cols[4], dims)
