#!/usr/bin/env python3
"""optax.lbfgs vs jaxstyle's projected L-BFGS (jaxstyle/transfer/optimize.py): loss reached at equal wall time.

The objective is the default preset's whole-image (gatys) objective as ``stylize`` builds it
(benchmarks/common.py ``jax_objective``: the bundled dog photo + Starry Night, real VGG-19,
Winograd convolutions on CPU), one level at ``--size``. Each solver gets the same budget of
``--seconds`` of iterations; compilation is timed separately and not counted. Pixels stay in
[0, 255]:

- ``projected L-BFGS``: ``optimize.lbfgs`` (one evaluation per iteration, the step projected).
- ``optax.lbfgs, projected``: optax's L-BFGS with its zoom line search; after each update the
  image is clipped to [0, 255] and the value and gradient are evaluated at the clipped image.
- ``optax.lbfgs, clip in the objective``: optax's L-BFGS on ``f(clip(x))`` (no projection step;
  the line search's value and gradient are reused, ``optax.value_and_grad_from_state``); the
  image is ``clip(x)``.

The loss of a solver at time t is the last loss it had computed by t. Solvers run one after
the other in one process (the order is ``--order``), so a busy machine affects them unevenly:
rerun and compare. Usage::

    PYTHONPATH=. python -m benchmarks.speed.optax_lbfgs --size 384 --seconds 90 --out docs/optax_lbfgs.md
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks import common  # sets the CPU XLA flags before JAX starts
import jax
import jax.numpy as jnp
import optax

from jaxstyle.transfer import optimize


def run_projected(f, fargs, x0, seconds):
    t0 = time.perf_counter()
    optimize.prepare(f, x0, fargs)
    compile_s = time.perf_counter() - t0
    pts, t0, c0 = [], time.perf_counter(), time.process_time()
    x = x0
    for st in optimize.lbfgs(f, x0, 10_000, args=fargs, chunk=1):
        pts.append((time.perf_counter() - t0, st.iteration, st.loss, time.process_time() - c0))
        x = st.image
        if pts[-1][0] >= seconds:
            break
    return pts, compile_s, x


def _optax_step(f, fargs, clip_inside: bool):
    opt = optax.lbfgs(memory_size=10)
    if clip_inside:
        fn = lambda x: f(jnp.clip(x, 0.0, 255.0), fargs)[0]  # noqa: E731
        vg = optax.value_and_grad_from_state(fn)

        def step(x, state):
            value, grad = vg(x, state=state)
            updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=fn)
            return optax.apply_updates(x, updates), state, value
    else:
        fn = lambda x: f(x, fargs)[0]  # noqa: E731

        def step(x, state):
            value, grad = jax.value_and_grad(fn)(x)  # at the projected image
            updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=fn)
            return jnp.clip(optax.apply_updates(x, updates), 0.0, 255.0), state, value
    return opt, jax.jit(step)


def run_optax(f, fargs, x0, seconds, clip_inside: bool):
    opt, step = _optax_step(f, fargs, clip_inside)
    state = opt.init(x0)
    t0 = time.perf_counter()
    step = step.lower(x0, state).compile()
    compile_s = time.perf_counter() - t0
    pts, t0, c0, x, it = [], time.perf_counter(), time.process_time(), x0, 0
    while True:
        x, state, value = step(x, state)  # value = f at the iterate before this step
        it += 1
        pts.append((time.perf_counter() - t0, it - 1, float(value), time.process_time() - c0))
        if pts[-1][0] >= seconds:
            break
    return pts, compile_s, jnp.clip(x, 0.0, 255.0)


SOLVERS = {
    "projected": ("projected L-BFGS (jaxstyle.transfer.optimize)", lambda f, a, x, s: run_projected(f, a, x, s)),
    "optax-projected": ("optax.lbfgs, projected", lambda f, a, x, s: run_optax(f, a, x, s, False)),
    "optax-clip": ("optax.lbfgs, clip in the objective", lambda f, a, x, s: run_optax(f, a, x, s, True)),
}


def loss_at(pts, t, start, clock=0):
    """(loss, iterations) known by time ``t`` on the wall clock (``clock=0``) or in process CPU seconds (3)."""
    known = [p for p in pts if p[clock] <= t]
    return (known[-1][2], known[-1][1]) if known else (start, 0)


def main(argv=None) -> int:
    p = common.parser(__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--size", type=int, default=384, help="long side in pixels")
    p.add_argument("--seconds", type=float, default=90.0, help="iteration budget per solver (compilation excluded)")
    p.add_argument("--order", default="projected,optax-projected,optax-clip", help="solvers, in run order")
    p.add_argument("--out", default=None, help="also write the markdown table here")
    a = p.parse_args(argv)
    f, fargs, x0, *_ = common.jax_objective(a.size)
    x0 = jnp.asarray(x0, jnp.float32)
    f0 = float(jax.jit(lambda x: f(x, fargs)[0])(x0))
    marks = [a.seconds / 4, a.seconds / 2, a.seconds]
    rows = []
    for name in a.order.split(","):
        label, run = SOLVERS[name]
        common.log(f"{label}: {a.seconds:.0f} s at {a.size} px (load {common.loadavg()})")
        pts, compile_s, x = run(f, fargs, x0, a.seconds)
        final = float(jax.jit(lambda x_: f(x_, fargs)[0])(x))
        cpu = min(p[3] for p in pts if p[0] >= a.seconds)  # CPU seconds this solver used in the budget
        rows.append((label, compile_s, [loss_at(pts, t, f0) for t in marks], final, pts[-1][1] / pts[-1][0], cpu,
                     pts))
        optimize.clear_caches()
    cpu_budget = min(r[5] for r in rows)  # equal CPU time: the least any solver got
    lines = [f"Loss of the default objective (gatys, dog.jpg + starry_night.jpg, {a.size} px, one level, "
             f"start loss {f0:.4g}) after equal wall time, compilation excluded; jax {jax.__version__}, "
             f"optax {optax.__version__}, {common.cpu_model()}, {os.cpu_count()} CPUs, load {common.loadavg()}.",
             "", "| solver | compile s | " + " | ".join(f"loss at {t:.0f} s wall (its)" for t in marks)
             + f" | loss at {cpu_budget:.0f} CPU s (its) | CPU s used in {a.seconds:.0f} s wall |",
             "|---|---:|" + "---:|" * len(marks) + "---:|---:|"]
    for label, cs, at, final, rate, cpu, pts in rows:
        lc, ic = loss_at(pts, cpu_budget, f0, clock=3)
        lines.append(f"| {label} | {cs:.1f} | " + " | ".join(f"{l:.4g} ({i})" for l, i in at)
                     + f" | {lc:.4g} ({ic}) | {cpu:.0f} |")
    lines += ["", f"Command: `PYTHONPATH=. python -m benchmarks.speed.optax_lbfgs --size {a.size} --seconds {a.seconds:g}"
              f" --order {a.order}`"]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
