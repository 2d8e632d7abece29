"""Object map: the whole object of the class, and nothing else, from VGG-19 alone.

No segmentation network and no user mask. Three stages, and a closer look:

1. **objectness** (one jitted VGG-19 pass to ``conv5_4``, 1/16 resolution): each cell's
   summed activation over the photo's mean (SCDA, Wei et al. 2017). Deep activations are
   strong on objects and weak on background, and they cover bodies, not only the faces
   the class filters fire on.
2. **regions** (host): the connected regions of objectness > 1. With the class probe
   (:mod:`jaxstyle.select.probe`, a softmax over the class and its look-alikes trained on the
   scoring pool's pooled features) each region is judged by the probe's two heads, its
   cells' max and their mean: it is the object when either head finds the class beating
   every other group, and the class is present only where both do: a cat beside a dog, a
   goat or a swan is rejected. With hand-given filters the
   region holding their strongest evidence is the object.
3. **finish** (host): OpenCV's GrabCut (Rother et al. 2004) at ``grabcut_side`` px, seeded
   with kept regions as probable object (less the cells the probe calls scene), their cells
   above 1.5x Otsu's threshold as sure object, the cells joined to them through what the
   probe calls animal as probable object too, rejected regions and low objectness as sure
   background; upsampled with a soft edge.
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

The learned map (``MapConfig.learned``, :func:`learned_map`; what ``auto`` uses for a class whose
cell head ships, with the fields chosen for it, :func:`jaxstyle.transfer.locate.map_config`) replaces stages 1-5: the same
VGG pass gives hypercolumns, a cell head learned from image labels
(:mod:`jaxstyle.select.cellhead`) gives each cell its class and other-animal probabilities, the
animal patch joined to the class's cells is the outline (:func:`learned_extent`), the class probe
judges each patch (:func:`judged_patches`), and GrabCut finishes from the sure and probable cells.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np

from ..errors import UsageError
from .edges import blurred_edge
from .mapfeatures import features, features_many
from ..select.regions import object_regions, objectness, region_rows

# ``MapConfig.second_look`` with ``--second-look``. Off by default: it finds 3 of 5 refused cats beside
# a dog, and also a DAVIS horse + rider frame as a dog (docs/RESULTS.md, "Two animals in one photo").
SECOND_LOOK = 0.05
# ``MapConfig`` fields of ``--head-gate``: the probe map, refused where the cell head finds no class (docs/RESULTS.md).
GATE = {"gate": 0.9}


@dataclass(frozen=True)
class MapConfig:
    """Knobs of the object map (defaults measured on pets + DAVIS, docs/RESULTS.md)."""

    size: int = 512            # long side the map is computed at
    core: float = 1.5          # objectness (x Otsu's threshold, at least the mean) of sure-object cells
    floor: float = 0.3         # objectness (x the mean) below which a cell is sure background
    scene: float = 0.5         # probe: a cell whose "other" (not an animal) probability passes this is not object
    seed_share: float = 0.1    # filters only: share of evidence cells a region needs
    grabcut_side: int = 384    # GrabCut works at this long side
    grabcut_iters: int = 3
    seed: int = 0              # GrabCut's colour-model start: the same photo gives the same map
    feather: float = 0.01      # soft edge width, as a fraction of the long side
    min_evidence: float = 0.2  # below this presence the class is "not found"
    zoom_below: float = 0.7    # closer look when the sure object's crop is <= this share of the long side (0: never)
    zoom_margin: float = 0.5   # the sure cells' box grows by this share of its side on each side
    zoom_min_side: float = 0.5  # the crop is at least this share of the long side (at most 2x closer)
    zoom_inside: float = 0.1   # the closer look stands only if its map covers <= this share of the crop's cut edges
    zoom_spill: float = 0.5    # ... and at most this share of the first map outside the crop is animal (not scene)
    second_look: float = 0.0   # a refused photo's regions of >= this share of the grid are mapped again closer (0: never)
    buckets: int = 0           # pad the VGG pass to one of this many sizes per long side (vgg.bucket_hw); 0: own size
    learned: bool = False      # the learned map: the cell head (select/cellhead.py) finds the animal, GrabCut finishes
    sure: float = 0.8          # learned: a cell whose class probability is >= this is sure object, <= 1 - this sure background
    grabcut: bool = True       # learned: False thresholds the head's upsampled probability at 0.5 instead of GrabCut
    gate: float = 0.0          # probe map: refuse unless the cell head's presence reaches this (0: no gate)
    extent: str = "class"      # learned: where the map may reach (learned_extent): "class" or "animal"
    joined: float = 0.0        # learned, "animal": the class's least share of an animal patch it takes whole
    judge: bool = False        # learned: the class probe judges each animal patch; a patch it rejects is not the class

    def __post_init__(self):
        if self.size < 32:
            raise UsageError(f"map size {self.size} is too small (minimum 32)")
        if not 0.0 <= self.min_evidence <= 1.0:
            raise UsageError(f"min evidence must be in [0, 1], got {self.min_evidence}")
        if self.buckets < 0:
            raise UsageError(f"map buckets must be >= 0, got {self.buckets}")
        if not 0.0 <= self.second_look <= 1.0:
            raise UsageError(f"second look share must be in [0, 1], got {self.second_look}")
        if not 0.0 <= self.joined <= 1.0:
            raise UsageError(f"joined share must be in [0, 1], got {self.joined}")
        if self.extent not in ("class", "animal"):
            raise UsageError(f"learned extent must be 'class' or 'animal', got {self.extent!r}")
        if not 0.5 <= self.sure <= 1.0:
            raise UsageError(f"sure share must be in [0.5, 1], got {self.sure}")
        if not (0.0 <= self.zoom_below <= 1.0 and 0.0 <= self.zoom_min_side <= 1.0):
            raise UsageError(f"zoom shares must be in [0, 1], got {self.zoom_below} and {self.zoom_min_side}")


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
    judged by its two heads (:meth:`jaxstyle.select.probe.Probe.judge`): its cells pooled the
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


def finish(rgb: np.ndarray, gm: np.ndarray, iters: int, seed: int = 0) -> np.ndarray:
    """GrabCut from labels ``gm`` on ``rgb`` (same size): float (h, w) in {0, 1}.

    GrabCut starts its colour models from k-means on OpenCV's per-thread random generator;
    it is seeded with ``seed`` first, so a photo's map does not depend on what ran before.
    """
    import cv2

    fg = (gm == cv2.GC_FGD) | (gm == cv2.GC_PR_FGD)
    if not fg.any() or fg.all():
        return fg.astype(np.float32)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    gm = gm.copy()
    cv2.setRNGSeed(seed)
    cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), gm, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
    return ((gm == cv2.GC_FGD) | (gm == cv2.GC_PR_FGD)).astype(np.float32)


def _resized(a: np.ndarray, hw: tuple[int, int], nearest: bool = False) -> np.ndarray:
    import cv2

    return cv2.resize(np.asarray(a, np.float32), (hw[1], hw[0]),
                      interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


def object_map(params: Mapping, rgb: np.ndarray, filters: Mapping[str, Sequence[int]] | None = None,
               probe=None, cfg: MapConfig = MapConfig(), head=None) -> dict:
    """Soft object map (H, W) in [0, 1] for an RGB photo (H, W, 3) in [0, 255].

    Returns ``{"map", "objectness", "presence"}`` (objectness at 1/16 resolution).
    ``filters`` locate the class when ``probe`` is None; with ``cfg.learned`` the cell
    ``head`` (:mod:`jaxstyle.select.cellhead`) does (:func:`learned_map`).
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
    feats = features_many(params, rgbs, hand, cfg.buckets, batch, hyper=cfg.learned or cfg.gate > 0)
    return [map_from_features(params, rgb, c, probe, cfg, head) for rgb, c in zip(rgbs, feats)]


