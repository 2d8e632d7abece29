"""Localization metrics for object-only style transfer (definitions: docs/METRICS.md).

All metrics are computed at the output resolution. The mask is binarised at 0.5 and a
band of ``radius`` pixels (default 2 % of the long side) on each side of its boundary is
ignored: the *object region* is the mask eroded by ``radius`` and the *background region*
is the complement of the mask dilated by ``radius`` (square window, i.e. Chebyshev
distance, image borders are not a boundary).

* ``psnr_bg``     PSNR (peak 255) of output vs content over the background region.
* ``gain_obj``    1 - D(output; object) / D(content; object), D the guided-Gram style distance.
* ``gain_bg``     the same over the background region (style leaked into the background).
* ``cover_obj``   share of object-region pixels whose box-filtered mean |output - content|
                  (RGB 0-255, window ~2 % of the long side) is >= 12.
* ``cover_bg``    the same share over the background region.
* ``structure_obj``  Pearson correlation over the object region of the gradient magnitude
                  (Sobel of the luminance blurred with sigma 1.5 px) of output and content:
                  1 when the object's own edges are all kept, near 0 when they are gone.
* ``map_iou`` / ``map_ap``  IoU at 0.5 and average precision of an object map vs the mask
                  (band ignored).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

from ..model import vgg
from ..errors import JaxstyleError
from ..transfer.losses import resize

STYLE_LAYERS: tuple[str, ...] = ("conv1_1", "conv2_1", "conv3_1")
BAND_FRACTION = 0.02  # erosion/dilation radius, as a fraction of the long side
WINDOW_FRACTION = 0.02  # cover box window, as a fraction of the long side
COVER_THRESHOLD = 12.0  # mean absolute RGB change (0-255) that counts as "restyled"
STRUCTURE_SIGMA = 1.5  # px: the luminance blur before the gradient of ``structure``
MAP_THRESHOLD = 0.5

__all__ = [
    "STYLE_LAYERS", "band_radius", "cover_window", "regions", "psnr_bg", "gram", "guided_gram",
    "style_grams", "style_distance", "style_gains", "cover", "edge_strength", "structure", "map_iou", "map_ap", "evaluate",
]


# --------------------------------------------------------------------------- input checks
def _image(x, name: str) -> np.ndarray:
    a = np.asarray(x, np.float32)
    if a.ndim != 3 or a.shape[-1] != 3 or min(a.shape[:2]) < 1:
        raise JaxstyleError(f"{name}: expected an RGB image (H, W, 3), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise JaxstyleError(f"{name}: contains NaN or infinite values")
    return a


def _plane(m, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    a = np.asarray(m, np.float32)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 2:
        raise JaxstyleError(f"{name}: expected an (H, W) array, got shape {a.shape}")
    if shape is not None and a.shape != tuple(shape):
        raise JaxstyleError(f"{name}: shape {a.shape} does not match the image's {tuple(shape)}")
    if not np.isfinite(a).all():
        raise JaxstyleError(f"{name}: contains NaN or infinite values")
    return a


def _same_shape(a: np.ndarray, b: np.ndarray, na: str, nb: str) -> None:
    if a.shape != b.shape:
        raise JaxstyleError(f"{na} {a.shape} and {nb} {b.shape} differ in shape")


# --------------------------------------------------------------------------- regions
def band_radius(shape: Sequence[int], fraction: float = BAND_FRACTION) -> int:
    """Erosion/dilation radius in pixels: ``round(fraction * long side)``, at least 1."""
    return max(1, int(round(fraction * max(shape[:2]))))


def cover_window(shape: Sequence[int], fraction: float = WINDOW_FRACTION) -> int:
    """Box-window side: the odd integer nearest ``fraction * long side`` (at least 1)."""
    return max(1, 2 * int(round((fraction * max(shape[:2]) - 1) / 2)) + 1)


def regions(mask, radius: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(object, background) boolean (H, W) regions: mask >= 0.5 eroded / dilated-then-complemented.

    ``radius`` defaults to :func:`band_radius` (2 % of the long side); 0 keeps the mask as is.
    """
    m = _plane(mask, "mask")
    r = band_radius(m.shape) if radius is None else int(radius)
    if r < 0:
        raise JaxstyleError(f"erosion radius must be >= 0, got {radius}")
    b = m >= 0.5
    if r == 0:
        return b, ~b
    # The image border is not a boundary: erosion pads with "object", dilation with "background".
    square = np.ones((2 * r + 1, 2 * r + 1), bool)
    return (ndimage.binary_erosion(b, square, border_value=1),
            ~ndimage.binary_dilation(b, square, border_value=0))


