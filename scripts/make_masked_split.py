"""Write ``jaxstyle/data/more_masked_split.json``: which groups of ``more-masked/`` are held out.

    python scripts/make_masked_split.py --data ../shared/data/more-masked --weizmann-cut 168 \\
        --held-out msrc_16 dog msrc_15 cows msrc_5 msrc_9 weizmann-b msrc_12 mallard-fly mallard-water \\
        msrc_7 car-roundabout

The rule (no randomness): every group of dog and cat is held out (their shipped probes never saw
``more-masked/``); of each new class (horse, cow, sheep, bird, car) the groups holding most of its
photos are held out, as long as some group of the class stays for training; ``msrc_1`` (horses,
cows and sheep together) trains, and the other classes' groups (aeroplane, bear, bus, camel,
elephant, goat, rhino) train as look-alikes. The Weizmann horses are photos of different horses, not
frames: they are cut by photo number (below ``--weizmann-cut``: ``weizmann-a``, train; from it:
``weizmann-b``, held out); no two of their 16 x 16 grey thumbnails correlate above 0.95.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jaxstyle.select.pools import masksplit


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="the masked set (index.csv)")
    p.add_argument("--held-out", nargs="+", required=True, metavar="GROUP")
    p.add_argument("--weizmann-cut", type=int, required=True, help="first Weizmann photo number of weizmann-b")
    p.add_argument("--out", default=str(masksplit.SPLIT))
    a = p.parse_args()
    items = masksplit.read_index(a.data, a.weizmann_cut)
    cmd = "python scripts/make_masked_split.py " + " ".join(sys.argv[1:])
    doc = masksplit.make(items, a.held_out, a.weizmann_cut, cmd)
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    for cls, sides in doc["classes"].items():
        print(cls, *(f"{k} {sum(v.values())} ({', '.join(v)})" for k, v in sides.items()), sep=" | ")


if __name__ == "__main__":
    main()
