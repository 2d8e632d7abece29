"""``scripts/visualize_filters.py``: see what a filter sees.

For each filter: an activation-maximisation image (:mod:`jaxstyle.visualize.actmax`), with a score
file also its top-9 sheet (receptive-field crops of the pool images that fire it most) and
its purity / AP / selectivity, gathered in ``index.md`` so a person can accept or reject
filters and hand the kept ones to ``stylize.py --filters``.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from PIL import Image

from ..select.probes import filters as filtersmod
from ..select.probes.scorefile import ScoreFile
from . import ArgumentParser, config_from_args, nonneg_float, nonneg_int, positive_int
from ..images import atomic_write, save_image
from ..errors import JaxstyleError, OutputExistsError, UsageError

SCORE_KEYS = ("purity", "ap", "selectivity")
DEFAULT_TOP = 8
OVERVIEW = "overview.jpg"  # all synthetic images in one captioned sheet (JPEG: stays small)  # filters per layer shown from a score file without --selected


def image_name(layer: str, idx: int) -> str:
    return f"{layer}_{idx:04d}.png"


def sheet_name(layer: str, idx: int) -> str:
    return f"{layer}_{idx:04d}_top9.png"


# --------------------------------------------------------------------------- score files
def load_scores(path: str | os.PathLike) -> dict:
    """A ``jaxstyle.scores/1`` document, read once (:class:`ScoreFile`: schema, ``selected`` and
    ``layers`` checked, one-line errors)."""
    sf = ScoreFile.read(path)
    filtersmod.selected_of(sf)
    sf.layers  # noqa: B018 - raises here, before any work, when 'layers' is no mapping
    return dict(sf.doc)


def filter_scores(doc: Mapping | None, layer: str, idx: int) -> dict[str, float]:
    """``{"purity": .., "ap": .., "selectivity": ..}`` of one filter (keys missing in the file are left out)."""
    out: dict[str, float] = {}
    entry = ((doc or {}).get("layers") or {}).get(layer) or {}
    for k in SCORE_KEYS:
        vals = entry.get(k)
        if isinstance(vals, list) and idx < len(vals) and isinstance(vals[idx], (int, float)):
            out[k] = float(vals[idx])
    return out


def top_filters(doc: Mapping, n: int) -> dict[str, list[int]]:
    """The ``n`` best filters per scored layer, ranked by AP (else purity, else selectivity)."""
    out = ScoreFile(doc).top(n, keys=("ap", "purity", "selectivity"))
    if not out:
        raise JaxstyleError("score file has no per-filter scores under 'layers'")
    return out


def choose_filters(spec: str | None, doc: Mapping | None, selected: bool, top: int) -> dict[str, list[int]]:
    """--filters wins; else the score file's ``selected`` set (--selected / --class) or its top-N."""
    if spec:
        return filtersmod.parse(spec)
    if doc is None:
        raise UsageError("give --filters, --scores or --class")
    if selected:
        sel = doc.get("selected") or {}
        if not any(sel.values()):
            raise JaxstyleError("score file selects no filters; drop --selected to see its top filters")
        return filtersmod.parse(filtersmod.format(sel))
    return top_filters(doc, top)


# --------------------------------------------------------------------------- top-9 sheets
def _topk_entries(doc: Mapping, wanted: Mapping[str, Sequence[int]]) -> dict[tuple[str, int], list[dict]]:
    """The score file's well-formed top-k entries (``id``, ``pos``, ``value``) of each wanted filter that has some."""
    entries: dict[tuple[str, int], list[dict]] = {}
    for layer, idxs in wanted.items():
        topk = ((doc.get("layers") or {}).get(layer) or {}).get("topk")
        for i in idxs:
            if isinstance(topk, list) and i < len(topk) and isinstance(topk[i], list) and topk[i]:
                entries[(layer, i)] = [e for e in topk[i] if isinstance(e, dict) and "id" in e and "pos" in e]
    return entries


def _in_class(pool, prov: Mapping, cls: set, ids: set) -> dict[str, bool]:
    """Whether each pool image of ``ids`` is of the scored class (its synsets, else its class indices ``cls``)."""
    from ..select import classes

    try:
        mask = classes.class_mask(prov["class"] if prov.get("class_synsets") else sorted(cls))
    except (JaxstyleError, KeyError):
        mask = classes.class_mask(sorted(cls))
    return {i: bool(mask.positive[l]) for i, l, _ in pool.loaders() if i in ids}


