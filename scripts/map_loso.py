"""Score the probe map and the learned map variants on the masked sources, leave-one-source-out.

    python scripts/map_loso.py --data ../shared/data --csv out/loso/rows.csv --md out/loso/loso.md

Rows are appended to ``--csv`` (a rerun adds only what is missing); ``--heads DIR`` scores heads
other than the shipped ones (give another ``--csv`` then), ``--fold-heads DIR`` each source with the
heads whose patch judge never saw it (``jaxstyle head --judge-photos --judge-folds``); ``--cache`` keeps
each photo's features.
``--choice FILE`` writes each class's choice made on every source (``jaxstyle/data/heads/map.json``,
what the learned map ships with).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jaxstyle.evaluate import loso


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--csv", required=True)
    p.add_argument("--md", default=None)
    p.add_argument("--classes", nargs="+", default=["dog", "cat"])
    p.add_argument("--sources", nargs="+", default=None, help="score only these sources (default: all)")
    p.add_argument("--variants", nargs="+", default=list(loso.variants()))
    p.add_argument("--heads", default=None, help="folder of <class>.npz cell heads (default: the shipped ones)")
    p.add_argument("--fold-heads", default=None, help="folder of without-<source>/<class>.npz heads (jaxstyle head "
                   "--judge-folds): each source is scored by the heads whose judge never saw it")
    p.add_argument("--probes", default=None, help="folder of <class>.npz class probes (default: the shipped ones)")
    p.add_argument("--fold-probes", default=None, help="folder of without-<source>/<class>.npz probes: each source "
                   "is scored by the probes that never saw it (jaxstyle probe --data masked:PATH --without SOURCE)")
    p.add_argument("--cache", default=".cache/loso")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--only-report", action="store_true")
    p.add_argument("--choice", default=None, help="write each class's variant and refusal, chosen on all rows (JSON)")
    p.add_argument("--merge", nargs="*", default=[], help="more row files for the report (the probe map's rows)")
    a = p.parse_args()
    out = Path(a.csv)
    if not a.only_report:
        from jaxstyle.model import weights
        from jaxstyle.select.pools import maskedphotos
        from jaxstyle.select.probes import probe
        from jaxstyle.transfer import mapfeatures

        params = mapfeatures.vgg_params(weights.load()[0])
        probes = {c: probe.shipped(c, a.probes and Path(a.probes)) for c in a.classes}
        chosen = {k: v for k, v in loso.variants().items() if k in a.variants}
        items = [ph for ph in maskedphotos.photos(Path(a.data)) if not a.sources or ph.source in a.sources]
        folds = loso.head_folds(items, a.fold_heads, a.heads)
        probe_folds = loso.head_folds(items, a.fold_probes) if a.fold_probes else None
        missing = [str(d) for d in [*folds.values(), *(probe_folds or {}).values()] if d and not d.is_dir()]
        if missing:
            sys.exit(f"map_loso: no heads or probes folder {', '.join(missing)}")
        log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
        loso.append_rows(out, lambda done: loso.folded_rows(params, items, a.classes, probes, folds, chosen, a.size,
                                                            done, cache=Path(a.cache), log=log,
                                                            probe_folds=probe_folds))
    rows = [r for f in [out, *map(Path, a.merge)] for r in loso.read_rows(f)]
    md = "\n".join(loso.loso(rows, a.classes) + ["", *loso.ablation(rows, a.classes)]) + "\n"
    if a.md:
        Path(a.md).write_text(md, encoding="utf-8")
    if a.choice:
        loso.write_choice(Path(a.choice), loso.choices(rows, a.classes), len({r["photo"] for r in rows}),
                          "python scripts/map_loso.py " + " ".join(sys.argv[1:]))
        print(f"wrote {a.choice}")
    print(md)


if __name__ == "__main__":
    main()
