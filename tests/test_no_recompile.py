"""Compile once per image shape: no recompiles across L-BFGS chunks (issue 6).

On a tiny random VGG (``width=1/16``) and the real Gatys objective built by ``stylize``.
Also the persistent compilation cache helper (``jaxstyle._cache``).
"""
from __future__ import annotations

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstyle.transfer import optimize
from jaxstyle.model import vgg
from jaxstyle.transfer import objective as O, stylize as S


@pytest.fixture(scope="module")
def tiny(tiny_params):
    return tiny_params


def _images(size=32):
    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    return content, style


def _gatys(params, side):
    content, style = _images(side)
    tg = O.style_targets(params, [style], [1.0], O.GATYS_STYLE_LAYERS, side, 1.0, "max")
    ct = vgg.features(params, content, (O.CONTENT_LAYER,))[O.CONTENT_LAYER]
    spec = dict(style_layers=O.GATYS_STYLE_LAYERS, content_target=ct, style_targets=tg, channels={},
                layer_weights={l: 0.2 for l in O.GATYS_STYLE_LAYERS}, region=None, base=jnp.asarray(content),
                normalize="relative", weights=dict(content=1.0, style=1e3, tv=1e-5), pooling="max")
    f, args = O.make(params, spec)
    return (lambda x, a=args: f(x, a)), jnp.asarray(content)


def test_chunks_at_one_shape_compile_once(tiny):
    f, x0 = _gatys(tiny, 32)
    it = optimize.lbfgs(f, x0, 40, chunk=10)
    start = optimize.compile_count()
    first = next(it)
    after_first = optimize.compile_count()
    assert after_first == start + 1
    rest = list(it)
    assert len(rest) == 3 and rest[-1].iteration == 40
    assert optimize.compile_count() == after_first  # 3 more chunks, no new trace
    assert rest[-1].loss <= first.loss


@pytest.mark.parametrize("prefetch", [False, True])
def test_one_compile_per_scale(tiny, prefetch):
    content, style = _images(64)
    plan = optimize.schedule(64, 20, 2)
    assert [s for s, _ in plan] == [32, 64] and all(n % 4 == 0 for _, n in plan)
    optimize.clear_caches()  # compiled steps are shared across calls now: start from nothing
    start = optimize.compile_count()
    seen = []
    for p in S.stylize_iter(content, style, method="gatys", size=64, iterations=20, scales=2, params=tiny,
                            chunk=4, class_name=None, prefetch=prefetch):
        if p.result is None:
            seen.append((p.scale, optimize.compile_count() - start))
    if not prefetch:  # each level compiles when it starts
        assert all(n == scale + 1 for scale, n in seen), seen
    else:  # levels compile ahead, in the background, but never twice
        assert all(scale + 1 <= n <= len(plan) for scale, n in seen), seen
    assert optimize.compile_count() - start == len(plan)


def test_remainder_chunk_does_not_recompile(tiny):
    f, x0 = _gatys(tiny, 32)
    start = optimize.compile_count()
    list(optimize.lbfgs(f, x0, 25, chunk=10))  # chunks 10, 10, 5
    assert optimize.compile_count() - start == 1


# --------------------------------------------------------------------------- persistent cache
def test_cache_respects_switch_and_user_dir(tmp_path, monkeypatch):
    from jaxstyle import _cache

    monkeypatch.setenv(_cache.ENV_SWITCH, "0")
    assert _cache.enable_compilation_cache(tmp_path / "off") is None
    assert not (tmp_path / "off").exists()
    monkeypatch.setenv(_cache.ENV_SWITCH, "1")
    monkeypatch.setenv(_cache.ENV_DIR, str(tmp_path / "env"))
    assert _cache.default_dir() == tmp_path / "env"
    before = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", str(tmp_path / "user"))
    try:
        assert _cache.enable_compilation_cache(tmp_path / "mine") == tmp_path / "user"  # the user's choice wins
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
    assert not (tmp_path / "mine").exists()


_CHILD = """
import sys, time
from jaxstyle._cache import enable_compilation_cache
d = enable_compilation_cache(sys.argv[1])  # the package default caches even a tiny program
import jax, jax.numpy as jnp
f = jax.jit(lambda x: jnp.tanh(x @ x.T).sum())
t = time.perf_counter(); f(jnp.ones((64, 64))).block_until_ready()
print(d, time.perf_counter() - t)
"""


def test_cache_writes_and_is_reused(tmp_path):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    d = tmp_path / "xla"
    r1 = subprocess.run([sys.executable, "-c", _CHILD, str(d)], env=env, capture_output=True, text=True, timeout=300)
    assert r1.returncode == 0, r1.stderr[-2000:]
    assert r1.stdout.split()[0] == str(d)
    files = sorted(p.name for p in d.rglob("*") if p.is_file())
    assert files, "nothing was written to the cache"
    r2 = subprocess.run([sys.executable, "-c", _CHILD, str(d)], env=env, capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0, r2.stderr[-2000:]
    assert sorted(p.name for p in d.rglob("*") if p.is_file()) == files  # a hit: no new entry