def top_sheets(doc: Mapping, wanted: Mapping[str, Sequence[int]], log: Callable[..., Any] = print
               ) -> dict[tuple[str, int], np.ndarray]:
    """Top-k sheets of the wanted filters from the score file's ``topk`` lists.

    Re-reads the pool named in ``provenance.dataset``; if it (or the scoring/sheets modules)
    is missing, says why and returns what it could (possibly nothing).
    """
    prov = doc.get("provenance") or {}
    dataset, size = prov.get("dataset"), prov.get("image_size")
    entries = _topk_entries(doc, wanted)
    if not entries:
        log("top-9 sheets skipped: the score file has no 'topk' lists for these filters", file=sys.stderr)
        return {}
    if not isinstance(dataset, str) or not isinstance(size, int):
        log("top-9 sheets skipped: the score file's provenance lacks 'dataset' or 'image_size'", file=sys.stderr)
        return {}
    try:
        from ..select.pools import pools
        from ..visualize import sheets
    except ImportError as e:
        log(f"top-9 sheets skipped: {e}", file=sys.stderr)
        return {}
    try:
        specs = [src["data"] for src in prov.get("sources") or [] if isinstance(src, dict) and "data" in src]
        pool = pools.open_pools(specs) if specs else pools.open_pool(dataset)
        ids = {e["id"] for es in entries.values() for e in es}
        imgs = pool.fetch(ids, size)
    except JaxstyleError as e:
        log(f"top-9 sheets skipped: the scored dataset {dataset} is not available here ({e})", file=sys.stderr)
        return {}
    missing = len(ids - set(imgs))
    if missing == len(ids):
        log(f"top-9 sheets skipped: none of the {len(ids)} top images of {dataset} are on disk", file=sys.stderr)
        return {}
    if missing:
        log(f"top-9 sheets: {missing} of {len(ids)} top images of {dataset} are missing; shown without them",
            file=sys.stderr)
    cls = set(prov.get("class_indices") or [])
    labels = _in_class(pool, prov, cls, ids) if cls and hasattr(pool, "loaders") else {}
    out = {}
    for (layer, i), es in entries.items():
        es = [e for e in es if e["id"] in imgs]
        if not es:
            continue
        crops = [imgs[e["id"]] for e in es]
        vals = [float(e["value"]) for e in es]
        if cls and all(e["id"] in labels for e in es):
            out[(layer, i)] = sheets.filter_sheet(crops, layer, i, [e["pos"] for e in es], vals,
                                               [labels[e["id"]] for e in es], image_size=size,
                                               scores=filter_scores(doc, layer, i))
        else:  # class membership unknown: value captions only
            out[(layer, i)] = sheets.contact_sheet([sheets.rf_crop(im, layer, e["pos"], size) for im, e in zip(crops, es)],
                                                [f"{v:.1f}" for v in vals], cols=3, tile=128,
                                                title=f"{layer}:{i}")
    return out


