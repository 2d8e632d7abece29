#!/usr/bin/env python3
"""Seconds per object map at 512 px on this machine, by stage: VGG pass, regions + GrabCut, closer look, edge.

    python -m benchmarks.speed.map_speed --photos ../shared/data/pets --limit 10 --class dog

Each photo's map is computed twice in one process; the second (warm: the VGG program for
that shape compiled) is the one reported, with the cold first one beside it. ``--batch N``
then times the photos' VGG passes N at a time against one at a time (``--map-batch``).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks import common
from jaxstyle import images
from jaxstyle.cli.stylize_cli import add_map_edge, add_map_variant, map_options
from jaxstyle.transfer import grabcut, locate, mapfeatures, matte, objectmap
from jaxstyle.model import weights


def stages(params, img, probe, cfg, head=None) -> dict[str, float]:
    """Wall seconds of the map's VGG pass (blocking until done; the other views' too: ``cfg.mirror``, ``cfg.scales``), its
    host stages (regions, GrabCut; the learned map: the cell head, the probe's judgement and GrabCut), its closer
    look (0 unless the photo gets one: a second VGG pass and GrabCut on a crop; the learned map's with ``cfg.closer``) and its
    matted edge (0 with ``edge="blur"``)."""
    img = np.asarray(img, np.float32)
    t0 = time.perf_counter()
    c = objectmap.with_views(params, [img], [mapfeatures.features(params, img, buckets=cfg.buckets,
                                                                   hyper=cfg.learned)], cfg)[0]
    t1 = time.perf_counter()
    if cfg.learned:
        m, _, presence = objectmap.learned_pass(params, img, c, head, probe, cfg)
        t2 = time.perf_counter()
        m = objectmap.learned_closer(params, img, m, presence, head, probe, cfg)
        t3 = time.perf_counter()
    else:
        s, m = objectmap.first_look(img, c, probe, cfg)
        t2 = time.perf_counter()
        if probe is not None:
            closer = objectmap.closer_look(params, img, s, m, probe, cfg)
            m = m if closer is None else grabcut.soft_edge(closer, img.shape[:2], cfg)
        t3 = time.perf_counter()
    if cfg.edge == "matte":
        matte.matted(img, m, cfg.band, cfg.matte)
    return {"vgg": t1 - t0, "host": t2 - t1, "closer": t3 - t2, "edge": time.perf_counter() - t3}


def main(argv=None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--photos", default="../shared/data/pets", help="folder of photos")
    p.add_argument("--glob", default="*.jpg", help="photo name pattern (dog_*.jpg: photos the class is in)")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--class", dest="class_name", default="dog")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--batch", type=int, default=1, help="also time the VGG passes N photos at a time (buckets 4)")
    p.add_argument("--buckets", type=int, default=0, help="pad each photo to one of N sizes per long side (0: own size)")
    p.add_argument("--conv", default="auto", choices=["auto", "direct", "winograd"],
                   help="the VGG pass's convolutions (auto: forward-only Winograd on the CPU, as shipped)")
    p.add_argument("--probe-map", action="store_true",
                   help="time the probe map (stylize --probe-map) instead of the class's default map")
    add_map_variant(p)
    add_map_edge(p)
    a = p.parse_args(argv)
    params = mapfeatures.vgg_params(weights.load()[0], a.conv)
    probe = locate.class_probe(params, a.class_name)
    opts = {"size": a.size, "buckets": a.buckets, **(map_options(a) or {})}
    cfg, head = locate.map_choice(opts, a.class_name, params)
    if cfg.learned and head is None:
        head = locate.class_head(a.class_name)
    paths = sorted(Path(a.photos).glob(a.glob))[: a.limit]
    print("| photo | size | cold s (whole map) | warm: VGG s | regions + GrabCut s | closer look s | edge s | warm total s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    totals = []
    for path in paths:
        img = np.asarray(images.load_image(path, a.size), np.float32)
        t = time.perf_counter()
        objectmap.object_map(params, img, None, probe, cfg, head)
        cold = time.perf_counter() - t
        st = stages(params, img, probe, cfg, head)
        totals.append(sum(st.values()))
        print(f"| {path.stem} | {img.shape[1]}x{img.shape[0]} | {cold:.2f} | {st['vgg']:.2f} | {st['host']:.2f} | "
              f"{st['closer']:.2f} | {st['edge']:.2f} | {totals[-1]:.2f} |", flush=True)
    # ``_cache_size`` is a private method of JAX's jitted functions: JAX has no public count of the
    # programs one jitted function holds (and jax.monitoring's compile events do not say which function)
    print(f"\nmedian warm map: {np.median(totals):.2f} s over {len(totals)} photos; "
          f"{mapfeatures.compiled._cache_size()} VGG programs compiled")
    if a.batch > 1:
        print(batched(params, [np.asarray(images.load_image(p_, a.size), np.float32) for p_ in paths], a.batch))
    return 0


def batched(params, imgs, batch: int) -> str:
    """The photos' VGG passes ``batch`` at a time against one at a time (both compiled first), with buckets 4."""
    secs = {}
    for n in (1, batch, 1, batch):  # each compiled by its first round, timed by its second
        t = time.perf_counter()
        mapfeatures.features_many(params, imgs, None, 4, n)
        secs[n] = time.perf_counter() - t
    return (f"VGG passes of {len(imgs)} photos (buckets 4, warm): one at a time {secs[1]:.2f} s, "
            f"{batch} at a time {secs[batch]:.2f} s ({secs[1] / secs[batch]:.2f}x)")


if __name__ == "__main__":
    raise SystemExit(main())
