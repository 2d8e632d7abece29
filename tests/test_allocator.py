"""The allocator setting: XLA's per-call buffers stop faulting in fresh pages; the CLI applies it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaxstyle import allocator, cli

ROOT = Path(__file__).resolve().parents[1]

# A program whose temporary buffers (64 MB arrays) glibc maps and unmaps on every call
# without the setting. With it the heap grows over the first calls (fresh pages) until the
# freed buffers fit the next call's; the fewest faults of a call after that is ~0.
CHILD = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from jaxstyle.allocator import keep_freed_memory
applied = keep_freed_memory()
import jax, jax.numpy as jnp
x = jnp.ones((4096, 4096), jnp.float32)
f = jax.jit(lambda x: jnp.sum(jnp.cumsum(jnp.sin(x), axis=0) * jnp.cos(x).T))
faults = []
for _ in range(10):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    f(x).block_until_ready()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"applied": applied, "faults": min(faults[2:])}))
"""


def _faults_per_call(switch: str) -> dict:
    env = dict(os.environ, **{allocator.ENV_SWITCH: switch})
    for k in allocator.ENV:
        env.pop(k, None)
    r = subprocess.run([sys.executable, "-c", CHILD, str(ROOT)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not allocator._glibc(), reason="mallopt is glibc's")
def test_xla_buffers_are_reused_instead_of_faulted_in_on_every_call():
    off, on = _faults_per_call("0"), _faults_per_call("1")
    assert off["applied"] is False and on["applied"] is True
    if off["faults"] < 5000:  # e.g. transparent huge pages set to "always": nothing to save
        pytest.skip(f"only {off['faults']:.0f} page faults per call without the setting")
    assert on["faults"] < off["faults"] / 10, (off, on)


def test_the_entry_points_apply_it_before_running_the_command(monkeypatch):
    order = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: order.append("malloc"))
    monkeypatch.setattr(cli, "main", lambda argv=None: order.append("main") or 0)
    monkeypatch.setattr(cli, "_command_main", lambda name: lambda argv: order.append(name) or 0)
    for call in (cli.entry, lambda: cli.script("stylize")):
        with pytest.raises(SystemExit) as e:
            call()
        assert e.value.code == 0
    assert order == ["malloc", "main", "malloc", "stylize"]


def test_switched_off_it_changes_nothing(monkeypatch):
    monkeypatch.setenv(allocator.ENV_SWITCH, "0")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda *a: pytest.fail("mallopt called"))
    assert allocator.keep_freed_memory() is False
