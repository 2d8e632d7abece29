"""Persistent XLA compilation cache: compiled programs survive the process.

A stylization compiles a few programs per image shape (VGG passes for the targets, the
objective's value and gradient, the L-BFGS chunk). On a CPU that is tens of seconds per
shape; with the cache a second run at the same shapes loads them from disk instead.

:func:`enable_compilation_cache` must run before the first compilation of the process
(JAX initialises its cache once, at the first compile). It never overrides a cache the
user configured (``JAX_COMPILATION_CACHE_DIR``) and is off when
``JAXSTYLE_COMPILATION_CACHE=0``.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_DIR = "JAXSTYLE_COMPILATION_CACHE_DIR"
ENV_SWITCH = "JAXSTYLE_COMPILATION_CACHE"
# Cache every program (JAX's default caches those that took >= 1 s to compile). The target
# passes, the L-BFGS proposal and update and the resizes each compile in 0.05-0.4 s; a warm
# ``--method gatys --size 384 --scales 1`` start-up takes ~0.9 s less with them cached
# (docs/BENCHMARKS.md, "Equal work and batches").
MIN_COMPILE_SECS = 0.0


def cache_root() -> Path:
    """The package's cache directory: ``$XDG_CACHE_HOME/jaxstyle`` (``~/.cache/jaxstyle``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jaxstyle"


def default_dir() -> Path:
    """``$JAXSTYLE_COMPILATION_CACHE_DIR``, else :func:`cache_root` ``/xla``."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    return cache_root() / "xla"


def enable_compilation_cache(path: str | os.PathLike | None = None,
                             min_compile_secs: float = MIN_COMPILE_SECS) -> Path | None:
    """Turn on JAX's persistent compilation cache in ``path`` (default :func:`default_dir`).

    Returns the cache directory in use, or ``None`` when it was left off (switched off by
    ``JAXSTYLE_COMPILATION_CACHE=0``, or the directory cannot be created). If the user set
    ``JAX_COMPILATION_CACHE_DIR`` (or ``jax_compilation_cache_dir``), that one is kept and returned.
    """
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return None
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    d = Path(path) if path is not None else default_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(d))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_secs))
    return d
