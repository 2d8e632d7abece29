"""``scripts/score_filters.py``: rank VGG-19 filters by how well they pick out a class.

Streams a labelled pool through VGG-19 once, keeps each filter's top-k images, and writes a
versioned score JSON (``jaxstyle.scores/1``, see docs/SCORING.md) whose ``selected`` key is
the filter list used for stylization. Interrupted runs leave ``OUT.partial.npz``; rerun
with ``--resume`` to continue.
"""
from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .. import __version__, artifact
from ..select import classes
from ..select.probes import poolscores, scoring
from ..model import vgg
from . import ArgumentParser, nonneg_int, positive_int, unit_float
from ..images import save_image
from ..errors import JaxstyleError, OutputExistsError, UsageError
from ..select.probes import scorefile
from ..select.probes.scorefile import SCHEMA, ScoreFile

DEFAULT_POOL = Path(__file__).resolve().parents[3] / "shared" / "data" / "imagenet-sample"
PURITY_LEVELS = (9, 7, 5)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="jaxstyle score", description=__doc__.split("\n\n")[0])
    p.add_argument("--class", dest="cls", required=True, action="append",
                   help="group (dog, cat, bird, car, ...), class name, wnid, index, or a comma list (union); "
                        "repeat for several classes from one pass (with --out-dir)")
    p.add_argument("--data", default=None, action="append",
                   help=f"folder:PATH (labels.csv | <wnid>/ folders | <wnid>_* files) or tfds:NAME[:SPLIT]; "
                        f"repeat to pool several sources (ids become <source>/<id>); "
                        f"default folder:{DEFAULT_POOL} when it exists")
    p.add_argument("--layers", default=",".join(scoring.DEFAULT_LAYERS), help="comma list of conv layers")
    p.add_argument("--top-k", type=positive_int, default=scoring.DEFAULT_TOP_K, help="images kept per filter")
    p.add_argument("--size", type=positive_int, default=224, help="short side resized to SIZE, centre SIZE x SIZE crop")
    p.add_argument("--batch", type=positive_int, default=None,
                   help=f"images per device per step (default {scoring.CPU_BATCH} on CPU, {scoring.ACCEL_BATCH} on "
                        "GPU/TPU: on the 2-core CPU batch 2-4 ran ~25 %% faster than 16, docs/BENCHMARKS.md (d))")
    p.add_argument("--conv", choices=vgg.CONV_ALGOS, default="auto",
                   help="VGG convolutions: auto = Winograd for blocks 3-5 on CPU (~1.6x faster there, activations "
                        "equal to ~1e-5 relative), the backend's own on GPU/TPU; direct reproduces lists made before it")
    p.add_argument("--min-purity", type=unit_float, default=None,
                   help="purity@k floor (default 1.0 = the paper's 9/9, capped at what the pool allows)")
    p.add_argument("--min-ap", type=unit_float, default=scoring.DEFAULT_MIN_AP, help="average-precision floor")
    p.add_argument("--min-ap-lift", type=float, default=scoring.DEFAULT_MIN_AP_LIFT,
                   help="AP must also reach this multiple of the class's base rate in the pool (default "
                        f"{scoring.DEFAULT_MIN_AP_LIFT}: twice chance); 0 turns it off")
    p.add_argument("--max-filters", type=nonneg_int, default=scoring.DEFAULT_MAX_FILTERS,
                   help="keep at most this many filters per layer, best AP first (0 = no limit)")
    p.add_argument("--out", default=None, help="score JSON (default out/scores_<class>.json)")
    p.add_argument("--out-dir", default=None, help="with several --class: one DIR/<class>.json each")
    p.add_argument("--max-confusion", type=unit_float, default=None,
                   help="drop filters whose top-k holds more than this share of any one confuser group "
                        "(default 1/k: at most one look-alike, e.g. one cat among a dog filter's top 9)")
    p.add_argument("--confuser", action="append", default=None, metavar="GROUP",
                   help="always report this look-alike group's share in each filter's top k (e.g. cat for dog); "
                        "the automatic confusers are the groups most found among the best filters' negatives")
    p.add_argument("--save-scores", default=None, metavar="NPZ",
                   help="save every image's per-filter max/mean/argmax (the pool scores) for later --pool-scores")
    p.add_argument("--pool-scores", default=None, metavar="NPZ",
                   help="do not run VGG: select the --class values from saved pool scores (--data only for sheets)")
    p.add_argument("--sheets", default=None, help="write top-k receptive-field contact sheets (PNG) here")
    p.add_argument("--sheets-top", type=nonneg_int, default=8,
                   help="when nothing is selected, sheets for this many best-AP filters per layer")
    p.add_argument("--limit", type=positive_int, default=None, help="score only the first N pool images")
    p.add_argument("--weights", default=None, help="weights .npz (default: weights/vgg19.npz, auto-converted)")
    p.add_argument("--tfds-data-dir", default=None, help="tensorflow-datasets data_dir")
    p.add_argument("--checkpoint-every", type=float, default=60.0, help="seconds between resume checkpoints")
    p.add_argument("--compact", action="store_true",
                   help="keep top-k lists only for the selected filters (the form shipped in jaxstyle/data/filters)")
    p.add_argument("--from-scores", default=None, metavar="JSON",
                   help="do not score: re-apply the selection flags to an existing score JSON")
    p.add_argument("--note", default=None, help="free text stored as provenance.note")
    p.add_argument("--force", action="store_true", help="overwrite --out and sheets")
    p.add_argument("--resume", action="store_true", help="continue from OUT.partial.npz")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