def map_from_features(params: Mapping, rgb: np.ndarray, c: Mapping[str, np.ndarray], probe, cfg: MapConfig,
                      head=None) -> dict:
    """One photo's map from its :func:`features` ``c``: :func:`learned_map` with ``cfg.learned``; else the
    first look and, with a probe, a :func:`closer_look` when its sure object is small (one more VGG
    pass) and the opt-in :func:`second_look`. With ``cfg.gate`` a photo whose :func:`head_presence` is
    below it is refused first (presence 0): the probe map, vetoed by the learned head."""
    if cfg.learned:
        m, p, presence = learned_map(rgb, c, head, cfg, probe)
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


def head_presence_of(p: np.ndarray) -> float:
    """Presence from a class probability grid (h, w): its best 3 x 3 mean (a lone cell is not an animal)."""
    from scipy.ndimage import uniform_filter

    return float(uniform_filter(p, 3, mode="constant").max()) if min(p.shape) >= 3 else float(p.max())


def head_presence(c: Mapping[str, np.ndarray], head) -> tuple[float, np.ndarray]:
    """The cell head's evidence that its class is in the photo (features ``c`` with hypercolumns,
    :func:`head_presence_of`) and its group probabilities per cell (h, w, K)."""
    probs = head.grid_probs(c["h"])
    return head_presence_of(probs[..., 0]), probs


