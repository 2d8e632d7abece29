"""The score file (``jaxstyle.scores/1`` JSON) of a class: written by ``jaxstyle score``, read by
the filter lists (:func:`jaxstyle.select.probes.filters.from_scores`), the object map's filters
(:func:`jaxstyle.transfer.locate.map_filters`) and ``jaxstyle visualize``.

Its keys: ``schema``, ``provenance``, ``selection`` (the rule and its thresholds),
``summary``, ``layers`` (per conv layer, per filter: ``purity``, ``ap``, ``selectivity``,
``topk``) and ``selected`` (the chosen filters, ``{layer: [index, ...]}``). A scoring run's
state becomes a document by :func:`score_document` and comes back by :func:`scores_from_document`.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ...errors import JaxstyleError
from ...model.vgg import CONV_LAYERS

if TYPE_CHECKING:
    from .scoring import LayerScores, ScoreState

SCHEMA = "jaxstyle.scores/1"
MAX_BYTES = 50_000_000


def read_text(path: Path, kind: str = "filter file") -> str:
    """The text of a score or filter file, or a one-line :class:`JaxstyleError` saying why not."""
    if not path.exists():
        raise JaxstyleError(f"{path}: no such {kind}")
    if path.is_dir():
        raise JaxstyleError(f"{path}: is a directory, not a {kind}")
    if path.stat().st_size > MAX_BYTES:
        raise JaxstyleError(f"{path}: too large for a {kind}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise JaxstyleError(f"{path}: not a text file") from None
    except OSError as e:
        raise JaxstyleError(f"{path}: cannot read ({e.strerror or e})") from None


def parse_json(text: str, where: str) -> Any:
    """``text`` as JSON, or a one-line error naming ``where`` and the line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise JaxstyleError(f"{where}: not valid JSON ({e.msg} at line {e.lineno})") from None


def dumps(doc: Mapping) -> str:
    """Compact but diff-friendly JSON: one line per filter list."""
    return json.dumps(doc, separators=(",", ":"), indent=None) + "\n"


def _is_index_list(v) -> bool:
    return isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in v)