# --------------------------------------------------------------------------- checkpoints
def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".partial.npz")


def save_checkpoint(path: Path, state: scoring.ScoreState, config: Mapping) -> None:
    arrays = {
        "ids": np.asarray(state.ids, dtype=str), "positive": np.asarray(state.positive, bool),
        "consumed": np.asarray(state.consumed), "skipped": np.asarray(state.skipped, dtype=str),
        "known": np.asarray(state.known, bool), "labels": np.asarray(state.labels, np.int64),
    }
    for l, s in state.layer.items():
        c = len(s.sum_in)
        arrays.update({f"{l}/top_val": s.top_val, f"{l}/top_idx": s.top_idx, f"{l}/top_pos": s.top_pos,
                       f"{l}/sum_in": s.sum_in, f"{l}/sum_out": s.sum_out,
                       f"{l}/maxima": np.concatenate(s.maxima) if s.maxima else np.zeros((0, c), np.float32)})
        if state.record:
            arrays.update({f"{l}/means": np.concatenate(s.means) if s.means else np.zeros((0, c), np.float32),
                           f"{l}/argmax": np.concatenate(s.argmax) if s.argmax else np.zeros((0, c, 2), np.int16)})
    artifact.save(path, arrays, config, force=True, meta_key=CHECKPOINT_CONFIG, sort_keys=True)


CHECKPOINT_CONFIG = "config"  # the checkpoint's run configuration (its artifact metadata)


def load_checkpoint(path: Path, config: Mapping, state: scoring.ScoreState) -> scoring.ScoreState:
    what = "readable checkpoint (delete it to start over)"
    z, saved = artifact.load(path, what, meta_key=CHECKPOINT_CONFIG)
    saved = artifact.require(path, what, z, saved)
    if saved != json.loads(json.dumps(config, sort_keys=True)):
        diff = sorted(k for k in set(saved) | set(config) if saved.get(k) != config.get(k))
        raise JaxstyleError(f"{path}: checkpoint is from a different run (differs in {', '.join(diff)}); "
                            "rerun without --resume (and with --force) to start over")
    try:
        _restore(state, z)
    except Exception as e:
        raise JaxstyleError(f"{path}: unreadable checkpoint ({type(e).__name__}); delete it to start over") from None
    return state


def _restore(state: scoring.ScoreState, z: Mapping[str, np.ndarray]) -> None:
    """``state`` as the checkpoint's arrays ``z`` left it."""
    state.ids = [str(x) for x in z["ids"]]
    state.positive = [bool(x) for x in z["positive"]]
    state.consumed = int(z["consumed"])
    state.skipped = [str(x) for x in z["skipped"]]
    state.known = [bool(x) for x in z["known"]]
    state.labels = [int(x) for x in z["labels"]]
    for l, s in state.layer.items():
        s.top_val, s.top_idx, s.top_pos = z[f"{l}/top_val"], z[f"{l}/top_idx"], z[f"{l}/top_pos"]
        s.sum_in, s.sum_out = z[f"{l}/sum_in"], z[f"{l}/sum_out"]
        s.maxima = [z[f"{l}/maxima"]]
        if state.record:
            s.means, s.argmax = [z[f"{l}/means"]], [z[f"{l}/argmax"]]


