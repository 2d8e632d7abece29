"""VGG-19 (the 16 conv layers of the Caffe/Keras "notop" model) as a Flax module.

:class:`VGG19` is a ``flax.linen`` module whose params are the converted weights as they are
stored: ``{"conv1_1": {"kernel": (3,3,in,out) HWIO, "bias": (out,)}, ...}``. Any conv layers
can be tapped; it returns post-ReLU activations named after their conv (``conv4_1`` =
relu4_1), NHWC, or the conv outputs before their ReLU with ``preact=True``. A layer whose
params also hold ``"winograd"`` (see :func:`prepare`) runs as a Winograd convolution: the
algorithm is the params' choice, the module's output is the same up to float32 rounding.

Linen rather than NNX because the weights stay one immutable pytree passed in at each call:
every caller jits and differentiates pure functions of (params, image), and the same params
are shared read-only by several threads; linen's ``apply`` fits that without splitting and
merging module state. :func:`apply` and :func:`features` are the functional entry points.

``VGG19_LAYERS`` is the single source of layer names.
"""
from __future__ import annotations

from functools import partial
from typing import Iterable, Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from . import winograd
from ..errors import UsageError

# Layers in order; a "pool" entry closes each block.
VGG19_LAYERS: tuple[str, ...] = (
    "conv1_1", "conv1_2", "pool1",
    "conv2_1", "conv2_2", "pool2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4", "pool3",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4", "pool4",
    "conv5_1", "conv5_2", "conv5_3", "conv5_4", "pool5",
)
CONV_LAYERS: tuple[str, ...] = tuple(n for n in VGG19_LAYERS if n.startswith("conv"))
CHANNELS: dict[str, int] = {
    n: {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}[int(n[4])] for n in CONV_LAYERS
}
IN_CHANNELS: dict[str, int] = {
    n: (3 if i == 0 else CHANNELS[CONV_LAYERS[i - 1]]) for i, n in enumerate(CONV_LAYERS)
}

# Caffe preprocessing: BGR order, 0-255, minus the ImageNet channel means (B, G, R).
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)
PREPROCESSING = "caffe: RGB->BGR, 0-255, minus mean (103.939, 116.779, 123.68)"


def preprocess(rgb: jax.Array) -> jax.Array:
    """RGB in [0, 255] (..., H, W, 3) -> Caffe input (BGR, mean subtracted)."""
    return rgb[..., ::-1] - jnp.asarray(CAFFE_MEAN_BGR, rgb.dtype)


def deprocess(x: jax.Array) -> jax.Array:
    """Inverse of :func:`preprocess`."""
    return (x + jnp.asarray(CAFFE_MEAN_BGR, x.dtype))[..., ::-1]


def check_layers(layers: Iterable[str]) -> tuple[str, ...]:
    """Validate layer names; raise a UsageError naming the unknown ones."""
    layers = tuple(layers)
    bad = [l for l in layers if l not in CONV_LAYERS]
    if bad:
        raise UsageError(f"unknown VGG-19 layer(s) {', '.join(bad)}; valid: {', '.join(CONV_LAYERS)}")
    return layers


def receptive_field(layer: str) -> tuple[int, int]:
    """(size, stride) in input pixels of one unit of ``layer``."""
    check_layers([layer])
    size, jump = 1, 1
    for name in VGG19_LAYERS:
        if name.startswith("conv"):
            size += 2 * jump
        else:
            size += jump
            jump *= 2
        if name == layer:
            return size, jump
    raise AssertionError(layer)


# Winograd tile m per layer on CPU (vgg.prepare): F(4x4,3x3) on blocks 2-4, F(2x2,3x3) on block 5
# (its maps are 14-32 px, where 4x4 tiles waste padding). Block 1 stays direct: there the tile
# transforms cost more than the multiplies saved. Block 2 pays only when the gradient is taken
# (its Winograd forward alone is slower than XLA's), so forward-only passes keep it direct
# (per-layer timings: docs/BENCHMARKS.md, "Winograd convolutions").
WINOGRAD_TILE: dict[str, int] = {n: (4 if n[4] in "234" else 2) for n in CONV_LAYERS if n[4] in "2345"}
WINOGRAD_FORWARD_ONLY_SKIP = tuple(n for n in WINOGRAD_TILE if n[4] == "2")
WINOGRAD_MIN_CHANNELS = 64  # narrower layers (the tiny test VGGs) stay direct: nothing to gain
CONV_ALGOS = ("auto", "direct", "winograd")