# --------------------------------------------------------------------------- index page
def index_markdown(rows: Sequence[Mapping], filters_str: str, command: str, config: Mapping,
                   seconds: float, sheets_note: str, title: str = "Filter visualisations", device: str = "") -> str:
    """The ``index.md`` page: one table row per filter, then the ``--filters`` line."""
    cols = ["filter", "activation maximisation", "top-9 (receptive-field crops)", *SCORE_KEYS,
            "act. before → after", "keep?"]
    lines = [f"# {title}", "",
             f"Left: an image optimised from noise to maximise the filter's "
             f"{'centre unit' if config.get('center') else 'mean activation'} "
             "(jaxstyle.visualize.actmax). Right: the pool images that fire the filter most, cropped to the "
             "receptive field of the maximal unit (+ in class, - not). Tick the filters to keep.", "",
             f"Generated by `{command}` in {seconds:.0f} s{f' on {device}' if device else ''} "
             "(optimisation, incl. compile).", "",
             f"All synthetic images at a glance: [{OVERVIEW}]({OVERVIEW}).", "", sheets_note, "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        sc = r.get("scores") or {}
        sheet = f'<img src="{r["sheet"]}" width="300">' if r.get("sheet") else "—"
        vals = [f"{sc[k]:.3f}" if k in sc else "—" for k in SCORE_KEYS]
        lines.append(f"| `{r['layer']}:{r['index']}` | <img src=\"{r['image']}\" width=\"192\"> | {sheet} | "
                     + " | ".join(vals)
                     + f" | {r['act_before']:.1f} → {r['act_after']:.1f} | [ ] |")
    lines += ["", "Filters shown, for `stylize.py --filters` (delete the ones you reject):", "",
              "```", f'--filters "{filters_str}"', "```", "",
              "Settings: `" + json.dumps(dict(config), sort_keys=True) + "`", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def _check_out(out: Path, wanted: Mapping[str, Sequence[int]], sheets: bool, force: bool) -> None:
    """Refuse, before any work, an ``out`` that is a file or, without ``force``, holds an output of this run."""
    if out.exists() and not out.is_dir():
        raise JaxstyleError(f"{out}: exists and is not a directory")
    planned = [out / "index.md", out / OVERVIEW] + [out / image_name(l, i) for l, idxs in wanted.items() for i in idxs]
    if sheets:
        planned += [out / sheet_name(l, i) for l, idxs in wanted.items() for i in idxs]
    clash = [str(p) for p in planned if p.exists()]
    if clash and not force:
        raise OutputExistsError(clash[0], f"exists ({len(clash)} output file(s) would be overwritten)")


def render(params: Mapping, wanted: Mapping[str, Sequence[int]], out_dir: str | os.PathLike, config,
           seed: int, *, doc: Mapping | None = None, sheets: bool = True, force: bool = False,
           command: str = "visualize_filters.py", log: Callable[..., Any] = print) -> dict:
    """Write the images, sheets and ``index.md`` of ``wanted`` filters into ``out_dir``."""
    import jax

    from ..visualize import actmax

    wanted = filtersmod.validate(wanted, params)
    out = Path(out_dir)
    _check_out(out, wanted, doc is not None and sheets, force)
    key = jax.random.PRNGKey(seed)
    t0 = time.time()
    rows = []
    for layer, idxs in wanted.items():
        t1 = time.time()
        imgs, hist = actmax.maximize(params, layer, idxs, key, config)
        start = actmax.initial_images(layer, idxs, key, config)
        before = actmax.activation(params, layer, start, idxs, config.center, config.pooling)
        after = actmax.activation(params, layer, imgs, idxs, config.center, config.pooling)
        log(f"{layer}: {len(idxs)} filter(s), {config.steps} steps at {config.size}px in {time.time() - t1:.1f}s",
            file=sys.stderr)
        for i, im, b, a in zip(idxs, imgs, before, after):
            save_image(im, out / image_name(layer, i), force=force)
            rows.append({"layer": layer, "index": i, "image": image_name(layer, i),
                         "act_before": float(b), "act_after": float(a),
                         "scores": filter_scores(doc, layer, i)})
    seconds = time.time() - t0
    from ..visualize import sheets

    ims = [np.asarray(Image.open(out / r["image"]).convert("RGB")) for r in rows]
    save_image(sheets.contact_sheet(ims, [f"{r['layer']}:{r['index']}" for r in rows], cols=min(4, len(ims))),
               out / OVERVIEW, force=force)

    if doc is None:
        note = "No score file given: no top-9 sheets or scores (pass --scores FILE or --class NAME)."
    elif not sheets:
        note = ("Top-9 sheets were not generated here (--no-sheets); run the command with the scored "
                "dataset on disk to make them locally.")
    else:
        made = top_sheets(doc, wanted, log)
        for (layer, i), sheet in made.items():
            save_image(sheet, out / sheet_name(layer, i), force=force)
        for r in rows:
            if (r["layer"], r["index"]) in made:
                r["sheet"] = sheet_name(r["layer"], r["index"])
        n = sum(len(v) for v in wanted.values())
        note = (f"Top-9 sheets from {(doc.get('provenance') or {}).get('dataset', '?')}: {len(made)} of {n} made"
                + ("" if len(made) == n else " (the others' top images are not on disk)") + ".")
    fstr = filtersmod.format(wanted)
    dev = jax.devices()[0]
    md = index_markdown(rows, fstr, command, dict(config.to_dict(), seed=seed), seconds, note,
                        device=f"{dev.platform.upper()} ({dev.device_kind})")
    atomic_write(out / "index.md", lambda tmp: tmp.write_text(md, encoding="utf-8"), force=force)
    return {"rows": rows, "filters": fstr, "seconds": seconds, "index": str(out / "index.md")}


# How the flags meet actmax.ActmaxConfig (checked both ways by tests/test_cli.py): fields kept at their
# defaults on the command line, and flags that are not ActmaxConfig fields.
CONFIG_UNFLAGGED = ("init_std", "preact", "pooling")
NOT_CONFIG = ("cls", "scores", "filters", "selected", "top", "out", "seed", "no_sheets", "weights", "force")


def main(argv: Sequence[str] | None = None) -> int:
    from ..visualize import actmax

    d = actmax.ActmaxConfig()
    p = ArgumentParser(prog="jaxstyle visualize", description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--class", dest="cls", metavar="NAME",
                     help="the shipped filter list of a class (its selected filters, with scores)")
    src.add_argument("--scores", metavar="FILE.json", help="a score file from score_filters.py")
    p.add_argument("--filters", metavar="SPEC",
                   help='filters to show, e.g. "conv5_1:3,17" (with --scores/--class: their scores too)')
    p.add_argument("--selected", action="store_true", help="with --scores: show its selected filters")
    p.add_argument("--top", type=positive_int, default=DEFAULT_TOP,
                   help=f"with --scores and no --selected: the N best filters per layer by AP (default {DEFAULT_TOP})")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (index.md + PNGs)")
    p.add_argument("--steps", type=nonneg_int, default=d.steps, help=f"optimisation steps (default {d.steps})")
    p.add_argument("--size", type=positive_int, default=d.size, help=f"image side in px (default {d.size})")
    p.add_argument("--seed", type=nonneg_int, default=0, help="random seed (default 0)")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default=d.optimizer,
                   help=f"adam, or sgd = gradient ascent on the RMS-normalised gradient (default {d.optimizer})")
    p.add_argument("--lr", type=nonneg_float, default=d.lr, help=f"step size in pixel units (default {d.lr})")
    p.add_argument("--l2-decay", type=nonneg_float, default=d.l2_decay, help="L2 decay: x <- (1 - decay) x after each step (pulls pixels to the mean colour)")
    p.add_argument("--blur-every", type=nonneg_int, default=d.blur_every, help="Gaussian blur every N steps (0 = never)")
    p.add_argument("--blur-sigma", type=nonneg_float, default=d.blur_sigma, help="Gaussian blur sigma in px")
    p.add_argument("--jitter", type=nonneg_int, default=d.jitter, help=f"px (default {d.jitter})")
    p.add_argument("--scale", type=nonneg_float, default=d.scale, help=f"random zoom +- (default {d.scale})")
    p.add_argument("--norm-pct", type=nonneg_float, default=d.norm_pct, help="pixel-norm clipping percentile")
    p.add_argument("--contrib-pct", type=nonneg_float, default=d.contrib_pct,
                   help="contribution clipping percentile")
    p.add_argument("--center", action="store_true", help="maximise the centre unit, not the spatial mean")
    p.add_argument("--no-sheets", action="store_true", help="do not make top-9 sheets (e.g. licensed images)")
    p.add_argument("--weights", metavar="NPZ", help="VGG-19 weights (default weights/vgg19.npz)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    a = p.parse_args(argv)

    if a.selected and not (a.scores or a.cls):
        raise UsageError("--selected needs --scores FILE")
    if not (a.filters or a.scores or a.cls):
        raise UsageError("give --filters SPEC, --scores FILE or --class NAME")
    config = config_from_args(actmax.ActmaxConfig, a, CONFIG_UNFLAGGED)
    doc = None
    if a.cls:
        doc = load_scores(filtersmod.shipped_path(a.cls))
    elif a.scores:
        doc = load_scores(a.scores)
    wanted = choose_filters(a.filters, doc, a.selected or bool(a.cls), a.top)

    from ..model import weights

    params, _ = weights.load(a.weights)
    command = "python scripts/visualize_filters.py " + " ".join(
        f'"{x}"' if (" " in x or not x) else x for x in (argv if argv is not None else sys.argv[1:]))
    res = render(params, wanted, a.out, config, a.seed, doc=doc, sheets=not a.no_sheets, force=a.force,
                 command=command)
    print(f"wrote {res['index']} ({len(res['rows'])} filters, {res['seconds']:.1f}s)")
    print(f'--filters "{res["filters"]}"')
    return 0
