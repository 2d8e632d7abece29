#!/usr/bin/env python3
"""XLA's CPU options against the default: one value + gradient of the Gatys objective per process.

    python -m benchmarks.speed.xla_flags --size 384 --rounds 2

Each ``XLA_FLAGS`` setting runs in its own process (XLA reads the flags once), the settings
alternate round by round with XLA's defaults, and each process reports its compile (with
the first evaluation) and the median of ``--reps`` warm evaluations of
``common.jax_objective`` (the shipped preset's weights, Winograd as the CPU default),
compiled by ``jax.jit`` without the package's compiler options. Add settings with ``--flags``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DEFAULT_SETTINGS = (
    "",
    "--xla_cpu_enable_fast_math=true",
    "--xla_cpu_prefer_vector_width=512",
    "--xla_cpu_enable_concurrency_optimized_scheduler=true",
    "--xla_cpu_use_thunk_runtime=false",
    "--xla_cpu_use_onednn=true",
    "--xla_cpu_experimental_ynn_fusion_type=-individual_dot",
    "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution",
)

CHILD = """
import statistics, sys, time
import jax, jax.numpy as jnp
from benchmarks import common
f, fargs, x0, *_ = common.jax_objective(int(sys.argv[2]))
vg = jax.jit(jax.value_and_grad(f, has_aux=True))
x = jnp.clip(x0 + 3.0, 0.0, 255.0)
t = time.perf_counter(); jax.block_until_ready(vg(x, fargs)); first = time.perf_counter() - t
ts = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); jax.block_until_ready(vg(x, fargs)); ts.append(time.perf_counter() - t)
print(first, statistics.median(ts))
"""


def one(flags: str, size: int, reps: int) -> tuple[float, float]:
    """(compile + first evaluation, median evaluation) in seconds, in a fresh process."""
    env = dict(os.environ, XLA_FLAGS=flags, JAXSTYLE_COMPILATION_CACHE="0")
    r = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(size), str(reps)], env=env, cwd=ROOT,
                       capture_output=True, text=True, check=True)  # run in the repository root: ``-c`` puts the working directory on the import path
    first, median = r.stdout.split()[-2:]
    return float(first), float(median)


def main(argv=None) -> int:
    from jaxstyle.machine import cpu_line
    print(f"cpu: {cpu_line()}", file=sys.stderr, flush=True)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--flags", nargs="*", default=None, help="XLA_FLAGS settings to compare (default: a fixed list)")
    a = p.parse_args(argv)
    settings = [""] + [s for s in (a.flags if a.flags is not None else DEFAULT_SETTINGS) if s]
    times = {s: [] for s in settings}
    for _ in range(a.rounds):
        for s in settings:
            times[s].append(one(s, a.size, a.reps))
            print(f"{s or '(default)'}: {times[s][-1][1] * 1e3:.0f} ms", file=sys.stderr, flush=True)
    print(f"| XLA_FLAGS | value + gradient at {a.size} px, ms per round | compile + first evaluation, s |\n|---|---|---|")
    for s, ts in times.items():
        print(f"| `{s}` |" if s else "| (default) |", " / ".join(f"{t[1] * 1e3:.0f}" for t in ts), "|",
              " / ".join(f"{t[0]:.2f}" for t in ts), "|")
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
