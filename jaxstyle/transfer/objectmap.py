"""Object map: the whole object of the class, and nothing else, from VGG-19 alone.

No segmentation network and no user mask. Three stages, and a closer look:

1. **objectness** (one jitted VGG-19 pass to ``conv5_4``, 1/16 resolution): each cell's
   summed activation over the photo's mean (SCDA, Wei et al. 2017). Deep activations are
   strong on objects and weak on background, and they cover bodies, not only the faces
   the class filters fire on.
2. **regions** (host): the connected regions of objectness > 1. With the class probe
   (:mod:`jaxstyle.select.probes.probe`, a softmax over the class and its look-alikes trained on the
   scoring pool's pooled features) each region is judged by the probe's two heads, its
   cells' max and their mean: it is the object when either head finds the class beating
   every other group, and the class is present only where both do: a cat beside a dog, a
   goat or a swan is rejected. With hand-given filters the
   region holding their strongest evidence is the object.
3. **finish** (host): OpenCV's GrabCut (Rother et al. 2004) at ``grabcut_side`` px, seeded
   with kept regions as probable object (less the cells the probe calls scene), their cells
   above 1.5x Otsu's threshold as sure object, the cells joined to them through what the
   probe calls animal as probable object too, rejected regions and low objectness as sure
   background; upsampled with a soft edge: blurred, or with ``MapConfig.edge = "matte"`` matted on
   the photo in a band around its outline (:mod:`jaxstyle.transfer.matte`).
4. **closer look** (:func:`closer_look`, probe only): when the sure object fits in a small
   square and the first map spills from it into scene, stages 1-3 run again on that square
   upsampled to ``size`` (one more VGG pass), and the result is pasted back.
5. **second look** (:func:`second_look`, probe only, opt-in): a photo the class is not found in has
   each of its large regions that one probe head calls the class mapped again on a square
   around it (an animal half the frame's width or less, which the probe, trained on whole
   images, takes for another group).

``presence`` (probe only) is the class probability of the best kept region (after the
second look); below ``min_evidence`` the caller refuses ("no dog found") instead of
restyling random texture.

With ``MapConfig.learned`` the learned map (:mod:`jaxstyle.transfer.learnedmap`, what ``auto`` uses
for a class whose cell head ships, :func:`jaxstyle.transfer.locate.map_config`) replaces stages 1-5
on the same VGG pass. Both finish with GrabCut (:mod:`jaxstyle.transfer.grabcut`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np

from ..errors import UsageError
from .grabcut import finish, grabcut_image, resized, soft_edge
from .learnedmap import head_presence, learned_map, view_key
from .mapconfig import MapConfig
from .matte import matted
from .mapfeatures import features, features_many
from ..select.probes.regions import object_regions, objectness, region_rows

# ``MapConfig.second_look`` with ``--second-look``. Off by default: it finds 3 of 5 refused cats beside
# a dog, and also a DAVIS horse + rider frame as a dog (docs/RESULTS.md, "Two animals in one photo").
SECOND_LOOK = 0.05
# ``MapConfig`` fields of ``--head-gate``: the probe map, refused where the cell head finds no class (docs/RESULTS.md).
GATE = {"gate": 0.9}


def otsu(obj: np.ndarray) -> float:
    """Otsu's threshold of the objectness values, at least 1 (the mean): the strong object cells."""
    import cv2

    if obj.max() <= 0:
        return 1.0
    q = np.round(obj * (255.0 / obj.max())).astype(np.uint8)
    t, _ = cv2.threshold(q, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return max(1.0, float(t) * float(obj.max()) / 255.0)


def cell_probs(f: np.ndarray, probe) -> tuple[np.ndarray, np.ndarray]:
    """Per cell ``(scene, own)``: the probe's probability of its last group (``other``: not an
    animal), and whether the class beats every other animal group there. Without a probe no
    cell is scene and every cell is the class's.
    """
    if probe is None:
        return np.zeros(f.shape[:2], np.float32), np.ones(f.shape[:2], bool)
    p = probe.mean_probs(f)
    return p[..., -1], p[..., 0] >= p[..., 1:-1].max(-1, initial=0.0)


def regions(f: np.ndarray, obj: np.ndarray, probe=None, ev: np.ndarray | None = None,
            seed_share: float = 0.1) -> tuple[np.ndarray, np.ndarray, float]:
    """The object-like regions that are the class: ``(labels (h, w), keep (n,), presence)``.

    Regions are the 8-connected components of ``obj > 1``. With a probe each region is
    judged by its two heads (:meth:`jaxstyle.select.probes.probe.Probe.judge`): its cells pooled the
    probe's way (max) by the first, their mean by the mean head. A region is kept when
    either head calls it the class, and presence is the best evidence, from regions both
    heads call the class (a cat, a horse or a goat passes one at most). With filter evidence ``ev`` a region is kept when it
    holds the strongest evidence or ``seed_share`` of its cells are half the maximum;
    presence is then 1.
    """
    n, lab = object_regions(obj)
    keep = np.zeros(n, bool)
    if probe is not None:
        kept, evidence = probe.judge(*region_rows(f, lab, range(1, n), probe.pooling))
        keep[1:] = kept
        return lab, keep, float(evidence.max(initial=0.0))
    hit = (ev >= 0.5 * ev.max()).ravel()
    share = np.bincount(lab.ravel(), weights=hit, minlength=n) / np.maximum(np.bincount(lab.ravel(), minlength=n), 1)
    keep = share > seed_share
    keep[lab.ravel()[np.argmax(np.where(obj > 1.0, ev, -1.0))]] = True
    keep[0] = False
    return lab, keep, 1.0


def grown(lab: np.ndarray, keep: np.ndarray, obj: np.ndarray, scene: np.ndarray, cfg: MapConfig) -> np.ndarray:
    """Cells (h, w) joined to a kept region through cells the probe calls animal (not scene) above the floor.

    A plain coat (a white bulldog's body) is weak in ``conv5_4`` and below objectness 1, so
    the regions hold the head; these cells reach the rest of the animal as probable object.
    """
    import cv2

    ok = (scene < cfg.scene) & (obj > cfg.floor)
    _, comp = cv2.connectedComponents(ok.astype(np.uint8), connectivity=8)
    hit = np.unique(comp[keep[lab] & ok])
    return np.isin(comp, hit[hit > 0])


def seeds(lab: np.ndarray, keep: np.ndarray, obj: np.ndarray, scene: np.ndarray, strong: float,
          cfg: MapConfig, grow: np.ndarray | None = None, own: np.ndarray | None = None) -> np.ndarray:
    """GrabCut labels (h, w) uint8 from region labels, objectness and scene probability at the working size.

    Kept regions' cells are probable object unless the probe calls them scene (a fence or a
    bush joined to the animal), their cells above ``strong`` objectness (``core`` times
    Otsu's threshold of the photo's cells) sure object where the cell itself is the class's
    (``own``, :func:`cell_probs`; a fence joined to the dog stays probable); rejected regions
    (another class) and low objectness are sure background; :func:`grown` cells (``grow``) probable object;
    the rest probable background.
    """
    import cv2

    cand = keep[lab] & (scene < cfg.scene)
    gm = np.full(lab.shape, cv2.GC_PR_BGD, np.uint8)
    gm[cand] = cv2.GC_PR_FGD
    gm[cand & (obj > strong) & (True if own is None else own)] = cv2.GC_FGD
    gm[(obj < cfg.floor) | (~keep[lab] & (lab > 0))] = cv2.GC_BGD
    if grow is not None:
        gm[grow & (gm == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
    return gm


def object_map(params: Mapping, rgb: np.ndarray, filters: Mapping[str, Sequence[int]] | None = None,
               probe=None, cfg: MapConfig = MapConfig(), head=None) -> dict:
    """Soft object map (H, W) in [0, 1] for an RGB photo (H, W, 3) in [0, 255].

    Returns ``{"map", "objectness", "presence"}`` (objectness at 1/16 resolution).
    ``filters`` locate the class when ``probe`` is None; with ``cfg.learned`` the cell
    ``head`` (:mod:`jaxstyle.select.heads.cellhead`) does (:func:`learned_map`).
    """
    return object_maps(params, [rgb], filters, probe, cfg, head=head)[0]


def object_maps(params: Mapping, rgbs: Sequence[np.ndarray], filters: Mapping[str, Sequence[int]] | None = None,
                probe=None, cfg: MapConfig = MapConfig(), batch: int = 1, head=None) -> list[dict]:
    """:func:`object_map` of each photo, their VGG passes ``batch`` at a time (:func:`features_many`)."""
    if (cfg.learned or cfg.gate > 0) and head is None:
        raise UsageError("the learned map and the head gate need a cell head (jaxstyle head)")
    if not cfg.learned and probe is None and not (filters and any(len(v) for v in filters.values())):
        raise UsageError("the object map needs a class probe or a filter list")
    rgbs = [np.asarray(rgb, np.float32) for rgb in rgbs]
    hand = None if (probe is not None or cfg.learned) else filters
    feats = with_views(params, rgbs, features_many(params, rgbs, hand, cfg.buckets, batch,
                                                   hyper=cfg.learned or cfg.gate > 0), cfg, batch)
    return [map_from_features(params, rgb, c, probe, cfg, head) for rgb, c in zip(rgbs, feats)]


def with_views(params: Mapping, rgbs: Sequence[np.ndarray], feats: list[dict], cfg: MapConfig,
               batch: int = 1) -> list[dict]:
    """``feats`` of ``rgbs``, each with the other views' hypercolumns the learned map averages over: its mirror
    image's (``"h_mirror"``, ``cfg.mirror``) and the photo's at each of ``cfg.scales`` times its size
    (:func:`view_key`); a VGG pass per view and photo. Without the learned map or a view, ``feats`` as they are."""
    if not cfg.learned:
        return feats
    scales = () if cfg.scales_from > 0 else cfg.scales  # size-gated views: only when needed (learned_pass)
    views = ([("h_mirror", True, 1.0)] if cfg.mirror else []) + [(view_key(x), False, x) for x in scales]
    out = [dict(c) for c in feats]
    for key, mirror, scale in views:
        imgs = [view_image(rgb, mirror, scale) for rgb in rgbs]
        for c, v in zip(out, features_many(params, imgs, None, cfg.buckets, batch, hyper=True)):
            c[key] = v["h"]
    return out


def view_image(rgb: np.ndarray, mirror: bool = False, scale: float = 1.0) -> np.ndarray:
    """The photo ``rgb`` as one of :func:`with_views`' views: resized by ``scale`` (each side at least 32 px),
    then mirrored."""
    if scale != 1.0:
        rgb = resized(rgb, (max(32, round(rgb.shape[0] * scale)), max(32, round(rgb.shape[1] * scale))))
    return np.ascontiguousarray(rgb[:, ::-1]) if mirror else rgb


def map_from_features(params: Mapping, rgb: np.ndarray, c: Mapping[str, np.ndarray], probe, cfg: MapConfig,
                      head=None) -> dict:
    """One photo's map from its :func:`features` ``c`` (:func:`located`), its edge matted on the photo
    (:func:`jaxstyle.transfer.matte.matted`) with ``cfg.edge == "matte"`` unless the photo is refused."""
    out = located(params, rgb, c, probe, cfg, head)
    if cfg.edge == "matte" and out["presence"] >= cfg.min_evidence:
        out["map"] = matted(rgb, out["map"], cfg.band, cfg.matte)
    return out


def located(params: Mapping, rgb: np.ndarray, c: Mapping[str, np.ndarray], probe, cfg: MapConfig,
            head=None) -> dict:
    """One photo's map with the blurred edge: :func:`learned_map` with ``cfg.learned``; else the
    first look and, with a probe, a :func:`closer_look` when its sure object is small (one more VGG
    pass) and the opt-in :func:`second_look`. With ``cfg.gate`` a photo whose :func:`head_presence` is
    below it is refused first (presence 0): the probe map, vetoed by the learned head."""
    if cfg.learned:
        m, p, presence = learned_pass(params, rgb, c, head, probe, cfg)
        m = learned_closer(params, rgb, m, presence, head, probe, cfg)
        return {"map": m, "objectness": objectness(c["f"]), "presence": presence, "cells": p}
    if cfg.gate > 0 and head_presence(c, head)[0] < cfg.gate:
        return {"map": np.zeros(rgb.shape[:2], np.float32), "objectness": objectness(c["f"]), "presence": 0.0}
    s, m = first_look(rgb, c, probe, cfg)
    closer = closer_look(params, rgb, s, m, probe, cfg) if probe is not None else None
    if closer is not None:
        m = soft_edge(closer, rgb.shape[:2], cfg)
    presence = s.presence
    again = (second_look(params, rgb, s, probe, cfg)
             if probe is not None and presence < cfg.min_evidence and cfg.second_look > 0 else None)
    if again is not None:
        m, presence = soft_edge(again[0], rgb.shape[:2], cfg), again[1]
    return {"map": m, "objectness": s.objectness, "presence": presence}


@dataclass(frozen=True)
class Seeded:
    """Stages 1-2 of a photo's map, ready for the finish: GrabCut's labels at its working size."""

    small: np.ndarray       # the photo at ``grabcut_side`` (uint8 RGB)
    labels: np.ndarray      # GrabCut labels at that size (:func:`seeds`)
    presence: float
    objectness: np.ndarray  # at the feature grid (h, w)
    regions: np.ndarray     # region labels at the feature grid (:func:`regions`)
    keep: np.ndarray        # per region: the object's
    scene: np.ndarray       # per cell: the probe's "not an animal" probability (:func:`cell_probs`)


def seeded(rgb: np.ndarray, c: Mapping[str, np.ndarray], probe, cfg: MapConfig) -> Seeded:
    """Objectness, regions, the probe's cells and GrabCut's labels of ``rgb`` from :func:`features` ``c``."""
    obj = objectness(c["f"])
    lab, keep, presence = regions(c["f"], obj, probe, c.get("evidence"), cfg.seed_share)
    scene, own = cell_probs(c["f"], probe)
    small = grabcut_image(rgb, cfg.grabcut_side)
    hw = small.shape[:2]
    grow = resized(grown(lab, keep, obj, scene, cfg), hw, nearest=True) > 0.5 if probe is not None else None
    gm = seeds(resized(lab, hw, nearest=True).astype(np.int64), keep, resized(obj, hw), resized(scene, hw),
               cfg.core * otsu(obj), cfg, grow, resized(own, hw, nearest=True) > 0.5)
    return Seeded(small, gm, presence, obj, lab, keep, scene)


def first_look(rgb: np.ndarray, c: Mapping[str, np.ndarray], probe, cfg: MapConfig) -> tuple[Seeded, np.ndarray]:
    """Stages 2 and 3 on the host, from :func:`features` ``c`` of ``rgb``: the seeds and the soft map (H, W)."""
    s = seeded(rgb, c, probe, cfg)
    return s, soft_edge(finish(s.small, s.labels, cfg.grabcut_iters, cfg.seed), rgb.shape[:2], cfg)


def _cells_box(cells: np.ndarray, hw: tuple[int, int], cfg: MapConfig) -> tuple[int, int, int, int] | None:
    """The square ``(y0, y1, x0, x1)`` (pixels of a photo of size ``hw``, clipped to it) around the true cells
    of a grid ``cells``, grown by ``zoom_margin`` of its side each way and at least ``zoom_min_side`` of the
    long side; None without a true cell."""
    ys, xs = np.nonzero(cells)
    if not len(ys):
        return None
    ky, kx = hw[0] / cells.shape[0], hw[1] / cells.shape[1]
    y0, y1, x0, x1 = ys.min() * ky, (ys.max() + 1) * ky, xs.min() * kx, (xs.max() + 1) * kx
    half = max(max(y1 - y0, x1 - x0) * (1 + 2 * cfg.zoom_margin), cfg.zoom_min_side * max(hw)) / 2
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    return (int(max(0, cy - half)), int(min(hw[0], cy + half)), int(max(0, cx - half)), int(min(hw[1], cx + half)))


def crop_box(labels: np.ndarray, hw: tuple[int, int], cfg: MapConfig) -> tuple[int, int, int, int] | None:
    """:func:`_cells_box` around the sure-object labels."""
    import cv2

    return _cells_box(labels == cv2.GC_FGD, hw, cfg)


def edge_share(m: np.ndarray, cut: Sequence[bool]) -> float:
    """Share of the crop's edges (top, bottom, left, right) that are ``cut`` (inside the photo) which ``m`` covers."""
    edges = [e for e, c in zip((m[0], m[-1], m[:, 0], m[:, -1]), cut) if c]
    return float(np.concatenate(edges).mean()) if edges else 0.0


def closer_look(params: Mapping, rgb: np.ndarray, s: Seeded, first: np.ndarray, probe,
                cfg: MapConfig) -> np.ndarray | None:
    """The object (H, W) in {0, 1} found again on a crop around the sure object, or None to keep ``first``.

    A small animal (a third of the frame) lets GrabCut spill into ground of its colour at the
    map's size. When the sure object's :func:`crop_box` is at most ``zoom_below`` of the long
    side, and ``first`` (the first look's map, (H, W)) reaches outside the crop mostly into
    what the probe calls scene (a spill, not a body running on), the crop is upsampled to
    ``size`` and mapped again (stages 1-3). That map stands when the class is found in the
    crop and the map stays off its cut edges (else the animal runs past the crop).
    """
    H, W = rgb.shape[:2]
    b = crop_box(s.labels, (H, W), cfg) if cfg.zoom_below > 0 else None
    if b is None or max(b[1] - b[0], b[3] - b[2]) > cfg.zoom_below * max(H, W):
        return None
    y0, y1, x0, x1 = b
    out = first >= 0.5
    out[y0:y1, x0:x1] = False
    if out.any() and 1.0 - (resized(s.scene, (H, W)) >= cfg.scene)[out].mean() > cfg.zoom_spill:
        return None
    found = _map_crop(params, rgb, b, probe, cfg)
    if found is None or edge_share(found[0], (y0 > 0, y1 < H, x0 > 0, x1 < W)) > cfg.zoom_inside:
        return None
    m = np.zeros((H, W), np.float32)
    m[y0:y1, x0:x1] = found[0]
    return m


def learned_pass(params: Mapping, rgb: np.ndarray, c: Mapping[str, np.ndarray], head, probe,
                 cfg: MapConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`learned_map` of ``rgb``; with ``cfg.scales_from``, the map without the ``scales`` views first, and
    again with those of :func:`sized_views` (their VGG passes now, unless ``c`` holds them): a view at a smaller
    scale shows a close-up animal at the size the head learned from, a larger one a small animal."""
    if not (cfg.scales_from > 0 and cfg.scales):
        return learned_map(rgb, c, head, cfg, probe)
    m, p, presence = learned_map(rgb, c, head, replace(cfg, scales=()), probe)
    views = sized_views(cfg.scales, span(m), cfg.scales_from) if presence >= cfg.min_evidence else ()
    if not views:
        return m, p, presence
    cfg = replace(cfg, scales=views)
    if any(view_key(x) not in c for x in views):
        c = with_views(params, [rgb], [c], replace(cfg, scales_from=0.0, mirror=False))[0]
    return learned_map(rgb, c, head, cfg, probe)


def sized_views(scales: Sequence[float], s: float, least: float) -> tuple[float, ...]:
    """The views of ``scales`` a map spanning ``s`` of the photo takes: those below 1 when ``s`` is at least
    ``least`` (a close-up shown smaller), the others when it is less (a small object shown larger)."""
    return tuple(x for x in scales if (x < 1.0) == (s >= least))


def span(m: np.ndarray) -> float:
    """The long side of the box around ``m >= 0.5`` as a share of the photo's long side (0 for an empty map)."""
    ys, xs = np.nonzero(m >= 0.5)
    return 0.0 if not len(ys) else max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) / max(m.shape)


def learned_closer(params: Mapping, rgb: np.ndarray, first: np.ndarray, presence: float, head, probe,
                   cfg: MapConfig) -> np.ndarray:
    """The learned map ``first`` (H, W) of a photo whose class is present, made again by
    :func:`learned_closer_look` with ``cfg.closer`` (soft-edged), else as it is."""
    closer = (learned_closer_look(params, rgb, first, head, probe, cfg)
              if cfg.closer and presence >= cfg.min_evidence else None)
    return first if closer is None else soft_edge(closer, rgb.shape[:2], cfg)


def learned_closer_look(params: Mapping, rgb: np.ndarray, first: np.ndarray, head, probe,
                        cfg: MapConfig) -> np.ndarray | None:
    """The learned map's closer look: the object (H, W) in {0, 1} found again on a crop around a small
    ``first`` map, or None to keep ``first``.

    An animal a third of the frame spans few of the head's 16 px cells, fewer than the pools' animals
    it learned from. When ``first`` (>= 0.5) fits in a square (grown as :func:`_cells_box`) of at most
    ``zoom_below`` of the long side, that square is upsampled to ``size`` and mapped again by
    :func:`learned_pass` (one more VGG pass, and one per view it takes). The new map stands when the class is found
    in the crop and it stays off the crop's cut edges (else the animal runs past the square).
    """
    H, W = rgb.shape[:2]
    b = _cells_box(first >= 0.5, (H, W), cfg) if cfg.zoom_below > 0 else None
    if b is None or max(b[1] - b[0], b[3] - b[2]) > cfg.zoom_below * max(H, W):
        return None
    crop, dense = _zoomed(rgb, b, cfg)
    c2 = with_views(params, [crop], [features(params, crop, None, cfg.buckets, hyper=True)], cfg)[0]
    m2, _, presence = learned_pass(params, crop, c2, head, probe, dense)
    y0, y1, x0, x1 = b
    found = resized(m2, (y1 - y0, x1 - x0)) >= 0.5
    if presence < cfg.min_evidence or edge_share(found, (y0 > 0, y1 < H, x0 > 0, x1 < W)) > cfg.zoom_inside:
        return None
    m = np.zeros((H, W), np.float32)
    m[y0:y1, x0:x1] = found
    return m


def _zoomed(rgb: np.ndarray, box: tuple[int, int, int, int], cfg: MapConfig) -> tuple[np.ndarray, MapConfig]:
    """The square ``box`` of ``rgb`` upsampled to ``size``, and ``cfg`` with GrabCut at the photo's pixel
    density (the upsampled crop holds no finer colour detail)."""
    y0, y1, x0, x1 = box
    side = max(y1 - y0, x1 - x0)
    k = cfg.size / side
    crop = resized(rgb[y0:y1, x0:x1], (max(8, round((y1 - y0) * k)), max(8, round((x1 - x0) * k))))
    return crop, replace(cfg, grabcut_side=max(8, round(cfg.grabcut_side * side / max(rgb.shape[:2]))))


def _map_crop(params: Mapping, rgb: np.ndarray, box: tuple[int, int, int, int], probe,
              cfg: MapConfig) -> tuple[np.ndarray, float] | None:
    """Stages 1-3 on the square ``box`` of ``rgb`` upsampled to ``size``: (its map (crop's h, w) bool,
    presence), or None when the class is not found there."""
    y0, y1, x0, x1 = box
    crop, dense = _zoomed(rgb, box, cfg)
    s2 = seeded(crop, features(params, crop, None, cfg.buckets), probe, dense)
    if s2.presence < cfg.min_evidence:
        return None
    return resized(finish(s2.small, s2.labels, cfg.grabcut_iters, cfg.seed), (y1 - y0, x1 - x0)) >= 0.5, s2.presence


def second_look(params: Mapping, rgb: np.ndarray, s: Seeded, probe, cfg: MapConfig) -> tuple[np.ndarray, float] | None:
    """A refused photo's large regions, each mapped again on a square crop around it: (the union (H, W)
    in {0, 1}, the best presence), or None when the class is in none of them.

    An animal a quarter of the probe's training size (one of two side by side) has region
    features outside the probe's range, and a small cat is not "cat" for both heads. Seen
    closer, as the probe saw its training images, it is the class again. Regions of at
    least ``second_look`` of the feature grid that one probe head already calls the class
    (``s.keep``: a goat both heads call a mammal is not looked at again) get the look (one
    VGG pass each); a crop's map counts only if it covers at least half of its region (else
    the class it found is something else in the crop, not that region).
    """
    H, W = rgb.shape[:2]
    sizes = np.bincount(s.regions.ravel(), minlength=len(s.keep))
    m, presence = np.zeros((H, W), np.float32), 0.0
    for i in np.nonzero((sizes >= cfg.second_look * s.regions.size) & s.keep)[0]:
        region = s.regions == i
        box = _cells_box(region, (H, W), cfg)
        found = _map_crop(params, rgb, box, probe, cfg)
        if found is None:
            continue
        y0, y1, x0, x1 = box
        cells = resized(region, (H, W), nearest=True)[y0:y1, x0:x1] > 0.5
        if found[0][cells].mean() < 0.5:  # the class is elsewhere in the crop, not this region
            continue
        m[y0:y1, x0:x1] = np.maximum(m[y0:y1, x0:x1], found[0])
        presence = max(presence, found[1])
    return (m, presence) if presence > 0 else None
