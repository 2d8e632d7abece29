"""Object-only style transfer: the Python API behind ``scripts/stylize.py``.

Methods
-------
``gatys``  whole-image transfer (style conv1_1…conv5_1, content conv4_2).
``paper``  the source paper's objective: style Grams over the selected class filters only
           (conv4_1, conv5_1 by default), content conv4_2, TV; no map.
``mask``   a user mask: guided Grams and the content error averaged inside it (Gatys et al.
           2017), at the preset's object style weight, and the image is
           ``M·x + (1−M)·content`` so the background is kept by construction.
``auto``   ``mask`` with the mask replaced by the object map (:mod:`jaxstyle.transfer.objectmap`:
           VGG-19 regions judged by the class probe) — no user mask, no segmentation network.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import losses, objectmap, optimize
from ..model import vgg
from ..errors import JaxstyleError, NotFoundError, UsageError

METHODS = ("auto", "paper", "gatys", "mask")
CONTENT_LAYER = "conv4_2"
MIN_SHORT_SIDE = 16  # conv5_1 needs at least one cell after four 2x2 poolings
# conv="auto" uses the Winograd VGG (CPU) at a level only if it runs >= this many pixel-iterations:
# its objective compiles ~2-3 s slower and saves ~3.5 us per pixel per evaluation on the 2-core
# CPU (docs/BENCHMARKS.md, fourth stop), so smaller levels are faster with XLA's convolutions.
WINOGRAD_MIN_WORK = 700_000
MAP_SIZE = 512  # the object map is computed at this long side whatever the output size
GATYS_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")

MAX_STRENGTH = 10.0  # Config.strength's upper bound
DETAILS = ("style", "photo", "none")  # what fills a new level's detail band (stylize_iter's ``detail``)

# Weights are for the normalisation in docs/METHOD.md ("relative": each style layer's Gram
# error divided by the target Gram's energy; content error by the content energy).
# ``object_style_weight``: the style weight of the guided methods (``mask``, ``auto``), whose
# region alone carries the painting's statistics that whole-image Gatys spreads over the frame:
# at Gatys's weight the object came out as a dog-shaped cut-out of the painting, at a tenth
# it stays that dog, painted (docs/METHOD.md, "A style weight that fits an object").
PRESETS: dict[str, dict] = {
    "default": dict(content_weight=1.0, style_weight=10.0, object_style_weight=1.0, tv_weight=1e-5, iterations=300,
                    normalize="relative"),
    # The paper's numbers, applied to raw (un-normalised) mean-square losses.
    "paper": dict(content_weight=5.0, style_weight=0.002, tv_weight=0.001, iterations=1000, normalize="raw",
                  layer_weight=0.5),
    "fast": dict(content_weight=1.0, style_weight=10.0, object_style_weight=1.0, tv_weight=1e-5, iterations=100,
                 normalize="relative"),
}


@dataclass
class Result:
    """A finished stylization: images are float32 (H, W, 3) RGB in [0, 255]."""
    image: np.ndarray
    content: np.ndarray
    object_map: np.ndarray | None
    losses: dict[str, float]
    method: str
    filters: dict[str, list[int]] | None
    seconds: float
    history: list[dict] = field(default_factory=list)


@dataclass
class Progress:
    """Yielded by :func:`stylize_iter` after each optimisation chunk."""
    scale: int
    num_scales: int
    shape: tuple[int, int]
    done: int
    total: int
    loss: float
    terms: dict[str, float]
    image: jax.Array | None
    result: Result | None = None


def _as_image(x, size: int | None) -> np.ndarray:
    from ..data import load_image

    if isinstance(x, (str, os.PathLike)):
        return load_image(x, size)
    a = np.asarray(x, np.float32)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise UsageError(f"image arrays must be (H, W, 3) RGB, got shape {a.shape}")
    return a


def _resize(img: np.ndarray | jax.Array, hw: tuple[int, int]) -> jax.Array:
    return losses.resize(jnp.asarray(img, jnp.float32), hw)


def _composite(x: jax.Array, region: jax.Array | None, base: jax.Array) -> jax.Array:
    """``M·x + (1−M)·base``: the free image inside the region, the photo outside (x if no region)."""
    if region is None:
        return x
    return region[..., None] * x + (1.0 - region[..., None]) * base


def _hw(shape, long_side: int) -> tuple[int, int]:
    h, w = shape[:2]
    s = long_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def _filter_file(filters) -> str | None:
    """The path when ``filters`` names a file (``--filters FILE`` or ``--scores FILE``), else None."""
    if isinstance(filters, (list, tuple)) and len(filters) == 1:
        filters = filters[0]
    if isinstance(filters, (str, os.PathLike)) and os.path.isfile(str(filters)):
        return str(filters)
    return None


def resolve_filters(params, class_name: str | None, filters) -> dict[str, list[int]] | None:
    """Filters from an explicit spec/dict/score file, else the shipped list for ``class_name``."""
    from ..select import filters as flt

    if filters is not None:
        path = _filter_file(filters)
        if path is not None:
            sel = flt.load_file(path)
        elif isinstance(filters, Mapping):
            sel = {k: [int(i) for i in v] for k, v in filters.items()}
        else:
            sel = flt.parse(filters)
    elif class_name is not None:
        if _probe_only(class_name):
            return {}  # no filter reaches the scoring rule (its list says so); the class probe locates it
        sel = flt.for_class(class_name)
    else:
        return None
    flt.validate(sel, params)
    sel = {k: list(v) for k, v in sel.items() if len(v)}
    if not sel:
        raise UsageError("the filter list is empty")
    return sel


def _probe_only(class_name: str) -> bool:
    """Whether ``class_name`` has a shipped probe but no shipped filter list that selects a filter (horse, sheep)."""
    from ..select import assets, filters as flt

    a = assets.lookup(class_name)
    return a.probe is not None and (a.filters is None or not any(flt.from_scores(a.filters).values()))


MAP_MIN_AP = 0.3
MAP_MAX_PER_LAYER = 8


def map_filters(class_name: str | None, filters, selected: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Filters that locate the object for ``auto``.

    From a score file (``--scores`` or the shipped list of ``--class``): per layer the
    filters with AP >= 0.3, best 8 by AP, plus the selected ones. The strict 9/9 purity
    list alone is too sparse to locate a whole dog (it has no conv4_1 filter for dogs);
    AP ranks conv4_1 part/fur filters that the map needs. A hand-given list is used as is.
    """
    import json
    from ..select import filters as flt

    path = None
    given = _filter_file(filters)
    if given is not None and given.endswith(".json"):
        path = Path(given)
    elif filters is None and class_name is not None:
        path = flt.shipped_path(class_name)
    if path is None:
        return {k: list(v) for k, v in selected.items()}
    try:
        doc = json.loads(Path(path).read_text())
        layers = doc["layers"]
    except (OSError, ValueError, KeyError, TypeError):
        return {k: list(v) for k, v in selected.items()}
    out: dict[str, list[int]] = {}
    for layer in vgg.CONV_LAYERS:
        ap = layers.get(layer, {}).get("ap") if isinstance(layers.get(layer), dict) else None
        chosen = set(selected.get(layer, []))
        if ap:
            ap = np.asarray(ap, np.float64)
            order = [int(i) for i in np.argsort(-ap) if ap[i] >= MAP_MIN_AP][:MAP_MAX_PER_LAYER]
            chosen |= set(order)
        if chosen:
            out[layer] = sorted(chosen)
    return out


