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

from ...model import vgg
from ..classes import ClassMask, class_mask
from ...errors import UsageError

DEFAULT_LAYERS = ("conv4_1", "conv5_1")
DEFAULT_TOP_K = 9
DEFAULT_MIN_AP = 0.3
DEFAULT_MIN_AP_LIFT = 2.0  # AP also >= 2 x the class's base rate
DEFAULT_MAX_FILTERS = 8


# --------------------------------------------------------------------------- device pass
CPU_BATCH = 4  # images per step on CPU: smaller working sets ran faster than 16 (BENCHMARKS.md (d))
ACCEL_BATCH = 16  # per device on GPU/TPU


def default_batch(platform: str) -> int:
    """Images per device per step for a JAX platform name ("cpu", "gpu", "tpu", ...)."""
    return CPU_BATCH if platform == "cpu" else ACCEL_BATCH


def reductions(params, images, layers):
    """The scorer's pass: (B,H,W,3) RGB 0-255 -> {layer: (max (B,C), argmax y (B,C), x (B,C), spatial mean (B,C))}."""
    feats = vgg.apply(params, vgg.preprocess(images), layers)
    out = {}
    for name, a in feats.items():
        b, h, w, c = a.shape
        flat = a.reshape(b, h * w, c)
        arg = jnp.argmax(flat, axis=1)  # first maximum: deterministic
        out[name] = (jnp.max(flat, axis=1), (arg // w).astype(jnp.int32), (arg % w).astype(jnp.int32),
                     jnp.mean(flat, axis=1))
    return out


_reduce_jit = jax.jit(reductions, static_argnames=("layers",))  # one cache for all scorers


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
    means: list = field(default_factory=list)   # (b, C) float32 spatial means, when recording
    argmax: list = field(default_factory=list)  # (b, C, 2) int16 (y, x), when recording


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
    known: list[bool] = field(default_factory=list)     # can the label say yes or no for the class?
    labels: list[int] = field(default_factory=list)     # label codes (jaxstyle.select.classes.label_code)
    record: bool = False                                 # keep every image's means and argmax too

    @property
    def n(self) -> int:
        return len(self.ids)


def init_state(layers: Sequence[str], channels: Mapping[str, int], k: int = DEFAULT_TOP_K,
               record: bool = False) -> ScoreState:
    """Empty state for ``layers`` with ``channels[layer]`` filters each; ``record`` keeps every
    image's per-filter mean and argmax as well (the pool scores, :func:`pool_scores`)."""
    if k < 1:
        raise UsageError("--top-k must be >= 1")
    st = {}
    for l in layers:
        c = int(channels[l])
        st[l] = LayerState(np.full((c, k), -np.inf, np.float32), np.full((c, k), -1, np.int64),
                           np.zeros((c, k, 2), np.int32), [], np.zeros(c), np.zeros(c))
    return ScoreState(tuple(layers), k, st, record=record)


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
           out: Mapping[str, tuple[np.ndarray, ...]], consumed: int, skipped: Sequence[str] = (),
           known: np.ndarray | None = None, labels: Sequence[int] | None = None) -> ScoreState:
    """Fold one fetched batch (``BatchScorer.fetch`` output) into ``state`` (in place; returned).

    Images whose label is not ``known`` for the class stay in the pool (ids, maxima) but out of
    the top-k lists and the selectivity sums; :func:`finalize` leaves them out of AP too.
    """
    b = len(ids)
    base = state.n
    positive = np.asarray(positive, bool)
    known = np.ones(b, bool) if known is None else np.asarray(known, bool)
    new_idx = np.where(known, np.arange(base, base + b, dtype=np.int64), -1)
    for l in state.layers:
        mx, py, px, mean = out[l]
        s = state.layer[l]
        s.top_val, s.top_idx, s.top_pos = merge_topk(
            s.top_val, s.top_idx, s.top_pos, np.where(known[:, None], mx, -np.inf).T.astype(np.float32),
            np.broadcast_to(new_idx[:, None], mx.shape).T, np.stack([py.T, px.T], -1).astype(np.int32), state.k)
        s.maxima.append(np.asarray(mx, np.float32))
        m64 = np.asarray(mean, np.float64)
        s.sum_in += m64[positive & known].sum(0)
        s.sum_out += m64[~positive & known].sum(0)
        if state.record:
            s.means.append(np.asarray(mean, np.float32))
            s.argmax.append(np.stack([py, px], -1).astype(np.int16))
    state.ids.extend(ids)
    state.positive.extend(bool(p) for p in positive)
    state.known.extend(bool(k) for k in known)
    state.labels.extend(int(x) for x in (labels if labels is not None else [-1] * b))
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
    known = np.asarray(state.known, bool) if len(state.known) == state.n else np.ones(state.n, bool)
    kk = min(state.k, int(known.sum()))
    out = {}
    for l in state.layers:
        s = state.layer[l]
        idx = s.top_idx[:, :kk]
        purity = pos[idx].mean(1) if kk else np.zeros(idx.shape[0])
        maxima = np.concatenate(s.maxima) if s.maxima else np.zeros((0, idx.shape[0]), np.float32)
        out[l] = LayerScores(purity, average_precision(maxima[known], pos[known]),
                             selectivity(s.sum_in, int((pos & known).sum()), s.sum_out, int((~pos & known).sum())),
                             s.top_val[:, :kk], idx, s.top_pos[:, :kk])
    return out


