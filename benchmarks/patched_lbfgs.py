"""The proposed change to ``jaxstyle.optimize.lbfgs``, for measuring it before it lands.

Same projected L-BFGS step (``optimize.lbfgs_step``), but a chunk is a Python loop over
ONE jitted step instead of a ``lax.fori_loop`` of ``chunk`` steps. JAX dispatches each
step asynchronously, so there is still no host round trip inside a chunk (the host only
waits when it reads the loss after the chunk). On XLA:CPU the loop body of a while loop
runs ~2.5× slower per evaluation than the same computation as a top-level program, and
it compiles ~2.4× slower (see docs/BENCHMARKS.md, section l); a remainder chunk also no
longer recompiles.

``python benchmarks/patched_lbfgs.py ARGS`` runs ``scripts/stylize.py ARGS`` with the patch.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jaxstyle  # noqa: E402,F401
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from jaxstyle import optimize  # noqa: E402
from jaxstyle.errors import JaxstyleError  # noqa: E402

_orig = optimize.lbfgs


def lbfgs(fun, x0, iterations, *, chunk=10, lower=0.0, upper=255.0, history=10, first_step=4.0, solver="lbfgs"):
    if solver != "lbfgs":
        yield from _orig(fun, x0, iterations, chunk=chunk, lower=lower, upper=upper, history=history,
                         first_step=first_step, solver=solver)
        return
    if iterations <= 0:
        return
    x = jnp.clip(jnp.asarray(x0, jnp.float32), lower, upper)
    vg = jax.value_and_grad(fun, has_aux=True)
    (f0, aux0), g0 = jax.jit(vg)(x)
    n = x.size
    st = optimize._LState(x, f0, g0, aux0, jnp.zeros((history, n), jnp.float32),
                          jnp.zeros((history, n), jnp.float32), jnp.zeros((history,), jnp.float32),
                          jnp.array(0), jnp.array(1.0), jnp.array(1))

    @jax.jit
    def step(st):
        optimize._COMPILES["count"] += 1  # trace time only
        return optimize.lbfgs_step(vg, st, lower, upper, first_step)

    done = 0
    while done < iterations:
        k = min(chunk, iterations - done)
        for _ in range(k):
            st = step(st)  # asynchronous dispatch
        done += k
        loss = float(st.f)  # the one host sync per chunk
        if not math.isfinite(loss):
            raise JaxstyleError(f"optimisation diverged (loss {loss}) at iteration {done}")
        yield optimize.Step(done, loss, {k_: float(v) for k_, v in st.aux.items()}, st.x)


def patch():
    optimize.lbfgs = lbfgs


if __name__ == "__main__":
    patch()
    from jaxstyle.cli import run_main
    from jaxstyle.stylize_cli import main

    sys.exit(run_main(main))
