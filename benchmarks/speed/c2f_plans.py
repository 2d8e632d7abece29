#!/usr/bin/env python3
"""Compare coarse-to-fine plans against a single-scale loop on one photo (docs/BENCHMARKS.md, "Coarse-to-fine").

    python -m benchmarks.speed.c2f_plans PHOTO STYLE --method auto --size 512 \\
        --plans '[[[256,80],[512,20]], [[128,50],[256,30],[512,20]]]' --single 150 --json out.json

Each plan is a list of ``[long_side, iterations]`` levels (the last is full size) and runs
through ``stylize_iter`` with compilation included (``optimize.clear_caches()`` before each
run). At every 5-iteration chunk of the full-size level it records the seconds since the
start, the style gain (``metrics.style_gains``, conv1_1–conv3_1) on ``PHOTO``'s ``NAME_mask.png``
object region, or on the whole image when there is no mask, and the full-size objective's
loss (``common.gain_trace``: the metric runs with the clock paused). The table gives,
per plan, how much sooner than the single-scale loop it reached its own final gain and loss.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks import common  # sets the CPU XLA flags before JAX starts; the weights and gain trace
from benchmarks.speed import bench as B

import numpy as np

from jaxstyle import images
from jaxstyle.evaluate import metrics
from jaxstyle.transfer import optimize
from jaxstyle.transfer.stylize import DETAILS


def trace(photo: Path, style: Path, method: str, size: int, plan, single: int | None, params, region, grams,
          detail: str = "style", warm: bool = False):
    """[(seconds, iteration, gain, loss)] at the full-size level of one run (a plan, or ``single`` iterations).

    ``warm``: the run is made twice and the second, which finds its programs compiled, is timed.
    """
    orig = optimize.schedule
    if single is None:
        optimize.schedule = lambda *a, **k: [tuple(x) for x in plan]  # noqa: E731
        its, scales = sum(n for _, n in plan), None
    else:
        its, scales = single, 1
    try:
        kw = dict(style=style, method=method, region=region, params=params, grams=grams, detail=detail)
        if warm:
            common.gain_trace(photo, size, its, scales, **kw)
        return common.gain_trace(photo, size, its, scales, cold=not warm, **kw)
    finally:
        optimize.schedule = orig


def speedup(run, single, key: int, higher: bool) -> str:
    """Single-scale seconds to this run's final value / this run's seconds ("> x" if never reached)."""
    target, t = run[-1][key], run[-1][0]
    hit = next((p for p in single if (p[key] >= target - 1e-9 if higher else p[key] <= target + 1e-9)), None)
    return f"{hit[0] / t:.2f}×" if hit else f"> {single[-1][0] / t:.2f}×"


to_bar = B.to_bar  # seconds at which a run first has a gain >= bar (None if never)


def bar_speedup(run, single, bar: float) -> str:
    """:func:`bench.bar_speedup` as a table cell: ``"2.00×"``, ``"< 1.60×"``, ``"> 0.62×"`` or ``"never"``."""
    v = B.bar_speedup(run, single, bar)
    return "never" if v is None else f"{v:.2f}×" if isinstance(v, float) else f"{v}×"


def main(argv=None) -> int:
    p = common.parser(__doc__)
    p.add_argument("photo", type=Path)
    p.add_argument("style", type=Path)
    p.add_argument("--method", default="auto", choices=("auto", "gatys"))
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--plans", required=True, help="JSON list of plans, each [[long_side, iterations], ...]")
    p.add_argument("--single", type=int, default=150, help="iterations of the single-scale loop (default 150)")
    p.add_argument("--bar", type=float, default=0.95,
                   help="also compare the time to this fraction of the single-scale loop's best gain (default 0.95)")
    p.add_argument("--details", default="style", metavar="D,..",
                   help="run every plan with each of these detail bands (style, photo, none; default style)")
    p.add_argument("--warm", action="store_true",
                   help="time each run with its programs already compiled (each is run twice, the second timed)")
    p.add_argument("--json", default=None, help="write the traces here")
    a = p.parse_args(argv)
    for f in (a.photo, a.style):
        if not f.exists():
            p.error(f"{f} not found")
    try:
        plans = json.loads(a.plans)
        assert all(isinstance(pl, list) and pl and all(len(lv) == 2 for lv in pl) for pl in plans)
    except (ValueError, AssertionError, TypeError):
        p.error("--plans must be a JSON list of [[long_side, iterations], ...] plans")
    details = a.details.split(",")
    if not details or any(d not in DETAILS for d in details):
        p.error(f"--details takes a comma list of {', '.join(DETAILS)}")
    params = common.vgg_params()
    has_mask = a.photo.with_name(a.photo.stem + "_mask.png").exists()
    # with a mask, common.gain_trace takes its object region; without one, the whole image
    region = None if has_mask else np.ones(images.load_image(a.photo, a.size).shape[:2], np.float32)
    grams = metrics.style_grams(params, images.load_image(a.style, a.size))
    runs = {}
    for plan in plans:
        for detail in details:
            name = "+".join(f"{n}@{s}" for s, n in plan) + ("" if len(details) == 1 else f" ({detail})")
            common.log(f"{name} (load {common.loadavg()})")
            runs[name] = trace(a.photo, a.style, a.method, a.size, plan, None, params, region, grams, detail, a.warm)
    common.log(f"single scale, {a.single} iterations (load {common.loadavg()})")
    single = trace(a.photo, a.style, a.method, a.size, None, a.single, params, region, grams, warm=a.warm)
    what = "object" if has_mask else "whole-image"
    bar = a.bar * max(g for _, _, g, _ in single)
    print(f"\n{a.photo.name} × {a.style.name}, {a.method}, {a.size} px, {'warm' if a.warm else 'cold'} ({what} gain; "
          f"bar = {a.bar:g} × the single-scale loop's best = {bar:.3f})\n")
    print("| plan | s | final gain | final loss | vs single, same gain | vs single, same loss | s to bar "
          "| vs single, to bar |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in runs.items():
        tb = to_bar(r, bar)
        print(f"| {name} | {r[-1][0]:.0f} | {r[-1][2]:.3f} | {r[-1][3]:.3g} | {speedup(r, single, 2, True)} | "
              f"{speedup(r, single, 3, False)} | {'–' if tb is None else f'{tb:.0f}'} | "
              f"{bar_speedup(r, single, bar)} |")
    tb = to_bar(single, bar)
    print(f"| single scale {a.single}@{a.size} | {single[-1][0]:.0f} | {single[-1][2]:.3f} | {single[-1][3]:.3g} "
          f"| 1 | 1 | {'–' if tb is None else f'{tb:.0f}'} | 1 |")
    if a.json:
        Path(a.json).write_text(json.dumps(dict(runs, single=single), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
