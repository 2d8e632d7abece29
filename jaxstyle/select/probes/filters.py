"""Filter sets: ``{layer: [filter indices]}`` parsed, validated, loaded and formatted.

A filter set names the VGG-19 channels that drive object-only style. It comes from

* a lucid-style spec: ``"conv5_1:12,40"``, ``["conv5_1:12,40", "conv4_1:7"]`` or
  ``"conv5_1:3 conv4_1:7"`` (ranges ``conv5_1:10-12`` allowed) — :func:`parse`;
* a file — :func:`load_file`: a score JSON (``"schema": "jaxstyle.scores/1"``, its
  ``selected`` key), a JSON manual list (``{"conv5_1": [12, 40]}`` or a list of spec
  strings), or plain text with one spec per line and ``#`` comments;
* the shipped defaults per class/group in ``jaxstyle/data/filters/<group>.json`` —
  :func:`for_class`.

Layers are ordered as in VGG-19 and indices sorted and de-duplicated, so equal sets
compare equal and :func:`format` round-trips through :func:`parse`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping, Sequence

from ...errors import JaxstyleError, UsageError
from ...model.vgg import CONV_LAYERS
from .scorefile import ScoreFile, parse_json, read_text
DATA_DIR = Path(__file__).parents[2] / "data" / "filters"

Filters = dict[str, list[int]]

_SPEC = re.compile(r"^(?P<layer>[A-Za-z0-9_]+):(?P<idx>[0-9,\-\s]*)$")


def _normalise(filters: Mapping[str, Sequence[int]]) -> Filters:
    """Layers in network order, indices sorted and unique; empty layers dropped."""
    bad = [l for l in filters if l not in CONV_LAYERS]
    if bad:
        raise UsageError(f"unknown VGG-19 layer(s) {', '.join(map(str, bad))} in filter list; "
                         f"valid: {', '.join(CONV_LAYERS)}")
    out: Filters = {}
    for layer in CONV_LAYERS:
        if layer in filters:
            idx = sorted({int(i) for i in filters[layer]})
            if idx:
                out[layer] = idx
    return out


def _parse_indices(text: str, spec: str) -> list[int]:
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not m:
            raise UsageError(f"bad filter index {part!r} in {spec!r}; want e.g. conv5_1:12,40 or conv5_1:10-12")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise UsageError(f"empty filter range {part!r} in {spec!r}")
        out.extend(range(lo, hi + 1))
    if not out:
        raise UsageError(f"filter spec {spec!r} lists no indices; want e.g. conv5_1:12,40")
    return out


def parse(specs: str | Sequence[str]) -> Filters:
    """``"conv5_1:12,40 conv4_1:7"`` (or a list of such strings) -> ``{"conv4_1": [7], "conv5_1": [12, 40]}``."""
    if isinstance(specs, str):
        specs = [specs]
    tokens: list[str] = []
    for s in specs:
        if not isinstance(s, str):
            raise UsageError(f"filter spec must be a string, got {type(s).__name__}")
        # split on whitespace/semicolons, but keep "conv5_1: 1, 2" together by joining after ':' and ','
        s = re.sub(r"\s*([:,\-])\s*", r"\1", s.strip())
        tokens.extend(t for t in re.split(r"[\s;]+", s) if t)
    if not tokens:
        raise UsageError("empty filter list; want e.g. conv5_1:12,40 conv4_1:7")
    merged: dict[str, list[int]] = {}
    for tok in tokens:
        m = _SPEC.match(tok)
        if not m:
            raise UsageError(f"bad filter spec {tok!r}; want LAYER:I,J,... e.g. conv5_1:12,40")
        merged.setdefault(m.group("layer"), []).extend(_parse_indices(m.group("idx"), tok))
    return _normalise(merged)


def validate(filters: Mapping[str, Sequence[int]], params: Mapping) -> Filters:
    """Check layers exist and every index is below that layer's channel count in ``params``."""
    filters = _normalise(filters)
    if not filters:
        raise UsageError("empty filter list")
    for layer, idx in filters.items():
        if layer not in params:
            raise UsageError(f"filter layer {layer} is not in the loaded VGG params")
        n = int(params[layer]["bias"].shape[0])
        bad = [i for i in idx if not 0 <= i < n]
        if bad:
            raise UsageError(f"filter index {', '.join(map(str, bad))} out of range for {layer} "
                             f"({n} channels: 0..{n - 1})")
    return filters


