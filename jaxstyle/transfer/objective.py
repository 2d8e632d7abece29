"""The stylization objective: style, content and TV terms over VGG-19 features, and their sum.

Each term is a small function of the features (:func:`style_term`, :func:`content_term`,
:func:`tv_term`); :func:`objective_fn` composes them into ``f(x, args) -> (loss, terms)`` for
one static configuration, and :func:`make` gives that function with the arrays it reads
(targets, energies, weights, region) for a method's spec. The methods differ in their style
layers and channels (:func:`style_plan`) and in whether a region guides the terms.

Weights are for the normalisation in docs/METHOD.md ("relative": each style layer's Gram
error divided by the target Gram's energy; content error by the content energy).
"""
from __future__ import annotations

import functools
from typing import Mapping, NamedTuple

import jax
import jax.numpy as jnp

from . import losses
from .inputs import pad, style_hws
from ..model import vgg

CONTENT_LAYER = "conv4_2"
GATYS_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
# the block of conv4_2 (its index in vgg.valid_masks): a padded photo's real positions there
_CONTENT_BLOCK = int(CONTENT_LAYER[4]) - 1

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


class StylePlan(NamedTuple):
    """A method's style term: its layers, the selected channels per layer (none: all), each layer's weight."""
    layers: tuple[str, ...]
    channels: dict
    layer_w: dict


def gatys_style() -> StylePlan:
    """Whole Grams at conv1_1…conv5_1, equally weighted (``gatys``, ``mask``, ``auto``)."""
    return StylePlan(GATYS_STYLE_LAYERS, {}, {l: 1.0 / len(GATYS_STYLE_LAYERS) for l in GATYS_STYLE_LAYERS})


def paper_style(sel: Mapping, layer_weights: str, preset: str) -> StylePlan:
    """The source paper's: Grams over the selected filters ``sel`` only, at the layers that have some.

    ``layer_weights``: ``equal`` (the preset's ``layer_weight``, else 1/layers) or
    ``proportional`` (to each layer's number of filters).
    """
    layers = tuple(l for l in vgg.CONV_LAYERS if l in sel)
    channels = {l: jnp.asarray(sel[l], jnp.int32) for l in layers}
    if layer_weights == "proportional":
        n = sum(len(sel[l]) for l in layers)
        lw = {l: len(sel[l]) / n for l in layers}
    else:
        lw = {l: PRESETS[preset].get("layer_weight", 1.0 / len(layers)) for l in layers}
    return StylePlan(layers, channels, lw)


def style_plan(method: str, sel: Mapping | None, layer_weights: str, preset: str) -> StylePlan:
    """The style term of ``method``: :func:`paper_style` for ``paper``, else :func:`gatys_style`."""
    return paper_style(sel, layer_weights, preset) if method == "paper" else gatys_style()


def composite(x: jax.Array, region: jax.Array | None, base: jax.Array) -> jax.Array:
    """``M·x + (1−M)·base``: the free image inside the region, the photo outside (x if no region)."""
    if region is None:
        return x
    return region[..., None] * x + (1.0 - region[..., None]) * base


def style_targets(params, style_imgs, weights_, layers, long_side, style_scale, pooling):
    """Blended Gram targets {layer: A} over the styles (weights normalised): one jitted program."""
    hws = style_hws(style_imgs, long_side, style_scale)
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
def level_photo(params, content, hw, pooling):
    """The photo at a level's size and its content target (conv4_2): one jitted program."""
    base = losses.resize(content, hw)
    return base, vgg.apply(params, vgg.preprocess(base[None]), (CONTENT_LAYER,), pooling)[CONTENT_LAYER][0]


@functools.partial(jax.jit, static_argnames=("pooling",))
def padded_content_target(params, base, valid, pooling):
    """The content target (conv4_2) of a padded photo, zero beyond its real pixels (:func:`vgg.apply`)."""
    return vgg.apply(params, vgg.preprocess(base[None]), (CONTENT_LAYER,), pooling, valid=valid)[CONTENT_LAYER][0]


