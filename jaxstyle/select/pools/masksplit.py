"""The train / held-out split of a masked photo set (``more-masked/``) by group.

A photo's group is its ``index.csv`` group (a DAVIS sequence, an MSRC group), except that the
Weizmann horses, separate photos of many horses, are cut in two by photo number (``weizmann-a``
below the split's ``weizmann_cut``, ``weizmann-b`` from it). A group is wholly train or wholly
held out, for every class, so no photo is scored by a probe trained on it or on another frame
of its sequence or photo of its group. Only the image-level labels of train photos may train
anything (:func:`train_pool`); masks never do.

The split is a file (``jaxstyle/data/more_masked_split.json``), written by
``scripts/make_masked_split.py``, which records its command.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ...errors import JaxstyleError

DATA = Path(__file__).resolve().parents[2] / "data"
SPLIT = DATA / "more_masked_split.json"
MASKED_CLASSES = DATA / "masked_classes.json"  # a masked set's class name -> wnid
PARTS = ("train", "held_out")


@dataclass(frozen=True)
class MaskedPhoto:
    name: str
    cls: str      # the set's class name (cow, horse, ...)
    source: str   # msrc, davis2016, weizmann
    group: str    # the split's group (weizmann-a / weizmann-b for the Weizmann horses)
    photo: Path
    mask: Path


def split_group(row: Mapping[str, str], weizmann_cut: int) -> str:
    """The split's group of an ``index.csv`` row."""
    if row["source"] != "weizmann":
        return row["group"]
    return "weizmann-a" if int(row["name"].rsplit("_", 1)[-1]) < weizmann_cut else "weizmann-b"


def read_index(root: str | Path, weizmann_cut: int) -> list[MaskedPhoto]:
    """Every photo of ``root/index.csv`` with its split group."""
    root = Path(root)
    try:
        with open(root / "index.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        return [MaskedPhoto(r["name"], r["class"], r["source"], split_group(r, weizmann_cut),
                            root / f"{r['name']}.jpg", root / f"{r['name']}_mask.png") for r in rows]
    except (OSError, KeyError, ValueError) as e:
        raise JaxstyleError(f"{root}/index.csv: not a masked photo index ({type(e).__name__}: {e})") from None


def make(items: Sequence[MaskedPhoto], held_out: Sequence[str], weizmann_cut: int, command: str) -> dict:
    """The split document: ``held_out`` groups held out, every other group train, and per class its groups
    and photo counts on each side."""
    groups = sorted({it.group for it in items})
    unknown = sorted(set(held_out) - set(groups))
    if unknown:
        raise JaxstyleError(f"held-out group(s) {', '.join(unknown)} are not in the index")
    side = {g: ("held_out" if g in held_out else "train") for g in groups}
    per: dict[str, dict] = {}
    for it in items:
        c = per.setdefault(it.cls, {p: {} for p in PARTS})
        c[side[it.group]][it.group] = c[side[it.group]].get(it.group, 0) + 1
    return {"schema": "jaxstyle.masked_split/1", "command": command, "weizmann_cut": weizmann_cut,
            "groups": side, "classes": dict(sorted(per.items()))}


def load(path: str | Path = SPLIT) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        doc["groups"], int(doc["weizmann_cut"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise JaxstyleError(f"{path}: not a masked split ({type(e).__name__}: {e})") from None
    return doc


def photos(root: str | Path, part: str, split: Mapping | None = None) -> list[MaskedPhoto]:
    """The photos of ``root`` on side ``part`` (``train`` or ``held_out``) of the split (the shipped one unless given)."""
    if part not in PARTS:
        raise JaxstyleError(f"unknown split part {part!r} (one of {', '.join(PARTS)})")
    split = split or load()
    items = read_index(root, int(split["weizmann_cut"]))
    missing = sorted({it.group for it in items} - set(split["groups"]))
    if missing:
        raise JaxstyleError(f"{root}: group(s) {', '.join(missing)} are in no side of the split")
    return [it for it in items if split["groups"][it.group] == part]


def wnids() -> dict[str, str]:
    """A masked set's class name -> its WordNet synset (``cow`` -> cattle n02402425)."""
    return json.loads(MASKED_CLASSES.read_text(encoding="utf-8"))


def names_of(root: str | Path, sources: Sequence[str], split: Mapping | None = None) -> set[str]:
    """The pool ids (:func:`train_pool`) of the train photos of ``root`` from any of ``sources`` (an index
    source or its start: ``davis`` is ``davis2016``)."""
    return {f"{it.name}.jpg" for it in photos(root, "train", split) if any(it.source.startswith(s) for s in sources)}


def train_pool(root: str | Path, split: Mapping | None = None) -> list[tuple[str, str, Path]]:
    """``(id, wnid, photo)`` of the train photos whose class has a synset: image labels only, never masks."""
    w = wnids()
    return [(f"{it.name}.jpg", w[it.cls], it.photo) for it in photos(root, "train", split)
            if it.cls in w and it.photo.is_file()]
