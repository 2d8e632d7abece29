"""Pool scores: every image's per-filter max activation (and its argmax and spatial mean),
saved once per scoring pass so any class can be selected later without VGG.

``score_filters.py --save-scores P.npz`` writes them; ``--pool-scores P.npz --class ...``
replays them into a class's :class:`jaxstyle.select.probes.scoring.ScoreState` through the same
:func:`jaxstyle.select.probes.scoring.update` as the live pass (so the top-k merge and sums are the same
code, block by block). Labels are stored as wnids, so the file does not depend on the order
of the group table. Arrays (``N`` images, ``C`` filters per layer)::

    meta            JSON: schema, sources [{data, name, images, skipped}], weights, size, layers, ...
    ids (N,) str    pool ids (``<source>/<path>`` when several sources)
    wnid (N,) str   the label synset of each image
    source (N,)     index into meta.sources
    skipped (M,) str
    <layer>/max (N, C) float32, <layer>/mean (N, C) float32, <layer>/argmax (N, C, 2) int16 (y, x)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from .. import classes
from . import scoring
from ... import artifact
from ...errors import JaxstyleError

SCHEMA = "jaxstyle.select.poolscores/1"


@dataclass(frozen=True)
class PoolScores:
    meta: dict
    ids: np.ndarray
    wnid: np.ndarray
    source: np.ndarray
    skipped: np.ndarray
    maxima: Mapping[str, np.ndarray]
    means: Mapping[str, np.ndarray]
    argmax: Mapping[str, np.ndarray]

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self.meta["layers"])

    @property
    def n(self) -> int:
        return len(self.ids)

    def codes(self) -> np.ndarray:
        """Label codes of the images in this install's class table."""
        return np.asarray([classes.label_code(w) for w in self.wnid], np.int64)


def from_state(state: scoring.ScoreState, source: np.ndarray, meta: Mapping) -> PoolScores:
    """The pool scores of a recorded pass (``init_state(record=True)``)."""
    if not state.record:
        raise ValueError("state was not recorded (init_state(record=True))")
    cat = {l: (np.concatenate(s.maxima), np.concatenate(s.means), np.concatenate(s.argmax))
           for l, s in state.layer.items()}
    return PoolScores(dict(meta, schema=SCHEMA, layers=list(state.layers)), np.asarray(state.ids, str),
                      np.asarray([classes.label_wnid(c) for c in state.labels], str), np.asarray(source, np.int16),
                      np.asarray(state.skipped, str), {l: v[0] for l, v in cat.items()},
                      {l: v[1] for l, v in cat.items()}, {l: v[2] for l, v in cat.items()})


def save(ps: PoolScores, path: str | Path, force: bool = False) -> Path:
    arrays = {"ids": ps.ids, "wnid": ps.wnid, "source": ps.source, "skipped": ps.skipped}
    for l in ps.layers:
        arrays.update({f"{l}/max": ps.maxima[l], f"{l}/mean": ps.means[l], f"{l}/argmax": ps.argmax[l]})
    return artifact.save(path, arrays, ps.meta, force=force)


def load(path: str | Path) -> PoolScores:
    path = Path(path)
    if not path.is_file():
        raise JaxstyleError(f"{path}: no such pool-scores file")
    what = "readable pool-scores file"
    z, meta = artifact.load(path, what)
    meta = artifact.require(path, what, z, meta, ("ids", "wnid", "source", "skipped"))
    if meta.get("schema") != SCHEMA:
        raise JaxstyleError(f"{path}: unsupported pool-scores schema {meta.get('schema')!r}")
    try:
        ls = meta["layers"]
        return PoolScores(meta, z["ids"], z["wnid"], z["source"], z["skipped"],
                          {l: z[f"{l}/max"] for l in ls}, {l: z[f"{l}/mean"] for l in ls},
                          {l: z[f"{l}/argmax"] for l in ls})
    except (KeyError, TypeError) as e:
        raise JaxstyleError(f"{path}: not a {what} ({type(e).__name__}: {e})") from None


def replay(ps: PoolScores, mask: classes.ClassMask, k: int, block: int = 256) -> scoring.ScoreState:
    """A class's finished :class:`ScoreState` from saved pool scores (no VGG pass)."""
    state = scoring.init_state(ps.layers, {l: ps.maxima[l].shape[1] for l in ps.layers}, k)
    codes = ps.codes()
    for s in range(0, ps.n, block):
        e = min(s + block, ps.n)
        out = {l: (ps.maxima[l][s:e], ps.argmax[l][s:e, :, 0], ps.argmax[l][s:e, :, 1], ps.means[l][s:e])
               for l in ps.layers}
        lab = codes[s:e]
        scoring.update(state, [str(i) for i in ps.ids[s:e]], mask.positive[lab], out, e - s, (),
                       mask.known[lab], lab)
    state.skipped = [str(x) for x in ps.skipped]
    state.consumed += len(state.skipped)
    return state


def source_counts(ps: PoolScores, mask: classes.ClassMask) -> list[dict]:
    """Per source: images scored, skipped, and positives / negatives / unknown for the class."""
    codes = ps.codes()
    out = []
    for j, src in enumerate(ps.meta["sources"]):
        sel = ps.source == j
        c = codes[sel]
        out.append({"data": src["data"], "name": src["name"], "images": int(sel.sum()),
                    "skipped": int(src.get("skipped", 0)), "positive": int(mask.positive[c].sum()),
                    "negative": int((mask.known[c] & ~mask.positive[c]).sum()),
                    "unknown": int((~mask.known[c]).sum())})
    return out
