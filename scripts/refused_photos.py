"""Why the shipped map refuses a photo of its own class: what the cell head, the shipped judgement and the
patch judges say of it.

    python scripts/refused_photos.py --csv out/loso/all.csv --fold-heads /tmp/heads_v5

For each photo of class C that the map C ships (its variant and refusal, ``jaxstyle/data/heads/map.json``)
refuses in the leave-one-source-out rows ``--csv``: the cell head's presence before any judgement, the presence
after the shipped one, and the best class probability a patch judge gives a patch holding a class cell, the
shipped judge's and that of ``--fold-heads``/without-<source>/ (``jaxstyle head --judge-folds``: a judge that
never saw the photo's label). Features come from ``--cache`` (``map_loso.py`` fills it).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from jaxstyle.evaluate import loso


def best_patch(c: dict, head) -> tuple[float, float]:
    """(the head's presence, the best judge probability of a patch holding a class cell; 0 without one)."""
    from jaxstyle.select.heads import patchjudge
    from jaxstyle.select.heads.cellhead import normalise
    from jaxstyle.select.heads.patches import animal_patches
    from jaxstyle.transfer.learnedmap import head_presence_of

    hn = normalise(c["h"], head.dims)
    probs = head.probs(hn)
    patches = animal_patches(probs)
    ids = [i for i in range(1, len(patches.share)) if patches.share[i] > 0]
    if not ids:
        return head_presence_of(probs[..., 0]), 0.0
    q = head.judge.probs(patchjudge.rows(c["f"], hn, patches.labels, patches.animal, ids))[:, 0]
    return head_presence_of(probs[..., 0]), float(q.max())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--csv", required=True)
    p.add_argument("--fold-heads", required=True)
    p.add_argument("--cache", default=".cache/loso")
    p.add_argument("--size", type=int, default=512)
    a = p.parse_args()
    from jaxstyle.select.heads import cellhead
    from jaxstyle.select.pools import maskedphotos

    choice = json.loads((cellhead.DATA_DIR / "map.json").read_text(encoding="utf-8"))
    rows = loso.read_rows(Path(a.csv))
    photos = {ph.name: ph for ph in maskedphotos.photos(Path(a.data))}
    print("| photo | class | head presence | shipped presence | shipped judge | held-out judge |")
    print("|---|---|---:|---:|---:|---:|")
    for cls, variant in choice["variants"].items():
        refusal = choice["classes"][cls]["min_evidence"]
        for r in rows:
            if r["cls"] != cls or r["species"] != cls or r["variant"] != variant or r["presence"] >= refusal:
                continue
            ph = photos[r["photo"]]
            if not loso.cached_features(Path(a.cache), ph, a.size).is_file():
                raise SystemExit(f"error: no features of {ph.name} in {a.cache} (run scripts/map_loso.py first)")
            _, c = loso.photo_features(None, ph, a.size, Path(a.cache))  # read from the cache: no VGG pass
            seen, shipped = best_patch(c, cellhead.shipped(cls))
            _, held = best_patch(c, cellhead.shipped(cls, Path(a.fold_heads) / f"without-{ph.source}"))
            print(f"| {ph.name} | {cls} | {seen:.2f} | {r['presence']:.2f} | {shipped:.2f} | {held:.2f} |")


if __name__ == "__main__":
    main()
