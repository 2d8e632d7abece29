#!/usr/bin/env python3
"""Page faults per evaluation with glibc's default allocator and with ``allocator.keep_freed_memory``.

    python -m benchmarks.speed.malloc_faults --size 384 --rounds 2

Each row is a fresh process: the Gatys value + gradient at ``--size`` (jaxstyle: the shipped
objective, compiled with the package's CPU options; PyTorch: ``torch_gatys``'s, when torch
is installed), ``--reps`` timed evaluations after two warm-up ones. The process calls
``keep_freed_memory`` first thing, as the CLI does, with ``JAXSTYLE_MALLOC`` set to 0
(glibc's default) or 1. Reported per evaluation: median wall ms, minor page faults and
kernel (system) CPU seconds. Settings alternate within each round.
"""
from __future__ import annotations

import json

from benchmarks import common

CHILD = r"""
import json, resource, statistics, sys, time
from jaxstyle.allocator import keep_freed_memory
keep_freed_memory()
import jax, jax.numpy as jnp, numpy as np
from benchmarks.speed import bench
from jaxstyle.transfer import optimize
impl, size, reps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f, fargs, x0, tg, ct = bench.jax_objective(size)
x = jnp.clip(x0 + 3.0, 0.0, 255.0)
if impl == "jaxstyle":
    c = jax.jit(jax.value_and_grad(f, has_aux=True)).lower(x, fargs).compile(optimize.compiler_options())
    run = lambda: jax.block_until_ready(c(x, fargs))
else:
    import torch
    tf = bench.TG.make_objective(bench.torch_params(), bench.torch_targets(tg, ct), weights=bench.WEIGHTS)
    xt = torch.from_numpy(np.array(x))
    run = lambda: bench.TG.value_and_grad(tf, xt)
run(); run()
ts, r0 = [], resource.getrusage(resource.RUSAGE_SELF)
for _ in range(reps):
    t = time.perf_counter(); run(); ts.append(time.perf_counter() - t)
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"ms": 1e3 * statistics.median(ts), "faults": (r1.ru_minflt - r0.ru_minflt) / reps,
                  "sys_s": (r1.ru_stime - r0.ru_stime) / reps}))
"""


def one(impl: str, switch: str, size: int, reps: int) -> dict:
    out = common.child(CHILD, impl, size, reps, env={"JAXSTYLE_MALLOC": switch, "JAXSTYLE_COMPILATION_CACHE": "0"})
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--reps", type=int, default=8)
    p.add_argument("--no-torch", action="store_true", help="jaxstyle rows only")
    a = p.parse_args(argv)
    try:
        import torch  # noqa: F401
        impls = ("jaxstyle",) if a.no_torch else ("jaxstyle", "PyTorch fp32")
    except ImportError:
        impls = ("jaxstyle",)
    rows = {(i, s): [] for i in impls for s in ("0", "1")}
    for _ in range(a.rounds):
        for key in rows:
            rows[key].append(one(key[0], key[1], a.size, a.reps))
            common.log(key, rows[key][-1])
    print(f"| value + gradient at {a.size} px | allocator | ms per round | page faults | system s |\n|---|---|---|---:|---:|")
    for (impl, s), rs in rows.items():
        print(f"| {impl} | {'kept (`keep_freed_memory`)' if s == '1' else 'glibc default'} | "
              + " / ".join(f"{r['ms']:.0f}" for r in rs) + f" | {max(r['faults'] for r in rs):,.0f} | "
              + f"{max(r['sys_s'] for r in rs):.3f} |")
    print(f"\nload average at the end: {common.loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
