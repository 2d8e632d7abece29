"""Object map from class filters: where in the photo the selected VGG-19 filters fire.

Pipeline (all from the content photo; no segmentation network, no user mask):

1. ``evidence``: each selected filter's activation, scaled by its own maximum on the
   photo, averaged per layer and across layers at the conv4 resolution (1/8).
2. ``propagate``: the evidence fires hardest on heads/faces. To reach the whole object,
   confident object cells (evidence ≥ ``fg``·max) and confident background cells
   (evidence ≤ ``bg``·max) train a ridge classifier on normalised features (conv2_2 and
   conv3_4 pooled + conv4_2: colour, fur, texture, parts); its prediction covers the parts
   of the object that look like the confident part. Iterated: later rounds train on the
   previous round's cells ≥ 0.6 (object) and ≤ 0.25 (background).
3. ``guided_upsample``: edge-aware upsampling to pixels with a guided filter (He et al.
   2010) taking the photo as guide, so the map follows the object's outline.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import vgg
from .losses import resize as _resize

FEATURE_LAYERS = ("conv2_2", "conv3_4", "conv4_2")  # colour/edges, texture, parts
BASE = "conv4_1"  # resolution of the coarse map (1/8)


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


def descriptors(feats: Mapping[str, jax.Array], shape: tuple[int, int],
                layers: Sequence[str] = FEATURE_LAYERS) -> jax.Array:
    """Per-cell descriptor (h*w, D): L2-normalised mid-level features + a bias column."""
    parts = []
    for layer in layers:
        f = _resize(feats[layer], shape)
        f = f / (jnp.linalg.norm(f, axis=-1, keepdims=True) + 1e-6)
        parts.append(f / jnp.sqrt(len(layers)))
    d = jnp.concatenate(parts, axis=-1).reshape(shape[0] * shape[1], -1)
    return jnp.concatenate([d, jnp.ones((d.shape[0], 1), d.dtype)], axis=1)


def propagate(e: jax.Array, desc: jax.Array, fg: float = 0.35, bg: float = 0.08,
              ridge: float = 1.0, rounds: int = 3, later: tuple[float, float] = (0.6, 0.25)) -> jax.Array:
    """Spread confident evidence to similar-looking cells with a weighted ridge classifier."""
    h, w = e.shape
    p = e.reshape(-1)
    for _ in range(rounds):
        pos = (p >= fg).astype(jnp.float32)
        neg = (p <= bg).astype(jnp.float32)
        wts = pos / jnp.maximum(jnp.sum(pos), 1.0) + neg / jnp.maximum(jnp.sum(neg), 1.0)
        y = pos - neg  # +1 object, -1 background, 0 unknown (weight 0)
        a = desc.T @ (desc * wts[:, None]) + ridge * 1e-3 * jnp.eye(desc.shape[1])
        beta = jnp.linalg.solve(a, desc.T @ (wts * y))
        score = desc @ beta
        # keep strong original evidence, add what looks like it
        p = jnp.maximum(jnp.clip(0.5 + 0.5 * score, 0.0, 1.0), jnp.where(p >= fg, 1.0, 0.0))
        fg, bg = later  # later rounds: the classifier's own confident cells
    return p.reshape(h, w)


def _box(x: jax.Array, r: int) -> jax.Array:
    """Mean over a (2r+1)^2 window (edges renormalised), x (H, W, ...)."""
    k = 2 * r + 1
    pad = [(r, r), (r, r)] + [(0, 0)] * (x.ndim - 2)
    dims = (k, k) + (1,) * (x.ndim - 2)
    s = jax.lax.reduce_window(jnp.pad(x, pad), 0.0, jax.lax.add, dims, (1,) * x.ndim, "VALID")
    # window sizes computed on the host: XLA would constant-fold a reduce_window of ones slowly
    ny = np.minimum(np.arange(x.shape[0]) + r, x.shape[0] - 1) - np.maximum(np.arange(x.shape[0]) - r, 0) + 1
    nx = np.minimum(np.arange(x.shape[1]) + r, x.shape[1] - 1) - np.maximum(np.arange(x.shape[1]) - r, 0) + 1
    n = np.outer(ny, nx).astype(np.float32)
    return s / jnp.asarray(n).reshape(n.shape + (1,) * (x.ndim - 2))


def guided_filter(guide: jax.Array, src: jax.Array, r: int, eps: float) -> jax.Array:
    """Grey-guide guided filter (He et al. 2010): guide (H, W) in [0,1], src (H, W)."""
    mi, mp = _box(guide, r), _box(src, r)
    cov = _box(guide * src, r) - mi * mp
    var = _box(guide * guide, r) - mi * mi
    a = cov / (var + eps)
    b = mp - a * mi
    return _box(a, r) * guide + _box(b, r)


def guided_upsample(coarse: jax.Array, rgb: jax.Array, radius: int, eps: float = 1e-3) -> jax.Array:
    """Bilinear upsample of ``coarse`` to the photo, then refined per colour channel."""
    H, W = rgb.shape[:2]
    up = _resize(coarse, (H, W))
    g = rgb / 255.0
    out = jnp.mean(jnp.stack([guided_filter(g[..., c], up, radius, eps) for c in range(3)]), axis=0)
    return jnp.clip(out, 0.0, 1.0)


def object_map(params: Mapping, rgb: jax.Array, filters: Mapping[str, Sequence[int]], *,
               fg: float = 0.7, bg: float = 0.2, rounds: int = 2, radius_frac: float = 0.02,
               eps: float = 1e-3, threshold: float = 0.3, softness: float = 0.1,
               dilate_frac: float = 0.0, pooling: str = "max", feature_layers: Sequence[str] = FEATURE_LAYERS,
               later: tuple[float, float] = (0.6, 0.25)) -> dict[str, jax.Array]:
    """Soft object map (H, W) in [0, 1] for an RGB photo (H, W, 3) in [0, 255].

    The guided-upsampled score is mapped through a smoothstep from ``threshold - softness``
    (0) to ``threshold + softness`` (1). Returns ``{"map", "score", "evidence", "coarse"}``
    (the last two at 1/8 resolution).
    """
    H, W = rgb.shape[:2]
    layers = tuple(sorted(set(filters) | set(feature_layers) | {BASE}, key=vgg.CONV_LAYERS.index))
    feats = {k: v[0] for k, v in vgg.apply(params, vgg.preprocess(rgb[None]), layers, pooling).items()}
    shape = feats[BASE].shape[:2]
    e = evidence(feats, filters, shape)
    coarse = (propagate(e, descriptors(feats, shape, feature_layers), fg, bg, rounds=rounds, later=later)
              if rounds > 0 else e)
    radius = max(1, int(round(radius_frac * max(H, W))))
    score = guided_upsample(coarse, rgb, radius, eps)
    u = jnp.clip((score - (threshold - softness)) / (2 * softness + 1e-6), 0.0, 1.0)
    m = u * u * (3.0 - 2.0 * u)
    if dilate_frac > 0:
        r = max(1, int(round(dilate_frac * max(H, W))))
        m = jax.lax.reduce_window(m, -jnp.inf, jax.lax.max, (2 * r + 1, 2 * r + 1), (1, 1), "SAME")
    return {"map": m, "score": score, "evidence": e, "coarse": coarse}


@partial(jax.jit, static_argnames=("filters", "rounds", "radius_frac", "dilate_frac", "pooling",
                                   "feature_layers", "later"))
def _object_map_jit(params, rgb, filters, **kw):
    return object_map(params, rgb, dict(filters), **kw)


def object_map_jit(params: Mapping, rgb: jax.Array, filters: Mapping[str, Sequence[int]], **kw) -> dict[str, jax.Array]:
    """Jitted :func:`object_map` (filters and options are static)."""
    key = tuple((l, tuple(int(i) for i in v)) for l, v in filters.items())
    return _object_map_jit(params, jnp.asarray(rgb, jnp.float32), key, **kw)
