"""Streaming per-filter class scores over a labelled image pool.

For each filter of the chosen layers and each image, the *image score* is the filter's
max spatial activation (how Deep Visualization Toolbox ranks images); its argmax (y, x)
in the feature map is kept for receptive-field crops. Over the pool we keep

* an exact streaming top-k per filter (value desc, then pool index asc as tie-break),
  merged batch by batch, so any batching or device count gives the same lists;
* every image's max per filter (``N x C`` float32 — 4 KB per image for conv4_1+conv5_1,
  never the activation maps) for average precision;
* float64 sums of each filter's spatial-mean activation inside/outside the class set for
  the Morcos et al. (2018) class-selectivity index.

From these :func:`finalize` computes ``purity`` (share of top-k in the class set), ``ap``
(average precision of class-vs-rest ranked by max activation, ties grouped as sklearn
does) and ``selectivity`` ((mu_in - mu_out) / (mu_in + mu_out)); :func:`select` applies
the selection rule. The VGG pass + reductions is one jitted call per batch, batches
sharded over ``jax.devices()`` with a fixed per-device batch (the last batch padded).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import vgg
from .classes import NUM_CLASSES
from .errors import UsageError

DEFAULT_LAYERS = ("conv4_1", "conv5_1")
DEFAULT_TOP_K = 9
DEFAULT_MIN_AP = 0.3
DEFAULT_MAX_FILTERS = 8


# --------------------------------------------------------------------------- device pass
CPU_BATCH = 4  # images per step on CPU: smaller working sets ran faster than 16 (BENCHMARKS.md (d))
ACCEL_BATCH = 16  # per device on GPU/TPU


def default_batch(platform: str) -> int:
    """Images per device per step for a JAX platform name ("cpu", "gpu", "tpu", ...)."""
    return CPU_BATCH if platform == "cpu" else ACCEL_BATCH


def _reduce(params, images, layers):
    """(B,H,W,3) RGB 0-255 -> {layer: (max (B,C), argmax y (B,C), x (B,C), spatial mean (B,C))}."""
    feats = vgg.apply(params, vgg.preprocess(images), layers)
    out = {}
    for name, a in feats.items():
        b, h, w, c = a.shape
        flat = a.reshape(b, h * w, c)
        arg = jnp.argmax(flat, axis=1)  # first maximum: deterministic
        out[name] = (jnp.max(flat, axis=1), (arg // w).astype(jnp.int32), (arg % w).astype(jnp.int32),
                     jnp.mean(flat, axis=1))
    return out


_reduce_jit = jax.jit(_reduce, static_argnames=("layers",))  # one cache for all scorers


@dataclass(frozen=True)
class BatchScorer:
    """One jitted VGG pass + reductions over a global batch of ``per_device * len(devices)`` images.

    With several devices the batch axis is sharded over them (params replicated); jit follows
    the input shardings. Every device always sees ``per_device`` images, so per-image results
    are the same for any device count (XLA CPU kernels may round differently per batch shape).
    """
    params: Mapping
    layers: tuple[str, ...]
    per_device: int
    devices: tuple = field(default_factory=lambda: tuple(jax.devices()))
    conv: str = "auto"  # vgg.prepare: Winograd on CPU

    def __post_init__(self):
        object.__setattr__(self, "params", vgg.prepare(self.params, self.conv, backend=self.devices[0].platform,
                                                       grad=False))  # forward only
        if len(self.devices) > 1:
            mesh = jax.sharding.Mesh(np.array(self.devices), ("d",))
            data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("d"))
            params = jax.device_put(self.params, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
        else:
            data = self.devices[0]
            params = jax.device_put(self.params, data)
        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "_data", data)

    @property
    def batch(self) -> int:
        return self.per_device * len(self.devices)

    def dispatch(self, images: np.ndarray):
        """Start the pass on a (n <= batch, S, S, 3) uint8 batch (zero-padded to ``batch``); async."""
        n = images.shape[0]
        if n > self.batch:
            raise ValueError(f"batch of {n} > {self.batch}")
        if n < self.batch:
            pad = np.zeros((self.batch - n,) + images.shape[1:], images.dtype)
            images = np.concatenate([images, pad])
        x = jax.device_put(images.astype(np.float32), self._data)
        return n, _reduce_jit(self._params, x, self.layers)

    @staticmethod
    def fetch(handle) -> dict[str, tuple[np.ndarray, ...]]:
        """Block on a :meth:`dispatch` result; host numpy arrays cut to the real images."""
        n, out = handle
        return {k: tuple(np.asarray(a)[:n] for a in v) for k, v in out.items()}


# --------------------------------------------------------------------------- streaming state
@dataclass
class LayerState:
    """Running statistics of one layer's C filters."""
    top_val: np.ndarray   # (C, k) float32, -inf where empty
    top_idx: np.ndarray   # (C, k) int64 pool index, -1 where empty
    top_pos: np.ndarray   # (C, k, 2) int32 (y, x)
    maxima: list          # list of (b, C) float32 blocks, pool order
    sum_in: np.ndarray    # (C,) float64
    sum_out: np.ndarray   # (C,) float64


