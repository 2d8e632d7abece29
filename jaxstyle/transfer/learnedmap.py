"""The learned map: the cell head finds the animal, the class probe says which animal it is.

The same VGG pass as the probe map gives hypercolumns; a cell head learned from image labels
(:mod:`jaxstyle.select.heads.cellhead`) gives each cell its class and other-animal probabilities, the
animal patch (:func:`jaxstyle.select.heads.patches.animal_patches`) joined to the class's cells is the
outline (:func:`learned_extent`), the class probe judges each patch (:func:`judged_patches`), and GrabCut
finishes from the sure and probable cells (:func:`learned_map`). What ``auto`` uses for a class whose cell
head ships, with the fields chosen for it (:func:`jaxstyle.transfer.locate.map_config`).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import UsageError
from ..select.heads import patchjudge
from ..select.heads.cellhead import normalise
from ..select.heads.patches import Patches, animal_patches
from .grabcut import finish, grabcut_image, resized, soft_edge
from .mapconfig import MapConfig
from ..select.probes.regions import region_rows


def head_presence_of(p: np.ndarray) -> float:
    """Presence from a class probability grid (h, w): its best 3 x 3 mean (a lone cell is not an animal)."""
    from scipy.ndimage import uniform_filter

    return float(uniform_filter(p, 3, mode="constant").max()) if min(p.shape) >= 3 else float(p.max())


def head_presence(c: Mapping[str, np.ndarray], head) -> tuple[float, np.ndarray]:
    """The cell head's evidence that its class is in the photo (features ``c`` with hypercolumns,
    :func:`head_presence_of`) and its group probabilities per cell (h, w, K)."""
    probs = head.grid_probs(c["h"])
    return head_presence_of(probs[..., 0]), probs


def judged_patches(f: np.ndarray, hn: np.ndarray | None, patches: Patches, head, probe, cfg: MapConfig
                   ) -> np.ndarray:
    """Per patch label: does the judge of ``cfg.judge`` call the patch the class? ``"probe"``: the class
    probe (:meth:`Probe.judge`, either head) on the patch's ``conv5_4`` cells ``f``; ``"patches"``: the head's
    patch judge (:mod:`jaxstyle.select.heads.patchjudge`) on ``f`` and the normalised hypercolumns ``hn`` the
    head read, at ``cfg.judge_min`` (0: its own threshold);
    ``"either"``: the probe where the class holds at least ``cfg.joined`` of the patch, or the patch
    judge; ``"both"``: the probe and the patch judge. Label 0 never."""
    n = len(patches.share)
    out = np.zeros(n, bool)
    if n == 1:
        return out
    if cfg.probe_judges:
        out[1:] = probe.judge(*region_rows(f, patches.labels, range(1, n), probe.pooling))[0]
    if cfg.judge == "either":
        out &= patches.share >= cfg.joined
    if cfg.judge in ("patches", "either", "both"):
        if head.judge is None:
            raise UsageError(f"the {head.target} cell head has no patch judge (train it with jaxstyle head)")
        r = patchjudge.rows(f, hn, patches.labels, patches.animal, range(1, n))
        k = patchjudge.kept(head.judge, r, cfg.judge_min)
        out[1:] = out[1:] & k if cfg.judge == "both" else out[1:] | k
    return out


def judged_class(p: np.ndarray, patches: Patches, judged: np.ndarray) -> np.ndarray:
    """The class probability ``p`` (h, w) with the patches the judge rejected set to 0: no class at all."""
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
    return np.where(kept_patches(patches, joined, judged)[patches.labels] & (patches.labels > 0), patches.animal, p)


def kept_patches(patches: Patches, joined: float = 0.0, judged: np.ndarray | None = None) -> np.ndarray:
    """Per patch label, whether :func:`learned_extent` takes the patch: it holds a class cell, the class holds at
    least ``joined`` of it, and the judge (``judged``) called it the class."""
    keep = (patches.share >= joined) & (patches.share > 0)
    return keep & judged if judged is not None else keep


def view_key(scale: float) -> str:
    """The features' key of the photo's hypercolumns at ``scale`` times its size (``MapConfig.scales``)."""
    return f"h@{scale:g}"


def viewed(probs: np.ndarray, c: Mapping[str, np.ndarray], head, cfg: MapConfig) -> np.ndarray:
    """The head's cell probabilities ``probs`` (h, w, K) averaged with those of the other views in ``c``
    (:func:`jaxstyle.transfer.objectmap.with_views`): the mirror image's flipped back (``cfg.mirror``), each
    scale's resized to the photo's grid (``cfg.scales``)."""
    views = [probs]
    if cfg.mirror and "h_mirror" in c:
        views.append(head.probs(normalise(c["h_mirror"], head.dims))[:, ::-1])
    for x in cfg.scales:
        if view_key(x) in c:
            views.append(resized(head.probs(normalise(c[view_key(x)], head.dims)), probs.shape[:2]))
    return np.mean(views, 0) if len(views) > 1 else probs


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

    hn = normalise(c["h"], head.dims)  # what the head reads, and the patch judge after it
    probs = viewed(head.probs(hn), c, head, cfg)
    presence = head_presence_of(probs[..., 0])
    H, W = rgb.shape[:2]
    p, judged = probs[..., 0], None
    patches = animal_patches(probs) if (cfg.extent == "animal" or cfg.judge) else None
    if cfg.judge and (probe is not None or cfg.judge == "patches") and presence >= cfg.min_evidence:
        judged = judged_patches(c["f"], hn, patches, head, probe, cfg)
        p = judged_class(p, patches, judged)
        presence = head_presence_of(p)
    if presence < cfg.min_evidence:  # refused by the caller: no finish
        return np.zeros((H, W), np.float32), p, presence
    small = grabcut_image(rgb, cfg.grabcut_side)
    P = resized(p, small.shape[:2])
    joined = 0.0 if cfg.judge == "either" and judged is not None else cfg.joined  # the judge applied it
    extent = learned_extent(p, patches if cfg.extent == "animal" else None, joined, judged)
    E = resized(extent, small.shape[:2])
    if not cfg.grabcut:
        return soft_edge((E >= 0.5).astype(np.float32), (H, W), cfg), p, presence
    gm = np.full(small.shape[:2], cv2.GC_PR_BGD, np.uint8)
    gm[E >= 0.5] = cv2.GC_PR_FGD
    gm[P >= cfg.sure] = cv2.GC_FGD
    gm[sure_background(E, patches, joined, judged, cfg, small.shape[:2])] = cv2.GC_BGD
    return soft_edge(finish(small, gm, cfg.grabcut_iters, cfg.seed), (H, W), cfg), p, presence


def sure_background(E: np.ndarray, patches: Patches | None, joined: float, judged: np.ndarray | None,
                    cfg: MapConfig, hw: tuple[int, int]) -> np.ndarray:
    """The pixels (``hw``, GrabCut's size) GrabCut must leave out, from the class's extent ``E`` at that size.
    ``cfg.background`` "extent": where ``E`` is at most ``1 - sure``; "animal": where the head is that sure there
    is no animal at all (class + other animal), and every animal patch the map does not take (another animal, or
    one its judge rejected), so that GrabCut's colour model may still take a body the head found only half
    animal-like."""
    if cfg.background == "extent" or patches is None:
        return E <= 1.0 - cfg.sure
    rejected = (patches.labels > 0) & ~kept_patches(patches, joined, judged)[patches.labels]
    return (resized(patches.animal, hw) <= 1.0 - cfg.sure) | (resized(rejected.astype(np.float32), hw) >= 0.5)
