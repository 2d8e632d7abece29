import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstyle.transfer import optimize
from jaxstyle.errors import JaxstyleError


def _quadratic(target):
    w = jnp.linspace(1.0, 20.0, target.size).reshape(target.shape)

    def f(x):
        v = jnp.sum(w * jnp.square(x - target))
        return v, {"q": v}
    return f


def test_lbfgs_converges_and_respects_bounds():
    target = jnp.asarray(np.random.default_rng(0).uniform(-50, 300, (4, 5, 3)), jnp.float32)
    steps = list(optimize.lbfgs(_quadratic(target), jnp.full(target.shape, 128.0), 60, chunk=20))
    x = steps[-1].image
    assert float(x.min()) >= 0.0 and float(x.max()) <= 255.0
    np.testing.assert_allclose(np.asarray(x), np.clip(np.asarray(target), 0, 255), atol=0.5)
    losses = [s.loss for s in steps]
    assert losses == sorted(losses, reverse=True)  # monotone: uphill steps are rejected
    assert steps[-1].terms["q"] == pytest.approx(steps[-1].loss)


def test_lbfgs_reports_divergence():
    def f(x):
        v = jnp.sum(x) * jnp.nan
        return v, {}
    with pytest.raises(JaxstyleError, match="diverged"):
        list(optimize.lbfgs(f, jnp.zeros((2, 2, 3)), 5, chunk=5))


def test_no_recompile_across_chunks():
    target = jnp.full((3, 3, 3), 50.0)
    f = _quadratic(target)
    it = optimize.lbfgs(f, jnp.zeros((3, 3, 3)), 30, chunk=10)
    next(it)
    after_first = optimize.compile_count()
    list(it)
    assert optimize.compile_count() == after_first


def test_schedule_coarse_to_fine():
    plan = optimize.schedule(512, 300)
    assert plan == [(128, 150), (256, 90), (512, 60)]  # coarse levels get most
    assert optimize.schedule(1024, 100) == [(256, 50), (512, 30), (1024, 20)]  # at most 3 levels
    assert optimize.schedule(384, 100) == [(192, 60), (384, 40)]
    assert optimize.schedule(512, 100, min_size=256) == [(256, 60), (512, 40)]
    assert sum(n for _, n in optimize.schedule(512, 7, scales=5)) == 7
    assert optimize.schedule(100, 10) == [(100, 10)]
    assert optimize.schedule(512, 10, scales=1) == [(512, 10)]


def test_schedule_is_one_level_on_accelerators_unless_asked():
    assert optimize.schedule(512, 300, backend="gpu") == [(512, 300)]
    assert optimize.schedule(512, 300, backend="tpu") == [(512, 300)]
    assert optimize.schedule(512, 300, scales=3, backend="gpu") == optimize.schedule(512, 300)


def test_prepare_is_cached_and_compiles_once_across_threads():
    from concurrent.futures import ThreadPoolExecutor

    def f(x, a):
        v = jnp.sum(jnp.square(x - a["t"]))
        return v, {"v": v}

    args = {"t": jnp.full((4, 4, 3), 7.0)}
    x = jnp.zeros((4, 4, 3))
    start = optimize.compile_count()
    with ThreadPoolExecutor(4) as pool:  # four threads ask at once: one compiles, three wait
        progs = list(pool.map(lambda _: optimize.prepare(f, x, args), range(4)))
    assert optimize.compile_count() - start == 1
    assert all(p is progs[0] for p in progs)
    assert optimize.prepare(f, jax.ShapeDtypeStruct(x.shape, jnp.float32), args) is progs[0]  # shapes suffice
    assert optimize.prepare(f, jnp.zeros((4, 5, 3)), {"t": jnp.zeros((4, 5, 3))}) is not progs[0]  # new shape
    assert optimize.prepare(f, x, args, upper=100.0) is not progs[0]  # new bounds (same objective trace)
    steps = list(optimize.lbfgs(f, x, 20, args=args, chunk=10))  # the loop uses the cached programs
    assert optimize.compile_count() - start == 2
    np.testing.assert_allclose(np.asarray(steps[-1].image), 7.0, atol=1e-2)
    optimize.clear_caches()
    assert optimize.prepare(f, x, args) is not progs[0]
    assert optimize.compile_count() - start == 3  # cleared: traced and compiled again


def test_prepare_failure_is_not_cached():
    calls = []

    def f(x, a):
        calls.append(1)
        raise ValueError("bad objective")

    for _ in range(2):  # the second call tries again (and fails the same way), it does not hang
        with pytest.raises(ValueError, match="bad objective"):
            optimize.prepare(f, jnp.zeros((2, 2, 3)), None)
    assert len(calls) == 2


def test_prepare_compiles_its_programs_with_the_cpu_options(monkeypatch):
    """On a CPU the three programs compile with LLVM at -O1 (``CPU_COMPILER_OPTIONS``); elsewhere with XLA's own."""
    seen = []
    compile_ = jax.stages.Lowered.compile

    def spy(self, compiler_options=None, **kw):
        seen.append(compiler_options)
        return compile_(self, compiler_options, **kw)

    monkeypatch.setattr(jax.stages.Lowered, "compile", spy)
    target = jnp.zeros((3, 4, 3), jnp.float32)
    optimize.prepare(lambda x, a: _quadratic(target)(x * a), jnp.ones((3, 4, 3)), jnp.float32(2.0))
    assert seen == [{"xla_backend_optimization_level": 1}] * 3
    assert optimize.compiler_options("gpu") is None and optimize.compiler_options("tpu") is None
