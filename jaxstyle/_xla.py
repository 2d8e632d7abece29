"""XLA flags applied before JAX starts (CPU speed-ups that are safe for this jaxlib).

XLA aborts the process on an unknown flag in ``XLA_FLAGS``, so a flag is only added
when the installed jaxlib is known to accept it: versions in a verified range are
trusted, any other version is probed once in a subprocess and the answer cached.
Nothing is changed when the user has set ``XLA_FLAGS`` or ``JAXSTYLE_XLA_FLAGS=0``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

CPU_FLAGS = ("--xla_cpu_use_onednn=true",)
# jaxlib versions on which the flags above were run here (start, end) inclusive.
VERIFIED = ((0, 10, 0), (0, 10, 99))


def _version() -> tuple[int, ...] | None:
    try:
        v = metadata.version("jaxlib")
    except metadata.PackageNotFoundError:
        return None
    parts = []
    for p in v.split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _probe(flags: str) -> bool:
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu", JAXSTYLE_XLA_FLAGS="0")
    code = "import jax.numpy as j; j.ones(2).block_until_ready()"
    try:
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def cpu_flags_supported(version: tuple[int, ...] | None = None, cache: Path | None = None) -> bool:
    """True when this jaxlib accepts :data:`CPU_FLAGS` (verified range, else a cached probe)."""
    version = _version() if version is None else version
    if version is None:
        return False
    if VERIFIED[0] <= version <= VERIFIED[1]:
        return True
    cache = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jaxstyle" / "xla_flags.json"
    key = ".".join(map(str, version)) + " " + " ".join(CPU_FLAGS)
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = _probe(" ".join(CPU_FLAGS))
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(known))
        except OSError:
            pass
    return bool(known[key])


def configure(environ: dict | None = None) -> bool:
    """Set CPU XLA flags in ``environ`` (default ``os.environ``) if safe. Returns True if set."""
    env = os.environ if environ is None else environ
    if "jax" in sys.modules and environ is None:
        return False  # too late: JAX already read XLA_FLAGS
    if env.get("XLA_FLAGS") or env.get("JAXSTYLE_XLA_FLAGS", "1") == "0":
        return False
    if env.get("JAX_PLATFORMS", "cpu").split(",")[0] not in ("cpu", ""):
        return False
    if not cpu_flags_supported():
        return False
    env["XLA_FLAGS"] = " ".join(CPU_FLAGS)
    return True