@dataclass(frozen=True)
class ScoreFile:
    """A score document (schema checked when read) and where it came from, for errors."""
    doc: Mapping
    where: str = "score file"

    @classmethod
    def of(cls, doc: Any, where: str = "score file") -> "ScoreFile":
        """``doc`` checked to be a score document of this schema."""
        if not isinstance(doc, dict):
            raise JaxstyleError(f"{where}: not a score JSON object")
        schema = doc.get("schema")
        if schema != SCHEMA:
            raise JaxstyleError(f"{where}: unsupported score schema {schema!r}; expected {SCHEMA!r}")
        return cls(doc, where)

    @classmethod
    def read(cls, path: str | os.PathLike) -> "ScoreFile":
        """The score file at ``path`` (read once; one-line errors)."""
        path = Path(path)
        return cls.of(parse_json(read_text(path, "score file"), str(path)), str(path))

    def write(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Write the document atomically (:func:`dumps`); an existing file is kept unless ``force``."""
        from ...images import atomic_write

        return atomic_write(path, lambda tmp: tmp.write_text(dumps(self.doc)), force=force)

    @property
    def selected(self) -> dict[str, list[int]]:
        """The ``selected`` filters as written: ``{layer: [non-negative index, ...]}`` (checked, not sorted)."""
        sel = self.doc.get("selected")
        if not isinstance(sel, dict):
            raise JaxstyleError(f"{self.where}: score JSON has no 'selected' mapping")
        for layer, idx in sel.items():
            if not _is_index_list(idx):
                raise JaxstyleError(f"{self.where}: 'selected'[{layer!r}] must be a list of non-negative integers")
        return sel

    @property
    def layers(self) -> Mapping:
        """The per-filter scores, ``{layer: {"purity": [...], "ap": [...], ...}}`` ({} when absent)."""
        layers = self.doc.get("layers", {})
        if not isinstance(layers, dict):
            raise JaxstyleError(f"{self.where}: 'layers' must be a mapping of layer -> scores")
        return layers

    def scores(self, layer: str, key: str) -> np.ndarray | None:
        """One score (``"ap"``, ``"purity"``, ``"selectivity"``) of every filter of ``layer``, or None."""
        entry = self.layers.get(layer)
        vals = entry.get(key) if isinstance(entry, dict) else None
        return np.asarray(vals, np.float64) if isinstance(vals, list) else None

    def top(self, n: int, keys: Sequence[str] = ("ap",), floor: float | None = None) -> dict[str, list[int]]:
        """Per conv layer with scores, its best ``n`` filters (sorted indices): ranked by the first of
        ``keys`` the layer has (descending; ties in file order, NaN last), those below ``floor`` left out
        (and then a layer with none left out too)."""
        out: dict[str, list[int]] = {}
        for layer in (l for l in self.layers if l in CONV_LAYERS):
            vals = next((v for v in (self.scores(layer, k) for k in keys) if v is not None), None)
            if vals is None:
                continue
            order = np.argsort(-np.nan_to_num(vals, nan=-np.inf), kind="stable")
            best = [int(i) for i in order if floor is None or vals[i] >= floor][:n]
            if best or floor is None:
                out[layer] = sorted(best)
        return out


def score_document(state: ScoreState, scores: Mapping[str, LayerScores],
                   selected: Mapping[str, list[int]], provenance: Mapping, selection: Mapping,
                   topk_for: Mapping[str, Sequence[int]] | None = None) -> dict:
    """The ``jaxstyle.scores/1`` document of a scoring run. ``topk_for`` limits top-k lists to some filters (others [])."""
    from . import scoring

    layers = {}
    for l, s in scores.items():
        keep = None if topk_for is None else set(topk_for.get(l, ()))
        topk = []
        for c in range(len(s.purity)):
            if keep is not None and c not in keep:
                topk.append([])
                continue
            topk.append([{"id": state.ids[int(i)], "value": round(float(v), 4), "pos": [int(p[0]), int(p[1])]}
                         for v, i, p in zip(s.top_val[c], s.top_idx[c], s.top_pos[c])])
        layers[l] = {"purity": [round(float(x), 4) for x in s.purity],
                     "ap": [round(float(x), 4) for x in s.ap],
                     "selectivity": [round(float(x), 4) for x in s.selectivity],
                     "topk": topk}
    k = provenance["top_k"]
    return {"schema": SCHEMA, "provenance": dict(provenance), "selection": dict(selection),
            "summary": {"purity_counts": {l: {f">={m}/{k}": n for m, n in c.items()}
                                          for l, c in scoring.purity_counts(scores, k, purity_levels(k)).items()},
                        "n_positive": int(np.sum(np.asarray(state.positive, bool)
                                              & np.asarray(state.known or [True] * state.n, bool)))},
            "layers": layers, "selected": {l: list(v) for l, v in selected.items()}}


def purity_levels(k: int) -> tuple[int, ...]:
    """The purity levels a document's summary counts at top-k ``k``: k, 7/9 and 5/9 of it."""
    return tuple(sorted({k, max(1, round(k * 7 / 9)), max(1, round(k * 5 / 9))}, reverse=True))


def scores_from_document(doc: Mapping) -> tuple[ScoreState, dict[str, LayerScores], int]:
    """Rebuild (a minimal state, layer scores, n_positive) from a score JSON for re-selection."""
    from . import scoring

    ids: dict[str, int] = {}
    out = {}
    k = int(doc["provenance"]["top_k"])
    for l, L in doc["layers"].items():
        c = len(L["purity"])
        val = np.full((c, k), np.nan, np.float32)
        idx = np.full((c, k), -1, np.int64)
        pos = np.zeros((c, k, 2), np.int32)
        for f, lst in enumerate(L["topk"]):
            for j, e in enumerate(lst[:k]):
                val[f, j], idx[f, j], pos[f, j] = e["value"], ids.setdefault(e["id"], len(ids)), e["pos"]
        kk = max((len(t) for t in L["topk"]), default=0)
        out[l] = scoring.LayerScores(np.asarray(L["purity"]), np.asarray(L["ap"]), np.asarray(L["selectivity"]),
                                     val[:, :kk], idx[:, :kk], pos[:, :kk])
    layers = tuple(doc["layers"])
    state = scoring.ScoreState(layers, k, {}, ids=list(ids))
    return state, out, int(doc["provenance"]["n_positive"])