def _region(region, shape: tuple[int, int], name: str = "region") -> np.ndarray:
    r = _plane(region, name, shape)
    if r.min() < 0 or r.max() > 1:
        raise JaxstyleError(f"{name}: values must lie in [0, 1]")
    return r


# --------------------------------------------------------------------------- PSNR
def psnr_bg(output, content, mask, radius: int | None = None) -> float:
    """PSNR (dB, peak 255) of ``output`` vs ``content`` over the background region; inf if equal.

    ``output`` is clipped to [0, 255] first (as when saved). NaN if the background region is empty.
    """
    out, con = _image(output, "output"), _image(content, "content")
    _same_shape(out, con, "output", "content")
    _, bg = regions(_plane(mask, "mask", out.shape[:2]), radius)
    n = int(bg.sum())
    if n == 0:
        return float("nan")
    d = np.clip(out, 0, 255)[bg].astype(np.float64) - np.clip(con, 0, 255)[bg]
    mse = float(np.mean(d * d))
    return float("inf") if mse == 0 else float(10.0 * math.log10(255.0 ** 2 / mse))


# --------------------------------------------------------------------------- Gram matrices
def gram(feats: jax.Array) -> jax.Array:
    """Plain Gram of (h, w, C) features: sum_i f_i f_i^T / (h * w * C)."""
    h, w, c = feats.shape
    f = feats.reshape(h * w, c)
    return f.T @ f / (h * w * c)


def _downsample(region: jax.Array, factor: int, hw: tuple[int, int]) -> jax.Array:
    """Area (mean) downsampling by ``factor`` with VGG's floor rounding, cropped to ``hw``."""
    if factor > 1:
        region = jax.lax.reduce_window(region, 0.0, jax.lax.add, (factor, factor), (factor, factor),
                                       "VALID") / (factor * factor)
    return region[: hw[0], : hw[1]]


