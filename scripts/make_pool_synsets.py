"""Write ``jaxstyle/data/pool_synsets.json``: the WordNet ancestors of pool labels that are
neither an ImageNet-1k class nor a group of ``class_groups.json`` (the ILSVRC-DET synsets of
``pool-det/``: horse, cattle, sheep, zebra, ...), so the learned map's trainer can tell an
animal, a person or a thing from them offline. Each entry also has the synset's lemmas and the
ImageNet-1k classes below it (``classes``: horse holds sorrel), so ``--class horse`` resolves
(:mod:`jaxstyle.select.classes` reads them as groups after those of ``class_groups.json``).

    apt-get download wordnet-base && dpkg -x wordnet-base_*.deb /tmp/wn
    python scripts/make_pool_synsets.py --wordnet /tmp/wn/usr/share/wordnet --labels ../shared/data/pool-det/labels.csv \
        --wnid n02416519 --wnid n02391994   # goat, rhinoceros: more-masked/ classes (jaxstyle/data/masked_classes.json)
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from jaxstyle.select import classes, wordnet

OUT = Path(__file__).resolve().parent.parent / "jaxstyle" / "data" / "pool_synsets.json"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--wordnet", required=True)
    p.add_argument("--labels", action="append", default=[], help="labels.csv with a wnid column")
    p.add_argument("--wnid", action="append", default=[], help="one more wnid")
    a = p.parse_args()
    with open(Path(a.wordnet) / "data.noun", encoding="utf-8") as f:
        syn = wordnet.parse_data_noun(f)
    known = set(classes.wnid_to_index()) | {g.wnid for g in classes.table().groups}
    wnids = list(a.wnid)
    for path in a.labels:
        with open(path, newline="", encoding="utf-8") as f:
            wnids += [row["wnid"] for row in csv.DictReader(f)]
    below: dict[str, list[int]] = {}
    for c in classes.classes():
        for o in wordnet.ancestors(c.wnid[1:], syn):
            below.setdefault("n" + o, []).append(c.index)
    out = {}
    for w in wnids:
        if w in known or w in out:
            continue
        out[w] = {"name": syn[w[1:]].lemmas[0].lower(), "lemmas": [l.lower() for l in syn[w[1:]].lemmas],
                  "classes": sorted(below.get(w, [])),
                  "ancestors": sorted("n" + o for o in wordnet.ancestors(w[1:], syn))}
    OUT.write_text(json.dumps(dict(sorted(out.items())), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(out)} synsets")


if __name__ == "__main__":
    main()
