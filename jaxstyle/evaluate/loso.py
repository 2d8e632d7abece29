"""The object map's variants scored leave-one-source-out (``scripts/map_loso.py``).

Photos come from the masked sources by source (:func:`jaxstyle.select.pools.maskedphotos.photos`):
``pets``, ``davis``, ``msrc`` and ``weizmann`` (horses, negatives only). Each photo gets one VGG pass at the
map's size, then every variant's map for every class (:func:`variants`): ``probe`` (the
probe-judged map) and the learned map's: its class cells alone (``learned-*``), the animal patch
joined to them (``animal-*``), and that patch judged by the class probe (``judged-*``) or by the
head's patch judge (``patch-*``, at its own threshold), or either of them (``either*``: the probe
where the class holds a quarter of the patch, or the patch judge at its own threshold or 0.5), or both
(``both-*``).
:func:`rows` gives one row per photo, class and variant (IoU or wrong-class cover of the map before
any refusal, and the presence); :func:`loso` chooses, for each class's map, a variant and a refusal threshold on all
sources but one and scores that one with them; :func:`choices` makes that choice on every source.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..select.pools.maskedphotos import Photo

SOURCES = ("pets", "davis", "msrc")
SURES = (0.8, 0.9)
EVIDENCE = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
JOINED = (0.25, 0.4)
JUDGED_JOINED = (0.0, 0.1, 0.25)
GATES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
SPANS = (0.4, 0.6, 0.8)  # size-gated views (MapConfig.scales_from): the map's least span of the photo


def variants(sures: Sequence[float] = SURES) -> dict[str, dict]:
    """Variant name -> ``MapConfig`` fields: ``probe`` (the probe-judged map) and the learned ones."""
    out = {"probe": {}}
    for s in sures:
        out[f"learned-s{s:g}"] = {"learned": True, "sure": s}
        out[f"animal-s{s:g}"] = {"learned": True, "sure": s, "extent": "animal"}
    for j in JOINED:
        out[f"animal-j{j:g}"] = {"learned": True, "sure": 0.8, "extent": "animal", "joined": j}
    for j in JUDGED_JOINED:
        out[f"judged-j{j:g}"] = {"learned": True, "sure": 0.8, "extent": "animal", "joined": j, "judge": "probe"}
    out["patch-j0"] = {"learned": True, "sure": 0.8, "extent": "animal", "joined": 0.0, "judge": "patches"}
    out["either-j0.25"] = {"learned": True, "sure": 0.8, "extent": "animal", "joined": 0.25, "judge": "either"}
    out["either0.5-j0.25"] = {**out["either-j0.25"], "judge_min": 0.5}
    out["either-j0"] = {**out["either-j0.25"], "joined": 0.0}
    out["both-j0"] = {**out["patch-j0"], "judge": "both"}
    for v in ("judged-j0", "judged-j0.25", "patch-j0"):
        out[f"{v}+mirror"] = {**out[v], "mirror": True}
    for v in ("judged-j0", "judged-j0.25"):
        for xs in ((0.75,), (1.25,), (0.75, 1.25)):
            out[v + "".join(f"+x{x:g}" for x in xs)] = {**out[v], "scales": xs}
    out["either-j0+x0.75"] = {**out["either-j0"], "scales": (0.75,)}
    for v in ("judged-j0", "judged-j0.25", "judged-j0+x0.75"):
        out[f"{v}+closer"] = {**out[v], "closer": True}
    for v in ("judged-j0", "judged-j0.25", "judged-j0+x0.75"):
        out[f"{v}+bg"] = {**out[v], "background": "animal"}
    for v in ("judged-j0.25", "judged-j0+bg"):
        for t in SPANS:
            out[f"{v}+x0.75if{t:g}"] = {**out[v], "scales": (0.75,), "scales_from": t}
            out[f"{v}+x0.75+x1.25if{t:g}"] = {**out[v], "scales": (0.75, 1.25), "scales_from": t}
    out["learned-nogc"] = {"learned": True, "grabcut": False}
    return out


def judged_variants() -> list[str]:
    """The learned variants whose animal patches a judge rules on (``stylize --map-variant``)."""
    return [v for v, f in variants().items() if f.get("judge")]


FIELDS = ("photo", "source", "species", "cls", "variant", "iou", "cover", "presence", "seconds")


def cached_features(cache: Path, ph: Photo, size: int, mirror: bool = False, scale: float = 1.0) -> Path:
    """Where :func:`photo_features` keeps a photo's features in ``cache``."""
    return Path(cache) / f"{ph.source}-{ph.name}-{size}{'-mirror' * mirror}{f'-x{scale:g}' * (scale != 1.0)}.npz"