# --------------------------------------------------------------------------- output
def write_sheets(pool, state, scores, which: Mapping[str, Sequence[int]], size: int, out_dir: Path,
                 force: bool) -> int:
    from ..visualize.sheets import filter_sheet

    need = {state.ids[int(i)] for l, fs in which.items() for f in fs for i in scores[l].top_idx[f]}
    imgs = pool.fetch(need, size)
    n = 0
    for l, fs in which.items():
        s = scores[l]
        for f in fs:
            idx = [int(i) for i in s.top_idx[f] if state.ids[int(i)] in imgs]
            if not idx:
                continue
            rows = [list(s.top_idx[f]).index(i) for i in idx]
            sheet = filter_sheet([imgs[state.ids[i]] for i in idx], l, int(f), s.top_pos[f][rows],
                                     s.top_val[f][rows], [state.positive[i] for i in idx], image_size=size,
                                     scores={"purity": float(s.purity[f]), "AP": float(s.ap[f]),
                                      "SI": float(s.selectivity[f])})
            save_image(sheet, out_dir / f"{l}_{int(f):03d}.png", force=force)
            n += 1
    return n


def reselect(a, argv) -> int:
    """``--from-scores``: new selection (and optionally compact form) from an existing score JSON."""
    src = Path(a.from_scores)
    doc = ScoreFile.read(src).doc
    try:
        state, scores, n_pos = scorefile.scores_from_document(doc)
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise JaxstyleError(f"{src}: not a readable score JSON ({type(e).__name__}: {str(e)[:80]})") from None
    if a.sheets:
        raise UsageError("--sheets needs the images: rerun the scoring instead of --from-scores")
    out = Path(a.out) if a.out else None
    if out is None:
        raise UsageError("--from-scores needs --out")
    if out.exists() and not a.force:
        raise OutputExistsError(out)
    k = a.top_k = int(doc["provenance"]["top_k"])
    selected = scoring.select(scores, n_pos, k, a.min_purity, a.min_ap, a.max_filters or None)
    if a.compact:
        missing = [f"{l}:{f}" for l, fs in selected.items() for f in fs if not len(scores[l].top_idx[f])
                   or scores[l].top_idx[f][0] < 0]
        if missing:
            raise JaxstyleError(f"{src}: has no top-k lists for {', '.join(missing[:5])}; rescore instead")
    prov = dict(doc["provenance"])
    prov["reselected_by"] = "python scripts/score_filters.py " + shlex.join(argv)
    if a.note:
        prov["note"] = a.note
    state.positive = [False] * len(state.ids)
    new = scorefile.score_document(state, scores, selected, prov, _selection(a, n_pos),
                         topk_for=selected if a.compact else None)
    new["summary"] = doc.get("summary", new["summary"])
    ScoreFile(new, str(out)).write(out, force=a.force)
    print("selected: " + (filters_format(selected) or "none"))
    print(f"wrote {out}")
    return 0


def filters_format(selected: Mapping[str, list[int]]) -> str:
    return " ".join(f"{l}:{','.join(map(str, v))}" for l, v in selected.items() if v)


def _selection(a, n_pos: int) -> dict:
    floor = min(1.0 if a.min_purity is None else a.min_purity, scoring.max_purity(n_pos, a.top_k))
    return {"rule": "purity@k >= min(min_purity, min(n_positive,k)/k) and AP >= min_ap; best AP first; "
                    "at most max_filters per layer",
            "min_purity": a.min_purity if a.min_purity is not None else 1.0, "purity_floor": round(floor, 4),
            "min_ap": a.min_ap, "max_filters": a.max_filters or None,
            "max_confusion": round(a.max_confusion if a.max_confusion is not None else 1 / a.top_k, 4)}


