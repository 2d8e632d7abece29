"""Pixel optimisation by L-BFGS with pixel bounds, yielding progress after each chunk.

Each iteration dispatches three jitted programs asynchronously: the proposal (two-loop
recursion, projection), the objective's value and gradient, and the accept/update. The
host reads the loss only after each ``chunk`` of iterations and yields a :class:`Step`, so
callers decide what to print or save. The value-and-gradient program is the only heavy
compile: one per objective and shape, shared with the first evaluation (a single fused
step program compiled it twice, ~6 s extra per scale with the Winograd VGG on CPU). Per-
iteration programs compile ~2x faster than a ``lax.fori_loop`` over them (measured on an
H200: 9.8 s vs 20.7 s for 1000 iterations at 512 px, compilation included, same 2.0 ms per
iteration). ``compile_count`` counts value-and-gradient traces so tests can assert it.

The three programs are compiled ahead of time by :func:`prepare` (thread-safe and cached
per objective, shapes and bounds), so a caller can compile the next coarse-to-fine level
in a background thread while the current one iterates (``stylize_iter`` does).
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Iterator, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import JaxstyleError


@dataclass
class Step:
    """Progress after a chunk: iterations done at this scale, loss, named terms, image."""
    iteration: int
    loss: float
    terms: dict[str, float] = field(default_factory=dict)
    image: jax.Array | None = None


_COMPILES: dict[str, int] = {"count": 0}


def compile_count() -> int:
    """How many times the value-and-gradient program has been traced (for no-recompile checks)."""
    return _COMPILES["count"]


class _LState(NamedTuple):
    x: jax.Array
    f: jax.Array
    g: jax.Array
    aux: dict
    s: jax.Array  # (m, n) position differences
    y: jax.Array  # (m, n) gradient differences
    rho: jax.Array  # (m,)
    k: jax.Array  # number of stored pairs (<= m), newest at index 0
    t: jax.Array  # step multiplier (halved on rejection)
    evals: jax.Array


def _two_loop(g, s, y, rho, k):
    """L-BFGS two-loop recursion: approximately H^-1 g from the stored pairs."""
    m = s.shape[0]
    valid = jnp.arange(m) < k

    def first(q, i):
        a = jnp.where(valid[i], rho[i] * jnp.vdot(s[i], q), 0.0)
        return q - a * y[i], a

    q, alpha = jax.lax.scan(first, g, jnp.arange(m))
    sy, yy = jnp.vdot(s[0], y[0]), jnp.vdot(y[0], y[0])
    gamma = jnp.where(k > 0, sy / jnp.maximum(yy, 1e-30), 1.0)
    r = gamma * q

    def second(r, i):
        b = jnp.where(valid[i], rho[i] * jnp.vdot(y[i], r), 0.0)
        return r + jnp.where(valid[i], alpha[i] - b, 0.0) * s[i], None

    r, _ = jax.lax.scan(second, r, jnp.arange(m)[::-1])
    return r


def propose(st: _LState, lower: float, upper: float, first_step: float) -> jax.Array:
    """The next point: the quasi-Newton direction at step ``st.t``, projected onto the pixel box."""
    g = st.g
    free = ~(((st.x <= lower) & (g > 0)) | ((st.x >= upper) & (g < 0)))  # active bounds
    gf = jnp.where(free, g, 0.0).reshape(-1)
    d = -_two_loop(gf, st.s, st.y, st.rho, st.k)
    # first step (no curvature yet): move the largest pixel by ``first_step``
    d = jnp.where(st.k > 0, d, d * first_step / (jnp.max(jnp.abs(d)) + 1e-30))
    d = jnp.where(jnp.vdot(d, gf) < 0, d, -gf * first_step / (jnp.max(jnp.abs(gf)) + 1e-30))
    return jnp.clip(st.x + st.t * d.reshape(st.x.shape), lower, upper)


def accept(st: _LState, x_new: jax.Array, f_new: jax.Array, aux_new: dict, g_new: jax.Array) -> _LState:
    """Take ``x_new`` if it is not uphill (and store the curvature pair); else keep x, clear history, halve t."""
    ok = jnp.isfinite(f_new) & (f_new <= st.f)
    sv = (x_new - st.x).reshape(-1)
    yv = (g_new - st.g).reshape(-1)
    sy = jnp.vdot(sv, yv)
    push = ok & (sy > 1e-10 * jnp.vdot(yv, yv))
    s_hist = jnp.where(push, jnp.roll(st.s, 1, axis=0).at[0].set(sv), st.s)
    y_hist = jnp.where(push, jnp.roll(st.y, 1, axis=0).at[0].set(yv), st.y)
    rho = jnp.where(push, jnp.roll(st.rho, 1).at[0].set(1.0 / jnp.where(push, sy, 1.0)), st.rho)
    k = jnp.where(push, jnp.minimum(st.k + 1, st.s.shape[0]), jnp.where(ok, st.k, 0))
    pick = lambda a, b: jax.tree_util.tree_map(lambda u, v: jnp.where(ok, u, v), a, b)
    return _LState(pick(x_new, st.x), pick(f_new, st.f), pick(g_new, st.g), pick(aux_new, st.aux),
                   s_hist, y_hist, rho, k, jnp.where(ok, 1.0, st.t * 0.5), st.evals + 1)


def lbfgs_step(vg, st: _LState, lower: float, upper: float, first_step: float) -> _LState:
    """One projected L-BFGS iteration with exactly one function evaluation.

    The step is taken at full length (t=1) along the quasi-Newton direction and projected
    onto the pixel box; an uphill step is rejected (x kept, history cleared, t halved).
    """
    x_new = propose(st, lower, upper, first_step)
    (f_new, aux_new), g_new = vg(x_new)
    return accept(st, x_new, f_new, aux_new, g_new)


@partial(jax.jit, static_argnames=("fun",))
def _value_and_grad(fun, x, args):
    _COMPILES["count"] += 1  # runs at trace time only
    return jax.value_and_grad(fun, has_aux=True)(x, args)


_propose = jax.jit(propose, static_argnames=("lower", "upper", "first_step"))
_accept = jax.jit(accept)


class Programs(NamedTuple):
    """The compiled per-iteration programs of :func:`lbfgs` for one objective and shape."""
    value_and_grad: Callable  # (x, args) -> ((f, aux), g)
    propose: Callable  # (state) -> x_new
    accept: Callable  # (state, x_new, f_new, aux_new, g_new) -> state


MAX_PROGRAMS = 32  # compiled program sets kept (least recently used dropped)
_PROGRAMS: OrderedDict = OrderedDict()
_PROGRAMS_LOCK = threading.Lock()


def clear_caches() -> None:
    """``jax.clear_caches()`` and forget every :func:`prepare` program set: the next run compiles from scratch."""
    jax.clear_caches()
    with _PROGRAMS_LOCK:
        _PROGRAMS.clear()


def _signature(tree) -> tuple:
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((tuple(jnp.shape(v)), str(jnp.result_type(v)), bool(getattr(v, "weak_type", False)))
                          for v in leaves)


def _init_state(x, f0, aux0, g0, history: int) -> _LState:
    n = x.size
    return _LState(x, f0, g0, aux0, jnp.zeros((history, n), jnp.float32), jnp.zeros((history, n), jnp.float32),
                   jnp.zeros((history,), jnp.float32), jnp.asarray(0, jnp.int32), jnp.asarray(1.0, jnp.float32),
                   jnp.asarray(1, jnp.int32))


# LLVM at -O1 for the CPU programs. Their convolutions and dots are library kernels (YNNPACK)
# that LLVM does not build, so its default -O3 mostly lengthens the compile: the 384 px
# Winograd objective compiles in ~1.45 s instead of ~2.3 s, its evaluations within noise
# (docs/BENCHMARKS.md, "Equal work and batches").
CPU_COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}


def compiler_options(backend: str | None = None) -> dict | None:
    """XLA options for the programs :func:`prepare` compiles: :data:`CPU_COMPILER_OPTIONS` on a CPU."""
    return dict(CPU_COMPILER_OPTIONS) if (backend or jax.default_backend()) == "cpu" else None


def _compile(fun, x, args, lower: float, upper: float, first_step: float, history: int) -> Programs:
    xs = jax.ShapeDtypeStruct(jnp.shape(x), jnp.float32)
    opts = compiler_options()
    vg = _value_and_grad.lower(fun, xs, args).compile(opts)
    (f0, aux0), g0 = vg.out_info
    st = jax.eval_shape(lambda x_, f_, a_, g_: _init_state(x_, f_, a_, g_, history), xs, f0, aux0, g0)
    prop = _propose.lower(st, lower=lower, upper=upper, first_step=first_step).compile(opts)
    acc = _accept.lower(st, xs, f0, aux0, g0).compile(opts)
    out = jax.tree_util.tree_map(lambda a: (a.shape, a.dtype), acc.out_info)
    if out != jax.tree_util.tree_map(lambda a: (a.shape, a.dtype), st):  # the loop feeds accept's output back
        raise AssertionError("accept() changes the L-BFGS state's types")
    return Programs(vg, prop, acc)


def prepare(fun: Callable, x, args=None, *, lower: float = 0.0, upper: float = 255.0,
            first_step: float = 4.0, history: int = 10) -> Programs:
    """Compiled :class:`Programs` for ``fun(x, args)`` at ``x``'s shape (``x`` may be a ShapeDtypeStruct).

    Cached on ``fun``, the shapes and dtypes of ``x`` and ``args`` and the bounds; safe to
    call from several threads (one compiles, the others wait for it). Compiling traces
    ``fun`` once, which :func:`compile_count` counts.
    """
    lower, upper, first_step, history = float(lower), float(upper), float(first_step), int(history)
    key = (fun, _signature(jax.ShapeDtypeStruct(jnp.shape(x), jnp.float32)), _signature(args),
           lower, upper, first_step, history)
    with _PROGRAMS_LOCK:
        fut = _PROGRAMS.get(key)
        owner = fut is None
        if owner:
            fut = _PROGRAMS[key] = Future()
            while len(_PROGRAMS) > MAX_PROGRAMS:
                _PROGRAMS.popitem(last=False)
        else:
            _PROGRAMS.move_to_end(key)
    if owner:
        try:
            fut.set_result(_compile(fun, x, args, lower, upper, first_step, history))
        except BaseException as e:
            with _PROGRAMS_LOCK:
                if _PROGRAMS.get(key) is fut:
                    del _PROGRAMS[key]
            fut.set_exception(e)
            raise
    return fut.result()


def lbfgs(fun: Callable, x0: jax.Array, iterations: int, *, args=None,
          chunk: int = 10, lower: float = 0.0, upper: float = 255.0, history: int = 10,
          first_step: float = 4.0, solver: str = "lbfgs") -> Iterator[Step]:
    """Minimise ``fun(x, args) -> (loss, terms)`` (or ``fun(x)`` when ``args`` is None) over pixels.

    ``solver="lbfgs"`` (default): projected L-BFGS with one evaluation per iteration
    (``lbfgs_step``). ``solver="jaxopt"``: jaxopt's ``LBFGSB`` with its zoom line search
    (3–4 evaluations per iteration measured here; kept for comparison). Yields a
    :class:`Step` every ``chunk`` iterations; raises JaxstyleError on NaN/inf.
    Compiled code is cached on ``fun`` (pass the same function object, arrays in ``args``,
    to reuse it across calls) and on the image shape (:func:`prepare`).
    """
    if iterations <= 0:
        return
    if args is None:
        plain = fun
        fun = lambda x, _args: plain(x)  # noqa: E731 - a new function: compiled per call
    x = jnp.clip(jnp.asarray(x0, jnp.float32), lower, upper)
    if solver == "jaxopt":
        yield from _jaxopt_lbfgsb(lambda x_: fun(x_, args), x, iterations, chunk, lower, upper, history)
        return
    prog = prepare(fun, x, args, lower=lower, upper=upper, first_step=first_step, history=history)
    (f0, aux0), g0 = prog.value_and_grad(x, args)
    st = _init_state(x, f0, aux0, g0, history)
    done = 0
    while done < iterations:
        k = min(chunk, iterations - done)
        for _ in range(k):  # dispatched asynchronously: the host waits only at the chunk's end
            x_new = prog.propose(st)
            (f_new, aux_new), g_new = prog.value_and_grad(x_new, args)
            st = prog.accept(st, x_new, f_new, aux_new, g_new)
        done += k
        loss = float(st.f)
        if not math.isfinite(loss):
            raise JaxstyleError(
                f"optimisation diverged (loss {loss}) at iteration {done}; lower the style weight or use --init content")
        yield Step(done, loss, {k_: float(v) for k_, v in st.aux.items()}, st.x)


def _jaxopt_lbfgsb(fun, x, iterations, chunk, lower, upper, history) -> Iterator[Step]:
    import jaxopt  # only this comparison path needs it

    solver = jaxopt.LBFGSB(fun=fun, has_aux=True, maxiter=iterations, history_size=history, tol=0.0)
    bounds = (jnp.full_like(x, lower), jnp.full_like(x, upper))
    state = solver.init_state(x, bounds=bounds)

    @partial(jax.jit, static_argnums=2)
    def run(x, state, n):
        _COMPILES["count"] += 1

        def body(_, carry):
            step = solver.update(carry[0], carry[1], bounds=bounds)
            return step.params, step.state

        return jax.lax.fori_loop(0, n, body, (x, state))

    done = 0
    while done < iterations:
        n = min(chunk, iterations - done)
        x, state = run(x, state, n)
        done += n
        loss = float(state.value)
        if not math.isfinite(loss):
            raise JaxstyleError(f"optimisation diverged (loss {loss}) at iteration {done}; lower the style weight")
        yield Step(done, loss, {k: float(v) for k, v in state.aux.items()}, x)


# Coarse-to-fine: the long side is halved while the coarsest level stays >= MIN_LEVEL_SIZE;
# coarse levels get most iterations, as they are cheap. Other splits (20/60/20, 80/20 without
# the 128 px level, a 10 % full-size level) moved single frames' object style gain by up to
# +-0.06 but none beat 50/30/20 on the seven-frame evaluation's median, and those run on
# all seven frames cost ~10 % more time (docs/history/BENCHMARKS-2026-11-26.md, "Fifth stop").
MIN_LEVEL_SIZE = 128
LEVEL_SHARES = {1: (1.0,), 2: (0.6, 0.4), 3: (0.5, 0.3, 0.2)}
# On a GPU an iteration is ~2 ms at 512 px and a fresh process pays seconds of compilation and
# autotuning per level: on an H100 (2026-11-26) 1000 single-scale iterations at 512 px took 10.9 s
# with compilation, the three-level schedule 82-92 s in a fresh process (14.4 s once the process
# had autotuned those shapes). So accelerators default to a single level (docs/BENCHMARKS.md, "GPU").
ACCELERATOR_SCALES = 1


def schedule(size: int, iterations: int, scales: int | None = None,
             min_size: int = MIN_LEVEL_SIZE, backend: str = "cpu") -> list[tuple[int, int]]:
    """Coarse-to-fine plan ``[(long_side, iterations), ...]`` ending at ``size``.

    With ``scales=None`` on ``backend="cpu"`` the image is halved while it stays >=
    ``min_size`` (at most 3 scales); iterations are split by :data:`LEVEL_SHARES` (60/40 %
    for two levels, 50/30/20 % for three), geometric and coarse-first for more levels.
    On any other backend (``"gpu"``, ``"tpu"``) ``scales=None`` means one level: there an
    iteration costs milliseconds and each level's compilation (with the GPU autotuner) costs
    seconds, so coarse levels cost more than they save (:data:`ACCELERATOR_SCALES`).
    """
    if scales is None and backend != "cpu":
        scales = ACCELERATOR_SCALES
    if scales is None:
        scales = 1
        while scales < 3 and size / 2 ** scales >= min_size:
            scales += 1
    scales = max(1, int(scales))
    sizes = [max(16, int(round(size / 2 ** (scales - 1 - i)))) for i in range(scales)]
    shares = LEVEL_SHARES.get(scales)
    if shares is None:  # more levels: geometric, coarse first
        g = np.geomspace(2, 1, scales)
        shares = list(g / g.sum())
    its = [max(1, int(round(iterations * s))) for s in shares]
    its[-1] = max(1, iterations - sum(its[:-1])) if iterations >= scales else its[-1]
    return list(zip(sizes, its))