def photo_features(params: Mapping, ph: Photo, size: int, cache: Path | None, mirror: bool = False,
                   scale: float = 1.0) -> tuple[np.ndarray, dict]:
    """``(rgb, features)`` of a photo at ``size`` with hypercolumns (:func:`mapfeatures.features`), kept in ``cache``;
    ``mirror``: of its mirror image; ``scale``: of the photo at ``size`` resized by it (the map's other views,
    :func:`jaxstyle.transfer.objectmap.with_views`). The features are rounded to float16, as the cache keeps them,
    whether or not they were in it, so a row does not depend on the cache's state."""
    from .. import artifact, images
    from ..transfer import mapfeatures
    from ..transfer.objectmap import view_image

    rgb = view_image(images.load_image(ph.photo, size), mirror, scale)
    path = None if cache is None else cached_features(cache, ph, size, mirror, scale)
    if path is not None and path.is_file():
        cached, _ = artifact.load(path, "feature cache file")
        return rgb, {k: v.astype(np.float32) for k, v in cached.items()}
    half = {k: np.asarray(v).astype(np.float16) for k, v in mapfeatures.features(params, rgb, hyper=True).items()}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        artifact.write(path, half, None)
    return rgb, {k: v.astype(np.float32) for k, v in half.items()}


def rows(params: Mapping, items: Iterable[Photo], classes: Sequence[str], probes: Mapping, heads: Mapping,
         chosen: Mapping[str, dict], size: int = 512, done: set | None = None, *, cache: Path | None = None,
         log: Callable[[str], None] | None = None):
    """Yield one row per photo, class and variant of ``chosen`` (:data:`FIELDS`), skipping
    ``(photo, class, variant)`` in ``done``."""
    import time

    from .. import images
    from ..transfer import objectmap
    from ..transfer.learnedmap import view_key
    from .mapeval import score_map

    for ph in items:
        todo = [(cls, v) for cls in classes for v in chosen if (ph.name, cls, v) not in (done or set())]
        if not todo:
            continue
        t0 = time.time()
        rgb, c = photo_features(params, ph, size, cache)
        if any(chosen[v].get("mirror") for _, v in todo):
            c = {**c, "h_mirror": photo_features(params, ph, size, cache, mirror=True)[1]["h"]}
        for x in sorted({x for _, v in todo for x in chosen[v].get("scales", ())}):
            c = {**c, view_key(x): photo_features(params, ph, size, cache, scale=x)[1]["h"]}
        mask = images.load_mask(ph.mask, rgb.shape[:2])
        for cls, name in todo:
            t1 = time.time()
            cfg = objectmap.MapConfig(size=size, **chosen[name])
            r = objectmap.map_from_features(params, rgb, c, probes[cls], cfg, heads.get(cls))
            sc = score_map(r["map"], mask, ph.species == cls)
            yield {"photo": ph.name, "source": ph.source, "species": ph.species, "cls": cls, "variant": name,
                   "iou": sc["map_iou"], "cover": sc["wrong_cover"], "presence": r["presence"],
                   "seconds": round(time.time() - t1, 3)}
        if log:
            log(f"{ph.name}: {time.time() - t0:.1f} s")


def head_folds(items: Iterable[Photo], fold_heads: Path | None, heads: Path | None = None) -> dict:
    """Which heads score which photos: ``{source: fold_heads/without-<source>}`` for each source of ``items``
    (``jaxstyle head --judge-folds``: heads whose judge never saw that source), else ``{None: heads}`` (one
    folder, or None for the shipped heads, for every photo)."""
    if fold_heads is None:
        return {None: heads and Path(heads)}
    return {s: Path(fold_heads) / f"without-{s}" for s in dict.fromkeys(ph.source for ph in items)}


def folded_rows(params: Mapping, items: Sequence[Photo], classes: Sequence[str], probes: Mapping,
                folds: Mapping, chosen: Mapping[str, dict], size: int = 512, done: set | None = None, *,
                cache: Path | None = None, log: Callable[[str], None] | None = None,
                probe_folds: Mapping | None = None):
    """:func:`rows` of each fold of :func:`head_folds`: its photos, with the cell heads of its folder for the
    classes that have one there; with ``probe_folds`` (:func:`head_folds` of probe folders) the class probes
    of its folder instead of ``probes``."""
    from ..select.heads import cellhead
    from ..select.probes import probe

    keys = set(folds) | set(probe_folds or {})
    for src in dict.fromkeys(ph.source for ph in items) if keys - {None} else [None]:
        d = folds.get(src, folds.get(None))
        heads = {c: cellhead.shipped(c, d) for c in classes}
        if probe_folds:
            pd = probe_folds.get(src, probe_folds.get(None))
            probes = {c: probe.shipped(c, pd) for c in classes}
        yield from rows(params, [ph for ph in items if src in (None, ph.source)], [c for c in classes if heads[c]],
                        probes, heads, chosen, size, done, cache=cache, log=log)