@dataclass(frozen=True)
class Patches:
    """The 8-connected patches of cells a cell head calls an animal (:func:`animal_patches`)."""

    labels: np.ndarray  # (h, w): patch label per cell, 0 the rest
    animal: np.ndarray  # (h, w): class + other-animal probability
    share: np.ndarray   # (n + 1,): the class's share of each patch's animal probability (0: label 0, no class cell)


def animal_patches(probs: np.ndarray, groups: Sequence[str]) -> Patches:
    """The patches of cells whose class + other-animal probability (``probs`` (h, w, K) over ``groups``) is
    >= 0.5, and the class's share of each: 0 for a patch without a cell the head calls the class."""
    from scipy import ndimage

    pc = probs[..., 0]
    pa = pc + probs[..., list(groups).index("animal")]
    lab, n = ndimage.label(pa >= 0.5, structure=np.ones((3, 3)))
    ids = np.arange(1, n + 1)
    share = ndimage.sum(pc, lab, ids) / np.maximum(ndimage.sum(pa, lab, ids), 1e-6)
    share = np.where(ndimage.maximum(pc, lab, ids) >= 0.5, share, 0.0) if n else share
    return Patches(lab, pa, np.concatenate([[0.0], share]))


def judged_patches(f: np.ndarray, patches: Patches, probe) -> np.ndarray:
    """Per patch label: does the class probe (:meth:`Probe.judge`, either head) call the patch's
    ``conv5_4`` cells ``f`` the class? Label 0 never."""
    n = len(patches.share)
    out = np.zeros(n, bool)
    if n > 1:
        out[1:] = probe.judge(*region_rows(f, patches.labels, range(1, n), probe.pooling))[0]
    return out


def judged_class(p: np.ndarray, patches: Patches, judged: np.ndarray) -> np.ndarray:
    """The class probability ``p`` (h, w) with the patches the probe rejected set to 0: no class at all."""
    return np.where((patches.labels > 0) & ~judged[patches.labels], 0.0, p)


def learned_extent(p: np.ndarray, patches: Patches | None, joined: float = 0.0,
                   judged: np.ndarray | None = None) -> np.ndarray:
    """Per cell, the probability that it is part of the class's animal (h, w), from the class probability ``p``.

    Without ``patches`` (``MapConfig.extent`` "class"): ``p``. With them ("animal"): where the cell belongs
    to a patch that holds a cell the head calls the class, and the class holds at least ``joined`` of the
    patch's animal probability, the patch's animal probability: a coat the head finds animal-like but not
    specific to the class is still the class's animal when it is joined to the class's own cells; an
    animal of another kind, not joined to the class or mostly not the class (a cat with a dog-like face),
    stays out. ``judged`` (per patch label): only patches the probe called the class count.
    """
    if patches is None:
        return p
    keep = (patches.share >= joined) & (patches.share > 0)
    if judged is not None:
        keep = keep & judged
    return np.where(keep[patches.labels] & (patches.labels > 0), patches.animal, p)


