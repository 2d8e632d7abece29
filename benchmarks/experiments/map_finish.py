#!/usr/bin/env python3
"""The object map's finish: GrabCut (shipped) against the propagation methods the map could use instead.

    pip install scikit-image pymatting    # the random-walker and matting rows (skipped without them)
    python -m benchmarks.experiments.map_finish --class dog --pairs ../shared/data/pets ../shared/data/masked
    python -m benchmarks.experiments.map_finish --class cat --pairs ../shared/data/pets

Every variant starts from the same stages 1-2 (``objectmap.seeded``: objectness, regions kept
by the class probe, GrabCut's labels) and only the finish differs:

* ``grabcut``: ``grabcut.finish`` (colour models + graph cut; shipped);
* ``random-walker``: ``skimage.segmentation.random_walker`` from the sure labels (plus the
  probable object eroded) on the half-size photo;
* ``knn-matting``: ``pymatting.estimate_alpha_knn`` with the labels as a trimap, at 192 px;
* ``spectral-k``: Deep Spectral Methods' partition of the conv5_4 cells (eigenvectors of the
  normalised feature affinity, k-means into k+1 segments); segments with < 20 % of their
  cells in kept regions become sure background outside the sure object, then GrabCut;
* ``nmf-k``: the same with Deep Feature Factorization's segments (NMF of conv5_4, k factors).

Per variant and source: median map IoU and share ≥ 0.6 (the class's photos), share of other
animals covered ≤ 0.05, and host seconds per map (the VGG pass, shared, is not counted).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import cv2
import numpy as np

from jaxstyle import images
from jaxstyle.evaluate import metrics
from jaxstyle.evaluate.pairs import find_pairs
from jaxstyle.model import weights
from jaxstyle.transfer import grabcut as gc, locate, mapfeatures, objectmap as om

FG = (cv2.GC_FGD, cv2.GC_PR_FGD)


def random_walker(s: om.Seeded, cfg) -> np.ndarray:
    from skimage.segmentation import random_walker as rw

    gm = s.labels
    core = cv2.erode(np.isin(gm, FG).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    lab = np.zeros(gm.shape, np.int32)
    lab[(gm == cv2.GC_FGD) | core] = 1
    lab[gm == cv2.GC_BGD] = 2
    if not (lab == 1).any() or not (lab == 2).any():
        return np.isin(gm, FG).astype(np.float32)
    hw = (gm.shape[1] // 2, gm.shape[0] // 2)
    small = cv2.resize(s.small, hw, interpolation=cv2.INTER_AREA).astype(np.float64) / 255
    p = rw(small, cv2.resize(lab, hw, interpolation=cv2.INTER_NEAREST), mode="cg_j", channel_axis=-1,
           return_full_prob=True)[0]
    return (gc.resized(p, gm.shape) >= 0.5).astype(np.float32)


def knn_matting(s: om.Seeded, cfg) -> np.ndarray:
    import pymatting

    gm = s.labels
    tri = np.full(gm.shape, 0.5)
    tri[gm == cv2.GC_FGD], tri[gm == cv2.GC_BGD] = 1.0, 0.0
    if not (tri == 1).any() or not (tri == 0).any():
        return np.isin(gm, FG).astype(np.float32)
    k = 192 / max(gm.shape)
    hw = (round(gm.shape[1] * k), round(gm.shape[0] * k))
    a = pymatting.estimate_alpha_knn(cv2.resize(s.small, hw, interpolation=cv2.INTER_AREA) / 255.0,
                                     cv2.resize(tri, hw, interpolation=cv2.INTER_NEAREST))
    return (gc.resized(a, gm.shape) >= 0.5).astype(np.float32)


def spectral_segments(f: np.ndarray, k: int) -> np.ndarray:
    """Cells (h, w) labelled by k-means on the first k non-trivial eigenvectors of the normalised feature affinity."""
    x = f.reshape(-1, f.shape[-1]).astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
    a = np.maximum(x @ x.T, 0)
    d = 1 / np.sqrt(a.sum(1) + 1e-9)
    _, v = np.linalg.eigh(np.eye(len(d)) - d[:, None] * a * d[None])
    e = v[:, 1:k + 1] * d[:, None]
    e /= np.linalg.norm(e, axis=1, keepdims=True) + 1e-9
    crit = (cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS, 50, 1e-4)
    _, lab, _ = cv2.kmeans(e.astype(np.float32), k + 1, None, crit, 5, cv2.KMEANS_PP_CENTERS)
    return lab.reshape(f.shape[:2])


def nmf_segments(f: np.ndarray, k: int, iters: int = 100) -> np.ndarray:
    """Cells (h, w) labelled by their strongest of k NMF factors (multiplicative updates, fixed start)."""
    x = f.reshape(-1, f.shape[-1]).astype(np.float64)
    rng = np.random.default_rng(0)
    w, h = rng.random((x.shape[0], k)) + 0.1, rng.random((k, x.shape[1])) + 0.1
    for _ in range(iters):
        h *= (w.T @ x) / (w.T @ w @ h + 1e-9)
        w *= (x @ h.T) / (w @ h @ h.T + 1e-9)
    return w.argmax(1).reshape(f.shape[:2])


def segment_finish(segment, k: int, share: float = 0.2):
    def fin(s: om.Seeded, cfg, f) -> np.ndarray:
        cv2.setRNGSeed(cfg.seed)
        seg = segment(f, k)
        kept = s.keep[s.regions]
        ok = np.array([kept[seg == i].mean() >= share if (seg == i).any() else False for i in range(seg.max() + 1)])
        out = gc.resized(~ok[seg] & ~kept, s.labels.shape, nearest=True) > 0.5
        gm = s.labels.copy()
        gm[out & (gm != cv2.GC_FGD)] = cv2.GC_BGD
        return gc.finish(s.small, gm, cfg.grabcut_iters, cfg.seed)
    return fin


VARIANTS = {
    "grabcut": lambda s, cfg, f: gc.finish(s.small, s.labels, cfg.grabcut_iters, cfg.seed),
    "random-walker": lambda s, cfg, f: random_walker(s, cfg),
    "knn-matting": lambda s, cfg, f: knn_matting(s, cfg),
    "spectral-4": segment_finish(spectral_segments, 4),
    "nmf-4": segment_finish(nmf_segments, 4),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", nargs="+", default=["../shared/data/pets", "../shared/data/masked"])
    p.add_argument("--class", dest="class_name", default="dog")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS))
    p.add_argument("--limit", type=int, default=None, help="first N photos per folder (a quick check)")
    a = p.parse_args(argv)
    params = mapfeatures.vgg_params(weights.load()[0])
    probe = locate.class_probe(params, a.class_name)
    cfg = replace(locate.map_config(None), size=a.size)
    photos = []
    for folder in a.pairs:
        for pair in find_pairs(folder, limit=a.limit):
            img = images.load_image(pair.photo, a.size)
            photos.append((pair, img, images.load_mask(pair.mask, img.shape[:2]),
                           mapfeatures.features(params, np.asarray(img, np.float32))))
    print(f"{len(photos)} photos, `--class {a.class_name}`, map at {a.size} px\n")
    print("| finish | source | own: IoU median | own: IoU ≥ 0.6 | other animals: cover ≤ 0.05 | host s/map |")
    print("|---|---|---:|---:|---:|---:|")
    for name in a.variants.split(","):
        rows, t0 = [], time.perf_counter()
        try:
            for pair, img, mask, c in photos:
                s = om.seeded(img, c, probe, cfg)
                m = gc.soft_edge(VARIANTS[name](s, cfg, c["f"]), img.shape[:2], cfg)
                if s.presence < cfg.min_evidence:
                    m = np.zeros_like(m)
                own = pair.species == a.class_name
                v = (metrics.map_iou(m, mask, radius=metrics.band_radius(mask.shape)) if own
                     else float((m >= 0.5)[mask >= 0.5].mean()))
                rows.append((pair.source, own, v))
        except ImportError as e:
            print(f"| {name} | skipped: {e.name} is not installed | | | | |")
            continue
        secs = (time.perf_counter() - t0) / len(photos)
        for src in dict.fromkeys(r[0] for r in rows):
            own = np.array([v for s_, o, v in rows if s_ == src and o])
            oth = np.array([v for s_, o, v in rows if s_ == src and not o])
            print(f"| {name} | {src} | {np.median(own) if own.size else float('nan'):.3f} | "
                  f"{np.mean(own >= 0.6) if own.size else float('nan'):.2f} ({own.size}) | "
                  f"{np.mean(oth <= 0.05) if oth.size else float('nan'):.2f} ({oth.size}) | {secs:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
