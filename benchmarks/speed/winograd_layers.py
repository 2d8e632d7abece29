#!/usr/bin/env python3
"""Per-layer timing of VGG-19's 3x3 convolutions: XLA direct vs Winograd F(2x2,3x3) / F(4x4,3x3).

    python -m benchmarks.speed.winograd_layers --size 256 --batch 1     # the stylize case
    python -m benchmarks.speed.winograd_layers --size 224 --batch 4     # the scoring case

For one layer of each distinct shape (input ``size`` px, so conv3_x maps are size/4):
milliseconds for conv + bias-free ReLU forward, and for the gradient w.r.t. the input of a
sum of squares; random data, kernels pre-transformed (as ``vgg.prepare`` does). The
policy in ``vgg.WINOGRAD_TILE`` / ``WINOGRAD_FORWARD_ONLY_SKIP`` / ``WINOGRAD_MIN_CHANNELS`` was read
off this table.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

from benchmarks import common  # sets the CPU XLA flags before JAX starts
import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle.model import vgg, winograd

LAYERS = ("conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv4_1", "conv4_2", "conv5_1")


def _ms(fn, *args, reps: int) -> float:
    jax.block_until_ready(fn(*args))
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t)
    return 1e3 * statistics.median(ts)


def _direct(x, k):
    return jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def main(argv=None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--size", type=int, default=256, help="network input size in px (default 256)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--reps", type=int, default=7)
    a = p.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; XLA_FLAGS `{os.environ.get('XLA_FLAGS', '')}`; "
          f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    print("| layer | input (N×H×W×C → out) | direct fwd / grad ms | F(2,3) fwd / grad | F(4,3) fwd / grad "
          "| used (gradient) | used (forward only) |")
    print("|---|---|---|---|---|---|---|")
    for name in LAYERS:
        block = int(name[4])
        hw = a.size // 2 ** (block - 1)
        cin, cout = vgg.IN_CHANNELS[name], vgg.CHANNELS[name]
        x = jnp.asarray(rng.standard_normal((a.batch, hw, hw, cin)), jnp.float32)
        k = jnp.asarray(rng.standard_normal((3, 3, cin, cout)) * np.sqrt(2 / (9 * cin)), jnp.float32)
        cols = []
        for conv, w in [(_direct, k)] + [(winograd.conv3x3, jnp.asarray(winograd.transform_kernel(k, m)))
                                         for m in (2, 4)]:
            fwd = jax.jit(lambda x, w, conv=conv: jax.nn.relu(conv(x, w)))
            grad = jax.jit(jax.grad(lambda x, w, conv=conv: jnp.sum(jax.nn.relu(conv(x, w)) ** 2)))
            cols.append(f"{_ms(fwd, x, w, reps=a.reps):.1f} / {_ms(grad, x, w, reps=a.reps):.1f}")
        wino = name in vgg.WINOGRAD_TILE and cin >= vgg.WINOGRAD_MIN_CHANNELS
        used = [f"F({vgg.WINOGRAD_TILE[name]},3)" if wino and (grad or name not in vgg.WINOGRAD_FORWARD_ONLY_SKIP)
                else "direct" for grad in (True, False)]
        print(f"| {name} | {a.batch}×{hw}×{hw}×{cin} → {cout} | " + " | ".join(cols + used) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