# --------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    a = build_parser().parse_args(argv)
    if a.from_scores:
        if len(a.cls) > 1:
            raise UsageError("--from-scores takes one --class")
        a.cls = a.cls[0]
        return reselect(a, argv)
    layers = vgg.check_layers([l.strip() for l in a.layers.split(",") if l.strip()])
    if not layers:
        raise UsageError("--layers is empty")
    if len(set(layers)) != len(layers):
        raise UsageError("--layers lists a layer twice")
    targets = [(spec,) + classes.resolve(spec) for spec in a.cls]
    if len({t[1] for t in targets}) != len(targets):
        raise UsageError("--class names the same class twice")
    outs = _outputs(a, targets)
    for out in outs.values():
        if out.exists() and not a.force:
            raise OutputExistsError(out)
    sheets = Path(a.sheets) if a.sheets else None
    if sheets and sheets.is_dir() and any(sheets.rglob("*.png")) and not a.force:
        raise JaxstyleError(f"{sheets}: already holds PNGs; pass --force to overwrite")
    if a.save_scores and Path(a.save_scores).exists() and not a.force:
        raise OutputExistsError(a.save_scores)
    if a.data is None and not a.pool_scores:
        if not DEFAULT_POOL.is_dir():
            raise UsageError("--data is required (folder:PATH or tfds:NAME[:SPLIT])")
        a.data = [f"folder:{DEFAULT_POOL}"]
    from ..select.pools.pools import open_pools

    pool = open_pools(a.data, a.tfds_data_dir) if a.data else None
    if a.pool_scores:
        ps = poolscores.load(a.pool_scores)
        if list(ps.layers) != list(layers) and a.layers != ",".join(scoring.DEFAULT_LAYERS):
            raise UsageError(f"{a.pool_scores} holds layers {','.join(ps.layers)}, not {a.layers}")
        live, run = None, dict(ps.meta)
        run["scored_by"] = run.pop("command", None)
    else:
        first_mask = classes.class_mask(targets[0][0])
        record = bool(a.save_scores) or len(targets) > 1
        live, run = _score_pass(a, argv, layers, pool, first_mask, record, outs[targets[0][1]])
        if live is None:
            return 130
        ps = poolscores.from_state(live, _sources_of(pool, live.ids), run) if record else None
        if a.save_scores:
            poolscores.save(ps, a.save_scores, force=a.force)
            print(f"wrote pool scores ({live.n} images) to {a.save_scores}", file=sys.stderr)
    for j, (spec, name, idx) in enumerate(targets):
        mask = classes.class_mask(spec)
        state = live if (j == 0 and live is not None) else poolscores.replay(ps, mask, a.top_k)
        source = ps.source if ps is not None else _sources_of(pool, state.ids)
        sh = None if sheets is None else (sheets / name.replace("+", "_") if len(targets) > 1 else sheets)
        _write_class(a, argv, run, state, source, name, idx, mask, outs[name], sh, pool)
    return 0


def _outputs(a, targets) -> dict[str, Path]:
    if len(targets) == 1 and not a.out_dir:
        name = targets[0][1]
        return {name: Path(a.out or f"out/scores_{name.replace('+', '_')}.json")}
    if a.out:
        raise UsageError("several --class values write one file each: use --out-dir DIR, not --out")
    d = Path(a.out_dir or "out")
    return {t[1]: d / f"{t[1].replace('+', '_')}.json" for t in targets}


def _sources_of(pool, ids: Sequence[str]) -> np.ndarray:
    if pool is None or not hasattr(pool, "source_of"):
        return np.zeros(len(ids), np.int16)
    return np.asarray([pool.source_of(i) for i in ids], np.int16)


def _pool_sources(pool) -> list[dict]:
    subs = getattr(pool, "sources", [pool])
    names = getattr(pool, "names", [Path(str(getattr(pool, "root", pool.name))).name])
    return [{"data": p.name, "name": n, "size": p.size} for p, n in zip(subs, names)]


def _initial_state(a, layers, params, config: Mapping, ckpt: Path) -> scoring.ScoreState:
    """A fresh scoring state, or the checkpoint's with ``--resume``."""
    state = scoring.init_state(layers, {l: vgg.num_channels(params, l) for l in layers}, a.top_k,
                               record=config["record"])
    if a.resume and ckpt.is_file():
        state = load_checkpoint(ckpt, config, state)
        print(f"resuming from {ckpt}: {state.consumed} pool images done", file=sys.stderr)
    elif a.resume:
        print(f"no checkpoint at {ckpt}; starting from the beginning", file=sys.stderr)
    elif ckpt.is_file():
        print(f"note: ignoring {ckpt} (pass --resume to continue it)", file=sys.stderr)
    return state


def _limited(pool, batch: int, size: int, start: int, left: int | None):
    """``pool.batches`` from ``start``, cut at ``left`` more images (``--limit``; None: all)."""
    for ids, labels, imgs, consumed, skipped in pool.batches(batch, size, start):
        if left is not None and consumed > left:  # --limit inside this batch
            keep = left - len(skipped)
            ids, labels, imgs, consumed = ids[:keep], labels[:keep], imgs[:keep], left
        yield ids, labels, imgs, consumed, skipped
        if left is not None:
            left -= consumed
            if left <= 0:
                return


