"""Importing jaxstyle has no side effects: no environment changes, no files, no subprocesses."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = r"""
import json, os, pkgutil, subprocess, importlib, sys
calls = []
real = subprocess.Popen.__init__
def spy(self, *a, **k):
    calls.append(str(a[:1]))
    return real(self, *a, **k)
subprocess.Popen.__init__ = spy
before = dict(os.environ)
mods = []
if sys.argv[1] == "jaxstyle":
    import jaxstyle
    mods = [m.name for m in pkgutil.walk_packages(jaxstyle.__path__, "jaxstyle.")
            if m.name.rpartition(".")[2] not in ("tfds_pool", "ui", "__main__")]  # those two import an extra's library
    for m in mods:
        importlib.import_module(m)
import jax, flax.linen, optax, scipy.ndimage  # noqa: E401
after = dict(os.environ)
changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
print(json.dumps({"changed": changed, "calls": calls, "n": len(mods)}))
"""


def _imports(what: str, home: Path) -> dict:
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", CHECK, what], env=env, capture_output=True, text=True,
                       timeout=300, cwd=home)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_import_changes_no_environment_files_or_processes(tmp_path):
    """Every jaxstyle module imported before JAX: only JAX's own settings may appear."""
    libs = _imports("libs", tmp_path / "a")
    ours = _imports("jaxstyle", tmp_path / "b")
    assert ours["n"] > 10
    assert ours["changed"] == libs["changed"] and ours["calls"] == []
    assert sorted(p.name for p in (tmp_path / "b").rglob("*")) == sorted(p.name for p in (tmp_path / "a").rglob("*"))
