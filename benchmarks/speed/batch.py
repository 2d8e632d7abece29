#!/usr/bin/env python3
"""A folder of photos in one process: seconds per photo with compilation, programs compiled, compile share.

    python -m benchmarks.speed.batch --photos 20 --size 384 --iterations 300 --buckets 4 --json out.json
    python -m benchmarks.speed.batch --per-breed --styles vangogh_starry_night,hokusai_great_wave --score --json out.json
    python -m benchmarks.speed.batch --per-breed --only dog_beagle_14,dog_boxer_26 --score --json out.json

Takes the first ``--photos`` dog photos of ``../shared/data/pets`` (sorted by name, or with
``--per-breed`` the first of each breed; mixed sizes), ``method=auto``, and runs them through
``stylize.stylize_batch`` once per style (default Starry Night) in one fresh process with the
persistent compilation cache off (``JAXSTYLE_COMPILATION_CACHE=0`` is set here) so every
program is compiled in the run: the first style pays the compilation, a later one reuses it.
``--score`` then scores every output against its mask (``metrics.evaluate``: psnr_bg,
cover_obj, cover_bg, gain_obj, map IoU; docs/METRICS.md), after the clock has stopped.
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
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ["JAXSTYLE_COMPILATION_CACHE"] = "0"

import jaxstyle  # noqa: F401  (sets the CPU XLA flags before JAX starts)
import jax

from jaxstyle import machine
from jaxstyle.transfer import optimize, stylize as S
from jaxstyle.model import weights

ROOT = Path(__file__).resolve().parents[2]
PETS = ROOT.parent / "shared" / "data" / "pets"
STYLES = ROOT.parent / "shared" / "data" / "styles"
# the event JAX reports each XLA compilation's seconds under (jax.monitoring; the name is
# ``jax._src.dispatch.BACKEND_COMPILE_EVENT``, which has no public alias)
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
SCORED = ("psnr_bg", "cover_obj", "cover_bg", "gain_obj", "map_iou")


def pick_photos(pets: Path, n: int, per_breed: bool) -> list[Path]:
    """The first ``n`` dog photos by name, or the first photo of each dog breed (pets' index.csv)."""
    photos = sorted(pets.glob("dog_*.jpg"))
    if per_breed:
        import csv

        with open(pets / "index.csv", newline="") as f:
            breed = {r["name"]: r["breed"] for r in csv.DictReader(f)}
        seen: dict[str, Path] = {}
        for p in photos:
            seen.setdefault(breed.get(p.stem, p.stem), p)
        photos = list(seen.values())
    return photos[:n]


def run_style(photos, style: Path, params, a, on_phase) -> tuple[list, float]:
    """One ``stylize_batch`` over ``photos``: ([(photo, Result)], wall seconds)."""
    done = []
    t0 = time.perf_counter()
    for item in S.stylize_batch([str(p) for p in photos], str(style), params=params, method="auto", size=a.size,
                                iterations=a.iterations, scales=a.scales, buckets=a.buckets, map_batch=a.map_batch,
                                on_phase=on_phase):
        if item.error is not None:
            print(f"{photos[item.index].name}: {item.error}", flush=True)
            continue
        r = item.result
        done.append((photos[item.index], r))
        print(f"{style.stem} {photos[item.index].name} {r.image.shape[1]}x{r.image.shape[0]} {r.seconds:.1f} s "
              f"loss {r.losses['loss']:.4g}", flush=True)
    return done, time.perf_counter() - t0


def score(params, runs: dict, pets: Path) -> dict:
    """Every output against its mask: per-photo rows and, per style and overall, the medians of SCORED."""
    import numpy as np

    from jaxstyle import images
    from jaxstyle.evaluate import metrics

    rows = []
    for style, done in runs.items():
        grams = None
        for photo, r in done:
            con = np.asarray(r.content, np.float32)
            grams = grams if grams is not None else metrics.style_grams(params, images.load_image(style, max(con.shape)))
            mask = images.load_mask(pets / f"{photo.stem}_mask.png", con.shape[:2])
            m = metrics.evaluate(params, images.to_uint8(r.image).astype(np.float32), con, grams, mask, r.object_map)
            rows.append(dict(photo=photo.stem, style=style.stem, **{k: round(float(m[k]), 4) for k in SCORED}))
    med = lambda rs: {k: round(float(np.median([x[k] for x in rs])), 3) for k in SCORED}  # noqa: E731
    return dict(rows=rows, median=med(rows), median_by_style={s.stem: med([x for x in rows if x["style"] == s.stem])
                                                              for s in runs})


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--per-breed", action="store_true", help="the first photo of each dog breed")
    ap.add_argument("--only", default="", help="comma list of photo stems: of the picked photos, run only these")
    ap.add_argument("--pets", type=Path, default=PETS)
    ap.add_argument("--styles", default="vangogh_starry_night", help="comma list of style stems or paths")
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--scales", type=int, default=None)
    ap.add_argument("--buckets", type=int, default=S.BATCH_BUCKETS)
    ap.add_argument("--map-batch", type=int, default=None, help="object maps per VGG pass (default: the backend's)")
    ap.add_argument("--score", action="store_true", help="score each output against its mask after the timing")
    ap.add_argument("--json", type=Path, default=None)
    return ap.parse_args(argv)


def chosen_photos(a) -> list[Path]:
    """:func:`pick_photos`, narrowed to ``--only`` (every name there must be among them)."""
    photos = pick_photos(a.pets, a.photos, a.per_breed)
    if a.only:
        only = set(a.only.split(","))
        photos = [p for p in photos if p.stem in only]
        if missing := only - {p.stem for p in photos}:
            sys.exit(f"error: not among the picked photos: {', '.join(sorted(missing))}")
    return photos


class Clock:
    """XLA compile seconds (JAX's ``backend_compile_duration`` events, summed and per function) and the
    wall time by phase (``on_phase``)."""

    def __init__(self):
        self.compile_s = 0.0
        self.by_fun: dict[str, list] = defaultdict(lambda: [0, 0.0])
        self.phases: dict[str, float] = defaultdict(float)
        self.phase, self.since = "setup", time.perf_counter()
        jax.monitoring.register_event_duration_secs_listener(self.listen)

    def listen(self, ev, secs, **kw):
        if ev == BACKEND_COMPILE_EVENT:
            self.compile_s += secs
            n = self.by_fun[kw.get("fun_name", "?")]
            n[0] += 1
            n[1] += secs

    def on_phase(self, text: str) -> None:
        now = time.perf_counter()
        self.phases[self.phase] += now - self.since
        self.phase, self.since = text.split(" ")[0], now


def run_styles(photos, styles, params, a, clock: Clock) -> tuple[dict, list]:
    """Each style's batch: ({style: [(photo, Result)]}, a row of counts and seconds per style)."""
    runs, per_style = {}, []
    for style in styles:
        c0, x0 = optimize.compile_count(), clock.compile_s
        done, wall = run_style(photos, style, params, a, clock.on_phase)
        runs[style] = done
        per_style.append(dict(style=style.stem, done=len(done), wall_s=round(wall, 1),
                              s_per_photo=round(wall / max(1, len(done)), 2),
                              value_and_grad_programs=optimize.compile_count() - c0,
                              xla_compile_s=round(clock.compile_s - x0, 1),
                              compile_share=round((clock.compile_s - x0) / wall, 3),
                              distinct_shapes=len({r.image.shape[:2] for _, r in done})))
    clock.on_phase("end")
    return runs, per_style


def main(argv=None) -> int:
    a = parse(argv)
    photos = chosen_photos(a)
    styles = [Path(x) if Path(x).is_file() else STYLES / f"{x}.jpg" for x in a.styles.split(",")]
    clock = Clock()
    params, _ = weights.load()
    runs, per_style = run_styles(photos, styles, params, a, clock)
    out = dict(photos=[p.stem for p in photos], size=a.size, iterations=a.iterations, buckets=a.buckets,
               map_batch=S.map_batch(S.Config(map_batch=a.map_batch)),
               per_style=per_style, phase_s={k: round(v, 1) for k, v in clock.phases.items() if k != "setup"},
               compiles_by_function={k: [n, round(t, 1)] for k, (n, t) in
                                     sorted(clock.by_fun.items(), key=lambda kv: -kv[1][1])[:12]},
               machine=f"{machine.cpu_line()}; {jax.default_backend()}",
               jax=jax.__version__)
    if a.score:
        out["quality"] = score(params, runs, a.pets)
    print(json.dumps({k: v for k, v in out.items() if k != "quality"} | (
        {"quality_median": out["quality"]["median_by_style"]} if a.score else {}), indent=1))
    if a.json:
        a.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
