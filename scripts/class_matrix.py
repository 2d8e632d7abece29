"""Map IoU of every shipped class on the held-out photos of more-masked/, and the specificity matrix.

    python scripts/class_matrix.py --data ../shared/data --csv out/classes/rows.csv --md out/classes/classes.md \\
        --summary jaxstyle/data/probes/map_iou.json

Rows (one per photo and map class, :func:`jaxstyle.evaluate.loso.rows`: the probe map of every class, and
the learned map of a class whose cell head ships) are appended to ``--csv``; a rerun adds only what is
missing. The tables come twice: the probe map of every class, and each class's default map. ``--cache`` keeps each photo's features; ``--features-only``
fills it and stops. ``--summary`` writes each class's own-photo IoU, which ``jaxstyle classes`` shows.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jaxstyle.evaluate import classmatrix, loso

CLASSES = ("dog", "cat", "horse", "cattle", "sheep", "bird", "car")


def _rows(a, photos) -> None:
    from jaxstyle.model import weights
    from jaxstyle.select.heads import cellhead
    from jaxstyle.select.probes import probe
    from jaxstyle.transfer import mapfeatures

    params = mapfeatures.vgg_params(weights.load()[0])
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    if a.features_only:
        for ph in photos:
            loso.photo_features(params, ph, a.size, Path(a.cache))
            log(ph.name)
        return
    probes = {c: probe.shipped(c, a.probes and Path(a.probes)) for c in a.classes}
    missing = [c for c, pr in probes.items() if pr is None]
    if missing:
        raise SystemExit(f"error: no probe for {', '.join(missing)}")
    loso.append_rows(Path(a.csv), lambda done: loso.rows(params, photos, a.classes, probes, {}, {"probe": {}}, a.size,
                                                         done, cache=Path(a.cache), log=log))
    if a.heads or a.fold_heads:  # candidate learned variants of the classes with a head in --heads (--fold-heads)
        folds = loso.head_folds(photos, a.fold_heads, a.heads)
        missing = [str(d) for d in folds.values() if not d.is_dir()]
        if missing:
            raise SystemExit(f"error: no heads folder {', '.join(missing)}")
        chosen = {k: v for k, v in loso.variants().items() if k in a.variants}
        loso.append_rows(Path(a.csv), lambda done: loso.folded_rows(
            params, photos, a.classes, probes, folds, chosen, a.size, done, cache=Path(a.cache), log=log))
        return
    for cls in a.classes:  # the learned map, the default of a class whose cell head and choice ship
        fields, head = cellhead.learned(cls, params)
        if fields:
            loso.append_rows(Path(a.csv), lambda done, cls=cls, fields=fields, head=head: loso.rows(
                params, photos, [cls], probes, {cls: head}, {"learned": fields}, a.size, done, cache=Path(a.cache),
                log=log))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--csv", required=True)
    p.add_argument("--md", default=None)
    p.add_argument("--summary", default=None, help="write each class's own-photo IoU here (JSON)")
    p.add_argument("--classes", nargs="+", default=list(CLASSES), help="the map classes (the photos: all of CLASSES)")
    p.add_argument("--probes", default=None, help="folder of <class>.npz probes (default: the shipped ones)")
    p.add_argument("--cache", default=".cache/classes")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--heads", default=None, help="score the learned --variants of the classes with a cell head in "
                   "this folder (rows named by variant; then --choose picks one across classes)")
    p.add_argument("--fold-heads", default=None, help="as --heads, each source's photos scored by the heads of "
                   "without-<source>/ in this folder (jaxstyle head --judge-photos --judge-folds)")
    p.add_argument("--variants", nargs="+", default=["judged-j0", "judged-j0.25", "patch-j0"])
    p.add_argument("--choose", action="store_true", help="report: for each class, the learned variant and refusal "
                   "chosen on the other classes' rows, scored on its own (leave-one-class-out)")
    p.add_argument("--choice", default=None, help="with --choose: write the choice made on every class, for the "
                   "--ship classes, into this learned-map choice file (jaxstyle/data/heads/map.json)")
    p.add_argument("--ship", nargs="+", default=[], help="the classes whose learned map ships (their head must be "
                   "in jaxstyle/data/heads)")
    p.add_argument("--features-only", action="store_true")
    p.add_argument("--only-report", action="store_true")
    a = p.parse_args()
    if bool(a.choice) != bool(a.ship) or (a.choice and not a.choose):
        p.error("--choice and --ship go together, with --choose")
    if not a.only_report:
        _rows(a, classmatrix.held_out_photos(Path(a.data), classes=CLASSES))  # every class's photos, for the matrix
    if a.features_only:
        return
    rows = loso.read_rows(Path(a.csv))
    if a.choose:
        chosen = classmatrix.across(rows, a.classes)
        print("\n".join(classmatrix.choose_across(rows, a.classes, chosen)))
        every = chosen[1]
        if a.choice and every:
            classmatrix.ship_choice(Path(a.choice), a.ship, every,
                                    "python scripts/class_matrix.py " + " ".join(sys.argv[1:]))
            print(f"wrote {a.choice}")
        return
    md = []
    for title, view in (("the probe map", classmatrix.PROBE), ("the default map", classmatrix.default_view(a.classes))):
        md += [f"# {title}", "", "## Own class", "", *classmatrix.own_table(rows, a.classes, view), "",
               "## Specificity", "", *classmatrix.matrix(rows, a.classes, view)]
        for src in sorted({r["source"] for r in rows}):
            sub = [r for r in rows if r["source"] == src]
            md += ["", f"### Photos of {src}", "", *classmatrix.matrix(sub, a.classes, view)]
        md.append("")
    md = "\n".join(md) + "\n"
    if a.md:
        Path(a.md).parent.mkdir(parents=True, exist_ok=True)
        Path(a.md).write_text(md, encoding="utf-8")
    if a.summary:
        cmd = "python scripts/class_matrix.py " + " ".join(sys.argv[1:])
        classmatrix.write_summary(classmatrix.summary(rows, a.classes, cmd), Path(a.summary))
    print(md)


if __name__ == "__main__":
    main()