def guided_gram(feats: jax.Array, region: jax.Array, factor: int | None = None) -> tuple[jax.Array, jax.Array]:
    """Guided Gram of (h, w, C) features under an (H, W) region mask in [0, 1].

    The region is area-downsampled to the layer (by ``factor``, the layer's stride, default
    H // h; 2 ** (block - 1) for VGG) giving weights m_i;
    G_R = sum_i m_i f_i f_i^T / (C * sum_i m_i). Returns (G_R, sum_i m_i); an all-ones
    region gives :func:`gram`. Not jitted (for use inside jitted code).
    """
    h, w, c = feats.shape
    factor = max(1, region.shape[0] // h) if factor is None else factor
    m = _downsample(region.astype(jnp.float32), factor, (h, w))
    area = m.sum()
    g = jnp.einsum("hwc,hw,hwd->cd", feats, m, feats) / (c * jnp.maximum(area, 1e-12))
    return g, area


def _layer_factor(layer: str) -> int:
    return 2 ** (int(layer[4]) - 1)


@partial(jax.jit, static_argnames=("layers",))
def _grams_jit(params, image, layers):
    feats = vgg.apply(params, vgg.preprocess(image[None]), layers)
    return {l: gram(feats[l][0]) for l in layers}


def style_grams(params: Mapping, style, layers: Sequence[str] = STYLE_LAYERS) -> dict[str, jax.Array]:
    """Plain Grams {layer: (C, C)} of the whole style image (RGB 0-255, (H, W, 3)), computed once."""
    s = _image(style, "style")
    layers = vgg.check_layers(layers)
    return _grams_jit(params, jnp.asarray(s), tuple(layers))


def _as_grams(params: Mapping, style) -> dict[str, jax.Array]:
    """Style image, {layer: Gram (C,C)} or {layer: features (h,w,C)} -> {layer: Gram}."""
    if isinstance(style, Mapping):
        missing = [l for l in STYLE_LAYERS if l not in style]
        if missing:
            raise JaxstyleError(f"style Grams lack layer(s) {', '.join(missing)}")
        out = {}
        for l in STYLE_LAYERS:
            a = jnp.asarray(style[l], jnp.float32)
            if a.ndim == 4 and a.shape[0] == 1:
                a = a[0]
            if a.ndim == 3:
                a = gram(a)
            if a.ndim != 2 or a.shape[0] != a.shape[1]:
                raise JaxstyleError(f"style {l}: expected a (C, C) Gram or (h, w, C) features, got {a.shape}")
            out[l] = a
        return out
    return style_grams(params, style)


@partial(jax.jit, static_argnames=("layers",))
def _distances_jit(params, images, regs, grams, layers):
    """D for every (image, region) pair -> (N, R) distances and (R, L) downsampled areas."""
    feats = vgg.apply(params, vgg.preprocess(images), layers)
    ds, areas = [], []
    for l in layers:
        gs = grams[l]
        norm = jnp.sum(gs * gs)
        per_img = []
        a_l = None
        for n in range(images.shape[0]):
            row, a_row = [], []
            for r in range(regs.shape[0]):
                g, a = guided_gram(feats[l][n], regs[r], _layer_factor(l))
                row.append(jnp.sum((g - gs) ** 2) / norm)
                a_row.append(a)
            per_img.append(jnp.stack(row))
            a_l = jnp.stack(a_row)
        ds.append(jnp.stack(per_img))
        areas.append(a_l)
    return jnp.mean(jnp.stack(ds), axis=0), jnp.stack(areas, axis=1)


def _distances(params, images: np.ndarray, regs: np.ndarray, grams: Mapping) -> np.ndarray:
    grams = {l: jnp.asarray(grams[l], jnp.float32) for l in STYLE_LAYERS}
    for l in STYLE_LAYERS:
        c = vgg.num_channels(params, l)
        if grams[l].shape != (c, c):
            raise JaxstyleError(f"style Gram {l} has shape {grams[l].shape}; these weights need ({c}, {c})")
    d, areas = _distances_jit(params, jnp.asarray(images, jnp.float32), jnp.asarray(regs, jnp.float32),
                              grams, STYLE_LAYERS)
    d = np.asarray(d, np.float64)
    empty = np.asarray(areas).min(axis=1) <= 0  # region vanishes at some layer
    d[:, empty] = np.nan
    return d


def style_distance(params: Mapping, x, style, region) -> float:
    """D(X; R): mean over conv1_1, conv2_1, conv3_1 of ||G_R(X) - G(style)||^2 / ||G(style)||^2.

    ``style`` is the style image (H, W, 3) or its precomputed :func:`style_grams` (or features).
    ``region`` is an (H, W) mask in [0, 1] at X's resolution. NaN when the region is empty.
    """
    img = _image(x, "image")
    reg = _region(region, img.shape[:2])
    return float(_distances(params, img[None], reg[None], _as_grams(params, style))[0, 0])


def style_gains(params: Mapping, output, content, style, regs: Sequence) -> dict[str, list[float]]:
    """Gains 1 - D(output; R) / D(content; R) for several regions, with the raw distances."""
    out, con = _image(output, "output"), _image(content, "content")
    _same_shape(out, con, "output", "content")
    regs = np.stack([_region(r, out.shape[:2]) for r in regs])
    d = _distances(params, np.stack([out, con]), regs, _as_grams(params, style))
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = 1.0 - d[0] / d[1]
    return {"gain": gain.tolist(), "d_output": d[0].tolist(), "d_content": d[1].tolist()}


# --------------------------------------------------------------------------- cover
def _box_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Mean over the in-image pixels of the centred k x k window (float64)."""
    a = a.astype(np.float64)
    inside = ndimage.uniform_filter(np.ones_like(a), k, mode="constant", cval=0.0)
    return ndimage.uniform_filter(a, k, mode="constant", cval=0.0) / inside


def local_change(output, content, window: int | None = None) -> np.ndarray:
    """(H, W) box-filtered mean absolute RGB change (0-255); ``window`` defaults to :func:`cover_window`."""
    out, con = _image(output, "output"), _image(content, "content")
    _same_shape(out, con, "output", "content")
    w = cover_window(out.shape) if window is None else int(window)
    if w < 1:
        raise JaxstyleError(f"cover window must be >= 1 pixel, got {window}")
    w += 1 - w % 2  # odd, so the window is centred
    d = np.abs(np.clip(out, 0, 255).astype(np.float64) - np.clip(con, 0, 255)).mean(axis=-1)
    return _box_mean(d, w)


def cover(output, content, region, window: int | None = None, thresh: float = COVER_THRESHOLD) -> float:
    """Share of ``region`` pixels (>= 0.5) whose local mean absolute RGB change is >= ``thresh``.

    NaN when the region is empty.
    """
    change = local_change(output, content, window)
    reg = _region(region, change.shape) >= 0.5
    n = int(reg.sum())
    return float("nan") if n == 0 else float((change[reg] >= thresh).sum() / n)


# --------------------------------------------------------------------------- structure
_LUMA = np.array([0.299, 0.587, 0.114])


def edge_strength(image, sigma: float = STRUCTURE_SIGMA) -> np.ndarray:
    """(H, W) gradient magnitude (Sobel) of the image's luminance blurred with ``sigma`` px."""
    y = ndimage.gaussian_filter(np.clip(_image(image, "image"), 0, 255).astype(np.float64) @ _LUMA, sigma)
    return np.hypot(ndimage.sobel(y, axis=0), ndimage.sobel(y, axis=1))


def structure(output, content, region, sigma: float = STRUCTURE_SIGMA) -> float:
    """Pearson correlation over ``region`` (>= 0.5) of the :func:`edge_strength` of output and content.

    How much of the content's own structure (edges: eyes, nose, legs, fur) the output keeps
    there: 1 when every edge is kept, near 0 when they are gone. NaN when the region has
    fewer than 2 pixels or the content is flat there.
    """
    out, con = _image(output, "output"), _image(content, "content")
    _same_shape(out, con, "output", "content")
    reg = _region(region, out.shape[:2]) >= 0.5
    if reg.sum() < 2:
        return float("nan")
    a, b = edge_strength(out, sigma)[reg], edge_strength(con, sigma)[reg]
    a, b = a - a.mean(), b - b.mean()
    den = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    return float("nan") if den == 0 else float(np.dot(a, b) / den)


# --------------------------------------------------------------------------- object maps
def _map_and_labels(object_map, mask, radius: int | None) -> tuple[np.ndarray, np.ndarray]:
    m = _plane(mask, "mask")
    om = _plane(object_map, "object map")
    if om.shape != m.shape:
        om = np.asarray(resize(om, m.shape))
    obj, bg = regions(m, 0 if radius is None else radius)
    keep = obj | bg
    return om[keep].astype(np.float64), obj[keep]


def map_iou(object_map, mask, threshold: float = MAP_THRESHOLD, radius: int | None = None) -> float:
    """IoU of ``object_map >= threshold`` with ``mask >= 0.5``.

    ``radius`` > 0 ignores a band of that many pixels around the mask boundary (``evaluate``
    uses the 2 % band); a map of another size is resized bilinearly to the mask's.
    """
    score, label = _map_and_labels(object_map, mask, radius)
    pred = score >= threshold
    union = int((pred | label).sum())
    return float("nan") if union == 0 else float((pred & label).sum() / union)


def map_ap(object_map, mask, radius: int | None = None) -> float:
    """Average precision of per-pixel map scores against ``mask >= 0.5`` (ties grouped).

    AP = sum_k (R_k - R_{k-1}) P_k over the distinct score thresholds, highest first (as
    scikit-learn's ``average_precision_score``). NaN when the mask has no positive pixel.
    """
    score, label = _map_and_labels(object_map, mask, radius)
    npos = int(label.sum())
    if npos == 0:
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    s, y = score[order], label[order]
    tp = np.cumsum(y)
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]  # last index of each distinct score
    tp = tp[last].astype(np.float64)
    precision = tp / (last + 1)
    recall = tp / npos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# --------------------------------------------------------------------------- all at once
