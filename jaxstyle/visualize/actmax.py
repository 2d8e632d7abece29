"""Activation maximisation: synthesise the image a VGG-19 filter likes most.

Gradient ascent from noise on a filter's mean activation (or its centre unit), with the
regularisers of the Deep Visualization Toolbox (Yosinski et al., 2015, "Understanding
Neural Networks Through Deep Visualization"): L2 decay, periodic Gaussian blur, pixel-norm
and contribution clipping, plus the jitter (random shifts) and small random scales used by
later work (Mordvintsev et al.; Olah et al.) and clipping to the valid pixel range.

All filters of one layer are optimised together: the per-filter step is ``vmap``-ed and the
whole run is ONE jitted ``lax.scan`` (no Python loop per step). Each filter gets its own
key, ``filter_key(key, layer, channel)``, so its image does not depend on which other
filters share the batch, and a batched run equals one-by-one runs (up to float noise).

The image is optimised in VGG's preprocessed (Caffe BGR, mean-subtracted, 0-255) space,
so L2 decay pulls pixels towards the ImageNet mean colour.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import partial
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..model import vgg
from ..errors import UsageError

__all__ = [
    "ActmaxConfig",
    "filter_key",
    "maximize",
    "initial_images",
    "activation",
    "gaussian_blur",
]


@dataclass(frozen=True)
class ActmaxConfig:
    """Optimisation and regulariser settings (hashable: a static jit argument).

    Pixel quantities are in 0-255 units. A regulariser is off when its value is 0.
    """

    size: int = 128  # square image side in pixels
    steps: int = 200  # optimisation steps
    lr: float = 2.0  # step in pixel units: SGD on the RMS-normalised gradient, or Adam's step
    optimizer: str = "sgd"  # "sgd" (gradient ascent, as the toolbox) or "adam" (per-pixel normalisation
    # amplifies the weak gradients at the receptive-field edge into saturated colour noise)
    init_std: float = 8.0  # std of the starting noise around the mean colour
    l2_decay: float = 0.005  # x <- (1 - l2_decay) * x after each step
    blur_every: int = 4  # Gaussian blur every N steps (0 = never)
    blur_sigma: float = 0.7  # blur std in pixels
    jitter: int = 8  # random roll of up to +-jitter pixels before each forward pass
    scale: float = 0.05  # random zoom in [1 - scale, 1 + scale] before each forward pass
    norm_pct: float = 0.0  # zero pixels whose RGB norm is below this percentile (0-100)
    contrib_pct: float = 0.0  # zero pixels whose |x * grad| is below this percentile (0-100)
    center: bool = False  # maximise the centre unit instead of the spatial mean
    preact: bool = True  # ascend the pre-ReLU value (same where the filter fires; still has a
    # gradient where it is silent, which post-ReLU lacks: deep filters are often 0 on noise)
    pooling: str = "max"  # VGG pooling, as in vgg.apply

    def __post_init__(self) -> None:
        if self.size < 16:
            raise UsageError(f"size {self.size} is too small (minimum 16)")
        if self.steps < 0:
            raise UsageError(f"steps must be >= 0, got {self.steps}")
        if self.optimizer not in ("adam", "sgd"):
            raise UsageError(f"optimizer {self.optimizer!r}: use 'adam' or 'sgd'")
        if self.pooling not in ("max", "avg"):
            raise UsageError(f"pooling {self.pooling!r}: use 'max' or 'avg'")
        for f in ("lr", "init_std", "l2_decay", "blur_sigma", "scale"):
            v = getattr(self, f)
            if not (np.isfinite(v) and v >= 0):
                raise UsageError(f"{f} must be a finite number >= 0, got {v}")
        if self.l2_decay >= 1 or self.scale >= 0.5:
            raise UsageError("l2_decay must be < 1 and scale < 0.5")
        for f in ("blur_every", "jitter"):
            if getattr(self, f) < 0:
                raise UsageError(f"{f} must be >= 0, got {getattr(self, f)}")
        if self.jitter >= self.size:
            raise UsageError(f"jitter {self.jitter} must be smaller than size {self.size}")
        for f in ("norm_pct", "contrib_pct"):
            if not 0 <= getattr(self, f) < 100:
                raise UsageError(f"{f} must be in [0, 100), got {getattr(self, f)}")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def filter_key(key: jax.Array, layer: str, channel: int) -> jax.Array:
    """The key of one filter: depends only on (key, layer, channel), never on the batch."""
    vgg.check_layers([layer])
    return jax.random.fold_in(jax.random.fold_in(key, vgg.CONV_LAYERS.index(layer)), int(channel))


def gaussian_blur(x: jax.Array, sigma: float) -> jax.Array:
    """Separable Gaussian blur of one (H, W, C) image, reflect-padded (sigma in pixels)."""
    if sigma <= 0:
        return x
    r = max(1, int(np.ceil(3 * sigma)))
    t = np.arange(-r, r + 1, dtype=np.float32)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k = jnp.asarray(k / k.sum(), x.dtype)
    c = x.shape[-1]
    y = jnp.pad(x, ((r, r), (r, r), (0, 0)), mode="reflect")[None]
    dn = ("NHWC", "HWIO", "NHWC")
    ky = jnp.tile(k[:, None, None, None], (1, 1, 1, c))
    kx = jnp.tile(k[None, :, None, None], (1, 1, 1, c))
    y = jax.lax.conv_general_dilated(y, ky, (1, 1), "VALID", dimension_numbers=dn, feature_group_count=c)
    y = jax.lax.conv_general_dilated(y, kx, (1, 1), "VALID", dimension_numbers=dn, feature_group_count=c)
    return y[0]


def _transform(x: jax.Array, key: jax.Array, cfg: ActmaxConfig) -> jax.Array:
    """Random roll (jitter) and zoom about the centre of one (H, W, 3) image."""
    ks, kj = jax.random.split(key)
    if cfg.jitter > 0:
        d = jax.random.randint(kj, (2,), -cfg.jitter, cfg.jitter + 1)
        x = jnp.roll(x, (d[0], d[1]), axis=(0, 1))
    if cfg.scale > 0:
        h, w = x.shape[:2]
        s = jax.random.uniform(ks, (), minval=1 - cfg.scale, maxval=1 + cfg.scale)
        scale = jnp.stack([s, s])
        trans = jnp.array([h / 2.0, w / 2.0]) * (1 - scale)
        x = jax.image.scale_and_translate(x, x.shape, (0, 1), scale, trans, "linear", antialias=False)
    return x


def _layer_output(params: Mapping, x: jax.Array, layer: str, pooling: str, preact: bool) -> jax.Array:
    """(1, h, w, C) output of ``layer``: post-ReLU, or the conv output before its ReLU."""
    return vgg.apply(params, x, (layer,), pooling, preact=preact)[layer]


def _objective(params: Mapping, x: jax.Array, layer: str, channel: jax.Array, center: bool,
               pooling: str, preact: bool = False) -> jax.Array:
    """Mean (or centre-unit) activation of ``channel`` in ``layer`` for one preprocessed image."""
    a = _layer_output(params, x[None], layer, pooling, preact)[0]  # (h, w, C)
    a = jnp.take(a, channel, axis=-1)
    if center:
        return a[a.shape[0] // 2, a.shape[1] // 2]
    return a.mean()


def _optimizer(cfg: ActmaxConfig) -> optax.GradientTransformation:
    if cfg.optimizer == "adam":
        return optax.adam(cfg.lr)
    return optax.sgd(cfg.lr)


def _below_pct(v: jax.Array, pct: float) -> jax.Array:
    """Mask of entries of ``v`` (H, W) below its ``pct`` percentile."""
    return v < jnp.percentile(v, pct)


def _split(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A filter's key -> (key for the starting noise, key for the per-step randomness)."""
    k_init, k_steps = jax.random.split(key)
    return k_init, k_steps


