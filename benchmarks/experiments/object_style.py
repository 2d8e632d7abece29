#!/usr/bin/env python3
"""Structure kept and style gain inside the true object, per objective variant (docs/METHOD.md,
"A style weight that fits an object").

Each variant is ``METHOD:STRENGTH`` or ``METHOD:STRENGTH:W1,W2,W3,W4,W5`` (the guided method's
style layer weights, conv1_1..conv5_1, set on the run's Setup: an experiment, not an option).
Strength multiplies the method's preset style weight (mask: the object style weight 1, so
``mask:10`` is Gatys's weight inside the object). The table in METHOD.md:

    python -m benchmarks.experiments.object_style --pairs ../shared/data/pets \
      --photos dog_american_bulldog_62,dog_scottish_terrier_178 --size 384 --iterations 300 \
      --variants gatys:1 mask:10 mask:10:1,1,1,0,0 mask:1:1,1,1,0,0 mask:1 --csv out/object_style.csv
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from pathlib import Path

import numpy as np

from jaxstyle import images
from jaxstyle.evaluate import metrics
from jaxstyle.evaluate.pairs import find_pairs
from jaxstyle.model import vgg, weights
from jaxstyle.transfer import levels, objective, stylize as S


def with_layer_weights(lw):
    """A ``Setup.build`` that gives the guided methods the style layer weights ``lw`` (None: unchanged)."""
    build = levels.Setup.build.__func__

    def patched(cls, cfg, style, params=None, on_phase=None):
        su = build(cls, cfg, style, params, on_phase)
        if lw is None or not cfg.guided:
            return su
        return dataclasses.replace(su, layer_w={l: w / sum(lw) for l, w in zip(objective.GATYS_STYLE_LAYERS, lw)})
    return classmethod(patched)


def run_variant(variant: str, pairs, style: str, params, grams, size: int, iterations: int) -> list[dict]:
    method, strength, *rest = variant.split(":")
    levels.Setup.build = with_layer_weights([float(w) for w in rest[0].split(",")] if rest else None)
    rows = []
    for pair in pairs:
        kw = {"mask": str(pair.mask)} if method == "mask" else {}
        r = S.stylize(str(pair.photo), style, method=method, size=size, iterations=iterations,
                      strength=float(strength), params=params, **kw)
        out = images.to_uint8(r.image).astype(np.float32)
        m = metrics.evaluate(params, out, r.content, grams, images.load_mask(pair.mask, r.content.shape[:2]))
        rows.append(dict(variant=variant, photo=pair.name, structure=m["structure_obj"], gain=m["gain_obj"]))
        print(rows[-1], flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", required=True)
    p.add_argument("--photos", required=True, help="comma list of photo names")
    p.add_argument("--style", default="../shared/data/styles/vangogh_starry_night.jpg")
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--iterations", type=int, default=300)
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--csv", default=None)
    a = p.parse_args(argv)
    params = vgg.prepare(weights.load()[0])
    pairs = find_pairs(a.pairs, a.photos.split(","))
    grams = metrics.style_grams(params, images.load_image(a.style, a.size))
    rows = [r for v in a.variants for r in run_variant(v, pairs, a.style, params, grams, a.size, a.iterations)]
    for v in a.variants:
        rr = [r for r in rows if r["variant"] == v]
        structure = " / ".join(f"{r['structure']:.2f}" for r in rr)
        gain = " / ".join(f"{r['gain']:.2f}" for r in rr)
        print(f"{v:24s} structure {structure}   gain {gain}")
    if a.csv:
        Path(a.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
