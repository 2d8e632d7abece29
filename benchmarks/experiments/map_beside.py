#!/usr/bin/env python3
"""People and things beside the animal: does the map leave them alone?

    python -m benchmarks.experiments.map_beside --class dog --groups person clothing --n 40 [--second-look]

Each composite puts a masked photo of ``--class`` (from ``--pairs``) beside a labelled pool
photo of one of ``--groups`` (WordNet groups of jaxstyle/data/class_groups.json; ImageNet
``clothing`` photos mostly show the garment worn by a person), at a common height
(:func:`jaxstyle.evaluate.composites.side_by_side`), alternately on the left and the right.
The pool photo has no mask: all of it counts as "not the class", so its cover is the share
of it the map takes (≤ 0.05 is "left alone"). The pool photos are in the probe's training
pool (whole images at 224 px), so this is a check on the map's regions at 512 px, not a
held-out test of the probe. Prints a markdown table per group and the worst composites.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from jaxstyle import images
from jaxstyle.evaluate import composites
from jaxstyle.evaluate.pairs import find_pairs
from jaxstyle.model import weights
from jaxstyle.select import classes
from jaxstyle.transfer import mapfeatures, objectmap


def pool_photos(roots, group: str, exclude: set[int]) -> list[Path]:
    """Photos of the labelled folders ``roots`` (:func:`jaxstyle.images.folder_pool`) whose ImageNet class is in
    ``group`` and not in ``exclude``."""
    _, members = classes.resolve(group)
    members = set(members) - exclude
    return sorted(Path(root) / it.id for root in roots for it in images.folder_pool(root, classes.label_code)
                  if it.label in members)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", default="../shared/data/pets", help="masked photos of the class")
    p.add_argument("--pool", nargs="+", default=["../shared/data/imagenet-sample", "../shared/data/pool-extra"])
    p.add_argument("--class", dest="class_name", default="dog")
    p.add_argument("--groups", nargs="+", default=["person", "clothing"])
    p.add_argument("--n", type=int, default=40, help="composites per group (at most its photos)")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--second-look", action="store_true", help="the map's opt-in second look before a refusal")
    a = p.parse_args(argv)
    params = mapfeatures.vgg_params(weights.load()[0])
    rng = np.random.default_rng(a.seed)
    own = [x for x in find_pairs(a.pairs) if x.species == a.class_name]
    own = [own[i] for i in rng.permutation(len(own))]
    _, of_class = classes.resolve(a.class_name)
    opts = {"size": a.size, **({"second_look": objectmap.SECOND_LOOK} if a.second_look else {})}
    print("| group | composites | other photo: cover (median) | ≤ 0.05 | the class's animal: cover ≥ 0.5 | refused |")
    print("|---|---:|---:|---:|---:|---:|")
    worst = []
    for group in a.groups:
        others = pool_photos(a.pool, group, set(of_class))
        others = [others[i] for i in rng.permutation(len(others))][: a.n]
        rows = []
        for i, path in enumerate(others):
            pair = own[i % len(own)]
            img = images.load_image(pair.photo, a.size)
            other = images.load_image(path, a.size)
            imgs, masks = [img, other], [images.load_mask(pair.mask, img.shape[:2]), np.ones(other.shape[:2], np.float32)]
            flags = [True, False]
            if i % 2:
                imgs, masks, flags = imgs[::-1], masks[::-1], flags[::-1]
            r = composites.located(params, imgs, masks, flags, a.class_name, opts)
            rows.append(r)
            worst.append((r["wrong_cover"], f"{pair.name} + {path.name} ({group})"))
            print(f"  {pair.name} + {path.name}: other {r['wrong_cover']:.3f}, own {r['own_cover_min']:.2f}"
                  + (" (refused)" if r["refused"] else ""), file=sys.stderr, flush=True)
        w = np.array([r["wrong_cover"] for r in rows])
        c = np.array([r["own_cover_min"] for r in rows])
        print(f"| {group} | {len(rows)} | {np.median(w):.3f} | {np.mean(w <= 0.05):.2f} | {np.mean(c >= 0.5):.2f} | "
              f"{sum(r['refused'] for r in rows)} |", flush=True)
    print("\nmost covered other photos: " + "; ".join(f"{n} {v:.2f}" for v, n in sorted(worst)[::-1][:6]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
