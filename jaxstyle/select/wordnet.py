"""Build ``jaxstyle/data/class_groups.json`` from WordNet 3.0 ``data.noun``/``index.noun``.

An ImageNet wnid is ``"n"`` + the 8-digit byte offset of its synset in ``data.noun``, so
the hypernym closure of every class can be read straight from the file. A *group* is a
synset that is a (transitive, instance-aware) hypernym of at least two ImageNet-1k
classes; it lists those classes and its own group hypernyms (so an image labelled with a
group synset, e.g. a Kaggle cat labelled domestic_cat, resolves offline to every group
it belongs to: feline, carnivore, ...). A few groups get short curated names (``cat`` is
domestic_cat.n.01, not cat.n.01 which also holds wildcats), the rest are named by their
first lemma not already taken, else by their synset name (``crane.n.04``).

Get WordNet without installing it: ``apt-get download wordnet-base && dpkg -x
wordnet-base_*.deb /tmp/wn`` then ``--wordnet /tmp/wn/usr/share/wordnet``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .classes import norm
from ..errors import JaxstyleError

# Curated short names -> WordNet offsets (checked against the generated class sets in tests).
CURATED: dict[str, str] = {
    "dog": "02084071",       # dog.n.01: 118 classes 151-268
    "cat": "02121808",       # domestic_cat.n.01: 281-285
    "bird": "01503061",      # bird.n.01
    "car": "02958343",       # car.n.01 (motorcar)
    "fish": "02512053",      # fish.n.01
    "snake": "01726692",     # snake.n.01
    "monkey": "02484322",    # monkey.n.01
    "bear": "02131653",      # bear.n.01
    "insect": "02159955",    # insect.n.01
    "primate": "02469914",   # primate.n.02
    "boat": "02858304",      # boat.n.01
    "truck": "04490091",     # truck.n.01
    "fruit": "13134947",     # fruit.n.01
}


@dataclass(frozen=True)
class Synset:
    offset: str
    lemmas: tuple[str, ...]
    hypernyms: tuple[str, ...]
    gloss: str


def parse_data_noun(lines: Iterable[str]) -> dict[str, Synset]:
    """``data.noun`` lines -> {offset: Synset}; hypernyms include instance hypernyms (@i)."""
    out: dict[str, Synset] = {}
    for line in lines:
        if not line or line.startswith(" "):
            continue  # licence header
        head, _, gloss = line.partition(" | ")
        f = head.split()
        offset, w_cnt = f[0], int(f[3], 16)
        lemmas = tuple(f[4 + 2 * i] for i in range(w_cnt))
        k = 4 + 2 * w_cnt
        p_cnt = int(f[k])
        hyper = []
        for j in range(p_cnt):
            sym, off, pos = f[k + 1 + 4 * j: k + 4 + 4 * j]
            if sym in ("@", "@i") and pos == "n":
                hyper.append(off)
        out[offset] = Synset(offset, lemmas, tuple(hyper), gloss.strip())
    return out


def parse_index_noun(lines: Iterable[str]) -> dict[str, int]:
    """``index.noun`` -> {"offset lemma": sense number} (1 = most frequent sense)."""
    out: dict[str, int] = {}
    for line in lines:
        if not line or line.startswith(" "):
            continue
        f = line.split()
        lemma, synset_cnt = f[0], int(f[2])
        for i, off in enumerate(f[-synset_cnt:]):
            out[f"{off} {lemma}"] = i + 1
    return out


def ancestors(offset: str, synsets: dict[str, Synset]) -> set[str]:
    """All transitive hypernyms of ``offset`` (not including itself)."""
    seen: set[str] = set()
    stack = list(synsets[offset].hypernyms)
    while stack:
        o = stack.pop()
        if o not in seen:
            seen.add(o)
            stack.extend(synsets[o].hypernyms)
    return seen


def read_class_table(path: str | Path) -> tuple[list[tuple[int, str]], set[str]]:
    """(class_index, wnid) rows of ``imagenet_classes.csv`` and the set of normalised class names."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    names = {norm(r["name"]) for r in rows} | {norm(s) for r in rows for s in r["synonyms"].split(",") if s.strip()}
    return [(int(r["class_index"]), r["wnid"]) for r in rows], names


def build_groups(classes: Sequence[tuple[int, str]], synsets: dict[str, Synset],
                 senses: dict[str, int], reserved: set[str] = frozenset(), min_classes: int = 2) -> list[dict]:
    """Groups (hypernyms of >= ``min_classes`` classes), curated ones first, each with a unique name.

    A lemma in ``reserved`` (normalised ImageNet class names/synonyms) never names a group, so
    every group name resolves back to its group (e.g. the amphibian group is ``amphibian.n.03``
    because ``amphibian`` is also class 408, the amphibious vehicle)."""
    members: dict[str, set[int]] = {}
    for idx, wnid in classes:
        off = wnid[1:]
        if off not in synsets:
            raise JaxstyleError(f"ImageNet class {idx} ({wnid}) is not in this data.noun (need WordNet 3.0)")
        for a in ancestors(off, synsets):
            members.setdefault(a, set()).add(idx)
    keep = {o: m for o, m in members.items() if len(m) >= min_classes}
    for name, off in CURATED.items():
        if off not in keep:
            raise JaxstyleError(f"curated group {name} ({off}) covers < {min_classes} ImageNet classes")

    def synset_name(off: str) -> str:
        lemma = synsets[off].lemmas[0].lower()
        return f"{lemma}.n.{senses.get(f'{off} {lemma}', 0):02d}"

    def sense(off: str) -> int:
        s = synsets[off]
        return senses.get(f"{off} {s.lemmas[0].lower()}", 99)

    curated_offs = {off: name for name, off in CURATED.items()}
    order = sorted(keep, key=lambda o: (o not in curated_offs, sense(o), -len(keep[o]), o))
    taken: set[str] = {norm(n) for n in reserved}
    kept = set(keep)
    groups = []
    for off in order:
        s = synsets[off]
        lemmas = [l.lower() for l in s.lemmas]
        if off in curated_offs:
            name = curated_offs[off]
        else:
            name = next((l for l in lemmas if norm(l) not in taken and l not in CURATED), synset_name(off))
        taken.add(norm(name))
        groups.append({
            "name": name,
            "wnid": "n" + off,
            "synset": synset_name(off),
            "lemmas": lemmas,
            "classes": sorted(keep[off]),
            # hypernyms that are groups too: what a label of this synset is (dog -> carnivore, ...)
            "hypernyms": sorted("n" + a for a in ancestors(off, synsets) & kept),
        })
    return groups