def learned_map(rgb: np.ndarray, c: Mapping[str, np.ndarray], head, cfg: MapConfig, probe=None
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """The learned map: ``(map (H, W), class probability per cell (h, w), presence)``.

    The head gives each cell its class probability; :func:`learned_extent` (``cfg.extent``) the
    probability that the cell is the class's animal (with ``cfg.judge``, only in patches the class
    ``probe`` calls the class, :func:`judged_patches`). Upsampled to ``grabcut_side`` they seed GrabCut
    (class >= ``sure``: sure object; extent >= 0.5 probable object, <= ``1 - sure`` sure background, else
    probable background), so the colour model refines the edge but cannot take a floor the head calls
    scene. Presence: the best 3 x 3 mean of the (judged) class probability (a lone cell is not an
    animal); below ``min_evidence`` the map is empty (the caller refuses the photo).
    """
    import cv2

    presence, probs = head_presence(c, head)
    H, W = rgb.shape[:2]
    p, judged = probs[..., 0], None
    patches = animal_patches(probs, head.groups) if (cfg.extent == "animal" or cfg.judge) else None
    if cfg.judge and probe is not None and presence >= cfg.min_evidence:
        judged = judged_patches(c["f"], patches, probe)
        p = judged_class(p, patches, judged)
        presence = head_presence_of(p)
    if presence < cfg.min_evidence:  # refused by the caller: no finish
        return np.zeros((H, W), np.float32), p, presence
    small = grabcut_image(rgb, cfg.grabcut_side)
    P = _resized(p, small.shape[:2])
    extent = learned_extent(p, patches if cfg.extent == "animal" else None, cfg.joined, judged)
    E = _resized(extent, small.shape[:2])
    if not cfg.grabcut:
        return soft_edge((E >= 0.5).astype(np.float32), (H, W), cfg), p, presence
    gm = np.full(small.shape[:2], cv2.GC_PR_BGD, np.uint8)
    gm[E >= 0.5] = cv2.GC_PR_FGD
    gm[P >= cfg.sure] = cv2.GC_FGD
    gm[E <= 1.0 - cfg.sure] = cv2.GC_BGD
    return soft_edge(finish(small, gm, cfg.grabcut_iters, cfg.seed), (H, W), cfg), p, presence


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
    grow = _resized(grown(lab, keep, obj, scene, cfg), hw, nearest=True) > 0.5 if probe is not None else None
    gm = seeds(_resized(lab, hw, nearest=True).astype(np.int64), keep, _resized(obj, hw), _resized(scene, hw),
               cfg.core * otsu(obj), cfg, grow, _resized(own, hw, nearest=True) > 0.5)
    return Seeded(small, gm, presence, obj, lab, keep, scene)


def grabcut_image(rgb: np.ndarray, side: int) -> np.ndarray:
    """``rgb`` (H, W, 3) as uint8 at long side ``side`` (each side at least 8 px): what GrabCut works on."""
    import cv2

    H, W = rgb.shape[:2]
    s = side / max(H, W)
    hw = (max(8, round(H * s)), max(8, round(W * s)))
    return cv2.resize(np.clip(rgb, 0, 255).astype(np.uint8), (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def refine(rgb: np.ndarray, current: np.ndarray, add: np.ndarray | None = None, remove: np.ndarray | None = None,
           cfg: MapConfig = MapConfig(), reach: float = 0.05, band: float = 0.02) -> np.ndarray:
    """The map of ``rgb`` (H, W, 3) redone with user strokes: soft (H, W) in [0, 1].

    The finish (:func:`finish`, GrabCut at ``grabcut_side``) seeded from ``current`` (a map
    (H, W)) and the strokes (H, W bool): ``add`` pixels sure object, ``remove`` pixels sure
    background (``add`` wins where they cross). Elsewhere the map's cells are probable object
    (>= 0.5) or background, and sure where they lie further than ``reach`` (a share of the
    long side) from a stroke that could change them and further than ``band`` from the map's
    edge, so a stroke changes the map near it and GrabCut cannot drop the rest. Upsampled with the automatic
    map's soft edge; the stroke pixels are then set exactly (1 under ``add``, 0 under ``remove``).
    """
    import cv2

    H, W = rgb.shape[:2]
    small = grabcut_image(rgb, cfg.grabcut_side)
    hw = small.shape[:2]
    r = max(1, int(round(reach * max(hw))))
    obj = _resized(current, hw) >= 0.5
    strokes = {v: (cv2.resize(np.asarray(m, np.float32), (hw[1], hw[0]), interpolation=cv2.INTER_AREA) > 0)
               for m, v in ((remove, cv2.GC_BGD), (add, cv2.GC_FGD)) if m is not None and np.any(m)}
    gm = np.where(obj, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
    edge = obj != cv2.erode(obj.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    near_edge = _within(edge, max(1, int(round(band * max(hw)))))
    gm[near_edge] = np.where(obj, cv2.GC_PR_FGD, cv2.GC_PR_BGD)[near_edge]
    for v, m in strokes.items():  # near a remove stroke the object is only probable, near an add the background
        near = _within(m, r) & (obj if v == cv2.GC_BGD else ~obj)
        gm[near] = cv2.GC_PR_FGD if v == cv2.GC_BGD else cv2.GC_PR_BGD
    for v in (cv2.GC_BGD, cv2.GC_FGD):
        if v in strokes:
            gm[strokes[v]] = v
    out = soft_edge(finish(small, gm, cfg.grabcut_iters, cfg.seed), (H, W), cfg)
    for v in (cv2.GC_BGD, cv2.GC_FGD):
        if v in strokes:
            out[_resized(strokes[v], (H, W), nearest=True) > 0.5] = 1.0 if v == cv2.GC_FGD else 0.0
    return out


def _within(m: np.ndarray, r: int) -> np.ndarray:
    """Pixels at most ``r`` px from a true pixel of ``m`` (bool (h, w))."""
    import cv2

    if not m.any():
        return m
    return cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3) <= r


def soft_edge(m: np.ndarray, hw: tuple[int, int], cfg: MapConfig) -> np.ndarray:
    """A finished mask upsampled to ``hw`` with a soft edge ``feather`` of the long side wide."""
    return blurred_edge(_resized(m, hw), cfg.feather)


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
    if out.any() and 1.0 - (_resized(s.scene, (H, W)) >= cfg.scene)[out].mean() > cfg.zoom_spill:
        return None
    found = _map_crop(params, rgb, b, probe, cfg)
    if found is None or edge_share(found[0], (y0 > 0, y1 < H, x0 > 0, x1 < W)) > cfg.zoom_inside:
        return None
    m = np.zeros((H, W), np.float32)
    m[y0:y1, x0:x1] = found[0]
    return m


def _map_crop(params: Mapping, rgb: np.ndarray, box: tuple[int, int, int, int], probe,
              cfg: MapConfig) -> tuple[np.ndarray, float] | None:
    """Stages 1-3 on the square ``box`` of ``rgb`` upsampled to ``size``: (its map (crop's h, w) bool,
    presence), or None when the class is not found there."""
    import cv2

    y0, y1, x0, x1 = box
    side = max(y1 - y0, x1 - x0)
    k = cfg.size / side
    crop = cv2.resize(rgb[y0:y1, x0:x1], (max(8, round((x1 - x0) * k)), max(8, round((y1 - y0) * k))),
                      interpolation=cv2.INTER_LINEAR)
    # GrabCut at the first look's pixel density: the upsampled crop holds no finer colour detail
    dense = replace(cfg, grabcut_side=max(8, round(cfg.grabcut_side * side / max(rgb.shape[:2]))))
    s2 = seeded(crop, features(params, crop, None, cfg.buckets), probe, dense)
    if s2.presence < cfg.min_evidence:
        return None
    return _resized(finish(s2.small, s2.labels, cfg.grabcut_iters, cfg.seed), (y1 - y0, x1 - x0)) >= 0.5, s2.presence


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
        cells = _resized(region, (H, W), nearest=True)[y0:y1, x0:x1] > 0.5
        if found[0][cells].mean() < 0.5:  # the class is elsewhere in the crop, not this region
            continue
        m[y0:y1, x0:x1] = np.maximum(m[y0:y1, x0:x1], found[0])
        presence = max(presence, found[1])
    return (m, presence) if presence > 0 else None
