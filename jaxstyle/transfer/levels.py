"""One photo's coarse-to-fine levels: what a run is asked (:class:`Setup`) and computes once for all
its photos (:class:`Run`), the plan (:func:`level_plan`), and :class:`LevelRunner`, which prepares
each level (targets, objective, compiled programs) and iterates it from the previous level's result.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generator, Iterator, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import mapfeatures, objective, optimize
from .detail import fine_band, next_level_start, style_detail
from .inputs import hw_at, load_styles, pad
from .losses import resize
from .locate import resolve_filters
from .objective import CONTENT_LAYER, PRESETS, composite
from ..errors import UsageError
from ..model import vgg

MIN_SHORT_SIDE = 16  # conv5_1 needs at least one cell after four 2x2 poolings
# conv="auto" uses the Winograd VGG (CPU) at a level only if it runs >= this many pixel-iterations:
# its objective compiles ~2-3 s slower and saves ~3.5 us per pixel per evaluation on the 2-core
# CPU (docs/BENCHMARKS.md, "Winograd convolutions"), so smaller levels are faster with XLA's convolutions.
WINOGRAD_MIN_WORK = 700_000


@dataclass
class Progress:
    """Yielded by :func:`jaxstyle.transfer.stylize.stylize_iter` after each optimisation chunk;
    the last one of a photo carries its :class:`~jaxstyle.transfer.stylize.Result`."""
    scale: int
    num_scales: int
    shape: tuple[int, int]
    done: int
    total: int
    loss: float
    terms: dict[str, float]
    image: jax.Array | None
    result: object | None = None


def level_uses_fast_conv(conv: str, hw: tuple[int, int], iterations: int) -> bool:
    """Whether a level of ``iterations`` at ``hw`` runs its objective on ``vgg.prepare(params, conv)``.

    Always for an explicit ``conv``; for ``"auto"`` only with >= ``WINOGRAD_MIN_WORK``
    pixel-iterations (``vgg.prepare`` then decides per backend: Winograd on CPU only).
    """
    return conv != "auto" or iterations * hw[0] * hw[1] >= WINOGRAD_MIN_WORK


def phase(on_phase, text: str) -> None:
    """Tell ``on_phase`` (a callable or None) what the run is doing now."""
    if on_phase is not None:
        on_phase(text)


@dataclass(frozen=True)
class Setup:
    """What every photo of a run shares: the config, the weights, the styles and the objective's layers.

    ``params`` run the one-off target passes with direct convolutions. What is computed from
    them once per run (the objective's and the map's kernels, style targets) is a :class:`Run`'s.
    """
    cfg: object  # a jaxstyle.transfer.stylize.Config
    raw: Mapping
    params: Mapping
    style_imgs: tuple
    style_w: tuple
    sel: dict | None
    style_layers: tuple[str, ...]
    channels: dict
    layer_w: dict

    @classmethod
    def build(cls, cfg, style, params=None, on_phase=None) -> "Setup":
        if params is None:
            phase(on_phase, "loading weights")
            from ..model import weights as W
            params, _ = W.load()
        # Winograd (conv="auto" on CPU) for the objective, evaluated every iteration, at levels with
        # enough work (WINOGRAD_MIN_WORK), and for the object map's passes (map_params); the one-off
        # target passes run direct: a Winograd compile would not pay back. Kernels are transformed on first use.
        direct = vgg.prepare(params, "direct")
        style_imgs, style_w = load_styles(style, cfg.size)
        sel = None
        if cfg.method in ("auto", "paper"):
            sel = resolve_filters(direct, cfg.class_name, cfg.filters)
            if sel is None:
                raise UsageError(f"method {cfg.method} needs --class, --filters or --scores")
            if not sel and cfg.method == "paper":
                raise UsageError(f"method paper needs filters, and no filter reaches the scoring rule for "
                                 f"{cfg.class_name!r} (its shipped list selects none): give --filters or --scores")
        plan = objective.style_plan(cfg.method, sel, cfg.layer_weights, cfg.preset)
        return cls(cfg, params, direct, style_imgs, style_w, sel, plan.layers, plan.channels, plan.layer_w)

    @property
    def mask_layers(self) -> tuple[str, ...]:
        """The layers a padded photo's region is given at: the style layers and the content layer."""
        return tuple(dict.fromkeys(self.style_layers + (CONTENT_LAYER,)))



