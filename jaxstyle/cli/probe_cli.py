"""``jaxstyle probe``: train a class probe on a labelled pool (the object map's class test)."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from . import ArgumentParser, positive_int, run_main


def build_parser() -> ArgumentParser:
    from ..select.probes.regions import POOLINGS

    p = ArgumentParser(prog="jaxstyle probe", description="Train the softmax probe that tells the class from "
                       "its look-alikes (jaxstyle/select/probes/probe.py) on one or more labelled pools, and write it as .npz.")
    p.add_argument("--class", dest="class_names", required=True, action="append",
                   help="the class, repeatable (one features pass): a WordNet group of "
                        "jaxstyle/data/class_groups.json or pool_synsets.json (dog, cat, bird, horse, ...), "
                        "by name or wnid; the probe is written under its canonical name (cow: cattle.npz)")
    p.add_argument("--data", action="append", required=True, metavar="SPEC",
                   help="pool, repeatable: folder:PATH or tfds:NAME[:SPLIT] (labels: class index or any synset); "
                        "SPEC@PX[,PX]: this pool at those of the --size sides only")
    p.add_argument("--size", type=positive_int, nargs="+", default=[224], metavar="PX",
                   help="image side (the scoring preprocessing); several: every image at each side, all their rows "
                        "in one probe (the map judges a photo at 512 px, where an object spans more cells than "
                        "in a 224 crop)")
    p.add_argument("--batch", type=positive_int, default=16, help="images per forward pass")
    p.add_argument("--l2", type=float, default=1e-3, help="weight decay of the softmax regression")
    p.add_argument("--pooling", choices=POOLINGS, default=POOLINGS[0],
                   help="how an image's or a region's cells become one feature (the map pools its regions the same "
                        "way): max, on each image and its strongest region, plus a mean head on image means "
                        "(shipped); mean: image means only (the probe before, for comparison)")
    p.add_argument("--cross-validate", type=int, default=0, metavar="K",
                   help="also print, per group, the share of images a probe trained on the other K-1 folds "
                        "(split by ImageNet class) takes for the class (jaxstyle/evaluate/probecheck.py); 0: off")
    p.add_argument("--without", action="append", default=[], metavar="SOURCE",
                   help="repeatable: leave out the masked pools' photos of this source (msrc, davis, weizmann), so "
                        "that the probe can judge that source's photos held out (scripts/map_loso.py --fold-probes)")
    p.add_argument("--weights", default=None, help="weights .npz (default weights/vgg19.npz)")
    p.add_argument("--features", default=None, metavar="DIR",
                   help="keep each --data source's features in DIR/<source>-<size>-<pooling>.npz, and read them "
                        "from there when the file exists (no VGG pass; delete it after the source or weights change)")
    p.add_argument("--out-dir", required=True, help="writes <class>.npz here (the shipped ones: jaxstyle/data/probes)")
    p.add_argument("--force", action="store_true", help="overwrite existing probes")
    return p


def data_sizes(spec: str) -> tuple[str, tuple[int, ...] | None]:
    """``(pool spec, sides)`` of a ``--data`` value: ``SPEC@224,384`` -> ``(SPEC, (224, 384))``; no suffix: None
    (every ``--size``)."""
    head, at, tail = spec.rpartition("@")
    if at and tail and all(t.isdigit() and int(t) > 0 for t in tail.split(",")):
        return head, tuple(int(t) for t in tail.split(","))
    return spec, None


def pool_features(pool, params, a, skip=()) -> tuple:
    """``(features of every source of pool, images that ran through VGG)``: each source's read from
    ``a.features`` where kept there, else computed (and kept there with ``a.features``); the sources
    at the indices ``skip`` are left out (None when all are)."""
    from dataclasses import replace

    from ..select.pools import pools
    from ..select.probes import probe

    multi = isinstance(pool, pools.MultiPool)
    parts, computed = [], 0
    for k, (name, src) in enumerate(zip(pool.names if multi else [None], pool.sources if multi else [pool])):
        if k in skip:
            continue
        stem = name or Path(str(getattr(src, "root", src.name))).name
        path = Path(a.features) / f"{stem}-{a.size}-{a.pooling}.npz" if a.features else None
        if path is not None and path.is_file():
            pf = probe.load_features(path)
        else:
            pf = probe.pooled_features(params, src.batches(a.batch, a.size), a.pooling)
            computed += len(pf.ids)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                probe.save_features(pf, path)
        parts.append(replace(pf, ids=[f"{name}/{i}" for i in pf.ids]) if multi else pf)
    return (probe.concat(parts) if parts else None), computed


def sized_features(pool, params, a, only: Sequence | None = None) -> tuple:
    """:func:`pool_features` at each of ``a.size`` (a list of sides), joined; ids carry their side
    (``<side>/<id>``) where there are several. ``only``: per source, the sides it is read at (None: all)."""
    from dataclasses import replace
    from types import SimpleNamespace

    from ..select.probes import probe

    sizes = list(dict.fromkeys(a.size))
    only = list(only or [None] * len(getattr(pool, "sources", [pool])))
    parts, computed = [], 0
    for s in sizes:
        skip = {k for k, o in enumerate(only) if o is not None and s not in o}
        pf, n = pool_features(pool, params, SimpleNamespace(**{**vars(a), "size": s}), skip)
        if pf is not None:
            parts.append(replace(pf, ids=[f"{s}/{i}" for i in pf.ids]) if len(sizes) > 1 else pf)
        computed += n
    return (probe.concat(parts) if len(parts) > 1 else parts[0]), computed


def left_out(pool, sources: Sequence[str]) -> Callable[[str], bool]:
    """Whether a feature id of ``pool`` (:func:`sized_features`) is a photo of its ``masked:`` pools from one of
    ``sources`` (``--without``); UsageError before any work when there is no such pool or photo."""
    from ..errors import UsageError
    from ..select.pools import masksplit, pools

    multi = isinstance(pool, pools.MultiPool)
    masked = {n: p.root for n, p in zip(pool.names if multi else [None], pool.sources if multi else [pool])
              if isinstance(p, pools.MaskedPool)}
    if not masked:
        raise UsageError("--without needs a masked:PATH pool to leave photos out of")
    names = {n: masksplit.names_of(root, sources) for n, root in masked.items()}
    if not any(names.values()):
        raise UsageError(f"--without {' '.join(sources)}: no train photo of the masked pools comes from it")

    def out(id_: str) -> bool:
        head, _, rest = id_.partition("/")
        if head.isdigit() and rest:  # the side of a several-sided run
            id_ = rest
        src, _, name = id_.partition("/") if multi else (None, "", id_)
        return name in names.get(src, ())

    return out


def main(argv: Sequence[str] | None = None) -> int:
    import numpy as np

    from ..select import classes
    from ..select.pools import pools
    from ..select.probes import probe
    from ..evaluate import probecheck
    from .. import images
    from ..model import vgg, weights
    from ..errors import OutputExistsError, UsageError

    a = build_parser().parse_args(argv)
    names = [classes.canonical(c) for c in a.class_names]
    known = {g.name for g in classes.table().groups}
    bad = [c for c, n in zip(a.class_names, names) if n not in known]
    if bad:
        raise UsageError(f"--class {', '.join(bad)}: not a WordNet group of jaxstyle/data/class_groups.json "
                         "or pool_synsets.json")
    if a.cross_validate == 1 or a.cross_validate < 0:
        raise UsageError(f"--cross-validate {a.cross_validate}: give 0 (off) or 2 folds or more")
    outs = {c: Path(a.out_dir) / f"{c}.npz" for c in dict.fromkeys(names)}
    for out in outs.values():
        if out.exists() and not a.force:
            raise OutputExistsError(out)
    specs = [data_sizes(d) for d in a.data]
    odd = sorted({s for _, o in specs for s in (o or ()) if s not in a.size})
    if odd:
        raise UsageError(f"--data ...@{','.join(map(str, odd))}: not a --size side ({', '.join(map(str, a.size))})")
    pool = pools.open_pools([d for d, _ in specs])
    dropped = left_out(pool, a.without) if a.without else None
    params, meta = weights.load(a.weights)
    t0 = time.time()
    pf, computed = sized_features(pool, vgg.prepare(params, "direct", grad=False), a, [o for _, o in specs])
    secs = time.time() - t0
    if a.without:
        pf = pf.subset(np.array([not dropped(i) for i in pf.ids]))
    cmd = "jaxstyle probe " + " ".join(sys.argv[1:] if argv is None else argv)
    sizes = list(dict.fromkeys(a.size))
    info = {"pool": list(a.data), "images": len({i.split("/", 1)[1] for i in pf.ids} if len(sizes) > 1 else pf.ids),
            "image_size": sizes[0] if len(sizes) == 1 else sizes, "weights_sha256": meta.get("sha256"),
            "command": cmd, "images_per_s": round(computed / secs, 2) if computed else None,
            "without": list(a.without)}
    for name, out in outs.items():
        pr = probe.train(pf, probe.group_names(name), a.l2, info)
        images.atomic_write(out, lambda tmp, pr=pr: probe.save(pr, tmp), force=True)
        print(f"wrote {out}: {info['images']} images, rows per group {pr.meta['counts']}", file=sys.stderr)
        if a.cross_validate:
            y_img, claimed = probecheck.cross_validate(pf, pr.groups, a.cross_validate, a.l2)
            print(f"\n{name}: {a.cross_validate}-fold by ImageNet class\n\n{probecheck.report(pr.groups, y_img, claimed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
