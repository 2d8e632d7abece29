"""``jaxstyle class-groups`` / ``scripts/make_class_groups.py``: regenerate
``jaxstyle/data/class_groups.json`` from WordNet 3.0 (the builder is :mod:`jaxstyle.select.wordnet`)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

from . import ArgumentParser
from ..images import atomic_write
from ..errors import JaxstyleError
from ..select import wordnet


def main(argv: Sequence[str] | None = None) -> int:
    """``scripts/make_class_groups.py``: regenerate the class-group table."""
    here = Path(wordnet.__file__).parent.parent / "data"
    p = ArgumentParser(prog="jaxstyle class-groups", description=wordnet.__doc__.split("\n\n")[0])
    p.add_argument("--wordnet", default="/usr/share/wordnet",
                   help="folder with WordNet 3.0 data.noun and index.noun (Debian wordnet-base)")
    p.add_argument("--classes", default=str(here / "imagenet_classes.csv"), help="ImageNet class table CSV")
    p.add_argument("--out", default=str(here / "class_groups.json"), help="output JSON table")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    a = p.parse_args(argv)
    wn = Path(a.wordnet)
    data, index = wn / "data.noun", wn / "index.noun"
    for f in (data, index):
        if not f.is_file():
            raise JaxstyleError(f"{f}: missing; install wordnet-base or pass --wordnet DIR")
    raw = data.read_bytes()
    synsets = wordnet.parse_data_noun(raw.decode("utf-8", "replace").splitlines())
    senses = wordnet.parse_index_noun(index.read_text("utf-8", "replace").splitlines())
    table, class_names = wordnet.read_class_table(a.classes)
    groups = wordnet.build_groups(table, synsets, senses, reserved=class_names)
    doc = {
        "source": "WordNet 3.0 data.noun (Debian wordnet-base 1:3.0-37); groups = synsets that are "
                  "hypernyms (@, @i, transitive) of >= 2 ImageNet-1k classes",
        "data_noun_sha256": hashlib.sha256(raw).hexdigest(),
        "generator": "scripts/make_class_groups.py",
        "groups": groups,
    }
    text = "{\n" + ",\n".join(
        f" {json.dumps(k)}: " + (
            "[\n" + ",\n".join("  " + json.dumps(g, separators=(",", ":")) for g in v) + "\n ]"
            if k == "groups" else json.dumps(v))
        for k, v in doc.items()) + "\n}\n"
    atomic_write(a.out, lambda tmp: tmp.write_text(text), force=a.force)
    print(f"wrote {a.out}: {len(groups)} groups, {len(text) // 1024} KB")
    return 0