class Run:
    """A run of :class:`Setup`: what it computes once and then shares between its photos and levels.

    Made by the caller of a run (one per :func:`~jaxstyle.transfer.stylize.stylize_iter` or
    :func:`~jaxstyle.transfer.stylize.stylize_batch`) and handed to each photo's
    :class:`LevelRunner`. It holds the style Gram targets per level side, the weights with the
    config's convolutions (transformed once, under a lock: levels prepare in a background
    thread), and the padded level sizes met so far. The objective runs on the config's
    ``conv`` (:func:`vgg.prepare`) at levels with enough work, the object map on the same
    kernels forward-only (:meth:`map_params`).
    """

    def __init__(self, setup: Setup):
        self.setup = setup
        self._lock = threading.Lock()
        self._fast: Mapping | None = None
        self._targets: dict = {}
        self._seen: set = set()

    def style_targets(self, side: int) -> dict:
        """The blended Gram targets of a level of long side ``side`` (computed once per side)."""
        su = self.setup
        if side not in self._targets:
            self._targets[side] = objective.style_targets(su.params, su.style_imgs, su.style_w, su.style_layers,
                                                          side, su.cfg.style_scale, su.cfg.pooling)
        return self._targets[side]

    def objective_params(self, hw: tuple[int, int], iterations: int) -> Mapping:
        """The params a level's objective runs on (:func:`level_uses_fast_conv`)."""
        if not level_uses_fast_conv(self.setup.cfg.conv, hw, iterations):
            return self.setup.params
        return self.fast_params()

    def fast_params(self) -> Mapping:
        """The weights with the config's convolutions, transformed once per run (levels prepare in a thread)."""
        with self._lock:
            if self._fast is None:
                self._fast = vgg.prepare(self.setup.raw, self.setup.cfg.conv)
            return self._fast

    def map_params(self) -> Mapping:
        """The object map's weights (:func:`mapfeatures.vgg_params`): where ``conv`` resolves to
        Winograd (the CPU), the objective's kernels forward-only; else direct."""
        if vgg.resolve_conv(self.setup.cfg.conv) != "winograd":
            return self.setup.params
        return mapfeatures.vgg_params(self.fast_params(), self.setup.cfg.conv)

    def first_time(self, pad_hw: tuple[int, int]) -> bool:
        """Whether no level of this run was of size ``pad_hw`` before (it is from now on)."""
        with self._lock:
            first = pad_hw not in self._seen
            self._seen.add(pad_hw)
            return first


@dataclass(frozen=True)
class Level:
    """One coarse-to-fine level of a photo: its long side, iterations and size (and the coarser one's)."""
    side: int
    iterations: int
    hw: tuple[int, int]
    prev_side: int | None
    prev_hw: tuple[int, int] | None
    pad_hw: tuple[int, int]  # the bucket's size (``hw`` without buckets)


def level_plan(shape, cfg) -> tuple[Level, ...]:
    """The levels for a photo of ``shape`` (H, W, ...) at ``cfg.size`` (:func:`optimize.schedule`).

    Coarse levels too small for conv5_1 give their iterations to the next level.
    """
    plan = optimize.schedule(cfg.size, cfg.total_iterations, cfg.scales, backend=jax.default_backend())
    if min(hw_at(shape, cfg.size)) < MIN_SHORT_SIDE:
        raise UsageError(f"the image is too small for VGG-19 at --size {cfg.size}: its short side must be "
                         f">= {MIN_SHORT_SIDE} px (4 poolings before conv5_1)")
    carry = 0
    kept = []
    for side, n in plan[:-1]:
        if min(hw_at(shape, side)) < 2 * MIN_SHORT_SIDE:
            carry += n
        else:
            kept.append((side, n + carry))
            carry = 0
    plan = kept + [(plan[-1][0], plan[-1][1] + carry)]
    prevs = [None] + [s for s, _ in plan[:-1]]
    return tuple(Level(s, n, hw_at(shape, s), p, None if p is None else hw_at(shape, p),
                       vgg.bucket_hw(hw_at(shape, s), cfg.buckets)) for (s, n), p in zip(plan, prevs))


def _f32(shape) -> jax.ShapeDtypeStruct:
    """A float32 array's shape, for tracing and compiling before the array exists."""
    return jax.ShapeDtypeStruct(tuple(shape), jnp.float32)


def _zeros(shape) -> jax.Array:
    """A float32 zero array made on the host (``jnp.zeros`` compiles a program per shape)."""
    return jnp.asarray(np.zeros(shape, np.float32))


