"""Two animals in one photo: does the map take every animal of the class, and only those?

The masked sets hold one animal per photo, so this builds photos with two: two masked
photos side by side at a common height (``jaxstyle evaluate --maps-only --composites N``).
Half of the ``N`` composites hold two animals of ``--class`` (both must be covered: "several
dogs in one photo, all of them"), half one of the class and one of another species (that
one must stay uncovered). Per composite: the IoU of the map against the class's animals
together, each of them's cover (the worse one is reported), and the other animal's cover.
Reports ``composites.csv`` and ``composites.md``.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..errors import JaxstyleError
from .pairs import is_of

COLUMNS = ("composite", "kind", "left", "right", "refused", "presence", "map_iou", "own_cover_min",
           "wrong_cover", "seconds")
FILES = ("composites.csv", "composites.md")
NAN = float("nan")


def side_by_side(photos: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The photos (H, W, 3) at the smallest height, left to right, and each mask placed in that frame."""
    from ..transfer.losses import resize

    h = min(p.shape[0] for p in photos)
    sized = []
    for p, m in zip(photos, masks):
        w = max(1, round(p.shape[1] * h / p.shape[0]))
        sized.append((np.asarray(resize(p, (h, w))), np.asarray(resize(m[..., None], (h, w)))[..., 0]))
    photo = np.concatenate([p for p, _ in sized], 1)
    placed, x = [], 0
    for _, m in sized:
        full = np.zeros(photo.shape[:2], np.float32)
        full[:, x: x + m.shape[1]] = m
        placed.append(full)
        x += m.shape[1]
    return photo, placed


def draw(pairs: Sequence, class_name: str, n: int, seed: int = 0) -> list[tuple[str, object, object]]:
    """``n`` composites ``(kind, left, right)``, by turns two of the class, and one of the class beside
    another species (the class on the left, then on the right); photos shuffled by ``seed``."""
    own = [p for p in pairs if is_of(p, class_name)]
    other = [p for p in pairs if not is_of(p, class_name)]
    if len(own) < 2:
        raise JaxstyleError(f"composites need two photos of {class_name!r}; found {len(own)}")
    rng = np.random.default_rng(seed)
    own = [own[i] for i in rng.permutation(len(own))]
    other = [other[i] for i in rng.permutation(len(other))]
    out, k, j = [], 0, 0
    for i in range(n):
        if i % 2 == 0 or not other:
            out.append((f"two {class_name}s", own[(2 * k) % len(own)], own[(2 * k + 1) % len(own)]))
            k += 1
        else:
            a, b = own[j % len(own)], other[j % len(other)]
            out.append((f"{class_name} + other", *((a, b) if j % 2 == 0 else (b, a))))
            j += 1
    return out


def score(omap: np.ndarray, own: Sequence[np.ndarray], other: Sequence[np.ndarray]) -> dict[str, float]:
    """IoU against the class's animals together, the least-covered one's cover, and the other animals' cover."""
    from .mapeval import score_map

    on = omap >= 0.5
    union = np.max(np.stack(own), 0)
    row = {"map_iou": score_map(omap, union, True)["map_iou"],
           "own_cover_min": min(float(on[m >= 0.5].mean()) for m in own), "wrong_cover": NAN}
    if other:
        row["wrong_cover"] = float(on[np.max(np.stack(other), 0) >= 0.5].mean())
    return row


def one(params, kind: str, left, right, class_name: str, map_options: Mapping) -> dict:
    """The row of one composite."""
    from .. import images
    from ..transfer.locate import map_config

    size = map_config(map_options).size
    imgs = [images.load_image(p.photo, size) for p in (left, right)]
    masks = [images.load_mask(p.mask, im.shape[:2]) for p, im in zip((left, right), imgs)]
    row = located(params, imgs, masks, [is_of(p, class_name) for p in (left, right)], class_name, map_options)
    return {"composite": f"{left.name}+{right.name}", "kind": kind, "left": left.name, "right": right.name, **row}


