"""The object map of a photo, and the filters behind it: what ``--method auto`` styles.

A class with a shipped cell head (dog, cat) is located by the learned map (the head finds the
animal, the class probe judges it; :func:`map_config`); any other class with a shipped probe by
the probe's object map (VGG-19 regions judged by the class probe, docs/METHOD.md); hand-given
filters, a score file, or weights the probe does not fit (the tiny test VGGs) use the filters'
evidence (:func:`map_filters`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from . import objectmap
from .inputs import at_long_side, source_name
from .losses import resize
from ..errors import JaxstyleError, NotFoundError, UsageError
from ..model import vgg

MAP_SIZE = 512  # the object map is computed at this long side whatever the output size
MAP_MIN_AP = 0.3
MAP_MAX_PER_LAYER = 8


def filter_file(filters) -> str | None:
    """The path when ``filters`` names a file (``--filters FILE`` or ``--scores FILE``), else None."""
    if isinstance(filters, (list, tuple)) and len(filters) == 1:
        filters = filters[0]
    if isinstance(filters, (str, os.PathLike)) and os.path.isfile(str(filters)):
        return str(filters)
    return None


def resolve_filters(params, class_name: str | None, filters) -> dict[str, list[int]] | None:
    """Filters from an explicit spec/dict/score file, else the shipped list for ``class_name``."""
    from ..select.probes import filters as flt

    if filters is not None:
        path = filter_file(filters)
        if path is not None:
            sel = flt.load_file(path)
        elif isinstance(filters, Mapping):
            sel = {k: [int(i) for i in v] for k, v in filters.items()}
        else:
            sel = flt.parse(filters)
    elif class_name is not None:
        if _probe_only(class_name):
            return {}  # no filter reaches the scoring rule (its list says so); the class probe locates it
        sel = flt.for_class(class_name)
    else:
        return None
    flt.validate(sel, params)
    sel = {k: list(v) for k, v in sel.items() if len(v)}
    if not sel:
        raise UsageError("the filter list is empty")
    return sel


def _probe_only(class_name: str) -> bool:
    """Whether ``class_name`` has a shipped probe but no shipped filter list that selects a filter (horse, sheep)."""
    from ..select import assets
    from ..select.probes import filters as flt

    a = assets.lookup(class_name)
    return a.probe is not None and (a.filters is None or not any(flt.from_scores(a.filters).values()))


def map_filters(class_name: str | None, filters, selected: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Filters that locate the object for ``auto``.

    From a score file (``--scores`` or the shipped list of ``--class``): per layer the
    filters with AP >= 0.3, best 8 by AP, plus the selected ones. The strict 9/9 purity
    list alone is too sparse to locate a whole dog (it has no conv4_1 filter for dogs);
    AP ranks conv4_1 part/fur filters that the map needs. A hand-given list is used as is.
    """
    from ..select.probes import filters as flt
    from ..select.probes.scorefile import ScoreFile

    path = None
    given = filter_file(filters)
    if given is not None and given.endswith(".json"):
        path = Path(given)
    elif filters is None and class_name is not None:
        path = flt.shipped_path(class_name)
    try:
        best = {} if path is None else ScoreFile.read(path).top(MAP_MAX_PER_LAYER, floor=MAP_MIN_AP)
    except JaxstyleError:  # a JSON filter list rather than a score file: its filters as they are
        best = {}
    out: dict[str, list[int]] = {}
    for layer in vgg.CONV_LAYERS:
        chosen = set(selected.get(layer, [])) | set(best.get(layer, []))
        if chosen:
            out[layer] = sorted(chosen)
    return out


def locate(params, content, class_name: str | None = "dog", filters=None,
           selected: Mapping[str, Sequence[int]] | None = None, map_options: Mapping | None = None) -> dict:
    """The object map at the map's size: ``{"map", "presence", "probe", "min_evidence"}`` (no refusal here).

    ``map_options`` are :class:`objectmap.MapConfig` fields (``size`` defaults to
    ``MAP_SIZE``; a path or :class:`~jaxstyle.images.Photo` is read at that size). A class with a shipped probe is located by
    it; hand-given filters, a score file, or weights the probe does not fit (the tiny test
    VGGs) use the filters' evidence, and ``presence`` is then 1.
    """
    return locate_many(params, [content], class_name, filters, selected, map_options)[0]


