#!/usr/bin/env python3
"""Looking again closer: the object map recomputed on a crop around the sure-object cells (not shipped).

    python benchmarks/map_zoom.py --pairs ../shared/data/masked --size 384
    python benchmarks/map_zoom.py --pairs ../shared/data/pets --size 384

Below 512 px a small animal's map spills into the ground (docs/RESULTS.md, "Map size"). Here,
when the sure-object cells of the first map fit in a square of at most ``--below`` of the
photo's long side (grown by ``--margin`` of its side on each side, at least ``--min-side``
of the long side), the photo as stored is cropped to that square, mapped again at
``--size``, and the crop's map pasted back (zero elsewhere). Prints, per source, the median
IoU and the share ≥ 0.6 (the class's photos) or ≤ 0.05 cover (other animals) with and
without the second look, and each zoomed photo.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from jaxstyle import data  # noqa: E402
from jaxstyle.evaluate import metrics  # noqa: E402
from jaxstyle.evaluate.evaluation import find_pairs  # noqa: E402
from jaxstyle.model import vgg, weights  # noqa: E402
from jaxstyle.transfer import objectmap as om, stylize  # noqa: E402


def crop_box(s: om.Seeded, hw: tuple[int, int], margin: float, min_side: float):
    """Square (y0, y1, x0, x1) in photo pixels around the sure-object labels, clipped; None without any."""
    sure = s.labels == cv2.GC_FGD
    if not sure.any():
        return None
    ys, xs = np.nonzero(sure)
    ky, kx = hw[0] / sure.shape[0], hw[1] / sure.shape[1]
    y0, y1, x0, x1 = ys.min() * ky, (ys.max() + 1) * ky, xs.min() * kx, (xs.max() + 1) * kx
    half = max(max(y1 - y0, x1 - x0) * (1 + 2 * margin), min_side * max(hw)) / 2
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    return (int(max(0, cy - half)), int(min(hw[0], cy + half)), int(max(0, cx - half)), int(min(hw[1], cx + half)))


def two_looks(params, probe, cfg, img: np.ndarray, stored: np.ndarray, a) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(first map, map with the second look, presence, zoom factor (0: none))."""
    s = om.seeded(img, om.features(params, img), probe, cfg)
    first = om.soft_edge(om.finish(s.small, s.labels, cfg.grabcut_iters, cfg.seed), img.shape[:2], cfg)
    b = crop_box(s, img.shape[:2], a.margin, a.min_side)
    if b is None or max(b[1] - b[0], b[3] - b[2]) > a.below * max(img.shape[:2]):
        return first, first, s.presence, 0.0
    y0, y1, x0, x1 = b
    ky, kx = stored.shape[0] / img.shape[0], stored.shape[1] / img.shape[1]
    crop = stored[int(y0 * ky):int(y1 * ky), int(x0 * kx):int(x1 * kx)]
    k = cfg.size / max(crop.shape[:2])
    crop = cv2.resize(crop, (max(8, round(crop.shape[1] * k)), max(8, round(crop.shape[0] * k))),
                      interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    s2 = om.seeded(crop, om.features(params, crop), probe, cfg)
    if s2.presence < cfg.min_evidence:
        return first, first, s.presence, 0.0
    second = np.zeros(img.shape[:2], np.float32)
    second[y0:y1, x0:x1] = om._resized(om.finish(s2.small, s2.labels, cfg.grabcut_iters, cfg.seed), (y1 - y0, x1 - x0))
    return first, om.soft_edge(second, img.shape[:2], cfg), s.presence, max(img.shape[:2]) / max(y1 - y0, x1 - x0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", nargs="+", default=["../shared/data/masked"])
    p.add_argument("--class", dest="class_name", default="dog")
    p.add_argument("--size", type=int, default=512, help="the map's long side, both looks")
    p.add_argument("--below", type=float, default=0.7, help="look again when the crop is at most this share of the long side")
    p.add_argument("--margin", type=float, default=0.5, help="the sure cells' box grows by this share of its side, each side")
    p.add_argument("--min-side", type=float, default=0.5, help="the crop is at least this share of the long side")
    a = p.parse_args(argv)
    params = vgg.prepare(weights.load()[0], "direct")
    probe = stylize._class_probe(params, a.class_name)
    cfg = stylize.map_config({"size": a.size})
    rows = []
    for folder in a.pairs:
        for pair in find_pairs(folder):
            img = np.asarray(data.load_image(pair.photo, a.size), np.float32)
            mask = data.load_mask(pair.mask, img.shape[:2])
            maps = two_looks(params, probe, cfg, img, np.asarray(data.load_image(pair.photo), np.float32), a)
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
