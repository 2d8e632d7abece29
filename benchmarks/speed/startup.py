#!/usr/bin/env python3
"""Where a one-level ``--method gatys`` run spends its start-up, phase by phase, in one process.

    python -m benchmarks.speed.startup --size 384 --runs 3

Each run is a fresh process with the package's persistent compilation cache in
``--cache-dir`` (the first run fills it; ``--cold`` turns the cache off). The phases are
the steps ``stylize`` takes for a one-level run, done here one after another (``stylize``
overlaps the objective's compilation with the target passes): imports, weights, the
content target, the style targets, the objective's convolution kernels (Winograd on the
CPU at ``--iterations`` >= ``levels.WINOGRAD_MIN_WORK`` pixel-iterations), tracing and
compiling (or loading) the objective's value and gradient, the L-BFGS proposal and update,
and ``--first`` iterations.
"""
from __future__ import annotations

import tempfile

from benchmarks import common

CHILD = r"""
import sys, time
T = [time.perf_counter()]
def lap(name):
    T.append(time.perf_counter()); print(f"{name}\t{T[-1] - T[-2]:.3f}", flush=True)
root, size, iterations, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# the CLI's own cache switch (jaxstyle._cache: the module the commands call, no public alias)
from jaxstyle._cache import enable_compilation_cache
enable_compilation_cache()
import jax, jax.numpy as jnp
from jaxstyle.model import weights
from jaxstyle.transfer import inputs, levels, objective, optimize, stylize as S
lap("imports")
params, _ = weights.load(); jax.block_until_ready(params); lap("weights")
ex = root + "/jaxstyle/data/examples/"
cfg = S.Config(method="gatys", size=size, scales=1, iterations=iterations)
su = levels.Run(levels.Setup.build(cfg, ex + "starry_night.jpg", params))
img = inputs.at_long_side(ex + "dog.jpg", size)
lv = levels.level_plan(img.shape, cfg)[0]
runner = levels.LevelRunner(su, img, (lv,))
spec = runner.static_spec(lv)
base, _, ct, _, _ = runner.level_inputs(lv, spec.get("valid")); jax.block_until_ready(ct)
lap("content target")
jax.block_until_ready(su.style_targets(lv.side)); lap("style targets")
fp = su.objective_params(lv.pad_hw, lv.iterations); jax.block_until_ready(fp); lap("objective kernels")
spec = dict(spec, content_target=ct, style_targets=su.style_targets(lv.side), base=base)
fun, args = objective.make(fp, spec); jax.block_until_ready(args)
xs = jax.ShapeDtypeStruct(base.shape, jnp.float32)
# optimize's jitted value+grad, traced and compiled apart here to time the two phases (optimize.prepare,
# the public entry, does both at once)
low = optimize._value_and_grad.lower(fun, xs, args); lap("trace value+grad")
vg = low.compile(optimize.compiler_options()); lap("compile/load value+grad")
optimize.prepare(fun, base, args); lap("proposal + update, and the rest of prepare")
for step in optimize.lbfgs(fun, base, first, args=args, chunk=first):
    jax.block_until_ready(step.image)
lap(f"{first} iteration(s)")
"""


def main(argv=None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--iterations", type=int, default=100, help="the run's planned iterations (picks the kernels)")
    p.add_argument("--first", type=int, default=1, help="iterations actually run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--cold", action="store_true", help="persistent cache off")
    p.add_argument("--cache-dir", default=None, help="default: a new temporary directory")
    a = p.parse_args(argv)
    cache = a.cache_dir or tempfile.mkdtemp(prefix="jaxstyle-startup-")
    env = {"JAXSTYLE_COMPILATION_CACHE": "0" if a.cold else "1", "JAXSTYLE_COMPILATION_CACHE_DIR": cache}
    runs = []
    for _ in range(a.runs):
        out = common.child(CHILD, a.size, a.iterations, a.first, env=env, unset=("JAX_COMPILATION_CACHE_DIR",))
        runs.append([line.split("\t") for line in out.strip().splitlines()])
    print(f"| phase | s, run 1{' (fills the cache)' if not a.cold else ''} … run {a.runs} |\n|---|---|")
    for i, (name, _) in enumerate(runs[0]):
        print(f"| {name} | " + " / ".join(run[i][1] for run in runs) + " |")
    print("| total | " + " / ".join(f"{sum(float(t) for _, t in run):.2f}" for run in runs) + " |")
    print(f"\nload average at the end: {common.loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
