#!/usr/bin/env python3
"""Max pooling's gradient on the CPU: ``lax.reduce_window`` against the reshape that ``vgg._pool`` uses.

    python -m benchmarks.speed.pool_grad --size 384 --reps 10

Times, in one process, (a) each of VGG-19's four pools alone (value and gradient) at the
feature sizes of a ``--size`` photo, and (b) the value and gradient of a style objective
through the real VGG-19 (conv1_1 .. conv5_1, Winograd where the CPU default uses it), once
with each pooling. The gradient of ``reduce_window`` is XLA's ``select_and_scatter``.
"""
from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import common
from benchmarks.common import timed
from jaxstyle.model import vgg, weights

TAPS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1")


def reduce_window_pool(x, pooling: str):
    if pooling == "max":
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    return jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4.0


def objective(params):
    def f(x):
        feats = vgg.apply(params, x, TAPS)
        return sum(jnp.mean(jnp.square(v)) for v in feats.values())
    return jax.jit(jax.value_and_grad(f))


def main(argv=None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--size", type=int, default=384, help="long side of the (4:3) input")
    p.add_argument("--reps", type=int, default=10)
    a = p.parse_args(argv)
    h, w = a.size * 3 // 4, a.size
    rng = np.random.default_rng(0)
    print("| what | shape | reduce_window ms | reshape ms | ratio |\n|---|---|---:|---:|---:|")
    for c, s in ((64, 1), (128, 2), (256, 4), (512, 8)):
        x = jnp.asarray(rng.random((1, h // s, w // s, c), np.float32))
        ms = [timed(jax.jit(jax.grad(lambda v, pool=pool: jnp.sum(jnp.square(pool(v, "max"))))), x, a.reps)
              for pool in (reduce_window_pool, vgg._pool)]  # vgg's private pool: the function under test
        print(f"| one max pool, value + gradient | {h // s}x{w // s}x{c} | {ms[0]:.1f} | {ms[1]:.1f} | "
              f"{ms[0] / ms[1]:.2f} |")
    params = vgg.prepare(weights.load()[0], "auto")
    x = vgg.preprocess(jnp.asarray(rng.uniform(0, 255, (1, h, w, 3)), jnp.float32))
    ours = objective(params)
    ms_new = timed(ours, x, a.reps)
    # swap the pooling VGG-19 uses (a private helper of vgg, looked up at trace time; no public switch)
    vgg_pool = vgg._pool
    vgg._pool = reduce_window_pool  # the module looks the helper up at trace time
    try:
        ms_old = timed(objective(params), x, a.reps)
    finally:
        vgg._pool = vgg_pool
    print(f"| VGG-19 to conv5_1, value + gradient | {h}x{w}x3 | {ms_old:.0f} | {ms_new:.0f} | {ms_old / ms_new:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
