"""The masked photos the object map's evaluation scores, by source (``scripts/map_loso.py``).

Photos come from the masked sources under the shared data folder (``pets/``, ``masked/``,
``more-masked/``) by source: ``pets`` (Oxford-IIIT), ``davis`` (DAVIS 2016 frames of ``masked/`` and
``more-masked/``), ``msrc`` (MSRC-v2) and ``weizmann`` (horses, every third one). The leave-one-source-out
scoring (:mod:`jaxstyle.evaluate.loso`) reads their masks; the heads' training
(:mod:`jaxstyle.select.heads.cellpool`) reads only their class, and keeps them out of its pools.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class Photo:
    name: str
    photo: Path
    mask: Path
    source: str
    species: str


def _index(root: Path) -> list[dict]:
    with open(root / "index.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def photos(data: Path, species: Sequence[str] = ("dog", "cat", "horse", "cow", "sheep"),
           horse_every: int = 3) -> list[Photo]:
    """The masked photos of ``species`` under ``data`` (``../shared/data``); every ``horse_every``-th Weizmann horse."""
    out = []
    for r in _index(data / "pets"):
        out.append(Photo(r["name"], data / "pets" / f"{r['name']}.jpg", data / "pets" / f"{r['name']}_mask.png",
                         "pets", r["species"]))
    for r in _index(data / "masked"):
        sp = {"cows": "cow", "horsejump-high": "horserider"}.get(r["category"], r["category"])
        out.append(Photo(r["name"], data / "masked" / f"{r['name']}.jpg", data / "masked" / f"{r['name']}_mask.png",
                         "davis", sp))
    horses = 0
    for r in _index(data / "more-masked"):
        if r["source"] == "weizmann":
            horses += 1
            if (horses - 1) % horse_every:
                continue
        src = {"davis2016": "davis"}.get(r["source"], r["source"])
        d = data / "more-masked"
        out.append(Photo(r["name"], d / f"{r['name']}.jpg", d / f"{r['name']}_mask.png", src, r["class"]))
    return [p for p in out if p.species in species]