def max_purity(n_positive: int, k: int) -> float:
    """Best purity@k reachable when the pool holds ``n_positive`` class images."""
    return min(n_positive, k) / k if k else 0.0


def select(scores: Mapping[str, LayerScores], n_positive: int, k: int, min_purity: float | None = None,
           min_ap: float = DEFAULT_MIN_AP, max_filters: int | None = DEFAULT_MAX_FILTERS,
           exclude: Mapping[str, np.ndarray] | None = None) -> dict[str, list[int]]:
    """Selection rule. A filter is kept when

    * purity@k >= ``min_purity``, capped at the best reachable ``min(n_positive, k)/k`` (so a
      class with 5 images in the pool needs all 5 in the top 9); ``None`` means 1.0, the
      paper's 9/9;
    * AP >= ``min_ap`` (class images ranked first over the *whole* pool, not just the top k);

    * not in ``exclude[layer]`` (e.g. too many look-alikes in its top k, :func:`assess`);

    then ranked by AP (ties: selectivity, then index) and cut to ``max_filters`` per layer.
    """
    floor = min(1.0 if min_purity is None else float(min_purity), max_purity(n_positive, k))
    sel = {}
    for l, s in scores.items():
        keep = (s.purity >= floor - 1e-9) & (s.ap >= min_ap)
        if exclude is not None and l in exclude:
            keep &= ~np.asarray(exclude[l], bool)
        ok = np.flatnonzero(keep)
        order = sorted(ok, key=lambda i: (-s.ap[i], -s.selectivity[i], i))
        if max_filters is not None:
            order = order[:max_filters]
        sel[l] = sorted(int(i) for i in order)
    return sel


def purity_counts(scores: Mapping[str, LayerScores], k: int, levels: Sequence[int]) -> dict[str, dict[int, int]]:
    """``{layer: {m: number of filters with >= m of k top images in the class}}``."""
    return {l: {m: int((np.rint(s.purity * min(k, s.top_idx.shape[1] or k)) >= m).sum()) for m in levels}
            for l, s in scores.items()}


# --------------------------------------------------------------------------- confusion
CONFUSER_DEPTH = 5  # confusers are counted in each filter's top depth*k images
N_CONFUSERS = 3
PROBE_FILTERS = 8   # before selection, confusers come from the best-AP filters per layer


def _deep_top(state: ScoreState, layer: str, filters: Sequence[int], n: int) -> np.ndarray:
    """(F, n) pool indices of each filter's ``n`` highest known images (value desc, index asc)."""
    m = np.concatenate(state.layer[layer].maxima)[:, list(filters)].astype(np.float64)
    known = np.asarray(state.known, bool) if len(state.known) == state.n else np.ones(state.n, bool)
    m[~known] = -np.inf
    n = min(n, int(known.sum()))
    return np.argsort(-m, axis=0, kind="stable")[:n].T


def find_confusers(state: ScoreState, filters: Mapping[str, Sequence[int]], names: Sequence[str],
                   depth: int, n: int = N_CONFUSERS) -> list[dict]:
    """The groups most found among the negatives in the filters' top ``depth`` images."""
    pos = np.asarray(state.positive, bool)
    lab = np.asarray(state.labels, np.int64)
    tally: dict[str, int] = {}
    total = 0
    for l, fs in filters.items():
        if not len(fs):
            continue
        for row in _deep_top(state, l, fs, depth):
            for i in row[~pos[row]]:
                tally[names[lab[i]]] = tally.get(names[lab[i]], 0) + 1
            total += len(row)
    best = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"name": k, "wnid": _wnid_of(k), "count": v, "share": round(v / total, 4)} for k, v in best]


def _wnid_of(name: str) -> str | None:
    from .. import classes

    try:
        return sorted(classes.target_synsets(name))[0]
    except Exception:  # a confusion name is a group or class key; anything else has no synset
        return None


def chance_purity(base_rate: float, k: int, m: int) -> float:
    """P(at least ``m`` of ``k`` random pool images are positives) at the pool's base rate."""
    from math import comb

    return float(sum(comb(k, j) * base_rate ** j * (1 - base_rate) ** (k - j) for j in range(m, k + 1)))