class Prepared(NamedTuple):
    """A level ready to iterate: its photo (padded, and real), objective (compiled) and detail bands (real)."""
    base: jax.Array
    base_real: jax.Array
    fun: object
    args: dict
    band: jax.Array | None
    style_band: jax.Array | None


class Finished(NamedTuple):
    """What :meth:`LevelRunner.run` returns: the last level's image (its real pixels), the last
    loss terms and every chunk's terms."""
    image: jax.Array
    terms: dict[str, float]
    history: list[dict]


class LevelRunner:
    """Runs one photo's levels: prepares each (targets, objective, compile), then iterates it.

    With ``cfg.prefetch`` every level is prepared in a background thread, in order, while
    the object map is computed and the earlier levels iterate, so compilation overlaps work
    (2-core CPU, cold 512 px auto run: 71 -> 62-66 s; H100, three levels in a fresh process:
    82.5 s with it, 91.8 s without, one run each).
    """

    def __init__(self, run: Run, content_img: np.ndarray, plan: tuple[Level, ...], on_phase=None):
        self.shared, self.setup, self.cfg, self.plan, self.on_phase = run, run.setup, run.setup.cfg, plan, on_phase
        self.content_img = content_img
        self.content_dev = jnp.asarray(content_img, jnp.float32)

    def prepare(self, lv: Level) -> Prepared:
        """A level's photo, objective and arguments (its programs compiled) and its detail bands.

        The objective is traced and compiled from its arguments' shapes in a second thread
        while the target passes run in this one (:meth:`compile_from_shapes`).
        """
        spec = self.static_spec(lv)
        with ThreadPoolExecutor(1, thread_name_prefix="jaxstyle-compile") as ex:
            early = ex.submit(self.compile_from_shapes, lv, spec)
            base, base_real, ctarget, band, style_band = self.level_inputs(lv, spec.get("valid"))
            spec = dict(spec, content_target=ctarget, style_targets=self.shared.style_targets(lv.side), base=base)
            early.result()
        fun, fargs = objective.make(self.shared.objective_params(lv.pad_hw, lv.iterations), spec)
        optimize.prepare(fun, base, fargs)  # compiled from the shapes: found in optimize's cache
        return Prepared(base, base_real, fun, fargs, band, style_band)

    def static_spec(self, lv: Level) -> dict:
        """The objective's spec without the photo and the targets (region and masks are set at run time)."""
        su, cfg = self.setup, self.cfg
        padded = cfg.buckets > 0
        spec = dict(style_layers=su.style_layers, channels=su.channels, layer_weights=su.layer_w,
                    region=_zeros(lv.pad_hw) if cfg.guided or padded else None,
                    normalize=PRESETS[cfg.preset]["normalize"], weights=cfg.loss_weights, pooling=cfg.pooling)
        if padded:
            spec.update(valid=vgg.valid_masks(lv.hw, lv.pad_hw), guided=cfg.guided, masks={
                l: _zeros(vgg.block_hw(lv.pad_hw, l)) for l in su.mask_layers})
        return spec

    def level_inputs(self, lv: Level, valid):
        """The level's photo (padded to the bucket when ``valid`` is given, and real), content target and bands."""
        su, cfg = self.setup, self.cfg
        if valid is not None:
            base_real = resize(self.content_dev, lv.hw)
            base = pad(base_real, lv.pad_hw, "edge")
            ctarget = objective.padded_content_target(su.params, base, tuple(jnp.asarray(v) for v in valid),
                                                      cfg.pooling)
        else:
            base, ctarget = objective.level_photo(su.params, self.content_dev, lv.hw, cfg.pooling)
            base_real = base
        band = style_band = None
        if lv.prev_side is not None and cfg.detail != "none":
            band = fine_band(base_real, lv.prev_hw)  # the photo's (a Laplacian-pyramid step)
            if cfg.detail == "style" and cfg.guided and cfg.strength > 0:
                style_band = style_detail(su.style_imgs, su.style_w, lv.side, cfg.style_scale, lv.hw, lv.prev_hw,
                                          jax.random.fold_in(jax.random.PRNGKey(cfg.seed), lv.side), lv.pad_hw)
                style_band = style_band[:lv.hw[0], :lv.hw[1]]
                if cfg.strength < 1:  # a weaker style starts with the photo's detail mixed in
                    style_band = cfg.strength * style_band + (1.0 - cfg.strength) * band
        return base, base_real, ctarget, band, style_band

    def compile_from_shapes(self, lv: Level, spec: dict) -> None:
        """Compile the level's :func:`optimize.prepare` programs before its targets exist.

        XLA's compiler overlaps the target passes (a cold one-level 384 px run: ~0.35 s
        sooner; with the programs in the persistent cache both threads mostly trace, under
        Python's lock, and nothing is saved: docs/BENCHMARKS.md, "Equal work and batches"). The
        targets' shapes: conv4_2 of the (padded) photo, a C x C Gram per style layer.
        """
        su = self.setup
        params = self.shared.objective_params(lv.pad_hw, lv.iterations)
        ct = _f32(vgg.block_hw(lv.pad_hw, CONTENT_LAYER) + (vgg.num_channels(su.params, CONTENT_LAYER),))
        tg = {l: _f32((vgg.num_channels(su.params, l),) * 2) for l in su.style_layers}
        base = _f32(lv.pad_hw + (3,))
        made = {}

        def arguments(ct_, tg_, base_):
            made["fun"], args = objective.make(params, dict(spec, content_target=ct_, style_targets=tg_, base=base_))
            return args

        shapes = jax.eval_shape(arguments, ct, tg, base)
        optimize.prepare(made["fun"], base, shapes)

    def levels(self, pool: ThreadPoolExecutor | None) -> Iterator[Prepared]:
        """The prepared levels in order: submitted to ``pool`` now, or each prepared when reached."""
        futures = [pool.submit(self.prepare, lv) for lv in self.plan] if pool else [None] * len(self.plan)
        return self._ready(futures)

    def _ready(self, futures) -> Iterator[Prepared]:
        for lv, f in zip(self.plan, futures):
            size = f"{lv.pad_hw[1]}x{lv.pad_hw[0]}"
            first = self.shared.first_time(lv.pad_hw)
            if f is None or not f.done():
                phase(self.on_phase, f"compiling {size}" + (" (first time for this size)" if first else ""))
            p = self.prepare(lv) if f is None else f.result()
            phase(self.on_phase, f"iterating {size}")
            yield p

    def _region_args(self, lv: Level, p: Prepared, region):
        """The level's objective arguments with its region, and the region the previews show.

        Padded: the real pixels (whole-image methods) or the region, zero in the padding.
        """
        if self.cfg.buckets > 0:
            real = jnp.asarray(np.ones(lv.hw, np.float32)) if region is None else region
            shown = pad(real, lv.pad_hw)
            return dict(p.args, region=shown, masks=objective.layer_masks(real, lv.pad_hw,
                                                                          self.setup.mask_layers)), shown
        if region is not None:
            return dict(p.args, region=region), region
        return p.args, region

    def run(self, levels: Iterator[Prepared], region_full) -> Generator[Progress, None, Finished]:
        """Iterate every level from the previous one's upsampled result, yielding :class:`Progress`;
        returns the :class:`Finished` result (``yield from`` gives it)."""
        cfg, plan = self.cfg, self.plan
        total = sum(lv.iterations for lv in plan)
        key = jax.random.PRNGKey(cfg.seed)
        x = None
        done = 0
        history: list[dict] = []
        last_terms: dict[str, float] = {}
        for si, (lv, p) in enumerate(zip(plan, levels)):
            region = None if region_full is None else jnp.clip(resize(region_full, lv.hw), 0.0, 1.0)
            fargs, shown = self._region_args(lv, p, region)
            if x is None:
                if cfg.init == "noise":
                    key, sub = jax.random.split(key)
                    x = jax.random.uniform(sub, p.base_real.shape, jnp.float32, 0.0, 255.0)
                else:
                    x = p.base_real
            else:
                x = next_level_start(x, lv.hw, p.band, p.style_band, region)
            x = pad(x, lv.pad_hw, "edge")
            h, w = lv.hw
            for step in optimize.lbfgs(p.fun, x, lv.iterations, args=fargs, chunk=cfg.chunk):
                x = step.image
                last_terms = dict(step.terms, loss=step.loss)
                history.append(dict(scale=si, shape=lv.hw, iteration=done + step.iteration, **last_terms))
                yield Progress(si, len(plan), lv.hw, done + step.iteration, total, step.loss, step.terms,
                               composite(x, shown, p.base)[:h, :w])
            x = x[:h, :w]
            done += lv.iterations
        return Finished(x, last_terms, history)