def resolve_conv(conv: str, backend: str | None = None) -> str:
    """``"winograd"`` or ``"direct"``: ``"auto"`` is Winograd on the CPU backend only (default: JAX's)."""
    if conv not in CONV_ALGOS:
        raise UsageError(f"unknown convolution algorithm {conv!r}; use one of {', '.join(CONV_ALGOS)}")
    if conv == "auto":
        return "winograd" if (backend or jax.default_backend()) == "cpu" else "direct"
    return conv


def prepare(params: Mapping, conv: str = "auto", backend: str | None = None, *, grad: bool = True) -> dict:
    """Params with each layer's convolution algorithm chosen; pure (the input is not changed).

    ``conv="winograd"`` adds ``"winograd"`` (the transformed kernel, :data:`WINOGRAD_TILE`)
    to the layers of blocks 2-5 with >= :data:`WINOGRAD_MIN_CHANNELS` inputs, which
    :func:`apply` then runs as Winograd convolutions; ``grad=False`` (forward-only passes,
    e.g. scoring) keeps :data:`WINOGRAD_FORWARD_ONLY_SKIP` direct. ``"direct"`` removes
    them; ``"auto"`` is ``"winograd"`` on the CPU backend and ``"direct"`` elsewhere (cuDNN
    and TPU convolutions pick their own algorithms). Idempotent. Gradients reach the input
    image; for gradients w.r.t. the kernels use ``conv="direct"``.
    """
    conv = resolve_conv(conv, backend)
    out = {}
    for name, p in params.items():
        p = dict(p)
        if (conv == "direct" or name not in WINOGRAD_TILE or (not grad and name in WINOGRAD_FORWARD_ONLY_SKIP)
                or np.shape(p["kernel"])[2] < WINOGRAD_MIN_CHANNELS):
            p.pop("winograd", None)
        elif "winograd" not in p:
            p["winograd"] = jnp.asarray(winograd.transform_kernel(p["kernel"], WINOGRAD_TILE[name]))
        out[name] = p
    return out