def evaluate(params: Mapping, output, content, style, mask, object_map=None,
             radius: int | None = None) -> dict[str, float]:
    """All metrics of one output as floats (NaN where undefined, e.g. no object map).

    ``style`` is the style image or its precomputed :func:`style_grams` (pass Grams to
    score several methods against one style without recomputing them). Keys: psnr_bg,
    gain_obj, gain_bg, cover_obj, cover_bg, structure_obj, map_iou, map_ap, d_obj_output, d_obj_content,
    d_bg_output, d_bg_content, frac_obj, frac_bg, radius, window.
    """
    out, con = _image(output, "output"), _image(content, "content")
    _same_shape(out, con, "output", "content")
    m = _plane(mask, "mask", out.shape[:2])
    r = band_radius(m.shape) if radius is None else int(radius)
    obj, bg = regions(m, r)
    g = style_gains(params, out, con, style, [obj, bg])
    w = cover_window(m.shape)
    change = local_change(out, con, w)
    frac = lambda reg: float("nan") if not reg.any() else float((change[reg] >= COVER_THRESHOLD).mean())  # noqa: E731
    res = {
        "psnr_bg": psnr_bg(out, con, m, r),
        "gain_obj": g["gain"][0],
        "gain_bg": g["gain"][1],
        "cover_obj": frac(obj),
        "cover_bg": frac(bg),
        "structure_obj": structure(out, con, obj),
        "map_iou": float("nan"),
        "map_ap": float("nan"),
        "d_obj_output": g["d_output"][0],
        "d_obj_content": g["d_content"][0],
        "d_bg_output": g["d_output"][1],
        "d_bg_content": g["d_content"][1],
        "frac_obj": float(obj.mean()),
        "frac_bg": float(bg.mean()),
        "radius": float(r),
        "window": float(w),
    }
    if object_map is not None:
        res["map_iou"] = map_iou(object_map, m, radius=r)
        res["map_ap"] = map_ap(object_map, m, radius=r)
    return res