def located(params, imgs: Sequence[np.ndarray], masks: Sequence[np.ndarray], own: Sequence[bool], class_name: str,
            map_options: Mapping) -> dict:
    """Map the photos side by side (:func:`side_by_side`) and :func:`score` it: the masks of ``own`` photos
    are the class's animals, the others' must stay uncovered. Adds ``refused``, ``presence`` and ``seconds``."""
    from ..transfer.losses import resize
    from ..transfer.locate import locate
    from .mapeval import shown_map

    photo, placed = side_by_side(imgs, masks)
    t0 = time.time()
    r = locate(params, photo, class_name, map_options=map_options)
    secs = time.time() - t0
    omap, refused = shown_map(r)
    placed = [np.asarray(resize(m[..., None], omap.shape))[..., 0] for m in placed]  # at the map's size
    return {"refused": refused, "presence": r["presence"],
            **score(omap, [m for m, o in zip(placed, own) if o], [m for m, o in zip(placed, own) if not o]),
            "seconds": secs}


def markdown(rows: Sequence[Mapping], class_name: str, pairs_dir, size: int) -> str:
    def med(v):
        v = np.array(v, float)
        v = v[np.isfinite(v)]
        return (f"{np.median(v):.3f}", v) if v.size else ("–", v)

    md = [f"# Two animals in one photo: `--class {class_name}`", "",
          (f"{len(rows)} side-by-side composites of photos from `{pairs_dir}`, map at {size} px long side, "
           "map ≥ 0.5 is 'on' (jaxstyle/evaluate/composites.py)."), "",
          ("| kind | n | IoU, the class's animals (median) | least-covered animal of the class: cover (median) | "
           "≥ 0.5 | other animal: cover (median) | ≤ 0.05 | refused |"), "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in dict.fromkeys(r["kind"] for r in rows):
        rs = [r for r in rows if r["kind"] == kind]
        (iou, _), (cov, c), (wr, w) = (med([r[k] for r in rs]) for k in ("map_iou", "own_cover_min", "wrong_cover"))
        md.append(f"| {kind} | {len(rs)} | {iou} | {cov} | {np.mean(c >= 0.5):.2f} | {wr} | "
                  f"{(f'{np.mean(w <= 0.05):.2f}' if w.size else '–')} | {sum(r['refused'] for r in rs)} |")
    md += ["", "| composite | kind | refused | presence | IoU | least own cover | other cover | s |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    md += [f"| {r['composite']} | {r['kind']} | {int(r['refused'])} | {r['presence']:.2f} | {r['map_iou']:.3f} | "
           f"{r['own_cover_min']:.3f} | {r['wrong_cover']:.3f} | {r['seconds']:.2f} |" for r in rows]
    return "\n".join(md).replace("nan", "–") + "\n"


def run(pairs: Sequence, out, params, *, n: int, pairs_dir, size: int, class_name: str, seed: int = 0,
        map_options: Mapping | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Score ``n`` composites of ``pairs`` (see the module) into ``out``."""
    from .report import csv_text, write_text

    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    opts = {"size": size, **dict(map_options or {})}
    rows = []
    for kind, left, right in draw(pairs, class_name, n, seed):
        rows.append(one(params, kind, left, right, class_name, opts))
        r = rows[-1]
        log(f"{r['composite']} ({kind}): iou {r['map_iou']:.2f}, least own cover {r['own_cover_min']:.2f}"
            + (f", other {r['wrong_cover']:.2f}" if np.isfinite(r["wrong_cover"]) else "")
            + (" (refused)" if r["refused"] else ""))
    out = Path(out)
    write_text(out / FILES[0], csv_text(rows, COLUMNS))
    write_text(out / FILES[1], markdown(rows, class_name, pairs_dir, size))
    log(f"wrote {out / FILES[0]} and {FILES[1]}")
    return {"rows": rows}


def run_composites(pairs_dir, out, n: int, *, size: int = 512, class_name: str | None = "dog", seed: int = 0,
                   photos=None, limit_photos: int | None = None, force: bool = False, params=None,
                   map_options: Mapping | None = None, log: Callable[[str], None] | None = None) -> dict:
    """:func:`run` on the pairs of ``pairs_dir`` (``jaxstyle evaluate --maps-only --composites N``)."""
    from .mapeval import prepare_run

    cls = class_name or "dog"
    pairs, params = prepare_run(pairs_dir, out, FILES, photos=photos, limit_photos=limit_photos, force=force,
                                params=params, log=log, check=lambda p: draw(p, cls, n, seed))
    return run(pairs, out, params, n=n, pairs_dir=pairs_dir, size=size, class_name=cls, seed=seed,
               map_options=map_options, log=log)