def confusion_shares(state: ScoreState, scores: Mapping[str, LayerScores], names: Sequence[str],
                     groups: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    """``{layer: {group: (C,) share of the group's negatives among each filter's top-k}}``."""
    lab = np.asarray(state.labels, np.int64)
    neg = ~np.asarray(state.positive, bool)
    name_arr = np.asarray(names, object)
    out = {}
    for l, s in scores.items():
        idx = s.top_idx
        safe = np.maximum(idx, 0)
        got = (np.where((idx >= 0) & neg[safe], name_arr[lab[safe]], None) if idx.size
               else idx.astype(object))
        kk = max(idx.shape[1], 1)
        out[l] = {g: (got == g).sum(1) / kk for g in groups}
    return out


@dataclass(frozen=True)
class Assessment:
    """Base rate and confusion of a class's scores (what :func:`select` excludes, what the JSON reports)."""
    base_rate: float
    confusers: list            # [{name, count, share}] among negatives of the probed/selected filters' deep lists
    confusion: dict            # {layer: {group: (C,) share among top-k}}
    excluded: dict             # {layer: (C,) bool}: more than max_confusion of one confuser in the top k
    max_confusion: float
    depth: int

    def document(self, selected: Mapping[str, Sequence[int]]) -> dict:
        groups = sorted({g for c in self.confusion.values() for g in c})
        return {"confusers": self.confusers,
                "confusion": {"top_k_share_of": groups, "max_confusion": round(self.max_confusion, 4),
                              "confusers_from": f"negatives in each selected filter's top {self.depth}",
                              "layers": {l: {g: [round(float(x), 4) for x in v] for g, v in c.items()}
                                         for l, c in self.confusion.items()}},
                "base_rate": round(self.base_rate, 4)}


def assess(state: ScoreState, scores: Mapping[str, LayerScores], k: int, max_confusion: float | None = None,
           extra: Sequence[str] = (), depth: int | None = None) -> Assessment:
    """Find the class's confusers among the best-AP filters and each filter's share of them.

    ``max_confusion`` (default ``1/k``: one look-alike in the top k) marks filters for exclusion.
    ``extra`` names groups always reported (e.g. ``cat`` for a dog list).
    """
    from ..classes import confusion_names

    names = confusion_names()
    depth = depth or CONFUSER_DEPTH * k
    pos = np.asarray(state.positive, bool)
    known = np.asarray(state.known, bool) if len(state.known) == state.n else np.ones(state.n, bool)
    base = float((pos & known).sum() / max(known.sum(), 1))
    probe = {l: [int(i) for i in np.argsort(-s.ap, kind="stable")[:PROBE_FILTERS]] for l, s in scores.items()}
    conf = find_confusers(state, probe, names, depth)
    groups = list(dict.fromkeys([c["name"] for c in conf] + list(extra)))
    shares = confusion_shares(state, scores, names, groups)
    mc = (1.0 / k if max_confusion is None else float(max_confusion)) + 1e-9
    excluded = {l: np.max(np.stack(list(v.values())), 0) > mc if v else np.zeros(len(scores[l].ap), bool)
                for l, v in shares.items()}
    return Assessment(base, conf, shares, excluded, mc - 1e-9, depth)


def with_selected(a: Assessment, state: ScoreState, scores: Mapping[str, LayerScores],
                  selected: Mapping[str, Sequence[int]]) -> Assessment:
    """The same assessment with confusers counted in the selected filters' lists (when any)."""
    if not any(len(v) for v in selected.values()):
        return a
    from ..classes import confusion_names

    names = confusion_names()
    conf = find_confusers(state, selected, names, a.depth)
    groups = list(dict.fromkeys([c["name"] for c in conf] + [g for c in a.confusion.values() for g in c]))
    return Assessment(a.base_rate, conf, confusion_shares(state, scores, names, groups), a.excluded,
                      a.max_confusion, a.depth)


# --------------------------------------------------------------------------- driver
Batch = tuple[list[str], np.ndarray, np.ndarray, int, list[str]]
"""(ids, labels (b,), uint8 images (b,S,S,3), pool items consumed, skipped ids)."""


def score_stream(scorer: BatchScorer, batches: Iterable[Batch], class_set: "Iterable[int] | ClassMask",
                 state: ScoreState, on_batch=None) -> ScoreState:
    """Run ``scorer`` over ``batches`` and fold them into ``state``, one batch in flight ahead.

    ``class_set``: a :class:`jaxstyle.select.classes.ClassMask` (labels may be WordNet groups), or
    ImageNet class indices. ``on_batch(state, n_images)`` is called after each folded batch.
    """
    cls = class_set if isinstance(class_set, ClassMask) else class_mask(list(class_set))
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
        lab = np.asarray(labels, np.int64)
        update(state, ids, cls.positive[lab], BatchScorer.fetch(handle), consumed, skipped, cls.known[lab], lab)
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
