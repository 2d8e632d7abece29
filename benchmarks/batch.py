#!/usr/bin/env python3
"""A folder of photos in one process: seconds per photo with compilation, programs compiled, compile share.

    python benchmarks/batch.py --photos 20 --size 384 --iterations 300 --buckets 4 --json out.json

Takes the first ``--photos`` dog photos of ``../shared/data/pets`` (sorted by name; mixed
sizes), one style (default Starry Night), ``method=auto``, and runs them through
``stylize.stylize_batch`` in one fresh process with the persistent compilation cache off
(``JAXSTYLE_COMPILATION_CACHE=0`` is set here) so every program is compiled in the run.
Reports: wall seconds per photo (weights loaded before the clock starts, as a batch loads them
once), the number of value-and-gradient programs compiled (``optimize.compile_count``), the
seconds XLA spent compiling (JAX's ``backend_compile_duration`` events, every program, summed
over threads: with the level prefetch some of it overlaps iterations, so the share is an upper
bound of the time compilation added), and the wall time by phase (``on_phase``).
``--buckets 0`` runs every photo at its own size, for comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ["JAXSTYLE_COMPILATION_CACHE"] = "0"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jaxstyle  # noqa: E402,F401  (sets the CPU XLA flags before JAX starts)
import jax  # noqa: E402
from jax._src import dispatch  # noqa: E402

from jaxstyle.transfer import optimize, stylize as S  # noqa: E402
from jaxstyle.model import weights  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PETS = ROOT.parent / "shared" / "data" / "pets"
STYLE = ROOT.parent / "shared" / "data" / "styles" / "vangogh_starry_night.jpg"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--pets", type=Path, default=PETS)
    ap.add_argument("--style", type=Path, default=STYLE)
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--scales", type=int, default=None)
    ap.add_argument("--buckets", type=int, default=S.BATCH_BUCKETS)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()

    photos = sorted(a.pets.glob("dog_*.jpg"))[: a.photos]
    compile_s = [0.0]
    by_fun: dict[str, list] = defaultdict(lambda: [0, 0.0])

    def listen(ev, secs, **kw):
        if ev == dispatch.BACKEND_COMPILE_EVENT:
            compile_s[0] += secs
            n = by_fun[kw.get("fun_name", "?")]
            n[0] += 1
            n[1] += secs

    jax.monitoring.register_event_duration_secs_listener(listen)
    params, _ = weights.load()
    phases: dict[str, float] = defaultdict(float)
    state = {"phase": "setup", "since": time.perf_counter()}

    def on_phase(text: str) -> None:
        now = time.perf_counter()
        phases[state["phase"]] += now - state["since"]
        state.update(phase=text.split(" ")[0], since=now)

    c0 = optimize.compile_count()
    t0 = time.perf_counter()
    per_photo, shapes = [], []
    for item in S.stylize_batch([str(p) for p in photos], str(a.style), params=params, method="auto", size=a.size,
                                iterations=a.iterations, scales=a.scales, buckets=a.buckets, on_phase=on_phase):
        if item.error is not None:
            print(f"{photos[item.index].name}: {item.error}", flush=True)
            continue
        per_photo.append(item.result.seconds)
        shapes.append(item.result.image.shape[:2])
        print(f"{photos[item.index].name} {item.result.image.shape[1]}x{item.result.image.shape[0]} "
              f"{item.result.seconds:.1f} s loss {item.result.losses['loss']:.4g}", flush=True)
    wall = time.perf_counter() - t0
    on_phase("end")
    out = dict(photos=len(photos), done=len(per_photo), distinct_shapes=len(set(shapes)), size=a.size,
               iterations=a.iterations, buckets=a.buckets, wall_s=round(wall, 1),
               s_per_photo=round(wall / max(1, len(per_photo)), 2),
               value_and_grad_programs=optimize.compile_count() - c0, xla_compile_s=round(compile_s[0], 1),
               compile_share=round(compile_s[0] / wall, 3),
               phase_s={k: round(v, 1) for k, v in phases.items() if k != "setup"},
               compiles_by_function={k: [n, round(t, 1)] for k, (n, t) in
                                     sorted(by_fun.items(), key=lambda kv: -kv[1][1])[:12]},
               machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {jax.default_backend()}",
               jax=jax.__version__)
    print(json.dumps(out, indent=1))
    if a.json:
        a.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
