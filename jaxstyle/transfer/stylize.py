"""Object-only style transfer: the Python API behind ``scripts/stylize.py`` and ``jaxstyle stylize``.

Methods
-------
``gatys``  whole-image transfer (style conv1_1…conv5_1, content conv4_2).
``paper``  the source paper's objective: style Grams over the selected class filters only
           (conv4_1, conv5_1 by default), content conv4_2, TV; no map.
``mask``   a user mask: guided Grams and the content error averaged inside it (Gatys et al.
           2017), at the preset's object style weight, and the image is
           ``M·x + (1−M)·content`` so the background is kept by construction.
``auto``   ``mask`` with the mask replaced by the object map: VGG-19's ``conv5_4`` regions
           judged by the class probe (:mod:`jaxstyle.transfer.locate`,
           :mod:`jaxstyle.transfer.objectmap`, docs/METHOD.md "Object map"), finished by GrabCut
           — no user mask, no segmentation network. The class filters locate the object only
           where no probe fits (hand-given ``--filters`` or ``--scores``).

This module holds the options (:class:`Config`), the result (:class:`Result`) and the entry
points (:func:`stylize`, :func:`stylize_iter`, :func:`stylize_batch`). The objective is
:mod:`~jaxstyle.transfer.objective`, the coarse-to-fine run :mod:`~jaxstyle.transfer.levels`
(with the detail band of :mod:`~jaxstyle.transfer.detail`), the object map
:mod:`~jaxstyle.transfer.locate`.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Iterator, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .inputs import at_long_side, decoded, user_region
from .levels import LevelRunner, Progress, Run, Setup, level_plan, phase
from .locate import fitted_map, locate, locate_many, map_config
from .objective import PRESETS, composite
from ..model import vgg
from ..errors import JaxstyleError, UsageError

METHODS = ("auto", "paper", "gatys", "mask")
MAX_STRENGTH = 10.0  # Config.strength's upper bound
DETAILS = ("style", "photo", "none")  # what fills a new level's detail band (stylize_iter's ``detail``)


@dataclass
class Result:
    """A finished stylization: images are float32 (H, W, 3) RGB in [0, 255]."""
    image: np.ndarray
    content: np.ndarray
    object_map: np.ndarray | None
    losses: dict[str, float]
    method: str
    filters: dict[str, list[int]] | None
    seconds: float
    history: list[dict] = field(default_factory=list)



@dataclass(frozen=True)
class Config:
    """How to stylize: every option of :func:`stylize_iter` but the photo, the style and the weights.

    Frozen and validated when built (a bad value raises :class:`UsageError` before any work).
    ``iterations``/``*_weight`` of ``None`` take the preset's value (:attr:`total_iterations`,
    :attr:`loss_weights`). ``prefetch``: prepare and compile each level in a background thread
    while the object map is computed and earlier levels iterate. ``detail``: what fills the
    band of detail a coarse level could not hold when the next level starts (:data:`DETAILS`).
    ``strength``: scales the style and TV weights against the content's: 0 keeps the photo,
    1 is the preset, up to :data:`MAX_STRENGTH`.
    ``buckets``: 0 runs every photo at its own size; ``n`` pads each level to one of ``n``
    short sides per long side (:func:`vgg.bucket_hw`) and masks the padding out of every term,
    so photos of different sizes share compiled programs. ``map_batch``: photos per object-map
    VGG pass in :func:`stylize_batch` (``None``: 1 on a CPU, :data:`MAP_BATCH_ACCELERATOR` on
    a GPU or TPU).
    """
    method: str = "auto"
    class_name: str | None = "dog"
    filters: object = None
    mask: object = None
    size: int = 512
    iterations: int | None = None
    preset: str = "default"
    content_weight: float | None = None
    style_weight: float | None = None
    tv_weight: float | None = None
    layer_weights: str = "equal"
    seed: int = 0
    init: str = "content"
    scales: int | None = None
    preserve_colors: bool = False
    style_scale: float = 1.0
    chunk: int = 10
    pooling: str = "max"
    map_options: Mapping | None = None
    detail: str = "style"
    conv: str = "auto"
    prefetch: bool = True
    buckets: int = 0
    map_batch: int | None = None
    strength: float = 1.0

    def __post_init__(self):
        if self.method not in METHODS:
            raise UsageError(f"unknown method {self.method!r}; use one of {', '.join(METHODS)}")
        if self.preset not in PRESETS:
            raise UsageError(f"unknown preset {self.preset!r}; use one of {', '.join(PRESETS)}")
        if self.init not in ("content", "noise"):
            raise UsageError(f"unknown init {self.init!r}; use content or noise")
        vgg.resolve_conv(self.conv)  # an unknown algorithm fails here, before any work
        if self.detail not in DETAILS:
            raise UsageError(f"unknown detail {self.detail!r}; use one of {', '.join(DETAILS)}")
        if self.layer_weights not in ("equal", "proportional"):
            raise UsageError("layer weights must be 'equal' or 'proportional'")
        if self.size < 16:
            raise UsageError(f"size {self.size} is too small (minimum 16)")
        if self.total_iterations <= 0:
            raise UsageError("iterations must be > 0")
        if self.buckets < 0:
            raise UsageError("buckets must be >= 0")
        if not 0.0 <= self.strength <= MAX_STRENGTH:
            raise UsageError(f"strength must be between 0 and {MAX_STRENGTH:g}")
        if self.map_batch is not None and self.map_batch < 1:
            raise UsageError("map batch must be >= 1")
        if self.method == "mask" and self.mask is None:
            raise UsageError("method mask needs --mask PATH")

    @property
    def total_iterations(self) -> int:
        return int(self.iterations if self.iterations is not None else PRESETS[self.preset]["iterations"])

    @property
    def loss_weights(self) -> dict[str, float]:
        """The objective's weights: the preset's (or the given ones), style and TV times ``strength``.

        The guided methods take the preset's ``object_style_weight`` where it has one.
        """
        p = PRESETS[self.preset]
        style = p.get("object_style_weight", p["style_weight"]) if self.guided else p["style_weight"]
        return {"content": p["content_weight"] if self.content_weight is None else self.content_weight,
                "style": self.strength * (style if self.style_weight is None else self.style_weight),
                "tv": self.strength * (p["tv_weight"] if self.tv_weight is None else self.tv_weight)}

    @property
    def guided(self) -> bool:
        """Whether the style goes into a region (user mask or object map) with the photo kept outside."""
        return self.method in ("mask", "auto")

def _map_options(cfg: Config) -> dict:
    return {"buckets": cfg.buckets, **dict(cfg.map_options or {})}


def _stylize_photo(run: Run, content, t0: float, on_phase=None, located: Mapping | None = None
                   ) -> Iterator[Progress]:
    """One photo through :class:`LevelRunner`; the last :class:`Progress` carries the :class:`Result`.

    ``content``: an array or a decoded photo (:func:`~jaxstyle.transfer.inputs.decoded`), read here at
    the output's size and by :func:`locate` at the map's. ``located``: the photo's :func:`locate`
    result when it was computed with others (``auto``).
    """
    setup = run.setup
    cfg = setup.cfg
    content_img = at_long_side(content, cfg.size)
    plan = level_plan(content_img.shape, cfg)
    H, W = content_img.shape[:2]
    region_full = user_region(cfg.mask, (H, W)) if cfg.method == "mask" else None
    runner = LevelRunner(run, content_img, plan, on_phase)
    pool = ThreadPoolExecutor(1, thread_name_prefix="jaxstyle-level") if cfg.prefetch else None
    omap = None
    try:
        levels = runner.levels(pool)
        if cfg.method == "auto":
            if located is None:
                phase(on_phase, "object map")
                located = locate(run.map_params(), content, cfg.class_name, cfg.filters, setup.sel, _map_options(cfg))
            omap = region_full = fitted_map(located, content, (H, W), cfg.class_name)
        done = yield from runner.run(levels, region_full)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    region = None if region_full is None else jnp.asarray(region_full)
    out = np.clip(np.asarray(composite(done.image, region, jnp.asarray(content_img)), np.float32), 0, 255)
    if cfg.preserve_colors:
        out = transfer_luminance(out, content_img)
    total = sum(lv.iterations for lv in plan)
    res = Result(out, content_img, omap, done.terms, cfg.method, setup.sel, time.time() - t0, done.history)
    yield Progress(len(plan) - 1, len(plan), (H, W), total, total, done.terms.get("loss", float("nan")), done.terms,
                   jnp.asarray(out), res)


def _config(config: Config | None, kw) -> Config:
    if config is None:
        return Config(**kw)
    return replace(config, **kw) if kw else config


def stylize_iter(content, style, *, params=None, config: Config | None = None, on_phase=None,
                 **kw) -> Iterator[Progress]:
    """Run a stylization, yielding :class:`Progress`; the last one carries ``.result``.

    ``content``/``style``: paths, RGB arrays (0–255) or, for ``content``, a
    :class:`~jaxstyle.images.Photo` (a path is decoded once). ``style`` may be a list of
    paths/arrays or ``(image, weight)`` pairs (Grams are blended by weight). The options
    are :class:`Config`'s fields, given as ``config=`` or as keywords (keywords override).
    ``on_phase(text)`` hears what the run is doing ("loading weights", "object map",
    "compiling 384x288 (first time for this size)", "iterating 384x288").
    """
    t0 = time.time()
    cfg = _config(config, kw)
    run = Run(Setup.build(cfg, style, params, on_phase))
    yield from _stylize_photo(run, decoded(content), t0, on_phase)


BATCH_BUCKETS = 4  # stylize_batch's default Config.buckets
MAP_BATCH_ACCELERATOR = 8  # Config.map_batch's default on a GPU or TPU


@dataclass
class BatchItem:
    """One photo of :func:`stylize_batch`: its position and source, and its result or what stopped it."""
    index: int
    content: object
    result: Result | None = None
    error: JaxstyleError | None = None


def map_batch(cfg: Config, backend: str | None = None) -> int:
    """Photos per object-map VGG pass: ``cfg.map_batch``, else 1 on a CPU (no gain there), 8 elsewhere."""
    if cfg.map_batch is not None:
        return cfg.map_batch
    return 1 if (backend or jax.default_backend()) == "cpu" else MAP_BATCH_ACCELERATOR


def _decoded_or_error(content):
    """``content`` decoded (:func:`~jaxstyle.transfer.inputs.decoded`), or the error that stops it."""
    try:
        return decoded(content)
    except JaxstyleError as e:
        return e


def _locate_chunk(run: Run, contents: Sequence, n: int) -> list[Mapping | JaxstyleError]:
    """Per photo (decoded, or its error), its :func:`locate` result or the error that stops it; the maps'
    VGG passes ``n`` at a time."""
    cfg = run.setup.cfg
    options = _map_options(cfg)
    size = map_config(options).size
    out: list = []
    for c in contents:
        try:
            out.append(c if isinstance(c, JaxstyleError) else at_long_side(c, size))
        except JaxstyleError as e:
            out.append(e)
    ok = [i for i, v in enumerate(out) if not isinstance(v, JaxstyleError)]
    if ok:
        rs = locate_many(run.map_params(), [out[i] for i in ok], cfg.class_name, cfg.filters, run.setup.sel, options, n)
        for i, r in zip(ok, rs):
            out[i] = r
    return out


def stylize_batch(contents: Sequence, style, *, params=None, config: Config | None = None, on_phase=None,
                  on_progress=None, **kw) -> Iterator[BatchItem]:
    """Stylize several photos with one style (or blend), yielding a :class:`BatchItem` as each finishes.

    Weights, styles, filters and style targets are prepared once. Without ``config`` the
    :class:`Config` is built from the keywords with ``buckets`` defaulting to
    :data:`BATCH_BUCKETS`, so photos of different sizes share compiled programs. ``auto``
    computes the object maps of :func:`map_batch` photos at a time (one VGG pass per padded
    size) before stylizing them. A photo that fails with a :class:`JaxstyleError`
    (unreadable, too small, no object found) is yielded with its ``error`` and the batch
    goes on. ``on_progress(index, progress)`` hears every :class:`Progress`; ``on_phase`` as
    in :func:`stylize_iter`.
    """
    contents = list(contents)
    if not contents:
        raise UsageError("no content photos given")
    cfg = _config(config, kw) if config is not None else Config(**{"buckets": BATCH_BUCKETS, **kw})
    run = Run(Setup.build(cfg, style, params, on_phase))
    n = map_batch(cfg)
    for start in range(0, len(contents), n):
        chunk = contents[start: start + n]
        photos = [_decoded_or_error(c) for c in chunk]  # each photo decoded once, for its map and its run
        located: list = [None] * len(chunk)
        if cfg.method == "auto" and n > 1:
            phase(on_phase, f"object maps of photos {start + 1}-{start + len(chunk)}")
            located = _locate_chunk(run, photos, n)
        for i, (content, photo, loc) in enumerate(zip(chunk, photos, located), start):
            yield _batch_item(run, BatchItem(i, content), photo, loc, on_phase, on_progress)


def _batch_item(run: Run, item: BatchItem, photo, located, on_phase, on_progress) -> BatchItem:
    """``item`` with its result or the error that stops it: ``photo`` decoded (or its error), ``located``
    its :func:`locate` result when computed with others (or its error, or None)."""
    for error in (photo, located):
        if isinstance(error, JaxstyleError):
            return replace(item, error=error)
    res = None
    try:
        for p in _stylize_photo(run, photo, time.time(), on_phase, located):
            if on_progress is not None:
                on_progress(item.index, p)
            res = p.result or res
    except JaxstyleError as e:
        return replace(item, error=e)
    return replace(item, result=res)


def stylize(content, style, **kw) -> Result:
    """Run :func:`stylize_iter` to the end and return the :class:`Result`."""
    res = None
    for p in stylize_iter(content, style, **kw):
        res = p.result or res
    assert res is not None
    return res


_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)


def transfer_luminance(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Keep the content's colours: stylized luminance (Y) with the content's chroma (IQ)."""
    s = stylized @ _YIQ.T
    c = content @ _YIQ.T
    out = np.concatenate([s[..., :1], c[..., 1:]], axis=-1) @ np.linalg.inv(_YIQ).T
    return np.clip(out, 0, 255).astype(np.float32)
