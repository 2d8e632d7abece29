"""The detail band a new coarse-to-fine level starts with: what the coarser level could not hold.

The photo's band is a Laplacian-pyramid step (:func:`fine_band`). Inside the object the
styles' band (:func:`style_detail`) replaces it: each style's fine band made a random-phase
texture, so the new level starts with the fine texture that conv1_1-conv3_1 measure
instead of rebuilding it (docs/METHOD.md, "Optimiser").
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from . import losses
from .inputs import style_hws
from .objective import composite


def mirror(a: jax.Array) -> jax.Array:
    """``a`` (h, w, C) and its reflections, (2h, 2w, C): periodic without seams."""
    a = jnp.concatenate([a, a[::-1]], 0)
    return jnp.concatenate([a, a[:, ::-1]], 1)


def tile(a: jax.Array, hw: tuple[int, int]) -> jax.Array:
    """``a`` (h, w, C) repeated and cropped to ``hw``."""
    return jnp.tile(a, (-(-hw[0] // a.shape[0]), -(-hw[1] // a.shape[1]), 1))[:hw[0], :hw[1]]


def fine_band(a: jax.Array, low_hw: tuple[int, int]) -> jax.Array:
    """``a`` (h, w, C) minus its blur to ``low_hw`` and back: what a ``low_hw`` level cannot hold."""
    return a - losses.resize(losses.resize(a, low_hw), a.shape[:2])


def random_phase(a: jax.Array, key: jax.Array) -> jax.Array:
    """``a`` (h, w, C) with its Fourier phases shifted by one random field shared by the channels.

    Keeps every channel's power spectrum and the cross-channel spectra (a random-phase
    texture of ``a``) and drops its layout.
    """
    h, w = a.shape[:2]
    noise = jax.random.normal(key, (h, w), jnp.float32)
    phase = jnp.fft.rfft2(noise)
    phase = phase / jnp.maximum(jnp.abs(phase), 1e-12)
    return jnp.fft.irfft2(jnp.fft.rfft2(a, axes=(0, 1)) * phase[..., None], s=(h, w), axes=(0, 1)).astype(a.dtype)


def style_detail(style_imgs, weights_, long_side, style_scale, hw, prev_hw, key, out_hw=None) -> jax.Array:
    """The styles' detail band for a level: what a ``prev_hw`` level cannot hold, at ``hw``.

    ``out_hw`` (a bucket's size, >= ``hw``): the same texture tiled further, so its top-left
    ``hw`` equals the band at ``hw`` and photos of one bucket share the program.

    Each style at the level's scale (as its Gram targets) minus its blur by the factor
    ``prev_hw / hw``, made a random-phase texture (:func:`random_phase` of its mirror
    image, which is periodic, so the texture tiles without seams): its spectra are the
    painting's, its layout is not, so no piece of the painting is pasted onto the object.
    Several styles mix with weights ``sqrt(w)`` so that the band's covariance is the
    weighted blend of theirs, as the Gram targets are.
    """
    hws = style_hws(style_imgs, long_side, style_scale)
    lows = tuple((max(1, round(h * prev_hw[0] / hw[0])), max(1, round(w * prev_hw[1] / hw[1]))) for h, w in hws)
    return _detail_band(tuple(jnp.asarray(i, jnp.float32) for i in style_imgs), jnp.asarray(weights_, jnp.float32),
                        hws, lows, tuple(out_hw or hw), jax.random.split(key, len(style_imgs)))


@functools.partial(jax.jit, static_argnames=("hws", "lows", "hw"))
def _detail_band(imgs, weights_, hws, lows, hw, keys):
    w = jnp.sqrt(weights_ / jnp.sum(weights_))
    acc = jnp.zeros(hw + (3,), jnp.float32)
    for i, (img, shw, low) in enumerate(zip(imgs, hws, lows)):
        s = losses.resize(img, shw)
        acc = acc + w[i] * tile(random_phase(mirror(fine_band(s, low)), keys[i]), hw)
    return acc


def next_level_start(x, hw, band, style_band, region):
    """The upsampled result plus the detail the coarse level could not hold: the photo's
    ``band``, and inside the region the styles' ``style_band`` where there is one."""
    x = losses.resize(x, hw)
    if style_band is not None:  # guided methods always have a region
        band = composite(style_band, region, band)
    if band is not None:
        x = x + band
    return x