def locate_many(params, contents: Sequence, class_name: str | None = "dog", filters=None,
                selected: Mapping[str, Sequence[int]] | None = None, map_options: Mapping | None = None,
                batch: int = 1) -> list[dict]:
    """:func:`locate` of each photo, their VGG passes ``batch`` photos at a time (one program per size)."""
    cfg, chosen = map_choice(map_options, class_name if filters is None else None, params)
    head = None
    if cfg.learned or cfg.gate > 0:
        head = chosen if chosen is not None else class_head(class_name)
    if cfg.learned:
        pr = class_probe(params, class_name) if cfg.probe_judges else None
        rs = objectmap.object_maps(params, [at_long_side(c, cfg.size) for c in contents], None, pr, cfg, batch, head)
        return [{"map": r["map"], "presence": r["presence"], "probe": True, "min_evidence": cfg.min_evidence}
                for r in rs]
    pr = class_probe(params, class_name) if filters is None else None
    if pr is None and head is not None:
        raise UsageError("--head-gate needs the class probe's map (not --filters or --scores)")
    flt = None
    if pr is None:
        if selected is None:
            selected = resolve_filters(params, class_name, filters)
            if selected is None:
                raise UsageError("the object map needs --class, --filters or --scores")
        flt = map_filters(class_name, filters, selected)
    rs = objectmap.object_maps(params, [at_long_side(c, cfg.size) for c in contents], flt, pr, cfg, batch, head)
    return [{"map": r["map"], "presence": r["presence"], "probe": pr is not None, "min_evidence": cfg.min_evidence}
            for r in rs]


# ``map_options`` keys that choose the probe map's path: with any of them the learned map is not the default
PROBE_MAP_KEYS = ("learned", "gate", "second_look")


def map_config(map_options: Mapping | None, class_name: str | None = None, params=None) -> objectmap.MapConfig:
    """The :class:`objectmap.MapConfig` of ``map_options``, at ``MAP_SIZE`` unless they give a size.

    With ``class_name`` and ``params``, and no option choosing a path (:data:`PROBE_MAP_KEYS`), a class whose
    cell head ships and fits the weights gets the learned map with its shipped choice
    (:func:`jaxstyle.select.heads.cellhead.learned`) under the options; any other class, the probe map.
    """
    return map_choice(map_options, class_name, params)[0]


def map_choice(map_options: Mapping | None, class_name: str | None = None, params=None):
    """(:func:`map_config`'s config, the cell head that chose the learned map or None): a caller that runs the
    learned map uses the head loaded for the choice instead of loading it again.

    The choice is :func:`jaxstyle.select.heads.cellhead.learned`'s (the class's shipped choice and head, and
    a head that fits ``params``), which brings the head with it.
    """
    from ..select.heads import cellhead

    opts = dict(map_options or {})
    head = None
    if class_name and params is not None and not any(k in opts for k in PROBE_MAP_KEYS):
        fields, head = cellhead.learned(class_name, params)
        if head is not None:
            opts = {**fields, **opts}
    cfg = objectmap.MapConfig(**{"size": MAP_SIZE, **opts})
    if cfg.judge and not cfg.learned:  # a --map-variant's judge on the probe map would be ignored
        raise UsageError(f"--map-variant needs the learned map, and the {class_name or 'object'} map here is the "
                         "probe map (no cell head ships for the class, or --probe-map, --head-gate or --second-look "
                         "chose it)")
    return cfg, head


def auto_map(params, content, hw: tuple[int, int], class_name: str | None = "dog", filters=None,
             selected: Mapping[str, Sequence[int]] | None = None, map_options: Mapping | None = None) -> np.ndarray:
    """The ``auto`` object map (H, W) in [0, 1] for ``content`` (path or RGB array), at size ``hw``.

    :func:`locate`, then :class:`NotFoundError` when a probe finds no object of the class
    (presence below ``min_evidence``): nothing is restyled and nothing written.
    """
    return fitted_map(locate(params, content, class_name, filters, selected, map_options), content, hw, class_name)


def refused(r: Mapping) -> bool:
    """Whether :func:`locate`'s result ``r`` is a refusal: a probe or head found no object of the class
    (presence below ``min_evidence``)."""
    return bool(r["probe"] and r["presence"] < r["min_evidence"])


def fitted_map(r: Mapping, content, hw: tuple[int, int], class_name: str | None) -> np.ndarray:
    """:func:`locate`'s result ``r`` resized to ``hw``, or :class:`NotFoundError` when it is :func:`refused`."""
    if refused(r):
        name = source_name(content)
        where = f" in {name}" if name else ""
        raise NotFoundError(f"no {class_name} found{where} (evidence {r['presence']:.2f} < {r['min_evidence']:.2f}); "
                            "--min-evidence to change")
    return np.clip(np.asarray(resize(r["map"][..., None], tuple(hw)))[..., 0], 0.0, 1.0)


def class_head(class_name: str | None):
    """The shipped cell head of ``class_name`` (the learned map), or UsageError."""
    from ..select.heads import cellhead

    head = cellhead.shipped(class_name) if class_name else None
    if head is None:
        raise UsageError(f"the learned map has no cell head for class {class_name!r} (train one with jaxstyle head)")
    return head


def class_probe(params, class_name: str | None):
    """The shipped probe of ``class_name`` if there is one and it fits these weights, else None."""
    if not class_name:
        return None
    from ..select.probes import probe

    pr = probe.shipped(class_name)
    if pr is None or "conv5_4" not in params or vgg.num_channels(params, "conv5_4") != pr.W.shape[0]:
        return None
    return pr