def locate(params, content, class_name: str | None = "dog", filters=None,
           selected: Mapping[str, Sequence[int]] | None = None, map_options: Mapping | None = None) -> dict:
    """The object map at the map's size: ``{"map", "presence", "probe", "min_evidence"}`` (no refusal here).

    ``map_options`` are :class:`objectmap.MapConfig` fields (``size`` defaults to
    ``MAP_SIZE``; a path is re-read at that size). A class with a shipped probe is located by
    it; hand-given filters, a score file, or weights the probe does not fit (the tiny test
    VGGs) use the filters' evidence, and ``presence`` is then 1.
    """
    return locate_many(params, [content], class_name, filters, selected, map_options)[0]


def locate_many(params, contents: Sequence, class_name: str | None = "dog", filters=None,
                selected: Mapping[str, Sequence[int]] | None = None, map_options: Mapping | None = None,
                batch: int = 1) -> list[dict]:
    """:func:`locate` of each photo, their VGG passes ``batch`` photos at a time (one program per size)."""
    cfg = map_config(map_options)
    head = _class_head(class_name) if (cfg.learned or cfg.gate > 0) else None
    if cfg.learned:
        rs = objectmap.object_maps(params, [_map_image(c, cfg.size) for c in contents], None, None, cfg, batch, head)
        return [{"map": r["map"], "presence": r["presence"], "probe": True, "min_evidence": cfg.min_evidence}
                for r in rs]
    pr = _class_probe(params, class_name) if filters is None else None
    if pr is None and head is not None:
        raise UsageError("--head-gate needs the class probe's map (not --filters or --scores)")
    flt = None
    if pr is None:
        if selected is None:
            selected = resolve_filters(params, class_name, filters)
            if selected is None:
                raise UsageError("the object map needs --class, --filters or --scores")
        flt = map_filters(class_name, filters, selected)
    rs = objectmap.object_maps(params, [_map_image(c, cfg.size) for c in contents], flt, pr, cfg, batch, head)
    return [{"map": r["map"], "presence": r["presence"], "probe": pr is not None, "min_evidence": cfg.min_evidence}
            for r in rs]


def map_config(map_options: Mapping | None) -> objectmap.MapConfig:
    """The :class:`objectmap.MapConfig` of ``map_options``, at ``MAP_SIZE`` unless they give a size."""
    return objectmap.MapConfig(**{"size": MAP_SIZE, **dict(map_options or {})})


def _map_image(content, size: int) -> np.ndarray:
    """``content`` at the map's long side ``size``: a path is re-read at that size."""
    if isinstance(content, (str, os.PathLike)):
        return _as_image(content, size)
    img = _as_image(content, None)
    hw = _hw(img.shape, size)
    return img if tuple(img.shape[:2]) == tuple(hw) else np.asarray(_resize(img, hw))


def auto_map(params, content, hw: tuple[int, int], class_name: str | None = "dog", filters=None,
             selected: Mapping[str, Sequence[int]] | None = None, map_options: Mapping | None = None) -> np.ndarray:
    """The ``auto`` object map (H, W) in [0, 1] for ``content`` (path or RGB array), at size ``hw``.

    :func:`locate`, then :class:`NotFoundError` when a probe finds no object of the class
    (presence below ``min_evidence``): nothing is restyled and nothing written.
    """
    return fitted_map(locate(params, content, class_name, filters, selected, map_options), content, hw, class_name)


def fitted_map(r: Mapping, content, hw: tuple[int, int], class_name: str | None) -> np.ndarray:
    """:func:`locate`'s result ``r`` resized to ``hw``, or :class:`NotFoundError` when the probe found no object."""
    if r["probe"] and r["presence"] < r["min_evidence"]:
        where = f" in {Path(content).name}" if isinstance(content, (str, os.PathLike)) else ""
        raise NotFoundError(f"no {class_name} found{where} (evidence {r['presence']:.2f} < {r['min_evidence']:.2f}); "
                            "--min-evidence to change")
    return np.clip(np.asarray(_resize(r["map"][..., None], tuple(hw)))[..., 0], 0.0, 1.0)


def _class_head(class_name: str | None):
    """The shipped cell head of ``class_name`` (the learned map), or UsageError."""
    from ..select import cellhead

    head = cellhead.shipped(class_name) if class_name else None
    if head is None:
        raise UsageError(f"the learned map has no cell head for class {class_name!r} (train one with jaxstyle head)")
    return head


def _class_probe(params, class_name: str | None):
    """The shipped probe of ``class_name`` if there is one and it fits these weights, else None."""
    if not class_name:
        return None
    from ..select import probe

    pr = probe.shipped(class_name)
    if pr is None or "conv5_4" not in params or vgg.num_channels(params, "conv5_4") != pr.W.shape[0]:
        return None
    return pr


def _style_hws(style_imgs, long_side: int, style_scale: float) -> tuple[tuple[int, int], ...]:
    """Each style's size at a level (long side ``long_side * style_scale``, at least 16 px)."""
    return tuple(_hw(img.shape, max(16, int(round(long_side * style_scale)))) for img in style_imgs)


def _mirror(a: jax.Array) -> jax.Array:
    """``a`` (h, w, C) and its reflections, (2h, 2w, C): periodic without seams."""
    a = jnp.concatenate([a, a[::-1]], 0)
    return jnp.concatenate([a, a[:, ::-1]], 1)


