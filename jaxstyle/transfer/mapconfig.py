"""The object map's knobs (:class:`MapConfig`), shared by the probe map (:mod:`jaxstyle.transfer.objectmap`),
the learned map (:mod:`jaxstyle.transfer.learnedmap`), their GrabCut finish (:mod:`jaxstyle.transfer.grabcut`)
and its edge (:mod:`jaxstyle.transfer.matte`)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from .matte import ESTIMATORS


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
    edge: str = "blur"         # the finish's soft edge: "blur" (Gaussian, ``feather`` wide) or "matte" (matte.py:
                               # pymatting's alpha on the photo in a band around the outline of map >= 0.5;
                               # not the default: docs/RESULTS.md, "The map's edge")
    band: float = 0.003        # matte: the unknown band each side of the outline, share of the long side (2 px at 512)
    matte: str = "cf"          # matte: pymatting's estimator (matte.ESTIMATORS; "cf": closed-form matting)
    min_evidence: float = 0.2  # below this presence the class is "not found"
    zoom_below: float = 0.7    # closer look when the sure object's crop is <= this share of the long side (0: never)
    zoom_margin: float = 0.5   # the sure cells' box grows by this share of its side on each side
    zoom_min_side: float = 0.5  # the crop is at least this share of the long side (at most 2x closer)
    zoom_inside: float = 0.1   # the closer look stands only if its map covers <= this share of the crop's cut edges
    zoom_spill: float = 0.5    # ... and at most this share of the first map outside the crop is animal (not scene)
    second_look: float = 0.0   # a refused photo's regions of >= this share of the grid are mapped again closer (0: never)
    buckets: int = 0           # pad the VGG pass to one of this many sizes per long side (vgg.bucket_hw); 0: own size
    learned: bool = False      # the learned map: the cell head (select/heads/cellhead.py) finds the animal, GrabCut finishes
    sure: float = 0.8          # learned: a cell whose class probability is >= this is sure object, <= 1 - this sure background
    grabcut: bool = True       # learned: False thresholds the head's upsampled probability at 0.5 instead of GrabCut
    gate: float = 0.0          # probe map: refuse unless the cell head's presence reaches this (0: no gate)
    extent: str = "class"      # learned: where the map may reach (learned_extent): "class" or "animal"
    joined: float = 0.0        # learned, "animal": the class's least share of an animal patch it takes whole
    judge: str = ""            # learned: who judges each animal patch ("probe": the class probe, "patches": the
                               # head's patch judge, "either": the probe on a patch the class holds >= joined of, or
                               # the patch judge; "both": the probe and the patch judge); a patch it rejects is
                               # not the class ("": no judge)
    judge_min: float = 0.0     # learned, "patches"/"either": the patch judge's least class probability for the class
                               # (0: the judge's own, chosen on the pools by patchjudge.cv_threshold)
    mirror: bool = False       # learned: the head's cell probabilities averaged over the photo and its mirror
                               # image (one more VGG pass)
    scales: tuple[float, ...] = ()  # learned: ... and over the photo at these multiples of its size (a VGG pass
                               # each), resized to the map's grid
    scales_from: float = 0.0   # learned: the ``scales`` views below 1 only for a photo whose map without them spans at
                               # least this share of its long side (an animal larger than the head's training scale),
                               # those above 1 only for one that spans less (objectmap.sized_views); 0: always
    background: str = "extent"  # learned: GrabCut's sure background: "extent" (the class's extent <= 1 - sure) or
                               # "animal" (no animal at all >= sure, or an animal patch the map does not take)
    closer: bool = False       # learned: map again a crop around a small map, upsampled to ``size`` (one more VGG
                               # pass; the zoom_* knobs above, objectmap.learned_closer_look)

    @property
    def probe_judges(self) -> bool:
        """Whether the class probe judges the learned map's patches (it must be loaded)."""
        return self.judge in ("probe", "either", "both")

    def __post_init__(self):
        object.__setattr__(self, "scales", tuple(float(x) for x in self.scales))  # a JSON list (map.json) too
        if self.size < 32:
            raise UsageError(f"map size {self.size} is too small (minimum 32)")
        if not 0.0 <= self.min_evidence <= 1.0:
            raise UsageError(f"min evidence must be in [0, 1], got {self.min_evidence}")
        if self.judge not in ("", "probe", "patches", "either", "both"):
            raise UsageError(f"map judge must be '', 'probe', 'patches', 'either' or 'both', got {self.judge!r}")
        if not 0.0 <= self.scales_from <= 1.0:
            raise UsageError(f"map view span must be in [0, 1], got {self.scales_from}")
        if not all(0.25 <= x <= 4.0 for x in self.scales):
            raise UsageError(f"map view scales must be in [0.25, 4], got {self.scales}")
        if self.edge not in ("blur", "matte"):
            raise UsageError(f"map edge must be 'blur' or 'matte', got {self.edge!r}")
        if not 0.0 < self.band <= 0.25:
            raise UsageError(f"matte band must be in (0, 0.25], got {self.band}")
        if self.matte not in ESTIMATORS:
            raise UsageError(f"matte estimator must be one of {', '.join(ESTIMATORS)}, got {self.matte!r}")
        if self.buckets < 0:
            raise UsageError(f"map buckets must be >= 0, got {self.buckets}")
        if not 0.0 <= self.second_look <= 1.0:
            raise UsageError(f"second look share must be in [0, 1], got {self.second_look}")
        if not 0.0 <= self.joined <= 1.0:
            raise UsageError(f"joined share must be in [0, 1], got {self.joined}")
        if self.background not in ("extent", "animal"):
            raise UsageError(f"learned background must be 'extent' or 'animal', got {self.background!r}")
        if self.extent not in ("class", "animal"):
            raise UsageError(f"learned extent must be 'class' or 'animal', got {self.extent!r}")
        if not 0.5 <= self.sure <= 1.0:
            raise UsageError(f"sure share must be in [0.5, 1], got {self.sure}")
        if not (0.0 <= self.zoom_below <= 1.0 and 0.0 <= self.zoom_min_side <= 1.0):
            raise UsageError(f"zoom shares must be in [0, 1], got {self.zoom_below} and {self.zoom_min_side}")