class _Progress:
    """The bar, the periodic checkpoint, and images/s after the first (compiling) batch."""

    def __init__(self, a, total, state: scoring.ScoreState, ckpt: Path, config: Mapping):
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=state.consumed, unit="img", disable=a.quiet, file=sys.stderr,
                        dynamic_ncols=True, smoothing=0.1)
        self.every, self.ckpt, self.config = a.checkpoint_every, ckpt, config
        self.t0 = self.last_ckpt = time.time()
        self.warm_t, self.warm_n = None, 0

    def __call__(self, st: scoring.ScoreState, n: int) -> None:
        self.bar.update(st.consumed - self.bar.n)
        if st.skipped:
            self.bar.set_postfix(skipped=len(st.skipped), refresh=False)
        if self.warm_t is None:
            self.warm_t, self.warm_n = time.time(), st.n
        if time.time() - self.last_ckpt > self.every:
            save_checkpoint(self.ckpt, st, self.config)
            self.last_ckpt = time.time()

    def warm_rate(self, n: int) -> float:
        return (n - self.warm_n) / (time.time() - self.warm_t) if self.warm_t and n > self.warm_n else float("nan")


def _run_record(a, argv, pool, state: scoring.ScoreState, layers, meta: Mapping, devices, conv: str,
                elapsed: float, warm_rate: float) -> dict:
    """The run metadata written beside each class's scores."""
    sources = _pool_sources(pool)
    src = _sources_of(pool, state.ids)
    names = getattr(pool, "names", None)
    for j, d in enumerate(sources):
        d["images"] = int((src == j).sum())
        d["skipped"] = sum(1 for i in state.skipped if names is None or i.split("/", 1)[0] == names[j])
    return {"weights_sha256": meta.get("sha256"), "weights_source": meta.get("source"),
            "dataset": pool.name, "sources": sources, "pool_size": state.n, "skipped": len(state.skipped),
            "image_size": a.size, "preprocessing": f"short side {a.size} bilinear, centre crop; {vgg.PREPROCESSING}",
            "layers": list(layers), "top_k": a.top_k, "jaxstyle_version": __version__, "conv": conv,
            "batch_per_device": a.batch, "command": "python scripts/score_filters.py " + shlex.join(argv),
            "devices": f"{len(devices)} x {devices[0].device_kind}", "images_per_s": round(warm_rate, 2),
            "seconds": round(elapsed, 1)}


def _score_pass(a, argv, layers, pool, mask, record: bool, out: Path):
    """The VGG pass over the pool: (state for the first class, run metadata); (None, None) if interrupted."""
    from .._cache import enable_compilation_cache
    from ..model import weights

    enable_compilation_cache()
    total = pool.size if a.limit is None else (min(a.limit, pool.size) if pool.size else a.limit)
    params, meta = weights.load(a.weights, log=print)
    import jax

    devices = tuple(jax.devices())
    if a.batch is None:
        a.batch = scoring.default_batch(devices[0].platform)
    conv = vgg.resolve_conv(a.conv, devices[0].platform)
    ckpt = checkpoint_path(out)
    config = {"schema": SCHEMA, "weights_sha256": meta.get("sha256"), "dataset": pool.name, "pool_size": total,
              "image_size": a.size, "class": a.cls[0], "layers": list(layers), "top_k": a.top_k,
              "batch_per_device": a.batch, "conv": conv, "record": record}
    state = _initial_state(a, layers, params, config, ckpt)
    scorer = scoring.BatchScorer(params, tuple(layers), a.batch, devices, conv=conv)
    print(f"scoring {', '.join(a.cls)} on {pool.name} ({total if total is not None else '?'} images, {a.size}px, "
          f"layers {','.join(layers)}, {len(devices)} {devices[0].platform} device(s) x batch {a.batch})",
          file=sys.stderr)
    progress = _Progress(a, total, state, ckpt, config)
    left = None if total is None else total - state.consumed
    try:
        scoring.score_stream(scorer, _limited(pool, scorer.batch, a.size, state.consumed, left), mask, state,
                             progress)
    except KeyboardInterrupt:
        progress.bar.close()
        save_checkpoint(ckpt, state, config)
        print(f"interrupted after {state.consumed} images; checkpoint {ckpt}; rerun with --resume",
              file=sys.stderr)
        return None, None
    progress.bar.close()
    elapsed, warm_rate = time.time() - progress.t0, progress.warm_rate(state.n)
    if state.n == 0:
        raise JaxstyleError(f"{pool.name}: no readable images ({len(state.skipped)} skipped)")
    ckpt.unlink(missing_ok=True)
    print(f"scored {state.n} images ({len(state.skipped)} unreadable skipped) in {elapsed:.1f}s, "
          f"{warm_rate:.2f} images/s after compile", file=sys.stderr)
    return state, _run_record(a, argv, pool, state, layers, meta, devices, conv, elapsed, warm_rate)