def _tile(a: jax.Array, hw: tuple[int, int]) -> jax.Array:
    """``a`` (h, w, C) repeated and cropped to ``hw``."""
    return jnp.tile(a, (-(-hw[0] // a.shape[0]), -(-hw[1] // a.shape[1]), 1))[:hw[0], :hw[1]]


def _fine_band(a: jax.Array, low_hw: tuple[int, int]) -> jax.Array:
    """``a`` (h, w, C) minus its blur to ``low_hw`` and back: what a ``low_hw`` level cannot hold."""
    return a - losses.resize(losses.resize(a, low_hw), a.shape[:2])


def _style_detail(style_imgs, weights_, long_side, style_scale, hw, prev_hw, key, out_hw=None) -> jax.Array:
    """The styles' detail band for a level: what a ``prev_hw`` level cannot hold, at ``hw``.

    ``out_hw`` (a bucket's size, >= ``hw``): the same texture tiled further, so its top-left
    ``hw`` equals the band at ``hw`` and photos of one bucket share the program.

    Each style at the level's scale (as its Gram targets) minus its blur by the factor
    ``prev_hw / hw``, made a random-phase texture (:func:`_random_phase` of its mirror
    image, which is periodic, so the texture tiles without seams): its spectra are the
    painting's, its layout is not, so no piece of the painting is pasted onto the object.
    Several styles mix with weights ``sqrt(w)`` so that the band's covariance is the
    weighted blend of theirs, as the Gram targets are.
    """
    hws = _style_hws(style_imgs, long_side, style_scale)
    lows = tuple((max(1, round(h * prev_hw[0] / hw[0])), max(1, round(w * prev_hw[1] / hw[1]))) for h, w in hws)
    return _detail_band(tuple(jnp.asarray(i, jnp.float32) for i in style_imgs), jnp.asarray(weights_, jnp.float32),
                        hws, lows, tuple(out_hw or hw), jax.random.split(key, len(style_imgs)))


def _random_phase(a: jax.Array, key: jax.Array) -> jax.Array:
    """``a`` (h, w, C) with its Fourier phases shifted by one random field shared by the channels.

    Keeps every channel's power spectrum and the cross-channel spectra (a random-phase
    texture of ``a``) and drops its layout.
    """
    h, w = a.shape[:2]
    noise = jax.random.normal(key, (h, w), jnp.float32)
    phase = jnp.fft.rfft2(noise)
    phase = phase / jnp.maximum(jnp.abs(phase), 1e-12)
    return jnp.fft.irfft2(jnp.fft.rfft2(a, axes=(0, 1)) * phase[..., None], s=(h, w), axes=(0, 1)).astype(a.dtype)


@functools.partial(jax.jit, static_argnames=("hws", "lows", "hw"))
def _detail_band(imgs, weights_, hws, lows, hw, keys):
    w = jnp.sqrt(weights_ / jnp.sum(weights_))
    acc = jnp.zeros(hw + (3,), jnp.float32)
    for i, (img, shw, low) in enumerate(zip(imgs, hws, lows)):
        s = losses.resize(img, shw)
        acc = acc + w[i] * _tile(_random_phase(_mirror(_fine_band(s, low)), keys[i]), hw)
    return acc


def _style_targets(params, style_imgs, weights_, layers, long_side, style_scale, pooling):
    """Blended Gram targets {layer: A} over the styles (weights normalised): one jitted program."""
    hws = _style_hws(style_imgs, long_side, style_scale)
    return _blended_grams(params, tuple(jnp.asarray(i, jnp.float32) for i in style_imgs),
                          jnp.asarray(weights_, jnp.float32), tuple(layers), hws, pooling)


@functools.partial(jax.jit, static_argnames=("layers", "hws", "pooling"))
def _blended_grams(params, imgs, weights_, layers, hws, pooling):
    acc = None
    for i, (img, hw) in enumerate(zip(imgs, hws)):
        f = vgg.apply(params, vgg.preprocess(losses.resize(img, hw)[None]), layers, pooling)
        g = {l: losses.gram(f[l][0]) * (weights_[i] / jnp.sum(weights_)) for l in layers}
        acc = g if acc is None else {l: acc[l] + g[l] for l in layers}
    return acc


@functools.partial(jax.jit, static_argnames=("hw", "pooling"))
def _level_photo(params, content, hw, pooling):
    """The photo at a level's size and its content target (conv4_2): one jitted program."""
    base = losses.resize(content, hw)
    return base, vgg.apply(params, vgg.preprocess(base[None]), (CONTENT_LAYER,), pooling)[CONTENT_LAYER][0]


@jax.jit
def _energies(targets, content_target, content_mask=None):
    """Mean squared Gram per style layer and mean squared content target (the "relative" normalisers).

    ``content_mask`` (h, w) 0/1: the mean over the real positions of a padded target.
    """
    if content_mask is None:
        c = jnp.mean(jnp.square(content_target))
    else:
        c = (jnp.sum(jnp.square(content_target) * content_mask[..., None])
             / (jnp.sum(content_mask) * content_target.shape[-1]))
    return {l: jnp.mean(jnp.square(t)) + 1e-8 for l, t in targets.items()}, c + 1e-8


@functools.partial(jax.jit, static_argnames=("pooling",))
def _padded_content_target(params, base, valid, pooling):
    """The content target (conv4_2) of a padded photo, zero beyond its real pixels (:func:`vgg.apply`)."""
    return vgg.apply(params, vgg.preprocess(base[None]), (CONTENT_LAYER,), pooling, valid=valid)[CONTENT_LAYER][0]


def _f32(shape) -> jax.ShapeDtypeStruct:
    """A float32 array's shape, for tracing and compiling before the array exists."""
    return jax.ShapeDtypeStruct(tuple(shape), jnp.float32)


def _zeros(shape) -> jax.Array:
    """A float32 zero array made on the host (``jnp.zeros`` compiles a program per shape)."""
    return jnp.asarray(np.zeros(shape, np.float32))


def _pad(a: jax.Array, pad_hw: tuple[int, int], mode: str = "constant") -> jax.Array:
    """``a`` (h, w, ...) padded at the bottom and right to ``pad_hw``."""
    a = jnp.asarray(a)
    widths = ((0, pad_hw[0] - a.shape[0]), (0, pad_hw[1] - a.shape[1])) + ((0, 0),) * (a.ndim - 2)
    return jnp.pad(a, widths, mode=mode) if any(w[1] for w in widths) else a


@functools.partial(jax.jit, static_argnames=("pad_hw", "layers"))
def _layer_masks(region, pad_hw, layers):
    """The region (h, w) at each style layer's real feature size, padded to the layer's size at ``pad_hw``."""
    hw = region.shape
    return {l: _pad(losses.resize_mask(region, vgg.block_hw(hw, l)), vgg.block_hw(pad_hw, l)) for l in layers}


@functools.lru_cache(maxsize=None)
def _objective(style_layers: tuple[str, ...], selected_layers: tuple[str, ...], relative: bool,
               guided: bool, pooling: str, padded: bool = False):
    """The objective ``f(x, args) -> (loss, terms)`` for one static configuration.

    One function object per configuration, so jitted optimisation code is reused across
    scales of the same shape and across calls (``optimize.lbfgs`` caches on it).
    ``padded``: ``x`` is a photo padded to a bucket's size; ``args`` then hold the real
    pixels (``valid``, :func:`vgg.valid_masks`), the region padded with zeros (the real
    pixels for whole-image methods) and its masks per style layer and conv4_2 (``masks``),
    and every term counts the real pixels only.

    ``guided``: the style Grams and the content error are both averaged over the region
    (soft), so an object pixel sees the content/style balance a pixel of whole-image Gatys
    sees, whatever the object's share of the frame (docs/METHOD.md, "One balance per
    object pixel").
    """
    layers = tuple(sorted(set(style_layers) | {CONTENT_LAYER}, key=vgg.CONV_LAYERS.index))

    def f(x, a):
        region = a["region"] if guided or padded else None
        valid = a["valid"] if padded else None
        img = _composite(x, region, a["base"])
        feats = vgg.apply(a["params"], vgg.preprocess(img[None]), layers, pooling, valid=valid)
        s = 0.0
        for l in style_layers:
            fl = feats[l][0]
            if padded:
                m = a["masks"][l]
            else:
                m = None if region is None else losses.resize_mask(region, fl.shape[:2])
            ch = a["channels"][l] if l in selected_layers else None
            e = losses.style_loss(fl, a["targets"][l], m, ch)
            s = s + a["layer_w"][l] * (e / a["energy"][l] if relative else e)
        fc = feats[CONTENT_LAYER][0]
        if guided:  # the content error averaged over the region, as the guided Grams are
            c_mask = a["masks"][CONTENT_LAYER] if padded else losses.resize_mask(region, fc.shape[:2])
        else:  # over the real positions of conv4_2's block
            c_mask = valid[int(CONTENT_LAYER[4]) - 1] if padded else None
        c = losses.content_loss(fc, a["content_target"], c_mask)
        tv = losses.tv_loss(img, valid[0] if padded else None)
        terms = {"style": s, "content": c / a["c_energy"] if relative else c, "tv": tv}
        w = a["weights"]
        total = w["content"] * terms["content"] + w["style"] * terms["style"] + w["tv"] * terms["tv"]
        return total, terms

    return f


def level_uses_fast_conv(conv: str, hw: tuple[int, int], iterations: int) -> bool:
    """Whether a level of ``iterations`` at ``hw`` runs its objective on ``vgg.prepare(params, conv)``.

    Always for an explicit ``conv``; for ``"auto"`` only with >= ``WINOGRAD_MIN_WORK``
    pixel-iterations (``vgg.prepare`` then decides per backend: Winograd on CPU only).
    """
    return conv != "auto" or iterations * hw[0] * hw[1] >= WINOGRAD_MIN_WORK


def _make_objective(params, spec: dict):
    """``(f, args)`` for a method spec: ``f`` cached per static configuration, arrays in ``args``.

    A padded photo's spec adds ``valid`` (:func:`vgg.valid_masks`), ``masks`` (per style
    layer, :func:`_layer_masks`) and ``guided``; its ``region`` is then always given.
    """
    style_layers = tuple(spec["style_layers"])
    channels = {l: jnp.asarray(v, jnp.int32) for l, v in (spec.get("channels") or {}).items()}
    # selected-filter Grams compare with the same sub-block of the style's Gram
    targets = {l: spec["style_targets"][l] if l not in channels
               else spec["style_targets"][l][jnp.ix_(channels[l], channels[l])] for l in style_layers}
    valid = spec.get("valid")
    padded = valid is not None
    if padded:
        valid = tuple(jnp.asarray(v, jnp.float32) for v in valid)
    args = dict(
        params=params, base=jnp.asarray(spec["base"], jnp.float32), targets=targets, channels=channels,
        region=spec.get("region") if spec.get("region") is not None else jnp.zeros((), jnp.float32),
        content_target=spec["content_target"],
        layer_w={l: jnp.float32(spec["layer_weights"][l]) for l in style_layers},
        **dict(zip(("energy", "c_energy"),
                   _energies(targets, spec["content_target"], valid[int(CONTENT_LAYER[4]) - 1] if padded else None))),
        weights={k: jnp.float32(v) for k, v in spec["weights"].items()},
    )
    if padded:
        args.update(valid=valid, masks=spec["masks"])
    f = _objective(style_layers, tuple(sorted(channels)), spec["normalize"] == "relative",
                   spec.get("guided", spec.get("region") is not None), spec["pooling"], padded)
    return f, args


@dataclass(frozen=True)
class Config:
    """How to stylize: every option of :func:`stylize_iter` but the photo, the style and the weights.

    Frozen and validated when built (a bad value raises :class:`UsageError` before any work).
    ``iterations``/``*_weight`` of ``None`` take the preset's value (:attr:`total_iterations`,
    :attr:`loss_weights`). ``prefetch``: prepare and compile each level in a background thread
    while the object map is computed and earlier levels iterate. ``detail``: what fills the
    band of detail a coarse level could not hold when the next level starts (:data:`DETAILS`).
    ``strength``: scales the style and TV weights against the content's: 0 keeps the photo,
    1 is the preset, up to :data:`MAX_STRENGTH`.
    ``buckets``: 0 runs every photo at its own size; ``n`` pads each level to one of ``n``
    short sides per long side (:func:`vgg.bucket_hw`) and masks the padding out of every term,
    so photos of different sizes share compiled programs. ``map_batch``: photos per object-map
    VGG pass in :func:`stylize_batch` (``None``: 1 on a CPU, :data:`MAP_BATCH_ACCELERATOR` on
    a GPU or TPU).
    """
    method: str = "auto"
    class_name: str | None = "dog"
    filters: object = None
    mask: object = None
    size: int = 512
    iterations: int | None = None
    preset: str = "default"
    content_weight: float | None = None
    style_weight: float | None = None
    tv_weight: float | None = None
    layer_weights: str = "equal"
    seed: int = 0
    init: str = "content"
    scales: int | None = None
    preserve_colors: bool = False
    style_scale: float = 1.0
    chunk: int = 10
    pooling: str = "max"
    map_options: Mapping | None = None
    detail: str = "style"
    conv: str = "auto"
    prefetch: bool = True
    buckets: int = 0
    map_batch: int | None = None
    strength: float = 1.0

    def __post_init__(self):
        if self.method not in METHODS:
            raise UsageError(f"unknown method {self.method!r}; use one of {', '.join(METHODS)}")
        if self.preset not in PRESETS:
            raise UsageError(f"unknown preset {self.preset!r}; use one of {', '.join(PRESETS)}")
        if self.init not in ("content", "noise"):
            raise UsageError(f"unknown init {self.init!r}; use content or noise")
        vgg.resolve_conv(self.conv)  # an unknown algorithm fails here, before any work
        if self.detail not in DETAILS:
            raise UsageError(f"unknown detail {self.detail!r}; use one of {', '.join(DETAILS)}")
        if self.layer_weights not in ("equal", "proportional"):
            raise UsageError("layer weights must be 'equal' or 'proportional'")
        if self.size < 16:
            raise UsageError(f"size {self.size} is too small (minimum 16)")
        if self.total_iterations <= 0:
            raise UsageError("iterations must be > 0")
        if self.buckets < 0:
            raise UsageError("buckets must be >= 0")
        if not 0.0 <= self.strength <= MAX_STRENGTH:
            raise UsageError(f"strength must be between 0 and {MAX_STRENGTH:g}")
        if self.map_batch is not None and self.map_batch < 1:
            raise UsageError("map batch must be >= 1")
        if self.method == "mask" and self.mask is None:
            raise UsageError("method mask needs --mask PATH")

    @property
    def total_iterations(self) -> int:
        return int(self.iterations if self.iterations is not None else PRESETS[self.preset]["iterations"])

    @property
    def loss_weights(self) -> dict[str, float]:
        """The objective's weights: the preset's (or the given ones), style and TV times ``strength``.

        The guided methods take the preset's ``object_style_weight`` where it has one.
        """
        p = PRESETS[self.preset]
        style = p.get("object_style_weight", p["style_weight"]) if self.guided else p["style_weight"]
        return {"content": p["content_weight"] if self.content_weight is None else self.content_weight,
                "style": self.strength * (style if self.style_weight is None else self.style_weight),
                "tv": self.strength * (p["tv_weight"] if self.tv_weight is None else self.tv_weight)}

    @property
    def guided(self) -> bool:
        """Whether the style goes into a region (user mask or object map) with the photo kept outside."""
        return self.method in ("mask", "auto")


def _load_styles(style, size: int) -> tuple[tuple[np.ndarray, ...], tuple[float, ...]]:
    """``style`` (a path/array, a list of them, or ``(image, weight)`` pairs) as images and weights."""
    styles = style if isinstance(style, (list, tuple)) and not (
        isinstance(style, tuple) and len(style) == 2 and isinstance(style[1], (int, float))) else [style]
    imgs, ws = [], []
    for s in styles:
        img, wgt = (s if isinstance(s, tuple) and len(s) == 2 and isinstance(s[1], (int, float)) else (s, 1.0))
        if wgt < 0:
            raise UsageError("style weights must be >= 0")
        imgs.append(_as_image(img, None if not isinstance(img, (str, os.PathLike)) else max(size * 2, 64)))
        ws.append(float(wgt))
    if not imgs or sum(ws) <= 0:
        raise UsageError("give at least one style image with a positive weight")
    return tuple(imgs), tuple(ws)


@dataclass(frozen=True)
class Setup:
    """What every photo of a run shares: the config, the weights, the styles and the objective's layers.

    ``params`` run the one-off target passes with direct convolutions; the objective runs on
    the config's ``conv`` (:func:`vgg.prepare`) at levels with enough work, and the object
    map on the same kernels forward-only (:meth:`map_params`).
    """
    cfg: Config
    raw: Mapping
    params: Mapping
    style_imgs: tuple
    style_w: tuple
    sel: dict | None
    style_layers: tuple[str, ...]
    channels: dict
    layer_w: dict
    fast: dict = field(default_factory=dict, compare=False)
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    targets: dict = field(default_factory=dict, compare=False)  # style Gram targets per level side
    seen: set = field(default_factory=set, compare=False)  # padded level sizes met so far

    @classmethod
    def build(cls, cfg: Config, style, params=None, on_phase=None) -> "Setup":
        if params is None:
            _phase(on_phase, "loading weights")
            from ..model import weights as W
            params, _ = W.load()
        # Winograd (conv="auto" on CPU) for the objective, evaluated every iteration, at levels with
        # enough work (WINOGRAD_MIN_WORK), and for the object map's passes (map_params); the one-off
        # target passes run direct: a Winograd compile would not pay back. Kernels are transformed on first use.
        direct = vgg.prepare(params, "direct")
        style_imgs, style_w = _load_styles(style, cfg.size)
        sel = None
        if cfg.method in ("auto", "paper"):
            sel = resolve_filters(direct, cfg.class_name, cfg.filters)
            if sel is None:
                raise UsageError(f"method {cfg.method} needs --class, --filters or --scores")
            if not sel and cfg.method == "paper":
                raise UsageError(f"method paper needs filters, and no filter reaches the scoring rule for "
                                 f"{cfg.class_name!r} (its shipped list selects none): give --filters or --scores")
        if cfg.method == "paper":
            style_layers = tuple(l for l in vgg.CONV_LAYERS if l in sel)
            channels = {l: jnp.asarray(sel[l], jnp.int32) for l in style_layers}
            if cfg.layer_weights == "proportional":
                n = sum(len(sel[l]) for l in style_layers)
                lw = {l: len(sel[l]) / n for l in style_layers}
            else:
                lw = {l: PRESETS[cfg.preset].get("layer_weight", 1.0 / len(style_layers)) for l in style_layers}
        else:
            style_layers, channels = GATYS_STYLE_LAYERS, {}
            lw = {l: 1.0 / len(style_layers) for l in style_layers}
        return cls(cfg, params, direct, style_imgs, style_w, sel, style_layers, channels, lw)

    @property
    def mask_layers(self) -> tuple[str, ...]:
        """The layers a padded photo's region is given at: the style layers and the content layer."""
        return tuple(dict.fromkeys(self.style_layers + (CONTENT_LAYER,)))

    def style_targets(self, side: int) -> dict:
        """The blended Gram targets of a level of long side ``side`` (computed once per side)."""
        if side not in self.targets:
            self.targets[side] = _style_targets(self.params, self.style_imgs, self.style_w, self.style_layers, side,
                                                self.cfg.style_scale, self.cfg.pooling)
        return self.targets[side]

    def objective_params(self, hw: tuple[int, int], iterations: int) -> Mapping:
        """The params a level's objective runs on (:func:`level_uses_fast_conv`)."""
        if not level_uses_fast_conv(self.cfg.conv, hw, iterations):
            return self.params
        return self.fast_params()

    def fast_params(self) -> Mapping:
        """The weights with the config's convolutions, transformed once per run (levels prepare in a thread)."""
        with self.lock:
            if "params" not in self.fast:
                self.fast["params"] = vgg.prepare(self.raw, self.cfg.conv)
            return self.fast["params"]

    def map_params(self) -> Mapping:
        """The object map's weights (:func:`objectmap.vgg_params`): where ``conv`` resolves to
        Winograd (the CPU), the objective's kernels forward-only; else direct."""
        if vgg.resolve_conv(self.cfg.conv) != "winograd":
            return self.params
        return objectmap.vgg_params(self.fast_params(), self.cfg.conv)


@dataclass(frozen=True)
class Level:
    """One coarse-to-fine level of a photo: its long side, iterations and size (and the coarser one's)."""
    side: int
    iterations: int
    hw: tuple[int, int]
    prev_side: int | None
    prev_hw: tuple[int, int] | None
    pad_hw: tuple[int, int]  # the bucket's size (``hw`` without buckets)


def level_plan(shape, cfg: Config) -> tuple[Level, ...]:
    """The levels for a photo of ``shape`` (H, W, ...) at ``cfg.size`` (:func:`optimize.schedule`).

    Coarse levels too small for conv5_1 give their iterations to the next level.
    """
    plan = optimize.schedule(cfg.size, cfg.total_iterations, cfg.scales, backend=jax.default_backend())
    if min(_hw(shape, cfg.size)) < MIN_SHORT_SIDE:
        raise UsageError(f"the image is too small for VGG-19 at --size {cfg.size}: its short side must be "
                         f">= {MIN_SHORT_SIDE} px (4 poolings before conv5_1)")
    carry = 0
    kept = []
    for side, n in plan[:-1]:
        if min(_hw(shape, side)) < 2 * MIN_SHORT_SIDE:
            carry += n
        else:
            kept.append((side, n + carry))
            carry = 0
    plan = kept + [(plan[-1][0], plan[-1][1] + carry)]
    prevs = [None] + [s for s, _ in plan[:-1]]
    return tuple(Level(s, n, _hw(shape, s), p, None if p is None else _hw(shape, p),
                       vgg.bucket_hw(_hw(shape, s), cfg.buckets)) for (s, n), p in zip(plan, prevs))


def _user_region(mask, hw: tuple[int, int]) -> np.ndarray:
    """``--mask`` (path or array) as a (H, W) region in [0, 1], its edge softened inside it
    (:func:`objectmap.inner_edge`, as wide as the object map's edge)."""
    if isinstance(mask, (str, os.PathLike)):
        from ..data import load_mask
        region = load_mask(mask, hw)
    else:
        region = np.asarray(_resize(np.asarray(mask, np.float32), hw))
        if region.max() < 0.5:
            raise JaxstyleError("mask is empty (no value >= 0.5)")
    return objectmap.inner_edge(region, objectmap.MapConfig.feather)


class _Prepared(NamedTuple):
    """A level ready to iterate: its photo (padded, and real), objective (compiled) and detail bands (real)."""
    base: jax.Array
    base_real: jax.Array
    fun: object
    args: dict
    band: jax.Array | None
    style_band: jax.Array | None


class LevelRunner:
    """Runs one photo's levels: prepares each (targets, objective, compile), then iterates it.

    With ``cfg.prefetch`` every level is prepared in a background thread, in order, while
    the object map is computed and the earlier levels iterate, so compilation overlaps work
    (2-core CPU, cold 512 px auto run: 71 -> 62-66 s; H100, three levels in a fresh process:
    82.5 s with it, 91.8 s without, one run each).
    """

    def __init__(self, setup: Setup, content_img: np.ndarray, plan: tuple[Level, ...], on_phase=None):
        self.setup, self.cfg, self.plan, self.on_phase = setup, setup.cfg, plan, on_phase
        self.content_img = content_img
        self.content_dev = jnp.asarray(content_img, jnp.float32)

    def prepare(self, lv: Level) -> _Prepared:
        """A level's photo, objective and arguments (its programs compiled) and its detail bands.

        The objective is traced and compiled from its arguments' shapes in a second thread
        while the target passes run in this one (:meth:`_compile_from_shapes`).
        """
        su = self.setup
        spec = self._static_spec(lv)
        with ThreadPoolExecutor(1, thread_name_prefix="jaxstyle-compile") as ex:
            early = ex.submit(self._compile_from_shapes, lv, spec)
            base, base_real, ctarget, band, style_band = self._level_inputs(lv, spec.get("valid"))
            spec = dict(spec, content_target=ctarget, style_targets=su.style_targets(lv.side), base=base)
            early.result()
        fun, fargs = _make_objective(su.objective_params(lv.pad_hw, lv.iterations), spec)
        optimize.prepare(fun, base, fargs)  # compiled from the shapes: found in optimize's cache
        return _Prepared(base, base_real, fun, fargs, band, style_band)

    def _static_spec(self, lv: Level) -> dict:
        """The objective's spec without the photo and the targets (region and masks are set at run time)."""
        su, cfg = self.setup, self.cfg
        padded = cfg.buckets > 0
        spec = dict(style_layers=su.style_layers, channels=su.channels, layer_weights=su.layer_w,
                    region=_zeros(lv.pad_hw) if cfg.guided or padded else None,
                    normalize=PRESETS[cfg.preset]["normalize"], weights=cfg.loss_weights, pooling=cfg.pooling)
        if padded:
            spec.update(valid=vgg.valid_masks(lv.hw, lv.pad_hw), guided=cfg.guided, masks={
                l: _zeros(vgg.block_hw(lv.pad_hw, l)) for l in su.mask_layers})
        return spec

    def _level_inputs(self, lv: Level, valid):
        """The level's photo (padded to the bucket when ``valid`` is given, and real), content target and bands."""
        su, cfg = self.setup, self.cfg
        if valid is not None:
            base_real = _resize(self.content_dev, lv.hw)
            base = _pad(base_real, lv.pad_hw, "edge")
            ctarget = _padded_content_target(su.params, base, tuple(jnp.asarray(v) for v in valid), cfg.pooling)
        else:
            base, ctarget = _level_photo(su.params, self.content_dev, lv.hw, cfg.pooling)
            base_real = base
        band = style_band = None
        if lv.prev_side is not None and cfg.detail != "none":
            band = _fine_band(base_real, lv.prev_hw)  # the photo's (a Laplacian-pyramid step)
            if cfg.detail == "style" and cfg.guided and cfg.strength > 0:
                style_band = _style_detail(su.style_imgs, su.style_w, lv.side, cfg.style_scale, lv.hw, lv.prev_hw,
                                           jax.random.fold_in(jax.random.PRNGKey(cfg.seed), lv.side), lv.pad_hw)
                style_band = style_band[:lv.hw[0], :lv.hw[1]]
                if cfg.strength < 1:  # a weaker style starts with the photo's detail mixed in
                    style_band = cfg.strength * style_band + (1.0 - cfg.strength) * band
        return base, base_real, ctarget, band, style_band

    def _compile_from_shapes(self, lv: Level, spec: dict) -> None:
        """Compile the level's :func:`optimize.prepare` programs before its targets exist.

        XLA's compiler overlaps the target passes (a cold one-level 384 px run: ~0.35 s
        sooner; with the programs in the persistent cache both threads mostly trace, under
        Python's lock, and nothing is saved: BENCHMARKS.md, "Equal work and batches"). The
        targets' shapes: conv4_2 of the (padded) photo, a C x C Gram per style layer.
        """
        su = self.setup
        params = su.objective_params(lv.pad_hw, lv.iterations)
        ct = _f32(vgg.block_hw(lv.pad_hw, CONTENT_LAYER) + (vgg.num_channels(su.params, CONTENT_LAYER),))
        tg = {l: _f32((vgg.num_channels(su.params, l),) * 2) for l in su.style_layers}
        base = _f32(lv.pad_hw + (3,))
        made = {}

        def arguments(ct_, tg_, base_):
            made["fun"], args = _make_objective(params, dict(spec, content_target=ct_, style_targets=tg_, base=base_))
            return args

        shapes = jax.eval_shape(arguments, ct, tg, base)
        optimize.prepare(made["fun"], base, shapes)

    def levels(self, pool: ThreadPoolExecutor | None) -> Iterator[_Prepared]:
        """The prepared levels in order: submitted to ``pool`` now, or each prepared when reached."""
        futures = [pool.submit(self.prepare, lv) for lv in self.plan] if pool else [None] * len(self.plan)
        return self._ready(futures)

    def _ready(self, futures) -> Iterator[_Prepared]:
        for lv, f in zip(self.plan, futures):
            size = f"{lv.pad_hw[1]}x{lv.pad_hw[0]}"
            first = lv.pad_hw not in self.setup.seen
            self.setup.seen.add(lv.pad_hw)
            if f is None or not f.done():
                _phase(self.on_phase, f"compiling {size}" + (" (first time for this size)" if first else ""))
            p = self.prepare(lv) if f is None else f.result()
            _phase(self.on_phase, f"iterating {size}")
            yield p

    def run(self, levels: Iterator[_Prepared], region_full) -> Iterator[Progress]:
        """Iterate every level from the previous one's upsampled result; ``self.x`` holds the last image."""
        cfg, plan = self.cfg, self.plan
        total = sum(lv.iterations for lv in plan)
        key = jax.random.PRNGKey(cfg.seed)
        x = None
        done = 0
        self.history: list[dict] = []
        self.last_terms: dict[str, float] = {}
        padded = cfg.buckets > 0
        for si, (lv, p) in enumerate(zip(plan, levels)):
            region = None if region_full is None else jnp.clip(_resize(region_full, lv.hw), 0.0, 1.0)
            fargs, shown = p.args, region
            if padded:  # the real pixels (whole-image methods) or the region, zero in the padding
                real = jnp.asarray(np.ones(lv.hw, np.float32)) if region is None else region
                shown = _pad(real, lv.pad_hw)
                fargs = dict(fargs, region=shown, masks=_layer_masks(real, lv.pad_hw, self.setup.mask_layers))
            elif region is not None:
                fargs = dict(fargs, region=region)
            if x is None:
                if cfg.init == "noise":
                    key, sub = jax.random.split(key)
                    x = jax.random.uniform(sub, p.base_real.shape, jnp.float32, 0.0, 255.0)
                else:
                    x = p.base_real
            else:
                x = _next_level_start(x, lv.hw, p.band, p.style_band, region)
            x = _pad(x, lv.pad_hw, "edge")
            h, w = lv.hw
            for step in optimize.lbfgs(p.fun, x, lv.iterations, args=fargs, chunk=cfg.chunk):
                x = step.image
                self.last_terms = dict(step.terms, loss=step.loss)
                self.history.append(dict(scale=si, shape=lv.hw, iteration=done + step.iteration, **self.last_terms))
                yield Progress(si, len(plan), lv.hw, done + step.iteration, total, step.loss, step.terms,
                               _composite(x, shown, p.base)[:h, :w])
            x = x[:h, :w]
            done += lv.iterations
        self.x = x


def _next_level_start(x, hw, band, style_band, region):
    """The upsampled result plus the detail the coarse level could not hold.

    With the style's band inside the object the new level starts with the fine texture that
    conv1_1-conv3_1 measure instead of rebuilding it (BENCHMARKS.md, eighth stop).
    """
    x = _resize(x, hw)
    if style_band is not None:  # guided methods always have a region
        band = _composite(style_band, region, band)
    if band is not None:
        x = x + band
    return x


def _content_image(content, size: int) -> np.ndarray:
    img = _as_image(content, size)
    if max(img.shape[:2]) != size:
        img = np.asarray(_resize(img, _hw(img.shape, size)))
    return img


def _phase(on_phase, text: str) -> None:
    """Tell ``on_phase`` (a callable or None) what the run is doing now."""
    if on_phase is not None:
        on_phase(text)


def _map_options(cfg: Config) -> dict:
    return {"buckets": cfg.buckets, **dict(cfg.map_options or {})}


def _stylize_photo(setup: Setup, content, t0: float, on_phase=None, located: Mapping | None = None
                   ) -> Iterator[Progress]:
    """One photo through :class:`LevelRunner`; the last :class:`Progress` carries the :class:`Result`.

    ``located``: the photo's :func:`locate` result when it was computed with others (``auto``).
    """
    cfg = setup.cfg
    content_img = _content_image(content, cfg.size)
    plan = level_plan(content_img.shape, cfg)
    H, W = content_img.shape[:2]
    region_full = _user_region(cfg.mask, (H, W)) if cfg.method == "mask" else None
    runner = LevelRunner(setup, content_img, plan, on_phase)
    pool = ThreadPoolExecutor(1, thread_name_prefix="jaxstyle-level") if cfg.prefetch else None
    omap = None
    try:
        levels = runner.levels(pool)
        if cfg.method == "auto":
            if located is None:
                _phase(on_phase, "object map")
                located = locate(setup.map_params(), content, cfg.class_name, cfg.filters, setup.sel, _map_options(cfg))
            omap = region_full = fitted_map(located, content, (H, W), cfg.class_name)
        yield from runner.run(levels, region_full)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    region = None if region_full is None else jnp.asarray(region_full)
    out = np.clip(np.asarray(_composite(runner.x, region, jnp.asarray(content_img)), np.float32), 0, 255)
    if cfg.preserve_colors:
        out = transfer_luminance(out, content_img)
    total = sum(lv.iterations for lv in plan)
    terms = runner.last_terms
    res = Result(out, content_img, omap, terms, cfg.method, setup.sel, time.time() - t0, runner.history)
    yield Progress(len(plan) - 1, len(plan), (H, W), total, total, terms.get("loss", float("nan")), terms,
                   jnp.asarray(out), res)


def _config(config: Config | None, kw) -> Config:
    if config is None:
        return Config(**kw)
    return replace(config, **kw) if kw else config


def stylize_iter(content, style, *, params=None, config: Config | None = None, on_phase=None,
                 **kw) -> Iterator[Progress]:
    """Run a stylization, yielding :class:`Progress`; the last one carries ``.result``.

    ``content``/``style``: paths or RGB arrays (0–255). ``style`` may be a list of
    paths/arrays or ``(image, weight)`` pairs (Grams are blended by weight). The options
    are :class:`Config`'s fields, given as ``config=`` or as keywords (keywords override).
    ``on_phase(text)`` hears what the run is doing ("loading weights", "object map",
    "compiling 384x288 (first time for this size)", "iterating 384x288").
    """
    t0 = time.time()
    cfg = _config(config, kw)
    yield from _stylize_photo(Setup.build(cfg, style, params, on_phase), content, t0, on_phase)


BATCH_BUCKETS = 4  # stylize_batch's default Config.buckets
MAP_BATCH_ACCELERATOR = 8  # Config.map_batch's default on a GPU or TPU


@dataclass
class BatchItem:
    """One photo of :func:`stylize_batch`: its position and source, and its result or what stopped it."""
    index: int
    content: object
    result: Result | None = None
    error: JaxstyleError | None = None


def map_batch(cfg: Config, backend: str | None = None) -> int:
    """Photos per object-map VGG pass: ``cfg.map_batch``, else 1 on a CPU (no gain there), 8 elsewhere."""
    if cfg.map_batch is not None:
        return cfg.map_batch
    return 1 if (backend or jax.default_backend()) == "cpu" else MAP_BATCH_ACCELERATOR


def _locate_chunk(setup: Setup, contents: Sequence, n: int) -> list[Mapping | JaxstyleError]:
    """Per photo, its :func:`locate` result or the error that stops it; the maps' VGG passes ``n`` at a time."""
    cfg = setup.cfg
    options = _map_options(cfg)
    size = map_config(options).size
    out: list = []
    for c in contents:
        try:
            out.append(_map_image(c, size))
        except JaxstyleError as e:
            out.append(e)
    ok = [i for i, v in enumerate(out) if not isinstance(v, JaxstyleError)]
    if ok:
        rs = locate_many(setup.map_params(), [out[i] for i in ok], cfg.class_name, cfg.filters, setup.sel, options, n)
        for i, r in zip(ok, rs):
            out[i] = r
    return out


def stylize_batch(contents: Sequence, style, *, params=None, config: Config | None = None, on_phase=None,
                  on_progress=None, **kw) -> Iterator[BatchItem]:
    """Stylize several photos with one style (or blend), yielding a :class:`BatchItem` as each finishes.

    Weights, styles, filters and style targets are prepared once. Without ``config`` the
    :class:`Config` is built from the keywords with ``buckets`` defaulting to
    :data:`BATCH_BUCKETS`, so photos of different sizes share compiled programs. ``auto``
    computes the object maps of :func:`map_batch` photos at a time (one VGG pass per padded
    size) before stylizing them. A photo that fails with a :class:`JaxstyleError`
    (unreadable, too small, no object found) is yielded with its ``error`` and the batch
    goes on. ``on_progress(index, progress)`` hears every :class:`Progress`; ``on_phase`` as
    in :func:`stylize_iter`.
    """
    contents = list(contents)
    if not contents:
        raise UsageError("no content photos given")
    cfg = _config(config, kw) if config is not None else Config(**{"buckets": BATCH_BUCKETS, **kw})
    setup = Setup.build(cfg, style, params, on_phase)
    n = map_batch(cfg)
    for start in range(0, len(contents), n):
        chunk = contents[start: start + n]
        located: list = [None] * len(chunk)
        if cfg.method == "auto" and n > 1:
            _phase(on_phase, f"object maps of photos {start + 1}-{start + len(chunk)}")
            located = _locate_chunk(setup, chunk, n)
        for i, (content, loc) in enumerate(zip(chunk, located), start):
            yield _batch_item(setup, i, content, loc, on_phase, on_progress)


def _batch_item(setup: Setup, i: int, content, located, on_phase, on_progress) -> BatchItem:
    if isinstance(located, JaxstyleError):
        return BatchItem(i, content, error=located)
    res = None
    try:
        for p in _stylize_photo(setup, content, time.time(), on_phase, located):
            if on_progress is not None:
                on_progress(i, p)
            res = p.result or res
    except JaxstyleError as e:
        return BatchItem(i, content, error=e)
    return BatchItem(i, content, result=res)


def stylize(content, style, **kw) -> Result:
    """Run :func:`stylize_iter` to the end and return the :class:`Result`."""
    res = None
    for p in stylize_iter(content, style, **kw):
        res = p.result or res
    assert res is not None
    return res


_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)


def transfer_luminance(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Keep the content's colours: stylized luminance (Y) with the content's chroma (IQ)."""
    s = stylized @ _YIQ.T
    c = content @ _YIQ.T
    out = np.concatenate([s[..., :1], c[..., 1:]], axis=-1) @ np.linalg.inv(_YIQ).T
    return np.clip(out, 0, 255).astype(np.float32)
