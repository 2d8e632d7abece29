#!/usr/bin/env python3
"""The map's edge: the Gaussian blur (``MapConfig.edge = "blur"``) against pymatting's matte (``"matte"``).

    python -m benchmarks.experiments.map_edge --variants blur,cf:0.01,cf:0.02 --pets-every 5

Each photo's default map (``locate``, ``--class`` its own species: the learned map for dog and
cat) is computed once with the blurred edge and cached (``--cache``); a matte variant
``ESTIMATOR:BAND`` mats ``map >= 0.5`` on the photo (:func:`jaxstyle.transfer.matte.matted`),
which is what ``edge="matte"`` does after the same map. Per photo of a dog or a cat whose map
is not refused, against its hand mask, with the 2 % band around the mask's outline of
``evaluate --maps-only`` (docs/METRICS.md):

* ``iou``: IoU of ``map >= 0.5``, the band ignored (``evaluate --maps-only``'s);
* ``iou_all``: the same over every pixel;
* ``mae``: mean |map - mask| in the band (the soft edge against the hand outline);
* ``mae_true``: the same when the edge starts from the hand mask itself (the blur of the
  mask, or the matte of its trimap): what the edge costs a right outline;
* ``mae_off``: the same from the hand mask moved out and in by ``SHIFT`` (2 px at 512; the
  mean of the two): whether the edge finds the photo's outline, whatever the map's errors;
* ``s``: host seconds of the edge (the map before it not counted).

Prints per source (pets, davis, msrc) the median and mean of each, and the share of photos whose
``mae``, ``mae_true`` and ``mae_off`` are below the blur's (with ``blur`` among the variants).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from jaxstyle import images
from jaxstyle.evaluate import metrics
from jaxstyle.evaluate.pairs import find_pairs
from jaxstyle.transfer.edges import blurred_edge
from jaxstyle.transfer.mapconfig import MapConfig

SIZE = 512
SHIFT = 0.004  # mae_off: the hand mask moved out and in by this share of the long side (2 px at 512)
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def photos(data: Path, pets_every: int) -> list:
    """``(pair, source, species)`` of the dogs and cats: every ``pets_every``-th pets photo, the DAVIS dog
    frames (masked/ and more-masked/) and every MSRC dog and cat."""
    out = [(p, "pets", p.species) for p in find_pairs(data / "pets")[::pets_every]]
    out += [(p, "davis", "dog") for p in find_pairs(data / "masked") if p.name.startswith("davis_dog_")]
    for p in find_pairs(data / "more-masked"):
        kind, src = p.name.split("_")[:2]
        if kind in ("dog", "cat") and src in ("msrc", "davis2016"):
            out.append((p, "davis" if src == "davis2016" else src, kind))
    return out


def cached_map(params, pair, species: str, cache: Path) -> tuple[np.ndarray, bool]:
    """The default map at ``SIZE`` and whether it is refused, from ``cache`` or computed."""
    from jaxstyle.evaluate.mapeval import shown_map
    from jaxstyle.transfer.locate import locate

    f = cache / f"{pair.name}_{species}.npz"
    if f.is_file():
        z = np.load(f)
        return z["map"], bool(z["refused"])
    m, refused = shown_map(locate(params, str(pair.photo), species))
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(f, map=m, refused=refused)
    return m, refused


def edge(variant: str, rgb: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """``soft`` (a blurred map) with the edge ``variant``: "blur" (as it is) or "ESTIMATOR:BAND"."""
    from jaxstyle.transfer.matte import matted

    if variant == "blur":
        return soft
    est, band = variant.split(":")
    return matted(rgb, soft, float(band), est)


def scores(variant: str, rgb: np.ndarray, soft: np.ndarray, mask: np.ndarray) -> dict:
    rad = metrics.band_radius(mask.shape)
    obj, bg = metrics.regions(mask, rad)
    band = ~(obj | bg)
    t0 = time.perf_counter()
    m = edge(variant, rgb, soft)
    secs = time.perf_counter() - t0
    lab = (mask >= 0.5).astype(np.float32)
    true = edge(variant, rgb, blurred_edge(lab, MapConfig.feather))
    off = [edge(variant, rgb, blurred_edge(x, MapConfig.feather)) for x in moved(lab, SHIFT)]
    return {"iou": metrics.map_iou(m, mask, radius=rad), "iou_all": metrics.map_iou(m, mask, radius=0),
            "mae": float(np.abs(m - lab)[band].mean()), "mae_true": float(np.abs(true - lab)[band].mean()),
            "mae_off": float(np.mean([np.abs(x - lab)[band].mean() for x in off])), "s": secs}


def moved(lab: np.ndarray, shift: float) -> list[np.ndarray]:
    """``lab`` (H, W) in {0, 1} dilated and eroded by ``shift`` of the long side: a mask a few px off."""
    import cv2

    r = max(1, int(round(shift * max(lab.shape))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return [cv2.dilate(lab, disk), cv2.erode(lab, disk)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--variants", default="blur,cf:0.01,cf:0.02")
    p.add_argument("--pets-every", type=int, default=5, help="every N-th pets photo (sorted by name)")
    p.add_argument("--sources", default="pets,davis,msrc")
    p.add_argument("--every", type=int, default=1, help="every N-th of those photos (a quicker sample)")
    p.add_argument("--cache", type=Path, default=Path(".cache/map_edge"))
    a = p.parse_args(argv)
    from jaxstyle.model import weights
    from jaxstyle.transfer import mapfeatures

    params = mapfeatures.vgg_params(weights.load()[0])
    wanted = a.sources.split(",")
    rows = []
    for pair, src, species in [x for x in photos(a.data, a.pets_every) if x[1] in wanted][::a.every]:
        m, refused = cached_map(params, pair, species, a.cache)
        if refused or not (m >= 0.5).any():
            continue
        rgb = images.load_image(pair.photo, SIZE)
        mask = images.load_mask(pair.mask, m.shape)
        for v in a.variants.split(","):
            rows.append({"photo": pair.name, "source": src, "variant": v, **scores(v, rgb, m, mask)})
    keys = ("iou", "iou_all", "mae", "mae_true", "mae_off", "s")
    base = {(r["photo"], k): r[k] for r in rows if r["variant"] == "blur" for k in keys}
    print("| source | edge | n | " + " | ".join(f"{k} median | {k} mean" for k in keys) +
          " | mae < blur's | mae_true < blur's | mae_off < blur's |")
    print("|---|---|---:|" + "---:|---:|" * len(keys) + "---:|---:|---:|")
    for src in wanted:
        for v in a.variants.split(","):
            rs = [r for r in rows if r["source"] == src and r["variant"] == v]
            if rs:
                cells = " | ".join(f"{np.median([r[k] for r in rs]):.4f} | {np.mean([r[k] for r in rs]):.4f}"
                                   for k in keys)
                wins = " | ".join(f"{np.mean([r[k] < base.get((r['photo'], k), np.nan) for r in rs]):.2f}"
                                  for k in ("mae", "mae_true", "mae_off"))
                print(f"| {src} | {v} | {len(rs)} | {cells} | {wins} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
