"""Evaluation of object-only stylization on masked photos: ``scripts/evaluate.py``.

For each photo ``NAME.jpg`` with ``NAME_mask.png`` (255 = object) in ``--pairs`` and each
style image in ``--styles``, run the requested methods through :func:`jaxstyle.transfer.stylize.stylize`
and score every output with :func:`jaxstyle.evaluate.metrics.evaluate` (definitions: docs/METRICS.md).

Outputs (under ``--out``; written atomically, refreshed after every photo x style so an
interrupted run leaves its partial numbers):

* ``results.csv``   one row per photo x style x method, every metric and the run time;
* ``results.json``  the same rows plus the run's settings, git commit and machine;
* ``summary.md``    median and [min, max] per method, dogs and non-dogs apart, and the
                    issue-4 targets for ``auto`` with how many runs meet each;
* ``gallery/NAME__STYLE.png``  content | mask | object map | auto | paper | gatys | mask-guided.

Metrics are computed on the output as saved (rounded to uint8) against the resized
content the method actually used, with the style image at the same ``--size``.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..errors import JaxstyleError, OutputExistsError, UsageError
from .pairs import find_pairs, find_styles
from .report import csv_text, finite_or_none, fmt, gallery, stats, write_text
from ..machine import cpu_info, cpu_line

ALL_METHODS = ("auto", "paper", "gatys", "mask")
METRIC_KEYS = ("psnr_bg", "gain_obj", "gain_bg", "cover_obj", "cover_bg", "structure_obj", "map_iou", "map_ap")
EXTRA_KEYS = ("d_obj_output", "d_obj_content", "d_bg_output", "d_bg_content", "frac_obj", "frac_bg",
              "radius", "window")
COLUMNS = ("photo", "style", "method", "is_dog", "category", "height", "width", "size", "iterations",
           "seconds") + METRIC_KEYS + ("gain_obj_vs_gatys", "gain_obj_gatys") + EXTRA_KEYS
SUMMARY_KEYS = METRIC_KEYS + ("gain_obj_vs_gatys", "seconds")
OUTPUT_FILES = ("results.csv", "results.json", "summary.md")
GALLERY_DIR = "gallery"
IMAGES_DIR = "images"

# Issue 4 targets for ``auto``: (key, op, threshold, relative-to-gatys?)
TARGETS = (
    ("psnr_bg", ">=", 30.0, "psnr_bg ≥ 30 dB"),
    ("gain_obj_vs_gatys", ">=", 0.8, "gain_obj ≥ 0.8 × gatys (same photo, style)"),
    ("gain_bg", "<=", 0.05, "gain_bg ≤ 0.05"),
    ("cover_obj", ">=", 0.9, "cover_obj ≥ 0.9"),
    ("cover_bg", "<=", 0.03, "cover_bg ≤ 0.03"),
)


# --------------------------------------------------------------------------- provenance
def git_info(repo: str | os.PathLike | None = None) -> dict[str, object]:
    """{'commit': sha or None, 'dirty': [modified tracked files]} of the jaxstyle checkout."""
    repo = Path(repo) if repo else Path(__file__).resolve().parents[2]
    def run(*args):
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=20)
    try:
        head = run("rev-parse", "HEAD")
        st = run("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": []}
    if head.returncode != 0:
        return {"commit": None, "dirty": []}
    return {"commit": head.stdout.strip(), "dirty": [l[3:] for l in st.stdout.splitlines() if l.strip()]}


def machine_info() -> dict[str, object]:
    import jax
    try:
        devs = [str(d) for d in jax.devices()]
        backend = jax.default_backend()
    except Exception:  # pragma: no cover - no backend at all
        devs, backend = [], "unknown"
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = None
    return {"processor": platform.processor() or platform.machine(), "cpu": cpu_info(), "cores": os.cpu_count(),
            "usable_cores": affinity, "platform": platform.platform(), "python": platform.python_version(),
            "jax": jax.__version__, "backend": backend, "devices": devs}


# --------------------------------------------------------------------------- summaries
def add_relative_gains(rows: list[dict]) -> None:
    """Set ``gain_obj_gatys`` (gatys' gain_obj on the same photo and style) and
    ``gain_obj_vs_gatys`` = gain_obj / gain_obj_gatys (NaN unless gatys' gain > 0) in place."""
    ref = {(r["photo"], r["style"]): r["gain_obj"] for r in rows if r["method"] == "gatys"}
    for r in rows:
        g = ref.get((r["photo"], r["style"]))
        r["gain_obj_gatys"] = float("nan") if g is None else float(g)
        r["gain_obj_vs_gatys"] = (float(r["gain_obj"] / g) if g is not None and g > 0 and not math.isnan(r["gain_obj"])
                                  else float("nan"))


def _meets_row(r: Mapping, key: str, op: str, thr: float) -> bool:
    """One run against one target; the gatys ratio is checked as gain_obj >= thr * gatys' gain,
    so a run where whole-image gatys moved the object away from the style (gain <= 0) counts."""
    if key == "gain_obj_vs_gatys":
        g, a = r.get("gain_obj_gatys", float("nan")), r.get("gain_obj", float("nan"))
        return not (g is None or math.isnan(g) or math.isnan(a)) and a >= thr * g
    return _meets(r.get(key, float("nan")), op, thr)


def _meets(v: float, op: str, thr: float) -> bool:
    if v is None or math.isnan(v):
        return False
    return v >= thr if op == ">=" else v <= thr


def summary_markdown(rows: Sequence[Mapping], settings: Mapping, methods: Sequence[str]) -> str:
    """Markdown: per group (dogs / non-dogs) a table of median [min, max] per method, then targets."""
    lines = ["# Evaluation summary", ""]
    done = {r["photo"]: bool(r["is_dog"]) for r in rows}
    styles_done = list(dict.fromkeys(r["style"] for r in rows))
    planned = settings.get("num_photos")
    lines.append(f"- photos: {len(done)} ({sum(done.values())} dogs)"
                 + (f" of {planned} planned" if planned not in (None, len(done)) else "")
                 + f", styles: {', '.join(styles_done) or '(none)'}"
                 + (f" (planned: {', '.join(settings['styles'])})"
                    if settings.get("styles") and list(settings["styles"]) != styles_done else ""))
    lines.append(f"- size {settings.get('size')}, iterations {settings.get('iterations')}, "
                 f"preset {settings.get('preset')} {settings.get('preset_values') or ''}, class {settings.get('class_name')}"
                 + (f", filters {settings.get('filters')}" if settings.get("filters") else ""))
    if settings.get("merged_from"):
        lines.append(f"- merged from {', '.join(settings['merged_from'])}")
    git = settings.get("git") or {}
    lines.append(f"- commit {git.get('commit') or 'unknown'}"
                 + (f" (uncommitted changes in {', '.join(git['dirty'])})" if git.get("dirty") else ""))
    m = settings.get("machine") or {}
    cpu = cpu_line(m["cpu"]) if m.get("cpu") else f"{m.get('processor')}, {m.get('cores')} cores"
    lines.append(f"- machine: {cpu} ({m.get('backend')}); "
                 f"wall {settings.get('wall_seconds', float('nan')):.0f} s"
                 + ("" if settings.get("complete", True) else " — **partial: run not finished**"))
    lines.append("")
    lines.append("Each cell: median [min, max] over photo × style runs; n = runs. "
                 "`vs gatys` = gain_obj / gain_obj of gatys on the same photo and style.")
    cols = [("psnr_bg", "psnr_bg dB"), ("gain_obj", "gain_obj"), ("gain_obj_vs_gatys", "vs gatys"),
            ("gain_bg", "gain_bg"), ("cover_obj", "cover_obj"), ("cover_bg", "cover_bg"),
            ("structure_obj", "structure"), ("map_iou", "map IoU"), ("map_ap", "map AP"), ("seconds", "s/run")]
    for label, sel in (("Dogs", True), ("Non-dogs (what `--class dog` does to other animals)", False)):
        group = [r for r in rows if bool(r["is_dog"]) == sel]
        if not group:
            continue
        lines += ["", f"## {label}", ""]
        lines.append("| method | n | " + " | ".join(c[1] for c in cols) + " |")
        lines.append("|---|---:|" + "---:|" * len(cols))
        for meth in methods:
            g = [r for r in group if r["method"] == meth]
            if not g:
                continue
            cells = []
            for key, _ in cols:
                med, lo, hi, n = stats([r.get(key, float("nan")) for r in g])
                cells.append("–" if n == 0 else f"{fmt(med, key)} [{fmt(lo, key)}, {fmt(hi, key)}]")
            lines.append(f"| {meth} | {len(g)} | " + " | ".join(cells) + " |")
    auto_dogs = [r for r in rows if r["method"] == "auto" and r["is_dog"]]
    if auto_dogs:
        lines += ["", "## Issue-4 targets for `auto` on dogs", "",
                  "The gatys-ratio target is checked per run as gain_obj ≥ 0.8 × gatys' gain_obj (a run where "
                  "gatys' gain is ≤ 0 has no ratio but can meet it).", "",
                  "| target | median | runs meeting it | median meets it |", "|---|---:|---:|:---:|"]
        for key, op, thr, text in TARGETS:
            vals = [r.get(key, float("nan")) for r in auto_dogs]
            med, _, _, n = stats(vals)
            ok = sum(_meets_row(r, key, op, thr) for r in auto_dogs)
            lines.append(f"| {text} | {fmt(med, key)} | {ok}/{len(vals)} | "
                         f"{'pass' if _meets(med, op, thr) else 'FAIL'} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- captions
def _caption(m: Mapping | None) -> str:
    if not m:
        return ""
    psnr = "inf" if math.isinf(m["psnr_bg"]) else fmt(m["psnr_bg"], "psnr_bg")  # the bitmap font lacks ∞
    return (f"PSNRbg {psnr} gO {fmt(m['gain_obj'])} gB {fmt(m['gain_bg'])} "
            f"cO {fmt(m['cover_obj'])} cB {fmt(m['cover_bg'])}")


def write_outputs(out: Path, rows: list[dict], settings: Mapping, methods: Sequence[str]) -> None:
    add_relative_gains(rows)
    write_text(out / "results.csv", csv_text(rows, COLUMNS))
    doc = {"settings": {k: finite_or_none(v) for k, v in settings.items()},
           "columns": list(COLUMNS),
           "rows": [{k: finite_or_none(r.get(k)) for k in COLUMNS} for r in rows],
           "note": "NaN is written as null and infinity as the string \"inf\"."}
    write_text(out / "results.json", json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    write_text(out / "summary.md", summary_markdown(rows, settings, methods))


def check_out(out: Path, force: bool, files: Sequence[str] = OUTPUT_FILES, gallery: bool = True) -> None:
    """Refuse (before any work) to overwrite previous results (``files``, and the gallery
    folder when ``gallery``) unless ``force``."""
    if out.exists() and not out.is_dir():
        raise JaxstyleError(f"{out}: exists and is not a directory")
    if out.is_dir() and not force:
        old = [n for n in files if (out / n).exists()]
        if gallery and (out / GALLERY_DIR).is_dir() and any((out / GALLERY_DIR).iterdir()):
            old.append(GALLERY_DIR + "/")
        if old:
            raise OutputExistsError(out, f"already holds {', '.join(old)}")


# --------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class RunConfig:
    """What an evaluation runs on each photo x style: the methods, the stylization settings and what it keeps.

    ``stylize_kwargs`` go to :func:`jaxstyle.transfer.stylize.stylize` as they are (``scales``,
    ``detail``, ``map_options``, ``chunk``).
    """

    methods: tuple[str, ...] = ALL_METHODS
    style_names: tuple[str, ...] | None = None
    size: int = 512
    iterations: int | None = None
    preset: str = "default"
    class_name: str | None = "dog"
    filters: object = None
    seed: int = 0
    save_outputs: bool = False
    gallery_width: int = 256
    stylize_kwargs: Mapping = field(default_factory=dict)

    def __post_init__(self):
        from ..transfer.stylize import METHODS

        object.__setattr__(self, "methods", tuple(dict.fromkeys(self.methods)))
        bad = [m for m in self.methods if m not in METHODS]
        if not self.methods or bad:
            raise UsageError(f"--methods: unknown {', '.join(bad) or '(none)'}; use some of {', '.join(METHODS)}")
        if self.size < 16:
            raise UsageError(f"--size {self.size} is too small (minimum 16)")

    def stylize_args(self, params) -> dict:
        """The keyword arguments of every :func:`~jaxstyle.transfer.stylize.stylize` call but the method's."""
        return dict(class_name=self.class_name, filters=self.filters, size=self.size, iterations=self.iterations,
                    preset=self.preset, params=params, seed=self.seed, **dict(self.stylize_kwargs))


def settings_of(cfg: RunConfig, pairs_dir, styles_dir, pairs: Sequence, styles: Sequence) -> dict:
    """The run's settings as ``results.json`` records them (``complete`` and ``wall_seconds`` are updated)."""
    from ..transfer.objective import PRESETS

    return {
        "pairs": str(pairs_dir), "styles_dir": str(styles_dir), "styles": [n for n, _ in styles],
        "photos": [p.name for p in pairs], "num_photos": len(pairs), "num_dogs": sum(p.is_dog for p in pairs),
        "methods": list(cfg.methods), "size": cfg.size, "iterations": cfg.iterations, "preset": cfg.preset,
        "preset_values": dict(PRESETS.get(cfg.preset, {})), "stylize_kwargs": dict(cfg.stylize_kwargs),
        "class_name": cfg.class_name,
        "filters": cfg.filters if cfg.filters is None or isinstance(cfg.filters, str) else str(cfg.filters),
        "seed": cfg.seed, "metrics_on": "output rounded to uint8 vs the resized content",
        "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]) if sys.argv and sys.argv[0] else "",
        "git": git_info(), "machine": machine_info(), "complete": False, "wall_seconds": 0.0,
    }


def run(pairs_dir, styles_dir, out, cfg: RunConfig = RunConfig(), *, photos=None, only_dogs: bool = False,
        limit_photos: int | None = None, force: bool = False, params=None,
        log: Callable[[str], None] | None = None) -> dict:
    """Run the evaluation ``cfg`` on the photos of ``pairs_dir`` (:func:`find_pairs`) and the styles of
    ``styles_dir``, and write its files to ``out``; returns ``{'rows': [...], 'settings': {...}}``."""
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    t_start = time.time()
    out = Path(out)
    pairs = find_pairs(pairs_dir, photos, only_dogs, limit_photos, log)
    styles = find_styles(styles_dir, cfg.style_names)
    check_out(out, force)
    if params is None:
        from ..model import weights
        params, _ = weights.load()
    from ..model import vgg
    params = vgg.prepare(params)  # once, not per stylization (stylize uses it for its objective only)

    settings = settings_of(cfg, pairs_dir, styles_dir, pairs, styles)
    (out / GALLERY_DIR).mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    total = len(pairs) * len(styles) * len(cfg.methods)
    for sname, spath in styles:
        for _ in _style_runs(pairs, sname, spath, cfg, params, out, rows, log, total):
            settings["wall_seconds"] = time.time() - t_start
            write_outputs(out, rows, settings, cfg.methods)
    settings["complete"] = True
    settings["wall_seconds"] = time.time() - t_start
    settings["finished"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    write_outputs(out, rows, settings, cfg.methods)
    log(f"wrote {out / 'results.csv'}, results.json, summary.md and {len(pairs) * len(styles)} galleries "
        f"in {settings['wall_seconds']:.0f} s")
    return {"rows": rows, "settings": settings}


def _style_runs(pairs: Sequence, sname: str, spath, cfg: RunConfig, params, out: Path, rows: list, log,
                total: int):
    """Each photo with style ``sname`` by every method of ``cfg``: rows appended to ``rows``, its gallery
    (and with ``save_outputs`` its images) written; yields after each photo. ``total``: the run's count of
    stylizations, for the log."""
    from .. import images
    from . import metrics

    grams = metrics.style_grams(params, images.load_image(spath, cfg.size))  # once per style at this size
    for pair in pairs:
        runs = {}
        photo = images.Photo.open(pair.photo)  # decoded once for every method
        for meth in cfg.methods:
            runs[meth] = _one_run(pair, photo, sname, spath, meth, cfg.stylize_args(params), grams, runs)
            rows.append(runs[meth]["row"])
            if cfg.save_outputs:
                images.save_image(runs[meth]["image"], out / IMAGES_DIR / f"{pair.name}__{sname}__{meth}.png",
                                force=True)
            log(f"[{len(rows)}/{total}] {pair.name} x {sname} {meth}: " + _run_line(runs[meth]))
        its = cfg.iterations if cfg.iterations is not None else cfg.preset
        title = f"{pair.name} x {sname}  size {cfg.size}, iterations {its}"
        images.save_image(_pair_sheet(pair, runs, title, cfg.gallery_width), out / GALLERY_DIR / f"{pair.name}__{sname}.png",
                        force=True)
        yield pair


def _one_run(pair, photo, sname: str, spath, meth: str, base_kw: Mapping, grams, earlier: Mapping) -> dict:
    """Stylize one photo (``pair``'s, decoded: ``photo``) x style with one method and score it:
    ``{row, metrics, image, content, mask, map}``."""
    from .. import images
    from . import metrics
    from ..transfer.stylize import stylize

    kw = dict(base_kw, method=meth, **({"mask": str(pair.mask)} if meth == "mask" else {}))
    t0 = time.time()
    res = stylize(photo, str(spath), **kw)
    secs = time.time() - t0
    img = images.to_uint8(res.image).astype(np.float32)
    con = np.asarray(res.content, np.float32)
    first = next(iter(earlier.values()), None)
    if first is not None and con.shape != first["content"].shape:  # pragma: no cover - methods disagree on size
        raise JaxstyleError(f"{pair.name}: method {meth} returned size {con.shape[:2]}, "
                            f"others {first['content'].shape[:2]}")
    mask = first["mask"] if first is not None else images.load_mask(pair.mask, con.shape[:2])
    m = metrics.evaluate(kw["params"], img, con, grams, mask, res.object_map)
    row = {"photo": pair.name, "style": sname, "method": meth, "is_dog": pair.is_dog,
           "category": pair.category, "height": int(con.shape[0]), "width": int(con.shape[1]),
           "size": kw["size"], "iterations": kw["iterations"] if kw["iterations"] is not None else "",
           "seconds": float(secs), **{k: float(v) for k, v in m.items()}}
    omap = np.asarray(res.object_map, np.float32) if res.object_map is not None and meth == "auto" else None
    return {"row": row, "metrics": m, "image": img, "content": con, "mask": mask, "map": omap,
            "seconds": secs, "has_map": res.object_map is not None}


def _run_line(r: Mapping) -> str:
    m = r["metrics"]
    return (f"{r['seconds']:.0f} s  psnr_bg {fmt(m['psnr_bg'], 'psnr_bg')} gain_obj {m['gain_obj']:.3f} "
            f"gain_bg {m['gain_bg']:.3f} cover_obj {m['cover_obj']:.2f} cover_bg {m['cover_bg']:.2f} "
            f"structure {m['structure_obj']:.2f}"
            + (f" map_iou {m['map_iou']:.2f}" if r["has_map"] else ""))


def _pair_sheet(pair, runs: Mapping, title: str, width: int) -> np.ndarray:
    """One photo x style's gallery: content, mask, auto's map, one panel per method."""
    first = next(iter(runs.values()))
    omap = runs["auto"]["map"] if "auto" in runs else None
    names = [("auto", "auto"), ("paper", "paper"), ("gatys", "gatys"), ("mask", "mask-guided")]
    panels = [("content", first["content"], pair.name), ("mask", first["mask"], pair.category),
              ("object map (auto)", omap, "" if omap is None else
               f"IoU {fmt(runs['auto']['metrics']['map_iou'])} AP {fmt(runs['auto']['metrics']['map_ap'])}")]
    panels += [(lab, runs[k]["image"] if k in runs else None, _caption(runs[k]["metrics"] if k in runs else None))
               for k, lab in names]
    return gallery(panels, title=title, cols=4, width=width)


def _from_json(v):
    if v is None:
        return float("nan")
    if v in ("inf", "-inf"):
        return float(v)
    return v


def merge(result_dirs: Sequence[str | os.PathLike], out, force: bool = False,
          log: Callable[[str], None] | None = None) -> dict:
    """Combine the ``results.json`` of earlier runs into one results.csv/json + summary.md (no stylizing).

    Rows for the same photo x style x method are kept from the last folder given.
    """
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(out)
    if not result_dirs:
        raise UsageError("--merge needs at least one results folder")
    check_out(out, force)
    rows: dict[tuple, dict] = {}
    parts, methods = [], []
    for d in result_dirs:
        f = Path(d) / "results.json"
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            runs, st = doc["rows"], doc["settings"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise JaxstyleError(f"{f}: not a results file ({type(e).__name__}: {e})") from None
        for r in runs:
            r = {k: _from_json(v) for k, v in r.items()}
            r["is_dog"] = bool(r["is_dog"])
            rows[(r["photo"], r["style"], r["method"])] = r
        methods += [m for m in st.get("methods", []) if m not in methods]
        parts.append(st)
    rows_l = list(rows.values())
    first = parts[0]
    settings = {
        "merged_from": [str(d) for d in result_dirs], "parts": parts,
        "styles": list(dict.fromkeys(r["style"] for r in rows_l)),
        "num_photos": len({r["photo"] for r in rows_l}),
        "num_dogs": len({r["photo"] for r in rows_l if r["is_dog"]}),
        "size": "/".join(sorted({str(p.get("size")) for p in parts})),
        "iterations": "/".join(sorted({str(p.get("iterations")) for p in parts})),
        "preset": first.get("preset"), "class_name": first.get("class_name"), "filters": first.get("filters"),
        "git": {"commit": "; ".join(f"{d}: {((p.get('git') or {}).get('commit') or 'unknown')[:12]}"
                                    for d, p in zip(result_dirs, parts)),
                "dirty": sorted({f for p in parts for f in (p.get("git") or {}).get("dirty") or []})},
        "machine": first.get("machine"),
        "wall_seconds": float(sum(p.get("wall_seconds") or 0 for p in parts)),
        "complete": all(p.get("complete") for p in parts),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(out, rows_l, settings, [m for m in ALL_METHODS if m in methods])
    log(f"merged {len(rows_l)} rows from {len(parts)} runs into {out}")
    return {"rows": rows_l, "settings": settings}

