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

from benchmarks import common

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
    out = common.child(CHILD, size, reps, env={"XLA_FLAGS": flags, "JAXSTYLE_COMPILATION_CACHE": "0"})
    first, median = out.split()[-2:]
    return float(first), float(median)


def main(argv=None) -> int:
    p = common.parser(__doc__)
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
            common.log(f"{s or '(default)'}: {times[s][-1][1] * 1e3:.0f} ms")
    print(f"| XLA_FLAGS | value + gradient at {a.size} px, ms per round | compile + first evaluation, s |\n|---|---|---|")
    for s, ts in times.items():
        print(f"| `{s}` |" if s else "| (default) |", " / ".join(f"{t[1] * 1e3:.0f}" for t in ts), "|",
              " / ".join(f"{t[0]:.2f}" for t in ts), "|")
    print(f"\nload average at the end: {common.loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