def _write_class(a, argv, run: Mapping, state: scoring.ScoreState, source: np.ndarray, name: str,
                 idx: list[int], mask: classes.ClassMask, out: Path, sheets: Path | None, pool) -> None:
    """Select and write one class's score JSON (and sheets) from its finished state."""
    n_pos = int(np.sum(np.asarray(state.positive) & np.asarray(state.known)))
    if n_pos == 0:
        raise JaxstyleError(f"{run['dataset']}: no images of class {name} among {state.n}; nothing to score")
    scores = scoring.finalize(state)
    report = scoring.assess(state, scores, a.top_k, a.max_confusion, a.confuser or ())
    min_ap = max(a.min_ap, a.min_ap_lift * report.base_rate)
    selected = scoring.select(scores, n_pos, a.top_k, a.min_purity, min_ap, a.max_filters or None,
                              exclude=report.excluded)
    report = scoring.with_selected(report, state, scores, selected)
    codes = np.asarray(state.labels, np.int64)
    sources = []
    for j, d in enumerate(run.get("sources") or [{"data": run["dataset"], "name": ""}]):
        c = codes[source == j]
        sources.append({**d, "positive": int(mask.positive[c].sum()),
                        "negative": int((mask.known[c] & ~mask.positive[c]).sum()),
                        "unknown": int((~mask.known[c]).sum())})
    provenance = {k: v for k, v in run.items() if k not in ("schema", "sources")}
    provenance.update({"sources": sources, "top_k": a.top_k, "class": name, "class_indices": idx,
                       "class_synsets": sorted(classes.target_synsets(name)), "n_positive": n_pos,
                       "n_known": int(np.sum(state.known)), "base_rate": round(report.base_rate, 4)})
    if a.pool_scores:
        provenance["command"] = "python scripts/score_filters.py " + shlex.join(argv)
    else:
        provenance["command"] = run["command"]
    if a.note:
        provenance["note"] = a.note
    doc = scorefile.score_document(state, scores, selected, provenance, _selection(a, n_pos),
                         topk_for=selected if a.compact else None)
    k = a.top_k
    doc.update(report.document(selected))
    doc["selection"]["rule"] += ("; AP >= min_ap_lift x base rate too; at most max_confusion of any one "
                                 "confuser group (its negatives) in the top k")
    doc["selection"].update({"min_ap_lift": a.min_ap_lift, "ap_floor": round(min_ap, 4)})
    m = int(np.ceil(doc["selection"]["purity_floor"] * k - 1e-9))
    p_chance = scoring.chance_purity(report.base_rate, k, m)
    n_filters = sum(len(s.purity) for s in scores.values())
    doc["selection"]["chance"] = {"base_rate": round(report.base_rate, 4), "purity_floor_images": m,
                                  "p_random_topk_reaches_floor": float(f"{p_chance:.3g}"),
                                  "expected_filters_by_chance": float(f"{p_chance * n_filters:.3g}")}
    ScoreFile(doc, str(out)).write(out, force=a.force)
    k = a.top_k
    print(f"{name}: {n_pos} positives of {int(np.sum(state.known))} known (base rate {report.base_rate:.3f}); "
          f"confusers {', '.join(c['name'] for c in report.confusers) or 'none'}", file=sys.stderr)
    for l, c in scoring.purity_counts(scores, k, scorefile.purity_levels(k)).items():
        print(f"  {l}: " + ", ".join(f"{n} filters >= {m}/{k}" for m, n in c.items()), file=sys.stderr)
    print(f"{name} selected: " + (filters_format(selected) or "none"))
    print(f"wrote {out}")
    if sheets and pool is not None:
        which = selected if any(selected.values()) else {
            l: [int(i) for i in np.argsort(-s.ap, kind="stable")[: a.sheets_top]] for l, s in scores.items()}
        n = write_sheets(pool, state, scores, which, run["image_size"], sheets, a.force)
        print(f"wrote {n} contact sheets to {sheets}" + ("" if any(selected.values()) else
                                                          " (nothing selected: best-AP filters shown)"))
