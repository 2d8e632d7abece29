"""``jaxstyle probe``: train a class probe on a labelled pool (the object map's class test)."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence

from . import ArgumentParser, positive_int, run_main


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="jaxstyle probe", description="Train the softmax probe that tells the class from "
                       "its look-alikes (jaxstyle/select/probe.py) on one or more labelled pools, and write it as .npz.")
    p.add_argument("--class", dest="class_names", required=True, action="append",
                   help="the class, repeatable (one features pass): a WordNet group of "
                        "jaxstyle/data/class_groups.json (dog, cat, bird, ...)")
    p.add_argument("--data", action="append", required=True, metavar="SPEC",
                   help="pool, repeatable: folder:PATH or tfds:NAME[:SPLIT] (labels: class index or any synset)")
    p.add_argument("--size", type=positive_int, default=224, help="image side (the scoring preprocessing)")
    p.add_argument("--batch", type=positive_int, default=16, help="images per forward pass")
    p.add_argument("--l2", type=float, default=1e-3, help="weight decay of the softmax regression")
    p.add_argument("--weights", default=None, help="weights .npz (default weights/vgg19.npz)")
    p.add_argument("--out-dir", required=True, help="writes <class>.npz here (the shipped ones: jaxstyle/data/probes)")
    p.add_argument("--force", action="store_true", help="overwrite existing probes")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from ..select import classes, pools, probe
    from .. import data
    from ..model import vgg, weights
    from ..errors import OutputExistsError, UsageError

    a = build_parser().parse_args(argv)
    names = [c.strip().lower() for c in a.class_names]
    known = {g.name for g in classes.table().groups}
    bad = [c for c in names if c not in known]
    if bad:
        raise UsageError(f"--class {', '.join(bad)}: not a WordNet group of jaxstyle/data/class_groups.json")
    outs = {c: Path(a.out_dir) / f"{c}.npz" for c in dict.fromkeys(names)}
    for out in outs.values():
        if out.exists() and not a.force:
            raise OutputExistsError(out)
    pool = pools.open_pools(a.data)
    params, meta = weights.load(a.weights)
    params = vgg.prepare(params, "direct", grad=False)
    t0 = time.time()
    ids, codes, X = probe.pooled_features(params, pool.batches(a.batch, a.size))
    secs = time.time() - t0
    cmd = "jaxstyle probe " + " ".join(sys.argv[1:] if argv is None else argv)
    for name, out in outs.items():
        groups = probe.group_names(name)
        y = probe.group_of_codes(groups, classes.num_labels())[codes]
        pr = probe.fit(X, y, groups, a.l2, meta={"pool": list(a.data), "images": len(ids), "image_size": a.size,
                                                 "weights_sha256": meta.get("sha256"), "command": cmd,
                                                 "images_per_s": round(len(ids) / max(secs, 1e-9), 2)})
        data.atomic_write(out, lambda tmp, pr=pr: probe.save(pr, tmp), force=True)
        print(f"wrote {out}: {len(ids)} images, groups {pr.meta['counts']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
