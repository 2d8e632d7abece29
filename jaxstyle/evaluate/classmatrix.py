"""Every shipped class's map on the held-out photos of ``more-masked/``, and the specificity matrix
(``scripts/class_matrix.py``).

The photos are the held-out side of the split (:mod:`jaxstyle.select.masksplit`), each with its class's
canonical name (``cow`` photos are ``cattle``). Rows come from :func:`jaxstyle.evaluate.loso.rows`, the
probe map (variant ``probe``) of every class on every photo, at 512 px; a photo the map refuses
(presence below 0.2, ``MapConfig.min_evidence``) scores IoU 0 and covers nothing (:func:`loso.scored`).

- :func:`own_table`: per class and per class and source, map IoU on its own photos (median, mean,
  share >= 0.6, refused);
- :func:`matrix`: cell (photos of Y, ``--class X``) the median share of Y's mask that X's map covers;
  on the diagonal the median IoU (marked) instead.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from . import loso

EVIDENCE = 0.2  # the probe map's refusal (MapConfig.min_evidence)


def held_out_photos(data: Path, split: Mapping | None = None, classes: Sequence[str] | None = None) -> list[loso.Photo]:
    """The held-out photos of ``data/more-masked`` as :class:`loso.Photo` (species: the canonical class)."""
    from ..select import masksplit
    from ..select.classes import canonical

    out = [loso.Photo(p.name, p.photo, p.mask, {"davis2016": "davis"}.get(p.source, p.source), canonical(p.cls))
           for p in masksplit.photos(Path(data) / "more-masked", "held_out", split)]
    return [p for p in out if classes is None or p.species in classes]


def _own(rs: Sequence[Mapping], cls: str) -> np.ndarray:
    return loso.scored([r for r in rs if r["cls"] == cls and r["species"] == cls], EVIDENCE)[0]


def own_table(rs: Sequence[Mapping], classes: Sequence[str]) -> list[str]:
    """Markdown: per class, then per class and source, map IoU on the class's own held-out photos."""
    md = ["| class | source | n | median | mean | ≥ 0.6 | refused |", "|---|---|---:|---:|---:|---:|---:|"]
    for cls in classes:
        mine = [r for r in rs if r["cls"] == cls and r["species"] == cls and r["variant"] == "probe"]
        for src in [None, *sorted({r["source"] for r in mine})]:
            sub = [r for r in mine if src is None or r["source"] == src]
            v = _own(sub, cls)
            if v.size:
                refused = sum(r["presence"] < EVIDENCE for r in sub)
                md.append(f"| {cls} | {src or '**all**'} | {v.size} | {loso.stats(v)} | {refused} |")
    return md


def cells(rs: Sequence[Mapping], classes: Sequence[str]) -> dict[tuple[str, str], tuple[float, int]]:
    """``(photos of Y, map class X) -> (median, n)``: Y's mask covered by X's map, or IoU where X = Y."""
    out = {}
    for y in classes:
        for x in classes:
            sub = [r for r in rs if r["species"] == y and r["cls"] == x and r["variant"] == "probe"]
            v = _own(sub, x) if x == y else loso.scored(sub, EVIDENCE)[1]
            if v.size:
                out[(y, x)] = (float(np.median(v)), int(v.size))
    return out


def matrix(rs: Sequence[Mapping], classes: Sequence[str]) -> list[str]:
    """Markdown: rows the photos of Y, columns ``--class X``; off the diagonal the median cover (bold above 5 %)."""
    c = cells(rs, classes)
    md = ["| photos of ↓ / `--class` → | n | " + " | ".join(classes) + " |",
          "|---|---:|" + "---:|" * len(classes)]
    for y in classes:
        n = max((c[(y, x)][1] for x in classes if (y, x) in c), default=0)
        if not n:
            continue
        vals = []
        for x in classes:
            if (y, x) not in c:
                vals.append("–")
            elif x == y:
                vals.append(f"*IoU {c[(y, x)][0]:.2f}*")
            else:
                m = c[(y, x)][0]
                vals.append(f"**{100 * m:.0f} %**" if m > 0.05 else f"{100 * m:.0f} %")
        md.append(f"| {y} | {n} | " + " | ".join(vals) + " |")
    return md


def summary(rs: Sequence[Mapping], classes: Sequence[str], command: str) -> dict:
    """Per class: its own held-out photos' map IoU (what ``jaxstyle classes`` shows), with the command."""
    out = {}
    for cls in classes:
        v = _own([r for r in rs if r["variant"] == "probe"], cls)
        if v.size:
            out[cls] = {"n": int(v.size), "median_iou": round(float(np.median(v)), 3),
                        "mean_iou": round(float(v.mean()), 3), "share_ge_0.6": round(float(np.mean(v >= 0.6)), 3),
                        "sources": sorted({r["source"] for r in rs if r["species"] == cls})}
    return {"schema": "jaxstyle.class_maps/1", "photos": "the held-out groups of more-masked/ "
            "(jaxstyle/data/more_masked_split.json), 512 px, IoU as docs/METRICS.md (2 % band ignored), "
            "refused = 0", "command": command, "classes": out}


def write_summary(doc: Mapping, path: Path) -> None:
    Path(path).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
