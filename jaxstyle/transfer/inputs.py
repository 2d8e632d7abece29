"""A run's inputs as arrays: the photo, the styles and a user mask, at the sizes a run needs.

Images are float32 (H, W, 3) RGB in [0, 255]. A photo given by path is decoded once per run
(:func:`decoded`, a :class:`jaxstyle.images.Photo`) and read at each long side asked for; an
array is taken as it is and resized on the device (:func:`jaxstyle.transfer.losses.resize`).
"""
from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from . import objectmap
from .edges import inner_edge
from .losses import resize
from ..errors import JaxstyleError, UsageError
from ..images import Photo, load_mask


def decoded(x):
    """``x`` with a path decoded once (a :class:`Photo`); a Photo or an array as it is."""
    return Photo.open(x) if isinstance(x, (str, os.PathLike)) else x


def source_name(x) -> str | None:
    """The file name of a photo given by path or as a :class:`Photo`, else None (an array)."""
    if isinstance(x, Photo):
        return os.path.basename(x.path)
    return os.path.basename(os.fspath(x)) if isinstance(x, (str, os.PathLike)) else None


def as_image(x, size: int | None) -> np.ndarray:
    """``x`` (a path or :class:`Photo`, read at long side ``size``, or an (H, W, 3) RGB array) as a float32 array."""
    if isinstance(x, (str, os.PathLike, Photo)):
        return decoded(x).at(size)
    a = np.asarray(x, np.float32)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise UsageError(f"image arrays must be (H, W, 3) RGB, got shape {a.shape}")
    return a


def hw_at(shape, long_side: int) -> tuple[int, int]:
    """The (h, w) of an image of ``shape`` (H, W, ...) at long side ``long_side`` (aspect kept)."""
    h, w = shape[:2]
    s = long_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def style_hws(style_imgs, long_side: int, style_scale: float) -> tuple[tuple[int, int], ...]:
    """Each style's size at a level (long side ``long_side * style_scale``, at least 16 px)."""
    return tuple(hw_at(img.shape, max(16, int(round(long_side * style_scale)))) for img in style_imgs)


def at_long_side(content, size: int) -> np.ndarray:
    """``content`` at long side ``size``: a path or :class:`Photo` is read at that size, an array resized to it."""
    if isinstance(content, (str, os.PathLike, Photo)):
        return as_image(content, size)
    img = as_image(content, None)
    hw = hw_at(img.shape, size)
    return img if tuple(img.shape[:2]) == tuple(hw) else np.asarray(resize(img, hw))


def _style_pair(s) -> tuple[object, float]:
    """``(image, weight)`` of one entry of ``style`` (an image alone weighs 1)."""
    return s if isinstance(s, tuple) and len(s) == 2 and isinstance(s[1], (int, float)) else (s, 1.0)


def load_styles(style, size: int) -> tuple[tuple[np.ndarray, ...], tuple[float, ...]]:
    """``style`` (a path/array, a list of them, or ``(image, weight)`` pairs) as images and weights."""
    styles = style if isinstance(style, (list, tuple)) and not (
        isinstance(style, tuple) and len(style) == 2 and isinstance(style[1], (int, float))) else [style]
    imgs, ws = [], []
    for s in styles:
        img, wgt = _style_pair(s)
        if wgt < 0:
            raise UsageError("style weights must be >= 0")
        imgs.append(as_image(img, max(size * 2, 64) if isinstance(img, (str, os.PathLike, Photo)) else None))
        ws.append(float(wgt))
    if not imgs or sum(ws) <= 0:
        raise UsageError("give at least one style image with a positive weight")
    return tuple(imgs), tuple(ws)


def user_region(mask, hw: tuple[int, int]) -> np.ndarray:
    """``--mask`` (path or array) as a (H, W) region in [0, 1], its edge softened inside it
    (:func:`jaxstyle.transfer.edges.inner_edge`, as wide as the object map's edge)."""
    if isinstance(mask, (str, os.PathLike)):
        region = load_mask(mask, hw)
    else:
        region = np.asarray(resize(np.asarray(mask, np.float32), hw))
        if region.max() < 0.5:
            raise JaxstyleError("mask is empty (no value >= 0.5)")
    return inner_edge(region, objectmap.MapConfig.feather)


def pad(a: jax.Array, pad_hw: tuple[int, int], mode: str = "constant") -> jax.Array:
    """``a`` (h, w, ...) padded at the bottom and right to ``pad_hw``."""
    a = jnp.asarray(a)
    widths = ((0, pad_hw[0] - a.shape[0]), (0, pad_hw[1] - a.shape[1])) + ((0, 0),) * (a.ndim - 2)
    return jnp.pad(a, widths, mode=mode) if any(w[1] for w in widths) else a
