#!/usr/bin/env python3
"""The Gram matrix's gradient on the CPU: autodiff of ``F^T F`` against ``losses.self_product``.

    python -m benchmarks.speed.gram_grad --size 384 --reps 15

Autodiff of ``F^T F`` takes one product of the (n, c) feature matrix per operand;
``losses.self_product`` gives the gradient ``F (g + g^T)`` as one. Times, in one process,
(a) the value and gradient of one style term at each Gatys style layer's feature size of a
16:9 ``--size`` photo, and (b) the whole Gatys objective (``common.jax_objective``, the
preset's weights, Winograd as the CPU default) with each, alternated.
"""
from __future__ import annotations


from benchmarks import common  # sets the CPU XLA flags before JAX starts
from benchmarks.common import timed
import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle.model import vgg
from jaxstyle.transfer import losses
from jaxstyle.transfer.objective import GATYS_STYLE_LAYERS

def autodiff_product(a):
    return a.T @ a


def style_term(product):
    def f(f2, target):
        return jnp.mean(jnp.square(product(f2) / f2.shape[0] - target))
    return jax.jit(jax.value_and_grad(f))


def whole_objective(size: int, product):
    """Value + gradient of the Gatys objective with ``losses.self_product`` replaced by ``product``."""
    keep = losses.self_product
    losses.self_product = product  # read when the objective is traced
    try:
        f, fargs, x0, *_ = common.jax_objective(size)
        vg = jax.jit(jax.value_and_grad(f, has_aux=True))
        x = jnp.clip(x0 + 3.0, 0.0, 255.0)
        jax.block_until_ready(vg(x, fargs))
    finally:
        losses.self_product = keep
    return lambda _: vg(x, fargs)


def main(argv=None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--size", type=int, default=384, help="long side of the (16:9) photo")
    p.add_argument("--reps", type=int, default=15)
    a = p.parse_args(argv)
    hw = (a.size * 9 // 16, a.size)
    rng = np.random.default_rng(0)
    print("| layer | features (n, c) | autodiff ms | one product ms | ratio |\n|---|---|---:|---:|---:|")
    for layer in GATYS_STYLE_LAYERS:
        h, w = vgg.block_hw(hw, layer)
        c = vgg.num_channels(common.vgg_params(), layer)
        f2 = jnp.asarray(np.maximum(rng.normal(size=(h * w, c)), 0.0), jnp.float32)
        t = jnp.zeros((c, c), jnp.float32)
        ms = [timed(lambda x, fn=style_term(prod): fn(x, t), f2, a.reps)
              for prod in (autodiff_product, losses.self_product)]
        print(f"| {layer} | ({h * w}, {c}) | {ms[0]:.1f} | {ms[1]:.1f} | {ms[0] / ms[1]:.2f} |", flush=True)
    fns = {name: whole_objective(a.size, prod) for name, prod in
           (("autodiff", autodiff_product), ("one product", losses.self_product))}
    rounds = {name: [] for name in fns}
    for _ in range(3):
        for name, fn in fns.items():
            rounds[name].append(timed(fn, None, a.reps))
    med = {name: float(np.median(v)) for name, v in rounds.items()}
    print(f"\nGatys objective, value + gradient at {hw[1]}x{hw[0]} (median of 3 rounds of {a.reps}): "
          f"autodiff {med['autodiff']:.1f} ms, one product {med['one product']:.1f} ms "
          f"({med['autodiff'] / med['one product']:.3f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
