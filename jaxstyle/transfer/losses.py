"""Style-transfer objectives as small composable functions over NHWC feature maps.

Normalisation (the source paper's is lost; this is ours, chosen so that a loss does not
depend on image size or on the number of channels used):

* content: ``mean((F - P)^2)`` over positions and channels (optionally weighted per position);
* Gram: ``G = (m*F)^T (m*F) / sum(m)`` — for ``m = 1`` the plain ``F^T F / (H W)``;
  ``m`` a soft region (guided Gram, Gatys et al. 2017);
* style: ``mean((G - A)^2)`` over the C×C entries (C = selected channels);
* TV: mean squared difference of neighbouring pixels (0-255 scale).
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp


@jax.custom_vjp
def self_product(a: jax.Array) -> jax.Array:
    """``a^T a`` of an (n, c) matrix, with its gradient ``a (g + g^T)`` as one product.

    Autodiff of ``a.T @ a`` takes two products of the (n, c) matrix, one per operand; the
    Grams' share of a value + gradient of the Gatys objective at 384 px drops from ~67 to
    ~45 ms (docs/BENCHMARKS.md, "Gram matrices").
    """
    return a.T @ a


def _self_product_fwd(a):
    return a.T @ a, a


def _self_product_bwd(a, g):
    return (a @ (g + g.T),)


self_product.defvjp(_self_product_fwd, _self_product_bwd)


def gram(f: jax.Array, mask: jax.Array | None = None, channels: jax.Array | Sequence[int] | None = None) -> jax.Array:
    """Gram matrix of one feature map ``(H, W, C)`` (or ``(N, H, W, C)``, summed over N).

    ``mask`` (H, W) weights positions (guided Gram); ``channels`` picks a sub-block.
    """
    if channels is not None:
        f = jnp.take(f, jnp.asarray(channels, jnp.int32), axis=-1)
    f2 = f.reshape(-1, f.shape[-1])
    if mask is None:
        return self_product(f2) / f2.shape[0]
    m = jnp.broadcast_to(mask, f.shape[:-1]).reshape(-1, 1)
    fm = f2 * m
    return self_product(fm) / jnp.maximum(jnp.sum(m * m), 1e-8)


def resize(a: jax.Array, shape: tuple[int, int]) -> jax.Array:
    """Antialiased linear resize of ``a`` (H, W, ...) as float32 to ``shape`` (h, w); area-like when shrinking.

    The resize of arrays in a run, images and masks alike (photos given as arrays, images
    between scales, masks to feature maps, object maps to the output and to a mask that scores
    them). A photo given by path is resized once decoded (:func:`jaxstyle.images.resize_long_side`);
    the object map's host stages resize their masks with :func:`jaxstyle.transfer.grabcut.resized`
    and GrabCut's picture with :func:`jaxstyle.transfer.grabcut.grabcut_image` (OpenCV).
    """
    a = jnp.asarray(a, jnp.float32)
    if a.shape[:2] == tuple(shape):
        return a
    return jax.image.resize(a, tuple(shape) + a.shape[2:], method="linear", antialias=True)


def content_loss(f: jax.Array, p: jax.Array, weight: jax.Array | None = None) -> jax.Array:
    """``mean((F - P)^2)``; ``weight`` (H, W) weights positions."""
    d = jnp.square(f - p)
    if weight is None:
        return jnp.mean(d)
    w = jnp.broadcast_to(weight[..., None], d.shape)
    return jnp.sum(d * w) / jnp.maximum(jnp.sum(w), 1e-8)


def style_loss(f: jax.Array, target: jax.Array, mask: jax.Array | None = None,
               channels: jax.Array | Sequence[int] | None = None) -> jax.Array:
    """``mean((G(F) - A)^2)`` with G the (guided, channel-selected) Gram."""
    return jnp.mean(jnp.square(gram(f, mask, channels) - target))


def tv_loss(x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """Mean squared neighbour difference of an image (..., H, W, 3).

    ``mask`` (H, W) 0/1: only pairs of neighbours that are both inside count (a padded image).
    """
    dy = x[..., 1:, :, :] - x[..., :-1, :, :]
    dx = x[..., :, 1:, :] - x[..., :, :-1, :]
    if mask is None:
        return jnp.mean(jnp.square(dy)) + jnp.mean(jnp.square(dx))
    my = (mask[1:, :] * mask[:-1, :])[..., None]
    mx = (mask[:, 1:] * mask[:, :-1])[..., None]
    return (jnp.sum(jnp.square(dy) * my) / jnp.maximum(3 * jnp.sum(my), 1.0)
            + jnp.sum(jnp.square(dx) * mx) / jnp.maximum(3 * jnp.sum(mx), 1.0))

