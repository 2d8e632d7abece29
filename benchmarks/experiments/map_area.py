#!/usr/bin/env python3
"""Share of the frame the ``auto`` object map marks (map >= 0.5) on unmasked ImageNet images.

A check of the object map off the DAVIS frames: on non-animal images the marked share is
false positive; on dog images it should be large. Used in docs/METHOD.md ("Thin parts"):

    python -m benchmarks.experiments.map_area --images ../shared/data/imagenet-sample --size 512

Every ``--every``-th non-animal class from index 400 and every second dog class (151-268).
Each new image shape compiles the map once, so this takes ~30 min on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from jaxstyle import images
from jaxstyle.model import weights
from jaxstyle.transfer.locate import auto_map


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", default="../shared/data/imagenet-sample", help="folder with labels.csv")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--every", type=int, default=8, help="every k-th non-animal class (default 8)")
    p.add_argument("--class", dest="class_name", default="dog")
    p.add_argument("--limit", type=int, default=None, help="at most this many images per group (a quick check)")
    a = p.parse_args(argv)
    params, _ = weights.load()
    root = Path(a.images)
    rows = list(csv.DictReader(open(root / "labels.csv")))
    groups = {"non-animal": [r for r in rows if int(r["class_index"]) >= 400][::a.every],
              "dog": [r for r in rows if 151 <= int(r["class_index"]) <= 268][::2]}
    for name, group in groups.items():
        areas = []
        for r in group[:a.limit]:
            img = images.load_image(root / r["filename"], a.size)
            m = auto_map(params, str(root / r["filename"]), img.shape[:2], a.class_name)
            areas.append(float((m >= 0.5).mean()))
        x = np.asarray(areas)
        print(f"{name}: {x.size} images, marked share mean {x.mean():.3f} median {np.median(x):.3f} "
              f"p90 {np.percentile(x, 90):.3f} above 0.3: {(x > 0.3).mean():.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
