"""The object map alone against hand masks (``jaxstyle evaluate --maps-only``).

Per photo: the map for ``--class`` at the map's size, thresholded at 0.5 ("on"), scored
against the mask with a 2 % band around its outline ignored (docs/METRICS.md):

* photos of the class (``role`` own): IoU, recall (share of the object on), precision
  (share of "on" that is object), AP;
* photos of another animal (``role`` other; a cat for ``--class dog``): ``wrong_cover``,
  the share of that animal's mask the map covers;
* ``refused``: the probe found no object of the class (the map is then empty);
* seconds per map.

Reports ``maps.csv`` and ``maps.md`` (by source and species, by breed, per photo) and
``maps_worst.jpg`` (the five own-class photos with the lowest IoU: photo, map, mask).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .pairs import is_of

MAP_COLUMNS = ("photo", "source", "species", "breed", "role", "height", "width", "refused", "presence",
               "map_iou", "map_recall", "map_precision", "map_ap", "wrong_cover", "seconds")
MAP_FILES = ("maps.csv", "maps.md", "maps_worst.jpg")
NAN = float("nan")


def score_map(omap: np.ndarray, mask: np.ndarray, own: bool) -> dict[str, float]:
    """IoU, recall, precision and AP (own class) or wrong-class cover (another animal)."""
    from . import metrics

    on = omap >= 0.5
    if not own:
        return {"map_iou": NAN, "map_recall": NAN, "map_precision": NAN, "map_ap": NAN,
                "wrong_cover": float(on[mask >= 0.5].mean())}
    rad = metrics.band_radius(mask.shape)
    obj, bg = metrics.regions(mask, rad)
    pred = int((on & (obj | bg)).sum())
    return {"map_iou": metrics.map_iou(omap, mask, radius=rad), "map_recall": float(on[obj].mean()),
            "map_precision": float((on & obj).sum() / pred) if pred else NAN,
            "map_ap": metrics.map_ap(omap, mask, radius=rad), "wrong_cover": NAN}


def shown_map(r: Mapping) -> tuple[np.ndarray, bool]:
    """``(map, refused)`` of a :func:`jaxstyle.transfer.locate.locate` result: the map, or an empty one
    where ``auto_map`` would refuse the photo (the probe found no object of the class)."""
    from ..transfer.locate import refused

    no = refused(r)
    return (np.zeros(r["map"].shape, np.float32) if no else np.asarray(r["map"], np.float32)), no


def one_photo(params, pair, class_name: str, filters, map_options: Mapping | None) -> tuple[dict, np.ndarray]:
    """The row for one photo/mask pair, and its map."""
    from .. import images
    from ..transfer.locate import locate

    t0 = time.time()
    r = locate(params, str(pair.photo), class_name, filters, map_options=map_options)
    secs = time.time() - t0
    omap, refused = shown_map(r)
    mask = images.load_mask(pair.mask, omap.shape)
    own = is_of(pair, class_name) if class_name else pair.is_dog
    row = {"photo": pair.name, "source": pair.source, "species": pair.species, "breed": pair.breed,
           "role": "own" if own else "other", "height": omap.shape[0], "width": omap.shape[1],
           "refused": refused, "presence": r["presence"], **score_map(omap, mask, own), "seconds": secs}
    return row, omap


def _med(rows: Sequence[Mapping], key: str) -> str:
    from .report import stats

    med, _, _, n = stats([r[key] for r in rows])
    return f"{med:.3f}" if n else "–"


def _frac(rows: Sequence[Mapping], key: str, test) -> str:
    v = np.array([r[key] for r in rows], float)
    v = v[np.isfinite(v)]
    return f"{np.mean(test(v)):.2f}" if v.size else "–"


def _table(groups: Mapping[str, list], first: str) -> list[str]:
    md = [f"| {first} | n | IoU (median) | IoU ≥ 0.6 | recall | precision | wrong-class cover (median) | "
          "wrong ≤ 0.05 | refused | s/map |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, rows in groups.items():
        md.append(f"| {name} | {len(rows)} | {_med(rows, 'map_iou')} | {_frac(rows, 'map_iou', lambda v: v >= 0.6)} | "
                  f"{_med(rows, 'map_recall')} | {_med(rows, 'map_precision')} | {_med(rows, 'wrong_cover')} | "
                  f"{_frac(rows, 'wrong_cover', lambda v: v <= 0.05)} | {sum(r['refused'] for r in rows)} | "
                  f"{_med(rows, 'seconds')} |")
    return md


def _grouped(rows: Sequence[Mapping], key: Callable[[Mapping], str]) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(key(r), []).append(r)
    return dict(sorted(out.items()))


def markdown(rows: Sequence[Mapping], class_name: str, pairs_dir, size: int) -> str:
    md = [f"# Object maps alone: `--class {class_name}`", "",
          f"{len(rows)} photos from `{pairs_dir}`, map at {size} px long side; map ≥ 0.5 is 'on'; a band of 2 % of "
          "the long side around each mask outline is ignored for IoU, recall and precision (docs/METRICS.md). "
          f"Own-class rows give IoU; other animals give the share of their mask the `{class_name}` map covers.", "",
          "## By source and species", ""]
    md += _table(_grouped(rows, lambda r: f"{r['source']} / {r['species']}"), "source / species")
    md += ["", "## By breed", ""]
    md += _table(_grouped(rows, lambda r: f"{r['species']} / {r['breed']}"), "species / breed")
    md += ["", "## Per photo", "", "| photo | role | refused | presence | IoU | recall | precision | wrong cover | s |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    md += [f"| {r['photo']} | {r['role']} | {int(r['refused'])} | {r['presence']:.2f} | {r['map_iou']:.3f} | "
           f"{r['map_recall']:.3f} | {r['map_precision']:.3f} | {r['wrong_cover']:.3f} | {r['seconds']:.2f} |"
           for r in rows]
    return "\n".join(md).replace("nan", "–") + "\n"


def worst_sheet(rows: Sequence[Mapping], maps: Mapping[str, np.ndarray], pairs: Mapping[str, object],
                k: int = 5, width: int = 200) -> np.ndarray | None:
    """Photo, map and mask of the ``k`` own-class photos with the lowest IoU (None without any)."""
    from .. import images
    from .report import gallery

    own = sorted((r for r in rows if r["role"] == "own"), key=lambda r: r["map_iou"])[:k]
    panels = []
    for r in own:
        m = maps[r["photo"]]
        pair = pairs[r["photo"]]
        photo = images.load_image(pair.photo, max(m.shape))
        panels += [(r["photo"], photo, f"IoU {r['map_iou']:.2f}"), ("map", m, ""),
                   ("mask", images.load_mask(pair.mask, m.shape), "")]
    return gallery(panels, cols=3, width=width) if panels else None


def write(out: Path, rows: list[dict], md: str, sheet: np.ndarray | None) -> None:
    from .. import images
    from .report import csv_text, write_text

    write_text(out / MAP_FILES[0], csv_text(rows, MAP_COLUMNS))
    write_text(out / MAP_FILES[1], md)
    if sheet is not None:
        images.save_image(sheet, out / MAP_FILES[2], force=True)


def run(pairs: Sequence, out, params, *, pairs_dir, size: int, class_name: str, filters=None,
        map_options: Mapping | None = None, log: Callable[[str], None] | None = None) -> dict:
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(out)
    opts = {"size": size, **dict(map_options or {})}
    rows, maps = [], {}
    for pair in pairs:
        row, maps[pair.name] = one_photo(params, pair, class_name, filters, opts)
        rows.append(row)
        what = (f"iou {row['map_iou']:.2f} recall {row['map_recall']:.2f}" if row["role"] == "own"
                else f"wrong-class cover {row['wrong_cover']:.2f}")
        log(f"{pair.name}: {what}{' (refused)' if row['refused'] else ''} ({row['seconds']:.1f} s)")
    sheet = worst_sheet(rows, maps, {p.name: p for p in pairs})
    write(out, rows, markdown(rows, class_name, pairs_dir, size), sheet)
    log(f"wrote {out / MAP_FILES[0]}, {MAP_FILES[1]} and {MAP_FILES[2]}")
    return {"rows": rows}


def run_maps(pairs_dir, out, *, size: int = 512, class_name: str | None = "dog", filters=None, photos=None,
             only_dogs: bool = False, limit_photos: int | None = None, force: bool = False, params=None,
             map_options: Mapping | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Score the ``auto`` object map alone (no stylizing) against every mask."""
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    pairs, params = prepare_run(pairs_dir, out, MAP_FILES, photos=photos, only_dogs=only_dogs,
                                limit_photos=limit_photos, force=force, params=params, log=log)
    return run(pairs, Path(out), params, pairs_dir=pairs_dir, size=size, class_name=class_name or "dog",
               filters=filters, map_options=map_options, log=log)


def prepare_run(pairs_dir, out, files: Sequence[str], *, photos=None, only_dogs: bool = False,
                limit_photos: int | None = None, force: bool = False, params=None,
                log: Callable[[str], None] | None = None, check: Callable[[list], object] | None = None
                ) -> tuple[list, Mapping]:
    """``(pairs, params)`` for a map evaluation: the pairs found (and passed to ``check``, which raises on
    unusable ones), ``out`` checked (``files``) and made, the weights loaded and prepared for the map's
    passes (:func:`mapfeatures.vgg_params`, as ``stylize`` runs them). Nothing is made before the checks."""
    from ..transfer import mapfeatures
    from .evaluation import check_out
    from .pairs import find_pairs

    out = Path(out)
    pairs = find_pairs(pairs_dir, photos, only_dogs, limit_photos, log)
    if check is not None:
        check(pairs)
    check_out(out, force, files, gallery=False)
    out.mkdir(parents=True, exist_ok=True)
    if params is None:
        from ..model import weights
        params, _ = weights.load()
    return pairs, mapfeatures.vgg_params(params)