def append_rows(path: Path, make: Callable[[set], Iterable[dict]]) -> None:
    """Append the rows ``make(done)`` yields to the CSV ``path`` (:data:`FIELDS`; header when new), one at a time,
    ``done`` being the ``(photo, cls, variant)`` already there: a rerun adds only what is missing."""
    path = Path(path)
    done = {(r["photo"], r["cls"], r["variant"]) for r in read_rows(path)} if path.is_file() else set()
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file()
    with open(path, "a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, FIELDS)
        if new:
            w.writeheader()
        for row in make(done):
            w.writerow(row)
            f.flush()


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        out = list(csv.DictReader(f))
    for r in out:
        for k in ("iou", "cover", "presence", "seconds"):
            r[k] = float(r[k]) if r[k] not in ("", "nan") else float("nan")
    return out


def scored(rs: Sequence[Mapping], evidence: float) -> tuple[np.ndarray, np.ndarray]:
    """``(iou of own-class rows, cover of other-class rows)`` with refusal below ``evidence`` (IoU 0, cover 0)."""
    own = np.array([0.0 if r["presence"] < evidence else r["iou"] for r in rs if r["species"] == r["cls"]])
    other = np.array([0.0 if r["presence"] < evidence else r["cover"] for r in rs if r["species"] != r["cls"]])
    return own, other


def unit(photo: str) -> str:
    """The independent unit a photo counts as: a DAVIS frame's video (``davis_cows_00050``,
    ``cow_davis2016_cows-00010``: one scene, one animal), any other photo itself."""
    m = re.fullmatch(r"davis_(.+)_\d+|[a-z]+_davis2016_(.+)-\d+", photo)
    return f"davis:{m.group(1) or m.group(2)}" if m else photo


def _unit_mean(values: np.ndarray, rs: Sequence[Mapping]) -> float:
    """The mean of ``values`` (one per row of ``rs``) with each :func:`unit` weighing as one photo."""
    if not len(rs):
        return 0.0
    units = [unit(r["photo"]) for r in rs]
    count = Counter(units)
    w = np.array([1.0 / count[u] for u in units])
    return float((values * w).sum() / w.sum())


def objective(rs: Sequence[Mapping], evidence: float) -> float:
    """What a choice maximises: mean own-class IoU less mean wrong-class cover, a video's frames weighing as
    one photo (:func:`unit`)."""
    own, other = scored(rs, evidence)
    return (_unit_mean(own, [r for r in rs if r["species"] == r["cls"]])
            - _unit_mean(other, [r for r in rs if r["species"] != r["cls"]]))


def choose(rs: Sequence[Mapping], learned: bool) -> tuple[str, float]:
    """The ``(variant, evidence)`` with the best :func:`objective` on rows ``rs`` (learned variants, or the probe map
    at its own threshold 0.2)."""
    if not learned:
        return "probe", 0.2
    best = None
    for v in sorted({r["variant"] for r in rs if r["variant"] != "probe"}):
        sub = [r for r in rs if r["variant"] == v]
        for e in EVIDENCE:
            o = objective(sub, e)
            if best is None or o > best[0]:
                best = (o, v, e)
    return best[1], best[2]


def choices(rs: Sequence[Mapping], classes: Sequence[str]) -> dict[str, dict]:
    """Per class, what :func:`choose` takes on all of ``rs`` (the choice each fold made on its other sources,
    made once on every source): ``{"variant", "fields"}``, the latter ``MapConfig`` fields with ``min_evidence``."""
    vs = variants()
    out = {}
    for cls in classes:
        v, e = choose([r for r in rs if r["cls"] == cls], True)
        out[cls] = {"variant": v, "fields": {**vs[v], "min_evidence": e}}
    return out


def write_choice(path: Path, chosen: Mapping[str, dict], photos: int, command: str) -> None:
    """The learned map's choice file ``path`` (``jaxstyle/data/heads/map.json``) with each class of ``chosen``
    (:func:`choices`). A class it already holds that this choice leaves out keeps its entry, and under
    ``others`` what chose it (an earlier ``--classes`` run, or ``class_matrix.py --choose``)."""
    import json

    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    keep = [c for c in old.get("classes", {}) if c not in chosen]
    others = {c: old.get("others", {}).get(c) or {"chosen": old["chosen"], "command": old["command"],
                                                   "photos": old.get("photos")} for c in keep}
    doc = {"classes": {**{c: v["fields"] for c, v in chosen.items()}, **{c: old["classes"][c] for c in keep}},
           "variants": {**{c: v["variant"] for c, v in chosen.items()}, **{c: old["variants"][c] for c in keep}},
           "chosen": "jaxstyle.evaluate.loso.choose per class on every source's rows (mean own-class IoU less mean "
                     "wrong-class cover); docs/RESULTS.md has each held-out fold's choice and score",
           "photos": photos, "command": command, **({"others": others} if others else {})}
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def stats(v: np.ndarray) -> str:
    if not v.size:
        return "– | – | –"
    return f"{np.median(v):.3f} | {v.mean():.3f} | {np.mean(v >= 0.6):.2f}"


def gated(rs: Sequence[Mapping], gate: float, variant: str = "learned-s0.8") -> list[dict]:
    """The probe map's rows refused (presence 0) where the learned ``variant``'s head presence is below ``gate``
    (``MapConfig.gate``: the gate changes nothing else, so its rows follow from the two variants' rows)."""
    head = {(r["photo"], r["cls"]): r["presence"] for r in rs if r["variant"] == variant}
    return [{**r, "variant": "gated", "presence": r["presence"] if head[(r["photo"], r["cls"])] >= gate else 0.0}
            for r in rs if r["variant"] == "probe" and (r["photo"], r["cls"]) in head]


def choose_gate(rs: Sequence[Mapping]) -> float:
    """The gate with the best :func:`objective` (probe map's own threshold 0.2) on rows ``rs``."""
    return max(GATES, key=lambda g: (objective(gated(rs, g), 0.2), -g))


def loso(rs: Sequence[Mapping], classes: Sequence[str]) -> list[str]:
    """Markdown: per held-out source and class, the probe map, the learned map and the probe map gated by the
    head, the latter two with their choices made on the other sources, for each class's map on its own."""
    md = ["| held-out source | class | n | learned: choice | gate | probe map: median / mean / ≥ 0.6 | "
          "learned: median / mean / ≥ 0.6 | gated probe map: median / mean / ≥ 0.6 | refused (probe / learned / gated) |",
          "|---|---|---:|---|---:|---|---|---|---|"]
    wrong = ["| held-out source | map class | photos of | n | probe map: median / mean cover | "
             "learned: median / mean cover | gated: median / mean cover |", "|---|---|---|---:|---|---|---|"]
    f = lambda v: f"{np.median(v):.3f} / {v.mean():.3f}" if v.size else "–"  # noqa: E731
    for s in sorted({r["source"] for r in rs}):
        train = [r for r in rs if r["source"] != s]
        for cls in classes:
            v, e = choose([r for r in train if r["cls"] == cls], True)
            g = choose_gate([r for r in train if r["cls"] == cls])
            test = [r for r in rs if r["source"] == s and r["cls"] == cls]
            old = [r for r in test if r["variant"] == "probe"]
            new = [r for r in test if r["variant"] == v]
            gat = gated(test, g)
            o_own, n_own, g_own = scored(old, 0.2)[0], scored(new, e)[0], scored(gat, 0.2)[0]
            if o_own.size:
                ref = [sum(r["presence"] < t for r in x if r["species"] == cls) for x, t in ((old, 0.2), (new, e), (gat, 0.2))]
                md.append(f"| {s} | {cls} | {o_own.size} | {v}, evidence {e:g} | {g:g} | "
                          + " | ".join(stats(x).replace(" | ", " / ") for x in (o_own, n_own, g_own))
                          + f" | {' / '.join(map(str, ref))} |")
            for sp in sorted({r["species"] for r in test if r["species"] != cls}):
                pick = lambda x: [r for r in x if r["species"] == sp]  # noqa: E731
                covers = [scored(pick(x), t)[1] for x, t in ((old, 0.2), (new, e), (gat, 0.2))]
                wrong.append(f"| {s} | {cls} | {sp} | {covers[0].size} | " + " | ".join(f(c) for c in covers) + " |")
    return md + [""] + wrong


def ablation(rs: Sequence[Mapping], classes: Sequence[str], evidence: float = 0.7) -> list[str]:
    """Markdown: every variant at one refusal threshold (the probe map at its own 0.2), per source and class:
    own-class median / mean / share >= 0.6, and the mean cover of the other animals' photos."""
    vs = sorted({r["variant"] for r in rs})
    md = ["| source | class | variant | own: n | median / mean / ≥ 0.6 | refused | wrong class: n | mean cover |",
          "|---|---|---|---:|---|---:|---:|---:|"]
    for s in sorted({r["source"] for r in rs}):
        for cls in classes:
            for v in vs:
                sub = [r for r in rs if r["source"] == s and r["cls"] == cls and r["variant"] == v]
                t = 0.2 if v == "probe" else evidence
                own, other = scored(sub, t)
                if not sub:
                    continue
                ref = sum(r["presence"] < t for r in sub if r["species"] == cls)
                md.append(f"| {s} | {cls} | {v} | {own.size} | {stats(own).replace(' | ', ' / ')} | {ref} | "
                          f"{other.size} | {other.mean() if other.size else float('nan'):.3f} |")
    return md
