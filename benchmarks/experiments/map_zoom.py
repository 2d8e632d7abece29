#!/usr/bin/env python3
"""The object map with and without its closer look (``objectmap.closer_look``), per source.

    python -m benchmarks.experiments.map_zoom --pairs ../shared/data/masked ../shared/data/pets
    python -m benchmarks.experiments.map_zoom --pairs ../shared/data/masked --size 384   # animals smaller in the frame

Below 512 px, or for an animal that takes a third of the frame, the first look's map spills
into ground of the animal's colour (docs/RESULTS.md, "Map size"). The closer look maps a
crop around the sure-object cells again. Prints, per source, the median IoU and the share
≥ 0.6 (the class's photos) or ≤ 0.05 cover (other animals) of the first look and of the
shipped map, and each photo that was looked at closer. ``--below`` etc. override the
``MapConfig.zoom_*`` knobs.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from jaxstyle import images
from jaxstyle.evaluate import metrics
from jaxstyle.evaluate.pairs import find_pairs
from jaxstyle.model import weights
from jaxstyle.transfer import grabcut as gc, locate, mapfeatures, objectmap as om


def two_looks(params, probe, cfg, img: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(first look's map, the shipped map, presence, zoom factor (0: no closer look))."""
    s, first = om.first_look(img, mapfeatures.features(params, img), probe, cfg)
    closer = om.closer_look(params, img, s, first, probe, cfg)
    if closer is None:
        return first, first, s.presence, 0.0
    y0, y1, x0, x1 = om.crop_box(s.labels, img.shape[:2], cfg)
    return first, gc.soft_edge(closer, img.shape[:2], cfg), s.presence, max(img.shape[:2]) / max(y1 - y0, x1 - x0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", nargs="+", default=["../shared/data/masked"])
    p.add_argument("--class", dest="class_name", default="dog")
    p.add_argument("--size", type=int, default=512, help="the map's long side, both looks")
    p.add_argument("--below", type=float, default=None, help="MapConfig.zoom_below (default: shipped)")
    p.add_argument("--margin", type=float, default=None, help="MapConfig.zoom_margin")
    p.add_argument("--min-side", type=float, default=None, help="MapConfig.zoom_min_side")
    p.add_argument("--inside", type=float, default=None, help="MapConfig.zoom_inside")
    p.add_argument("--spill", type=float, default=None, help="MapConfig.zoom_spill")
    a = p.parse_args(argv)
    params = mapfeatures.vgg_params(weights.load()[0])
    probe = locate.class_probe(params, a.class_name)
    knobs = {"zoom_below": a.below, "zoom_margin": a.margin, "zoom_min_side": a.min_side, "zoom_inside": a.inside,
             "zoom_spill": a.spill}
    cfg = locate.map_config({"size": a.size, **{k: v for k, v in knobs.items() if v is not None}})
    rows = []
    for folder in a.pairs:
        for pair in find_pairs(folder):
            img = np.asarray(images.load_image(pair.photo, a.size), np.float32)
            mask = images.load_mask(pair.mask, img.shape[:2])
            maps = two_looks(params, probe, cfg, img)
            own = pair.species == a.class_name
            vals = []
            for m in maps[:2]:
                m = m if maps[2] >= cfg.min_evidence else np.zeros_like(m)
                vals.append(metrics.map_iou(m, mask, radius=metrics.band_radius(mask.shape)) if own
                            else float((m >= 0.5)[mask >= 0.5].mean()))
            rows.append((pair.source, own, *vals, maps[3]))
            if maps[3]:
                print(f"{pair.name}: zoom x{maps[3]:.2f}, {vals[0]:.3f} -> {vals[1]:.3f}", flush=True)
    for src in dict.fromkeys(r[0] for r in rows):
        for own in (True, False):
            rs = np.array([r[2:] for r in rows if r[0] == src and r[1] == own])
            if not len(rs):
                continue
            z = int((rs[:, 2] > 0).sum())
            if own:
                print(f"{src}, own ({len(rs)}): median {np.median(rs[:, 0]):.3f} -> {np.median(rs[:, 1]):.3f}, "
                      f"≥ 0.6 {np.mean(rs[:, 0] >= 0.6):.2f} -> {np.mean(rs[:, 1] >= 0.6):.2f}; {z} zoomed")
            else:
                print(f"{src}, other ({len(rs)}): ≤ 0.05 {np.mean(rs[:, 0] <= 0.05):.2f} -> "
                      f"{np.mean(rs[:, 1] <= 0.05):.2f}; {z} zoomed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
