"""Every shipped class's map on the held-out photos of ``more-masked/``, and the specificity matrix
(``scripts/class_matrix.py``).

The photos are the held-out side of the split (:mod:`jaxstyle.select.pools.masksplit`), each with its class's
canonical name (``cow`` photos are ``cattle``). Rows come from :func:`jaxstyle.evaluate.loso.rows` at 512 px:
the probe map (variant ``probe``) of every class on every photo, and the learned map (variant ``learned``,
with the class's shipped choice) of the classes whose cell head ships. A :class:`View` says which rows
score each map class and below which presence it refuses: :data:`PROBE` (the probe map everywhere) or
:func:`default_view` (what ``auto`` uses); a refused photo scores IoU 0 and covers nothing (:func:`loso.scored`).

- :func:`own_table`: per class and per class and source, map IoU on its own photos (median, mean,
  share >= 0.6, refused);
- :func:`matrix`: cell (photos of Y, ``--class X``) the median share of Y's mask that X's map covers;
  on the diagonal the median IoU (marked) instead.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from . import loso
from ..select.pools.maskedphotos import Photo

EVIDENCE = 0.2  # the probe map's refusal (MapConfig.min_evidence)


@dataclass(frozen=True)
class View:
    """Which rows score each map class (its variant) and its refusal threshold; the probe map's by default."""

    variants: Mapping[str, str] = field(default_factory=dict)
    evidence: Mapping[str, float] = field(default_factory=dict)

    def rows(self, rs: Sequence[Mapping], cls: str) -> list[Mapping]:
        """The rows of ``cls``'s map in this view."""
        v = self.variants.get(cls, "probe")
        return [r for r in rs if r["cls"] == cls and r["variant"] == v]

    def refusal(self, cls: str) -> float:
        return self.evidence.get(cls, EVIDENCE)


PROBE = View()


def default_view(classes: Sequence[str]) -> View:
    """The map ``auto`` uses for each class: the learned map at its shipped refusal where a choice ships
    (:func:`jaxstyle.select.heads.cellhead.learned_fields`), else the probe map."""
    from ..select.heads import cellhead

    chosen = {c: f for c in classes if (f := cellhead.learned_fields(c))}
    return View({c: "learned" for c in chosen}, {c: float(f["min_evidence"]) for c, f in chosen.items()})


def held_out_photos(data: Path, split: Mapping | None = None, classes: Sequence[str] | None = None) -> list[Photo]:
    """The held-out photos of ``data/more-masked`` as :class:`~jaxstyle.select.pools.maskedphotos.Photo`
    (species: the canonical class)."""
    from ..select.pools import masksplit
    from ..select.classes import canonical

    out = [Photo(p.name, p.photo, p.mask, {"davis2016": "davis"}.get(p.source, p.source), canonical(p.cls))
           for p in masksplit.photos(Path(data) / "more-masked", "held_out", split)]
    return [p for p in out if classes is None or p.species in classes]


def _own(rs: Sequence[Mapping], cls: str, view: View = PROBE) -> np.ndarray:
    return loso.scored([r for r in view.rows(rs, cls) if r["species"] == cls], view.refusal(cls))[0]


def own_table(rs: Sequence[Mapping], classes: Sequence[str], view: View = PROBE) -> list[str]:
    """Markdown: per class, then per class and source, map IoU on the class's own held-out photos."""
    md = ["| class | source | n | median | mean | ≥ 0.6 | refused |", "|---|---|---:|---:|---:|---:|---:|"]
    for cls in classes:
        mine = [r for r in view.rows(rs, cls) if r["species"] == cls]
        for src in [None, *sorted({r["source"] for r in mine})]:
            sub = [r for r in mine if src is None or r["source"] == src]
            v = _own(sub, cls, view)
            if v.size:
                refused = sum(r["presence"] < view.refusal(cls) for r in sub)
                md.append(f"| {cls} | {src or '**all**'} | {v.size} | {loso.stats(v)} | {refused} |")
    return md


def cells(rs: Sequence[Mapping], classes: Sequence[str], view: View = PROBE) -> dict[tuple[str, str], tuple[float, int]]:
    """``(photos of Y, map class X) -> (median, n)``: Y's mask covered by X's map, or IoU where X = Y."""
    out = {}
    for y in classes:
        for x in classes:
            sub = [r for r in view.rows(rs, x) if r["species"] == y]
            v = _own(sub, x, view) if x == y else loso.scored(sub, view.refusal(x))[1]
            if v.size:
                out[(y, x)] = (float(np.median(v)), int(v.size))
    return out


