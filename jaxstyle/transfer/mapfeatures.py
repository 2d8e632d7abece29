"""The object map's VGG-19 pass: ``conv5_4`` features of photos (batched, padded to buckets),
with the selected filters' evidence or the cell head's hypercolumns where the map needs them.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .losses import resize as _resize
from ..model import vgg

OBJECTNESS_LAYER = "conv5_4"


def evidence(feats: Mapping[str, jax.Array], filters: Mapping[str, Sequence[int]], shape: tuple[int, int]) -> jax.Array:
    """Summed activation of the selected filters per layer, max-normalised, averaged over layers: (h, w) in [0, 1]."""
    maps = []
    for layer, idx in filters.items():
        if len(idx) == 0:
            continue
        a = jnp.sum(jnp.take(feats[layer], jnp.asarray(idx, jnp.int32), axis=-1), axis=-1)  # (h, w)
        maps.append(_resize(a / (jnp.max(a) + 1e-6), shape))
    if not maps:
        raise ValueError("no filters selected")
    e = jnp.mean(jnp.stack(maps), axis=0)
    return e / (jnp.max(e) + 1e-6)


def _pass(params: Mapping, rgb: jax.Array, filters: Mapping[str, Sequence[int]] | None,
              valid: Sequence[jax.Array] | None = None, hyper: bool = False) -> dict[str, jax.Array]:
    """``conv5_4`` features (N, h, w, C) of photos ``rgb`` (N, H, W, 3) and, with filters, their evidence
    (N, h, w); with ``hyper`` the cell head's hypercolumns ``"h"`` (:func:`cellhead.hypercolumns`) too.

    ``valid`` (:func:`vgg.valid_masks`, stacked per photo): ``rgb`` is padded and only its
    real pixels count.
    """
    from ..select.heads import cellhead

    extra = set(cellhead.LAYERS) if hyper else set()
    layers = tuple(sorted({OBJECTNESS_LAYER} | set(filters or {}) | extra, key=vgg.CONV_LAYERS.index))
    feats = vgg.apply(params, vgg.preprocess(rgb), layers, valid=valid)
    f = feats[OBJECTNESS_LAYER]
    out = {"f": f}
    if hyper:
        out["h"] = cellhead.hypercolumns(feats)
    if filters:
        out["evidence"] = jax.vmap(lambda fs: evidence(fs, filters, f.shape[1:3]))({k: feats[k] for k in filters})
    return out


def vgg_params(params: Mapping, conv: str = "auto") -> dict:
    """Weights for the map's forward passes: ``conv`` forward-only (:func:`vgg.prepare` with
    ``grad=False``); on the CPU ``"auto"`` is Winograd, a third less time per warm map
    (docs/BENCHMARKS.md, "Object map")."""
    return vgg.prepare(params, conv, grad=False)


@partial(jax.jit, static_argnames=("filters", "hyper"))
def compiled(params, rgb, filters, valid=None, hyper=False):
    """:func:`_pass`, jitted per filter set (a hashable tuple), padding and hypercolumns."""
    return _pass(params, rgb, dict(filters) if filters else None, valid, hyper)


def features(params: Mapping, rgb: np.ndarray, filters=None, buckets: int = 0,
             hyper: bool = False) -> dict[str, np.ndarray]:
    """:func:`features_many` of one photo: ``{"f": (h, w, C)[, "evidence": (h, w)][, "h": (h, w, C')]}``."""
    return features_many(params, [rgb], filters, buckets, hyper=hyper)[0]


def features_many(params: Mapping, rgbs: Sequence[np.ndarray], filters=None, buckets: int = 0,
                  batch: int = 1, hyper: bool = False) -> list[dict[str, np.ndarray]]:
    """:func:`_pass` of each photo, ``batch`` photos of one padded size per VGG pass.

    With ``buckets`` a photo is zero-padded to :func:`vgg.bucket_hw` and the padding masked
    out of every convolution (``vgg.apply(valid=)``), so the cells of its real pixels equal
    an unpadded pass up to float rounding; they are cropped out here. Photos are grouped by
    padded size (their own size without buckets); a pass holds ``batch`` photos, or the rest
    filled with blank photos up to a power of two, so a size compiles at most
    ``log2(batch) + 1`` programs whatever the number of photos.
    """
    key = None if not filters else tuple((l, tuple(int(i) for i in v)) for l, v in filters.items())
    groups: dict[tuple[int, int], list[int]] = {}
    for i, rgb in enumerate(rgbs):
        groups.setdefault(tuple(vgg.bucket_hw(rgb.shape[:2], buckets)), []).append(i)
    batch = max(1, batch)
    out: list = [None] * len(rgbs)
    for pad, idx in groups.items():
        for s in range(0, len(idx), batch):
            chunk = idx[s: s + batch]
            n = min(batch, 1 << (len(chunk) - 1).bit_length())
            x, valid = _padded([rgbs[i] for i in chunk], pad, n, masked=bool(buckets))
            c = {k: np.asarray(v) for k, v in compiled(params, x, key, valid, hyper).items()}
            for j, i in enumerate(chunk):
                h, w = vgg.block_hw(rgbs[i].shape[:2], OBJECTNESS_LAYER)
                out[i] = {k: v[j, :h, :w] for k, v in c.items()}
    return out


def _padded(rgbs: Sequence[np.ndarray], pad: tuple[int, int], n: int, masked: bool):
    """``(x (n, *pad, 3), valid)``: the photos zero-padded to ``pad``, blank photos after them up to ``n``.

    ``valid`` (``masked``): per block, the stacked :func:`vgg.valid_masks`, all 0 for the
    blank photos; built even when nothing is padded, so a bucket is one program.
    """
    x = np.zeros((n, *pad, 3), np.float32)
    for j, rgb in enumerate(rgbs):
        x[j, : rgb.shape[0], : rgb.shape[1]] = rgb
    if not masked:
        return jnp.asarray(x), None
    masks = [np.zeros((n, pad[0] >> b, pad[1] >> b), np.float32) for b in range(5)]
    for j, rgb in enumerate(rgbs):
        for m, v in zip(masks, vgg.valid_masks(rgb.shape[:2], pad)):
            m[j] = v
    return jnp.asarray(x), tuple(jnp.asarray(m) for m in masks)