@dataclass
class ScoreState:
    """Everything needed to finish (or resume) a scoring run."""
    layers: tuple[str, ...]
    k: int
    layer: dict[str, LayerState]
    ids: list[str] = field(default_factory=list)        # pool id of each scored image (index = pool index)
    positive: list[bool] = field(default_factory=list)  # in the class set?
    consumed: int = 0                                    # pool items read (scored + skipped)
    skipped: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.ids)


def init_state(layers: Sequence[str], channels: Mapping[str, int], k: int = DEFAULT_TOP_K) -> ScoreState:
    """Empty state for ``layers`` with ``channels[layer]`` filters each."""
    if k < 1:
        raise UsageError("--top-k must be >= 1")
    st = {}
    for l in layers:
        c = int(channels[l])
        st[l] = LayerState(np.full((c, k), -np.inf, np.float32), np.full((c, k), -1, np.int64),
                           np.zeros((c, k, 2), np.int32), [], np.zeros(c), np.zeros(c))
    return ScoreState(tuple(layers), k, st)


def merge_topk(val: np.ndarray, idx: np.ndarray, pos: np.ndarray,
               new_val: np.ndarray, new_idx: np.ndarray, new_pos: np.ndarray, k: int):
    """Exact top-k of the union: (C,k)+(C,b) -> (C,k), ordered by value desc then index asc.

    Empty slots (index -1, value -inf) sort last. The order is total, so the result does not
    depend on how the pool was split into batches or devices.
    """
    v = np.concatenate([val, new_val], axis=1)
    i = np.concatenate([idx, new_idx], axis=1)
    p = np.concatenate([pos, new_pos], axis=1)
    empty = i < 0
    order = np.lexsort((np.where(empty, np.iinfo(np.int64).max, i), -v.astype(np.float64), empty), axis=1)[:, :k]
    return (np.take_along_axis(v, order, 1), np.take_along_axis(i, order, 1),
            np.take_along_axis(p, order[..., None], 1))


def update(state: ScoreState, ids: Sequence[str], positive: np.ndarray,
           out: Mapping[str, tuple[np.ndarray, ...]], consumed: int, skipped: Sequence[str] = ()) -> ScoreState:
    """Fold one fetched batch (``BatchScorer.fetch`` output) into ``state`` (in place; returned)."""
    b = len(ids)
    base = state.n
    positive = np.asarray(positive, bool)
    new_idx = np.arange(base, base + b, dtype=np.int64)
    for l in state.layers:
        mx, py, px, mean = out[l]
        s = state.layer[l]
        s.top_val, s.top_idx, s.top_pos = merge_topk(
            s.top_val, s.top_idx, s.top_pos, mx.T.astype(np.float32),
            np.broadcast_to(new_idx, mx.T.shape), np.stack([py.T, px.T], -1).astype(np.int32), state.k)
        s.maxima.append(np.asarray(mx, np.float32))
        m64 = np.asarray(mean, np.float64)
        s.sum_in += m64[positive].sum(0)
        s.sum_out += m64[~positive].sum(0)
    state.ids.extend(ids)
    state.positive.extend(bool(p) for p in positive)
    state.consumed += consumed
    state.skipped.extend(skipped)
    return state


