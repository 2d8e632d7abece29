"""``jaxstyle classes``: the classes the object map knows (a shipped probe), what each was trained on,
and its measured map IoU (``jaxstyle/data/probes/map_iou.json``, written by ``scripts/class_matrix.py``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from . import ArgumentParser, run_main

RESULTS = "map_iou.json"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="jaxstyle classes", description="List the classes with a shipped probe (the object "
                       "map's class test), with the pools each was trained on and its measured map IoU.")
    p.add_argument("--class", dest="class_name", default=None,
                   help="show one class, by any name or wnid (horse, n02374451, cow); default: all")
    p.add_argument("--probes", default=None, help="folder of <class>.npz probes and map_iou.json "
                                                  "(default: jaxstyle/data/probes)")
    return p


def _results(folder: Path) -> Mapping:
    path = folder / RESULTS
    if not path.is_file():
        return {}
    from ..errors import JaxstyleError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise JaxstyleError(f"{path}: not JSON ({e})") from None


def _sides(meta: Mapping) -> str:
    """`` at 224 + 384 px`` for a probe trained at several sides (``jaxstyle probe --size 224 384``), else ``""``."""
    sides = meta.get("image_size")
    return f" at {' + '.join(map(str, sides))} px" if isinstance(sides, list) and len(sides) > 1 else ""


def describe(a, results: Mapping) -> str:
    """One class's lines (``a``: its :class:`assets.ClassAssets`): synsets, probe pools and positives, filter
    list, head and measured IoU."""
    from ..select.probes import probe

    pr = probe.load(a.probe)
    m = pr.meta
    pools = ", ".join(Path(str(s).split(":", 1)[-1]).name for s in m.get("pool", [])) or "?"
    counts = m.get("counts", {})
    r = results.get("classes", {}).get(a.name)
    iou = (f"median {r['median_iou']:.3f}, mean {r['mean_iou']:.3f}, ≥ 0.6 {100 * r['share_ge_0.6']:.0f} % "
           f"of {r['n']} held-out photos ({', '.join(r['sources'])})" if r else "not measured")
    return "\n".join([
        f"{a.name} ({', '.join(a.synsets)}; {len(a.classes)} ImageNet class{'es' if len(a.classes) != 1 else ''})",
        f"  trained on: {pools}; {m.get('images', '?')} images{_sides(m)}, {counts.get(a.name, '?')} rows of the "
        f"class ({m.get('rows', 'image rows')})",
        f"  look-alikes: {', '.join(pr.groups[1:])}",
        f"  filter list: {a.filters.name if a.filters else 'none'}; cell head: {a.head.name if a.head else 'none'}",
        f"  map: {_default_map(a)}",
        f"  {'probe ' if a.head else ''}map IoU: {iou}"])


def _default_map(a) -> str:
    """Which map ``auto`` uses for the class: the learned map where its cell head and choice ship, else the probe map."""
    from ..select.heads import cellhead

    fields = cellhead.learned_fields(a.name) if a.head else None
    if not fields:
        return "the probe map"
    return (f"the learned map (cell head; refusal below {fields['min_evidence']:g}; its held-out IoU: "
            "docs/RESULTS.md, 'Learned map and head gate' and 'Learned maps of horse, cattle and sheep'); "
            "--probe-map for the probe map")


def main(argv: Sequence[str] | None = None) -> int:
    from ..select import assets

    a = build_parser().parse_args(argv)
    folder = Path(a.probes) if a.probes else None
    dirs = assets.AssetDirs(probes=folder)
    names = [a.class_name] if a.class_name else assets.shipped_classes(folder)
    found = [assets.lookup(n, dirs) for n in names]
    if a.class_name and found[0].probe is None:
        from ..errors import UsageError

        raise UsageError(f"class {found[0].name!r} has no shipped probe; shipped: "
                         f"{', '.join(assets.shipped_classes(folder)) or 'none'} (train one with jaxstyle probe)")
    from ..select.probes import probe

    results = _results(folder or probe.DATA_DIR)
    if results.get("command"):
        print(f"map IoU measured by: {results['command']}\n")
    print("\n\n".join(describe(x, results) for x in found if x.probe is not None))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