@jax.jit
def energies(targets, content_target, content_mask=None):
    """Mean squared Gram per style layer and mean squared content target (the "relative" normalisers).

    ``content_mask`` (h, w) 0/1: the mean over the real positions of a padded target.
    """
    if content_mask is None:
        c = jnp.mean(jnp.square(content_target))
    else:
        c = (jnp.sum(jnp.square(content_target) * content_mask[..., None])
             / (jnp.sum(content_mask) * content_target.shape[-1]))
    return {l: jnp.mean(jnp.square(t)) + 1e-8 for l, t in targets.items()}, c + 1e-8


@functools.partial(jax.jit, static_argnames=("pad_hw", "layers"))
def layer_masks(region, pad_hw, layers):
    """The region (h, w) at each style layer's real feature size, padded to the layer's size at ``pad_hw``."""
    hw = region.shape
    return {l: pad(losses.resize(region, vgg.block_hw(hw, l)), vgg.block_hw(pad_hw, l)) for l in layers}


def _region_at(a: Mapping, layer: str, region, shape, padded: bool):
    """The region at a layer's feature ``shape``: given per layer for a padded photo (``a["masks"]``),
    else resized here; None without a region."""
    if padded:
        return a["masks"][layer]
    return None if region is None else losses.resize(region, shape)


def style_term(feats, a: Mapping, style_layers, selected_layers, region, padded: bool, relative: bool):
    """The weighted sum over style layers of each layer's Gram error (:func:`losses.style_loss`),
    each divided by its target's energy when ``relative``."""
    s = 0.0
    for l in style_layers:
        fl = feats[l][0]
        m = _region_at(a, l, region, fl.shape[:2], padded)
        ch = a["channels"][l] if l in selected_layers else None
        e = losses.style_loss(fl, a["targets"][l], m, ch)
        s = s + a["layer_w"][l] * (e / a["energy"][l] if relative else e)
    return s


def content_term(feats, a: Mapping, region, valid, guided: bool, padded: bool, relative: bool):
    """The conv4_2 error (:func:`losses.content_loss`), divided by the target's energy when ``relative``.

    ``guided``: averaged over the region, as the guided Grams are; else over the real
    positions of conv4_2's block (all of them unpadded).
    """
    fc = feats[CONTENT_LAYER][0]
    if guided:
        c_mask = _region_at(a, CONTENT_LAYER, region, fc.shape[:2], padded)
    else:
        c_mask = valid[_CONTENT_BLOCK] if padded else None
    c = losses.content_loss(fc, a["content_target"], c_mask)
    return c / a["c_energy"] if relative else c


def tv_term(img, valid):
    """Total variation of the image (:func:`losses.tv_loss`), over its real pixels when ``valid`` is given."""
    return losses.tv_loss(img, None if valid is None else valid[0])


def weighted_sum(terms: Mapping, w: Mapping):
    """``content·w_c + style·w_s + tv·w_tv``."""
    return w["content"] * terms["content"] + w["style"] * terms["style"] + w["tv"] * terms["tv"]


@functools.lru_cache(maxsize=None)
def objective_fn(style_layers: tuple[str, ...], selected_layers: tuple[str, ...], relative: bool,
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
        img = composite(x, region, a["base"])
        feats = vgg.apply(a["params"], vgg.preprocess(img[None]), layers, pooling, valid=valid)
        terms = {"style": style_term(feats, a, style_layers, selected_layers, region, padded, relative),
                 "content": content_term(feats, a, region, valid, guided, padded, relative),
                 "tv": tv_term(img, valid)}
        return weighted_sum(terms, a["weights"]), terms

    return f


def make(params, spec: dict):
    """``(f, args)`` for a method spec: ``f`` cached per static configuration (:func:`objective_fn`),
    arrays in ``args``.

    A padded photo's spec adds ``valid`` (:func:`vgg.valid_masks`), ``masks`` (per style
    layer, :func:`layer_masks`) and ``guided``; its ``region`` is then always given.
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
                   energies(targets, spec["content_target"], valid[_CONTENT_BLOCK] if padded else None))),
        weights={k: jnp.float32(v) for k, v in spec["weights"].items()},
    )
    if padded:
        args.update(valid=valid, masks=spec["masks"])
    f = objective_fn(style_layers, tuple(sorted(channels)), spec["normalize"] == "relative",
                     spec.get("guided", spec.get("region") is not None), spec["pooling"], padded)
    return f, args