# --------------------------------------------------------------------------- scores
def average_precision(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """AP per column of ``scores`` (N, C) for boolean ``positive`` (N,); tied scores form one threshold."""
    scores = np.asarray(scores, np.float64)
    positive = np.asarray(positive, bool)
    n, c = scores.shape
    npos = int(positive.sum())
    if npos == 0 or n == 0:
        return np.zeros(c)
    order = np.argsort(-scores, axis=0, kind="stable")
    s = np.take_along_axis(scores, order, 0)
    y = positive[order]
    tp = np.cumsum(y, axis=0)
    is_end = np.ones_like(s, bool)
    is_end[:-1] = s[1:] != s[:-1]
    rows = np.arange(n)[:, None]
    end = np.where(is_end, rows, n)
    end = np.minimum.accumulate(end[::-1], axis=0)[::-1]  # index of each row's tie-group end
    prec_end = np.take_along_axis(tp, end, 0) / (end + 1.0)
    return (y * prec_end).sum(0) / npos


def selectivity(sum_in: np.ndarray, n_in: int, sum_out: np.ndarray, n_out: int) -> np.ndarray:
    """Morcos et al. class-selectivity index of mean activations; 0 where undefined."""
    mu_in = sum_in / max(n_in, 1)
    mu_out = sum_out / max(n_out, 1)
    den = mu_in + mu_out
    with np.errstate(invalid="ignore", divide="ignore"):
        si = np.where(den > 0, (mu_in - mu_out) / np.where(den > 0, den, 1), 0.0)
    if n_in == 0 or n_out == 0:
        si = np.zeros_like(si)
    return si


@dataclass
class LayerScores:
    purity: np.ndarray        # (C,)
    ap: np.ndarray            # (C,)
    selectivity: np.ndarray   # (C,)
    top_val: np.ndarray       # (C, k')
    top_idx: np.ndarray       # (C, k') pool indices
    top_pos: np.ndarray       # (C, k', 2)


def finalize(state: ScoreState) -> dict[str, LayerScores]:
    """Per-layer purity@k, AP and selectivity from a finished state."""
    pos = np.asarray(state.positive, bool)
    kk = min(state.k, state.n)
    out = {}
    for l in state.layers:
        s = state.layer[l]
        idx = s.top_idx[:, :kk]
        purity = pos[idx].mean(1) if kk else np.zeros(idx.shape[0])
        maxima = np.concatenate(s.maxima) if s.maxima else np.zeros((0, idx.shape[0]), np.float32)
        out[l] = LayerScores(purity, average_precision(maxima, pos),
                             selectivity(s.sum_in, int(pos.sum()), s.sum_out, int((~pos).sum())),
                             s.top_val[:, :kk], idx, s.top_pos[:, :kk])
    return out


def max_purity(n_positive: int, k: int) -> float:
    """Best purity@k reachable when the pool holds ``n_positive`` class images."""
    return min(n_positive, k) / k if k else 0.0


def select(scores: Mapping[str, LayerScores], n_positive: int, k: int, min_purity: float | None = None,
           min_ap: float = DEFAULT_MIN_AP, max_filters: int | None = DEFAULT_MAX_FILTERS) -> dict[str, list[int]]:
    """Selection rule. A filter is kept when

    * purity@k >= ``min_purity``, capped at the best reachable ``min(n_positive, k)/k`` (so a
      class with 5 images in the pool needs all 5 in the top 9); ``None`` means 1.0, the
      paper's 9/9;
    * AP >= ``min_ap`` (class images ranked first over the *whole* pool, not just the top k);

    then ranked by AP (ties: selectivity, then index) and cut to ``max_filters`` per layer.
    """
    floor = min(1.0 if min_purity is None else float(min_purity), max_purity(n_positive, k))
    sel = {}
    for l, s in scores.items():
        ok = np.flatnonzero((s.purity >= floor - 1e-9) & (s.ap >= min_ap))
        order = sorted(ok, key=lambda i: (-s.ap[i], -s.selectivity[i], i))
        if max_filters is not None:
            order = order[:max_filters]
        sel[l] = sorted(int(i) for i in order)
    return sel


def purity_counts(scores: Mapping[str, LayerScores], k: int, levels: Sequence[int]) -> dict[str, dict[int, int]]:
    """``{layer: {m: number of filters with >= m of k top images in the class}}``."""
    return {l: {m: int((np.rint(s.purity * min(k, s.top_idx.shape[1] or k)) >= m).sum()) for m in levels}
            for l, s in scores.items()}


# --------------------------------------------------------------------------- driver
Batch = tuple[list[str], np.ndarray, np.ndarray, int, list[str]]
"""(ids, labels (b,), uint8 images (b,S,S,3), pool items consumed, skipped ids)."""


def score_stream(scorer: BatchScorer, batches: Iterable[Batch], class_set: Iterable[int],
                 state: ScoreState, on_batch=None) -> ScoreState:
    """Run ``scorer`` over ``batches`` and fold them into ``state``, one batch in flight ahead.

    ``on_batch(state, n_images)`` is called after each folded batch (progress, checkpoints).
    """
    cls = np.zeros(NUM_CLASSES, bool)
    cls[list(class_set)] = True
    pending = None
    for ids, labels, images, consumed, skipped in batches:
        handle = scorer.dispatch(images) if len(ids) else None
        if pending is not None:
            _fold(state, cls, pending, on_batch)
        pending = (ids, labels, handle, consumed, skipped)
    if pending is not None:
        _fold(state, cls, pending, on_batch)
    return state


def _fold(state, cls, pending, on_batch):
    ids, labels, handle, consumed, skipped = pending
    if handle is None:
        state.consumed += consumed
        state.skipped.extend(skipped)
    else:
        update(state, ids, cls[np.asarray(labels, np.int64)], BatchScorer.fetch(handle), consumed, skipped)
    if on_batch:
        on_batch(state, len(ids))


def scores_on_arrays(params: Mapping, images: np.ndarray, labels: Sequence[int], class_set: Iterable[int],
                     layers: Sequence[str] = DEFAULT_LAYERS, k: int = DEFAULT_TOP_K, batch: int = 8,
                     devices: Sequence | None = None) -> tuple[ScoreState, dict[str, LayerScores]]:
    """Convenience for tests/notebooks: score an in-memory (N,S,S,3) uint8 pool."""
    layers = vgg.check_layers(layers)
    scorer = BatchScorer(params, tuple(layers), batch, tuple(devices or jax.devices()))
    state = init_state(layers, {l: vgg.num_channels(params, l) for l in layers}, k)
    labels = np.asarray(labels, np.int64)

    def gen():
        for s in range(0, len(images), scorer.batch):
            e = min(s + scorer.batch, len(images))
            yield [f"img{i:05d}" for i in range(s, e)], labels[s:e], images[s:e], e - s, []

    state = score_stream(scorer, gen(), class_set, state)
    return state, finalize(state)