def _init(key: jax.Array, cfg: ActmaxConfig) -> jax.Array:
    return cfg.init_std * jax.random.normal(key, (cfg.size, cfg.size, 3))


@partial(jax.jit, static_argnames=("layer", "cfg"))
def _run(params: Mapping, channels: jax.Array, keys: jax.Array, layer: str, cfg: ActmaxConfig):
    """vmap over filters inside one scan over steps. Returns (preprocessed images, history)."""
    opt = _optimizer(cfg)
    lo = -jnp.asarray(vgg.CAFFE_MEAN_BGR)
    hi = 255.0 + lo

    def one_step(x, opt_state, channel, key, t):
        k = jax.random.fold_in(key, t)

        def obj(x):
            return _objective(params, _transform(x, k, cfg), layer, channel, cfg.center, cfg.pooling,
                              cfg.preact)

        val, g = jax.value_and_grad(obj)(x)
        if cfg.optimizer == "sgd":
            g = g / (jnp.sqrt(jnp.mean(g * g)) + 1e-12)
        upd, opt_state = opt.update(-g, opt_state, x)  # ascent
        x = optax.apply_updates(x, upd)
        if cfg.l2_decay > 0:
            x = x * (1.0 - cfg.l2_decay)
        if cfg.blur_every > 0 and cfg.blur_sigma > 0:
            x = jax.lax.cond(t % cfg.blur_every == 0, lambda y: gaussian_blur(y, cfg.blur_sigma),
                             lambda y: y, x)
        if cfg.norm_pct > 0:
            x = jnp.where(_below_pct(jnp.linalg.norm(x, axis=-1), cfg.norm_pct)[..., None], 0.0, x)
        if cfg.contrib_pct > 0:
            contrib = jnp.abs((x * g).sum(-1))
            x = jnp.where(_below_pct(contrib, cfg.contrib_pct)[..., None], 0.0, x)
        x = jnp.clip(x, lo, hi)
        return x, opt_state, val

    k_init, keys = jax.vmap(_split)(keys)
    x0 = jax.vmap(lambda k: _init(k, cfg))(k_init)
    x0 = jnp.clip(x0, lo, hi)
    s0 = jax.vmap(opt.init)(x0)
    step = jax.vmap(one_step, in_axes=(0, 0, 0, 0, None))

    def body(carry, t):
        x, s = carry
        x, s, val = step(x, s, channels, keys, t)
        return (x, s), val

    (x, _), hist = jax.lax.scan(body, (x0, s0), jnp.arange(cfg.steps))
    return x, hist