def format(filters: Mapping[str, Sequence[int]]) -> str:  # noqa: A001 - API name
    """``{"conv4_1": [7], "conv5_1": [12, 40]}`` -> ``"conv4_1:7 conv5_1:12,40"``."""
    f = _normalise(filters)
    return " ".join(f"{l}:{','.join(map(str, i))}" for l, i in f.items())


def count(filters: Mapping[str, Sequence[int]]) -> int:
    """Total number of filters in the set."""
    return sum(len(v) for v in filters.values())


# --------------------------------------------------------------------------- files
def selected_of(sf: ScoreFile) -> Filters:
    """The ``selected`` filters of a score file, normalised."""
    try:
        return _normalise(sf.selected)
    except UsageError as e:
        raise JaxstyleError(f"{sf.where}: {e}") from None


def from_scores(path: str | os.PathLike) -> Filters:
    """The ``selected`` filters of a score JSON written by ``jaxstyle score`` (:class:`ScoreFile`)."""
    return selected_of(ScoreFile.read(path))


def load_file(path: str | os.PathLike) -> Filters:
    """A score JSON, a JSON manual list (mapping or list of specs), or a text file of specs."""
    path = Path(path)
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        doc = parse_json(text, str(path))
        if isinstance(doc, dict) and "schema" in doc:
            return selected_of(ScoreFile.of(doc, str(path)))
        if isinstance(doc, dict):
            if not all(isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                                                   for i in v) for v in doc.values()):
                raise JaxstyleError(f"{path}: a JSON filter list maps layer -> list of non-negative integers")
            try:
                out = _normalise(doc)
            except UsageError as e:
                raise JaxstyleError(f"{path}: {e}") from None
        elif isinstance(doc, list) and all(isinstance(s, str) for s in doc):
            try:
                out = parse(doc)
            except UsageError as e:
                raise JaxstyleError(f"{path}: {e}") from None
        else:
            raise JaxstyleError(f"{path}: JSON filter file must be a score JSON, a mapping or a list of specs")
    else:
        lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
        lines = [ln for ln in lines if ln]
        if not lines:
            raise JaxstyleError(f"{path}: no filters listed")
        try:
            out = parse(lines)
        except UsageError as e:
            raise JaxstyleError(f"{path}: {e}") from None
    if not out:
        raise JaxstyleError(f"{path}: no filters listed")
    return out


def shipped(data_dir: Path | None = None) -> list[str]:
    """Names of the classes/groups with a shipped default filter list."""
    d = DATA_DIR if data_dir is None else Path(data_dir)
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def shipped_path(name: str, data_dir: Path | None = None) -> Path:
    """Path of the shipped score JSON for ``name`` (anything :func:`classes.resolve` takes; :func:`classes.canonical`)."""
    from .. import classes  # lazy: keeps this module light

    d = DATA_DIR if data_dir is None else Path(data_dir)
    avail = shipped(d)
    key = classes.canonical(name)
    if key not in avail:
        try:
            classes.resolve(name)
        except UsageError as e:
            if str(e).startswith("unknown class"):
                raise UsageError(f"{e} (shipped filter lists: {', '.join(avail) or 'none'})") from None
        raise UsageError(f"no shipped filter list for class {name!r}; shipped: {', '.join(avail) or '(none)'} "
                         f"(score one with scripts/score_filters.py --class {name.strip()!r} or pass --filters)")
    return d / f"{key}.json"


def for_class(name: str, data_dir: Path | None = None) -> Filters:
    """The shipped default filter list for a class or group (``"dog"``, ``"cat"``, ...)."""
    return from_scores(shipped_path(name, data_dir))