class Conv3x3(nn.Module):
    """3x3 "SAME" convolution + bias (+ ReLU unless ``relu=False``); Winograd when params hold one."""

    features: int
    dtype: object = jnp.float32
    relu: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.has_variable("params", "kernel"):  # apply: the stored weights, whatever their width
            kernel, bias = self.get_variable("params", "kernel"), self.get_variable("params", "bias")
        else:  # init: He-normal kernel, zero bias
            kernel = self.param("kernel", nn.initializers.he_normal(), (3, 3, x.shape[-1], self.features))
            bias = self.param("bias", nn.initializers.zeros, (self.features,))
        x = x.astype(self.dtype)
        if self.has_variable("params", "winograd"):
            y = winograd.conv3x3(x, self.get_variable("params", "winograd").astype(self.dtype))
        else:
            y = jax.lax.conv_general_dilated(x, kernel.astype(self.dtype), (1, 1), "SAME",
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
        y = y + bias.astype(self.dtype)
        return jax.nn.relu(y) if self.relu else y


def _pool(x, pooling: str):
    """2x2 stride-2 pooling (odd edges dropped, as "VALID") as a reshape and a reduction.

    Same values as ``lax.reduce_window``; its gradient is an elementwise mask instead of
    XLA's ``select_and_scatter``, which is 4-8x slower on the CPU (docs/BENCHMARKS.md).
    """
    n, h, w, c = x.shape
    blocks = x[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c)
    if pooling == "max":
        return jnp.max(blocks, axis=(2, 4))
    if pooling == "avg":
        return jnp.mean(blocks, axis=(2, 4))
    raise UsageError(f"unknown pooling {pooling!r}; use 'max' or 'avg'")


class VGG19(nn.Module):
    """VGG-19's conv layers up to the deepest tap; returns ``{tap: float32 activations}``.

    ``taps``: conv layer names to return. ``pooling``: ``"max"`` (the trained net) or
    ``"avg"`` (Gatys et al.'s variant). ``dtype``: compute dtype (activations are returned
    as float32). ``preact``: return the taps before their ReLU (the forward pass continues
    after it). ``width``: channel multiplier for :meth:`init` (the real net is 1).
    Input: preprocessed NHWC images (:func:`preprocess`).
    """

    taps: tuple[str, ...]
    pooling: str = "max"
    dtype: object = jnp.float32
    preact: bool = False
    width: float = 1.0

    @nn.compact
    def __call__(self, x: jax.Array, valid: Sequence[jax.Array] | None = None) -> dict[str, jax.Array]:
        """``valid``: per block, a 0/1 (H_b, W_b) or (N, H_b, W_b) mask of the real pixels (:func:`apply`)."""
        taps = check_layers(self.taps)
        if not taps:
            return {}
        last = max(VGG19_LAYERS.index(l) for l in taps)
        block = 0

        def mask(a):
            if valid is None or block >= len(valid):
                return a
            v = valid[block]
            return a * (v[None] if v.ndim == 2 else v)[..., None].astype(a.dtype)

        x = mask(x)
        out = {}
        for name in VGG19_LAYERS[: last + 1]:
            if name.startswith("pool"):
                block += 1
                x = mask(_pool(x, self.pooling))
                continue
            y = mask(Conv3x3(max(1, int(CHANNELS[name] * self.width)), self.dtype, relu=False, name=name)(x))
            x = jax.nn.relu(y)
            if name in taps:
                out[name] = (y if self.preact else x).astype(jnp.float32)
        return out


def apply(params: Mapping, x: jax.Array, layers: Sequence[str], pooling: str = "max", dtype=jnp.float32,
          preact: bool = False, valid: Sequence[jax.Array] | None = None) -> dict[str, jax.Array]:
    """Run preprocessed NHWC input through :class:`VGG19` up to the deepest of ``layers``.

    ``valid`` (a padded image): one (H_b, W_b) 0/1 mask per block's resolution
    (:func:`valid_masks`), or (N, H_b, W_b) for a batch of photos padded alike; the input,
    every conv output and every pool output are multiplied by it, so each convolution sees
    zeros beyond the real pixels exactly as its "SAME" padding would at the border of the
    unpadded image, and the features inside equal the unpadded run's (up to float rounding).
    Not jitted (composable inside other jitted functions); see :func:`features`.
    """
    return VGG19(tuple(check_layers(layers)), pooling, dtype, preact).apply({"params": params}, x, valid)


def block_hw(hw: tuple[int, int], layer: str) -> tuple[int, int]:
    """The feature map size of ``layer`` for an input of ``hw`` (each 2x2 pool floors)."""
    b = int(check_layers([layer])[0][4]) - 1
    return hw[0] >> b, hw[1] >> b


def bucket_hw(hw: tuple[int, int], buckets: int) -> tuple[int, int]:
    """The padded size of ``hw``: the short side rounded up to a multiple of ``ceil(long / buckets)``.

    So each long side has ``buckets`` sizes per orientation (e.g. 4: 96, 192, 288 and 384 px
    at 384); ``0`` keeps ``hw``. At most ``1/buckets`` of the long side is padding.
    """
    if not buckets:
        return tuple(hw)
    long = max(hw)
    step = -(-long // buckets)
    up = lambda n: min(long, -(-n // step) * step)  # noqa: E731
    return (hw[0], up(hw[1])) if hw[0] >= hw[1] else (up(hw[0]), hw[1])


def valid_masks(hw: tuple[int, int], pad_hw: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """For :func:`apply`'s ``valid``: per block, 1 on the real ``hw`` pixels' features of a ``pad_hw`` input."""
    out = []
    for b in range(5):
        m = np.zeros((pad_hw[0] >> b, pad_hw[1] >> b), np.float32)
        m[: hw[0] >> b, : hw[1] >> b] = 1.0
        out.append(m)
    return tuple(out)


@partial(jax.jit, static_argnames=("layers", "pooling", "dtype"))
def _features_jit(params, images, layers, pooling, dtype):
    return apply(params, preprocess(images), layers, pooling, dtype)


def features(params: Mapping, images: jax.Array, layers: Sequence[str], pooling: str = "max",
             dtype=jnp.float32) -> dict[str, jax.Array]:
    """Jitted: RGB images in [0, 255], (N, H, W, 3) or (H, W, 3) -> {layer: activations}."""
    images = jnp.asarray(images, jnp.float32)
    squeeze = images.ndim == 3
    if squeeze:
        images = images[None]
    out = _features_jit(params, images, tuple(check_layers(layers)), pooling, dtype)
    return {k: v[0] for k, v in out.items()} if squeeze else out


def num_channels(params: Mapping, layer: str) -> int:
    """Output channels of ``layer`` in these params (512 for conv5_1 in the real net)."""
    return int(params[layer]["bias"].shape[0])