def _filter_keys(key: jax.Array, layer: str, chans: Sequence[int], keys: jax.Array | None) -> jax.Array:
    if keys is None:
        return jnp.stack([filter_key(key, layer, c) for c in chans])
    if len(keys) != len(chans):
        raise UsageError(f"{len(keys)} keys for {len(chans)} filters")
    return keys


def initial_images(layer: str, channels: Sequence[int], key: jax.Array, config: ActmaxConfig = ActmaxConfig(),
                   keys: jax.Array | None = None) -> np.ndarray:
    """The RGB starting noise :func:`maximize` uses for these filters (F, S, S, 3) in [0, 255]."""
    keys = _filter_keys(key, layer, [int(c) for c in channels], keys)
    k_init, _ = jax.vmap(_split)(keys)
    x0 = jax.vmap(lambda k: _init(k, config))(k_init)
    lo = -jnp.asarray(vgg.CAFFE_MEAN_BGR)
    return np.asarray(jnp.clip(vgg.deprocess(jnp.clip(x0, lo, 255.0 + lo)), 0.0, 255.0), np.float32)


def _check_channels(params: Mapping, layer: str, channels: Sequence[int]) -> list[int]:
    vgg.check_layers([layer])
    if layer not in params:
        raise UsageError(f"layer {layer} is not in these params")
    n = vgg.num_channels(params, layer)
    chans = [int(c) for c in channels]
    if not chans:
        raise UsageError(f"no filters given for {layer}")
    bad = [c for c in chans if not 0 <= c < n]
    if bad:
        raise UsageError(f"{layer} has filters 0..{n - 1}; got {', '.join(map(str, bad))}")
    return chans


def maximize(
    params: Mapping,
    layer: str,
    channels: Sequence[int],
    key: jax.Array,
    config: ActmaxConfig = ActmaxConfig(),
    keys: jax.Array | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Synthesise one image per filter of ``layer``.

    ``keys`` (one per channel) overrides the default ``filter_key(key, layer, c)``.
    Returns (RGB images (F, S, S, 3) float32 in [0, 255], history (steps, F) of the
    jittered objective per step).
    """
    chans = _check_channels(params, layer, channels)
    keys = _filter_keys(key, layer, chans, keys)
    x, hist = _run(params, jnp.asarray(chans, jnp.int32), keys, layer, config)
    rgb = jnp.clip(vgg.deprocess(x), 0.0, 255.0)
    return np.asarray(rgb, np.float32), np.asarray(hist, np.float32)


@partial(jax.jit, static_argnames=("layer", "center", "pooling"))
def _activation(params, images, channels, layer, center, pooling):
    x = vgg.preprocess(images)
    return jax.vmap(lambda im, c: _objective(params, im, layer, c, center, pooling))(x, channels)


def activation(
    params: Mapping,
    layer: str,
    images: np.ndarray | jax.Array,
    channels: Sequence[int],
    center: bool = False,
    pooling: str = "max",
) -> np.ndarray:
    """Clean (no jitter) objective of filter ``channels[i]`` on RGB image ``images[i]``."""
    chans = _check_channels(params, layer, channels)
    images = jnp.asarray(images, jnp.float32)
    if images.ndim != 4 or images.shape[0] != len(chans) or images.shape[-1] != 3:
        raise UsageError(f"images must be (F={len(chans)}, H, W, 3); got {tuple(images.shape)}")
    return np.asarray(_activation(params, images, jnp.asarray(chans, jnp.int32), layer, center, pooling))
