"""``jaxstyle head``: train the cell head the learned object map uses (jaxstyle/select/heads/cellhead.py)."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence

from . import ArgumentParser, positive_int, run_main


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="jaxstyle head", description="Train the per-cell head of the learned object map "
                       "(class / other animal / person / scene over VGG-19 hypercolumns) on image-labelled pools; "
                       "no mask is read. Images of the class give the confident cells of the probe-judged map, "
                       "images of anything else their object cells as 'not the class'.")
    p.add_argument("--class", dest="class_names", required=True, action="append",
                   help="the class, repeatable (one features pass); it needs a shipped probe (jaxstyle probe)")
    p.add_argument("--data", action="append", required=True, metavar="DIR",
                   help="pool folder with labels.csv (filename, wnid), repeatable")
    p.add_argument("--size", type=positive_int, default=288, help="square crop side of a pool image")
    p.add_argument("--per-kind", type=positive_int, default=150,
                   help="at most this many images of each kind (each class, animal, person, thing) per pool")
    p.add_argument("--cells", type=positive_int, default=48, help="cells sampled per image")
    p.add_argument("--hidden", type=positive_int, default=64, help="hidden units of the MLP")
    p.add_argument("--steps", type=positive_int, default=400, help="full-batch Adam steps")
    p.add_argument("--self-train", type=int, default=0, choices=(0, 1, 2),
                   help="rounds of re-labelling the class images' cells by the head and training again")
    p.add_argument("--seed", type=int, default=0, help="image choice, cell sample and initialisation")
    p.add_argument("--batch", type=positive_int, default=8, help="images per forward pass")
    p.add_argument("--judge-size", type=positive_int, default=384,
                   help="long side of a pool image, whole, for the patch judge's pass")
    p.add_argument("--judge-per-kind", type=positive_int, default=250,
                   help="at most this many images of each kind per pool for the patch judge")
    p.add_argument("--judge-photos", default=None, metavar="DATA",
                   help="the judge also learns from the masked photos the map's evaluation scores under DATA "
                        "(../shared/data), by their class labels only, never their masks")
    p.add_argument("--judge-folds", action="store_true",
                   help="with --judge-photos: also write without-<source>/<class>.npz for each source of those "
                        "photos, whose judge never saw it (to score that source leave-one-source-out)")
    p.add_argument("--cache", default=".cache/heads", help="pool cells are kept here (reruns skip the VGG pass)")
    p.add_argument("--weights", default=None, help="weights .npz (default weights/vgg19.npz)")
    p.add_argument("--out-dir", required=True, help="writes <class>.npz here (the shipped ones: jaxstyle/data/heads)")
    p.add_argument("--force", action="store_true", help="overwrite existing heads")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    import jax
    import numpy as np

    from .. import images
    from ..errors import OutputExistsError, UsageError
    from ..model import vgg, weights
    from ..select.heads import cellhead, cellpool
    from ..select.probes import probe
    from ..train import cellpass

    a = build_parser().parse_args(argv)
    names = list(dict.fromkeys(c.strip().lower() for c in a.class_names))
    probes = {}
    for n in names:
        pr = probe.shipped(n)
        if pr is None:
            raise UsageError(f"--class {n}: no shipped probe (train one with jaxstyle probe first)")
        probes[cellpool.group_wnid(n)] = pr
    if a.judge_folds and not a.judge_photos:
        raise UsageError("--judge-folds needs --judge-photos")
    photos = cellpool.scored_photos(a.judge_photos) if a.judge_photos else []  # a bad folder fails before any pass
    outs = {n: Path(a.out_dir) / f"{n}.npz" for n in names}
    for out in outs.values():
        if out.exists() and not a.force:
            raise OutputExistsError(out)
    params, meta = weights.load(a.weights)
    prepared = None
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    t0, parts, cached = time.time(), [], []
    for i, d in enumerate(a.data):  # each pool's cells cached on their own: adding a pool re-reads the others
        rng = np.random.default_rng([a.seed, i])
        items = cellpool.choose(cellpool.read_pool(d), list(probes), a.per_kind, rng)
        key = cellpool.cache_key(items, list(probes), a.size, a.cells, a.seed, str(meta.get("sha256")))
        path = Path(a.cache) / f"cells-{key}.npz"
        if path.is_file():
            parts.append(cellpool.Cells.load(path))
            cached.append(d)
            log(f"read {path}: {len(parts[-1].ids)} images of {d}")
            continue
        prepared = prepared or vgg.prepare(params, "direct", grad=False)
        parts.append(cellpass.extract(prepared, items, probes, a.size, a.cells, rng, a.batch, log))
        parts[-1].save(path)
    cells = cellpool.Cells.concat(parts)
    secs = time.time() - t0
    cmd = "jaxstyle head " + " ".join(sys.argv[1:] if argv is None else argv)
    info = {"pools": list(a.data), "images": len(cells.ids), "image_size": a.size, "cells_per_image": a.cells,
            "per_kind": a.per_kind, "seed": a.seed, "weights_sha256": meta.get("sha256"), "command": cmd,
            "features_seconds": round(secs, 1), "features_cached": cached, "labels": "image labels only; no mask"}
    heads = [cellpool.train(cells, n, jax.random.fold_in(jax.random.PRNGKey(a.seed), i), a.self_train,
                            a.hidden, a.steps, info) for i, n in enumerate(outs)]
    for sub, judged in _with_judges(a, heads, photos, params, meta, log).items():
        for head, out in zip(judged, outs.values()):
            out = out.parent / sub / out.name
            out.parent.mkdir(parents=True, exist_ok=True)
            images.atomic_write(out, lambda tmp, h=head: cellhead.save(h, tmp), force=True)
            print(f"wrote {out}: cells per group {head.meta['counts']}, loss {head.meta['loss'][0]:.3f} -> "
                  f"{head.meta['loss'][1]:.3f}; patch judge rows per group {head.judge.meta['counts']}",
                  file=sys.stderr)
    return 0


def _with_judges(a, heads: list, photos: list, params, meta, log) -> dict[str, list]:
    """``heads`` each with its patch judge (:mod:`jaxstyle.select.heads.patchjudge`) trained on the pools' patches
    and, with ``--judge-photos``, the scored photos' (labels only), under ``""``. With ``--judge-folds`` also,
    for each source of those photos, ``"without-<source>"``: the same heads with a judge that never saw it."""
    import dataclasses

    import jax
    import numpy as np

    from ..select.heads import cellpool, patchjudge

    targets = [h.meta["target_wnid"] for h in heads]
    items = [it for i, d in enumerate(a.data) for it in
             cellpool.choose(cellpool.read_pool(d), targets, a.judge_per_kind, np.random.default_rng([a.seed, i, 1]))]
    t0 = time.time()
    prs, cached = _patch_rows(a, heads, items, params, meta, log)
    source: dict[str, str] = {}
    if photos:
        source = {it.id: src for it, src in photos}
        more, more_cached = _patch_rows(a, heads, [it for it, _ in photos], params, meta, log)
        prs, cached = [patchjudge.concat([p, q]) for p, q in zip(prs, more)], cached and more_cached
    info = {"pools": list(a.data), "image_size": a.judge_size, "per_kind": a.judge_per_kind,
            "photos": a.judge_photos, "features_seconds": round(time.time() - t0, 1), "features_cached": cached,
            "labels": "image labels only; no mask"}
    folds = {"": None, **({f"without-{s}": s for s in sorted(set(source.values()))} if a.judge_folds else {})}
    out = {}
    for name, held in folds.items():
        out[name] = [dataclasses.replace(h, judge=patchjudge.train(
            patchjudge.without(pr, lambda i, held=held: held is not None and source.get(i) == held), h.target,
            jax.random.fold_in(jax.random.PRNGKey(a.seed), 100 + k), meta={**info, "held_out": held},
            kin=h.groups[1]))
            for k, (h, pr) in enumerate(zip(heads, prs))]
    return out


def _patch_rows(a, heads: list, items: list, params, meta, log) -> tuple[list, bool]:
    """Each head's :class:`patchjudge.PatchRows` of ``items``, read from ``--cache`` when there; and whether they were."""
    import hashlib

    from ..select.heads import cellpool, patchjudge
    from ..train import patchpass
    from ..transfer import mapfeatures

    keys = [cellpool.cache_key(items, [h.target, hashlib.sha256(h.weights[0][0].tobytes()).hexdigest()], a.judge_size,
                               0, a.seed, str(meta.get("sha256"))) for h in heads]
    paths = [Path(a.cache) / f"patches-{k}.npz" for k in keys]
    if all(p.is_file() for p in paths):
        return [patchjudge.PatchRows.load(p) for p in paths], True
    prs = patchpass.extract(mapfeatures.vgg_params(params), items, heads, a.judge_size, a.batch, log)
    for pr, p in zip(prs, paths):
        pr.save(p)
    return prs, False


if __name__ == "__main__":
    raise SystemExit(run_main(main))