def matrix(rs: Sequence[Mapping], classes: Sequence[str], view: View = PROBE) -> list[str]:
    """Markdown: rows the photos of Y, columns ``--class X``; off the diagonal the median cover (bold above 5 %)."""
    c = cells(rs, classes, view)
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
        v = _own(rs, cls)
        if v.size:
            out[cls] = {"n": int(v.size), "median_iou": round(float(np.median(v)), 3),
                        "mean_iou": round(float(v.mean()), 3), "share_ge_0.6": round(float(np.mean(v >= 0.6)), 3),
                        "sources": sorted({r["source"] for r in rs if r["species"] == cls})}
    return {"schema": "jaxstyle.class_maps/1", "photos": "the held-out groups of more-masked/ "
            "(jaxstyle/data/more_masked_split.json), 512 px, IoU as docs/METRICS.md (2 % band ignored), "
            "refused = 0", "command": command, "classes": out}


def write_summary(doc: Mapping, path: Path) -> None:
    Path(path).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def across(rs: Sequence[Mapping], classes: Sequence[str]) -> tuple[dict[str, tuple[str, float]], tuple[str, float] | None]:
    """The learned ``(variant, refusal)`` :func:`loso.choose` takes for each of ``classes`` with learned rows on the
    other such classes' rows (leave-one-class-out), and the one it takes on all of them (what ships; None
    without learned rows)."""
    learned = [r for r in rs if r["variant"] != "probe"]
    have = [c for c in classes if any(r["cls"] == c for r in learned)]
    per = {cls: loso.choose([r for r in learned if r["cls"] in have and r["cls"] != cls], True) for cls in have}
    return per, (loso.choose([r for r in learned if r["cls"] in have], True) if have else None)


def choose_across(rs: Sequence[Mapping], classes: Sequence[str], chosen: tuple | None = None) -> list[str]:
    """Markdown: for each class with learned rows, the learned variant and refusal chosen on the other classes'
    rows (``chosen``, :func:`across` when not given), scored on its own photos beside its probe map, and the
    choice made on every class (what would ship)."""
    learned = [r for r in rs if r["variant"] != "probe"]
    per, every = chosen or across(rs, classes)
    md = ["| class | chosen on the others | own: median / mean / ≥ 0.6 (refused) | probe map: the same | "
          "wrong class: mean cover (probe map) |", "|---|---|---|---|---|"]
    for cls, (v, e) in per.items():
        mine = [r for r in learned if r["cls"] == cls and r["variant"] == v]
        probe = [r for r in rs if r["cls"] == cls and r["variant"] == "probe"]
        cols = []
        for sub, t in ((mine, e), (probe, EVIDENCE)):
            own, other = loso.scored(sub, t)
            refused = sum(r["presence"] < t for r in sub if r["species"] == cls)
            cols.append((f"{loso.stats(own).replace(' | ', ' / ')} ({refused})" if own.size else "–",
                         float(other.mean()) if other.size else float("nan")))
        md.append(f"| {cls} | `{v}`, refusal {e:g} | {cols[0][0]} | {cols[1][0]} | {cols[0][1]:.3f} ({cols[1][1]:.3f}) |")
    if every:
        md += ["", f"Chosen on every class: `{every[0]}`, refusal {every[1]:g}."]
    return md


def ship_choice(path: Path, ship: Sequence[str], choice: tuple[str, float], command: str) -> None:
    """The learned map's choice file ``path`` (``jaxstyle/data/heads/map.json``) with ``choice`` (the
    :func:`across` choice made on every class) for each class of ``ship``, recorded under ``others`` (kept
    when ``scripts/map_loso.py --choice`` rewrites the file); its other classes as they were."""
    v, e = choice
    doc = json.loads(Path(path).read_text(encoding="utf-8")) if Path(path).is_file() else {"classes": {}, "variants": {}}
    for cls in ship:
        doc["classes"][cls] = {**loso.variants()[v], "min_evidence": e}
        doc["variants"][cls] = v
        doc.setdefault("others", {})[cls] = {
            "chosen": "jaxstyle.evaluate.classmatrix.across on the held-out side of more-masked: the learned variant "
                      "and refusal chosen on the classes with a learned head (each class's own, chosen on the others, "
                      "in docs/RESULTS.md 'Learned maps of horse, cattle and sheep')", "command": command}
    Path(path).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
