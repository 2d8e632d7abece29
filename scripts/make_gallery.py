#!/usr/bin/env python3
"""Before/after rows for the docs: python scripts/make_gallery.py --photos A.jpg B.jpg --styles S.jpg --out docs/gallery"""
import sys

from jaxstyle.cli import ArgumentParser, positive_int, run_main


def main(argv=None):
    from jaxstyle.gallery import before_after

    p = ArgumentParser(prog="make_gallery.py", description=__doc__)
    p.add_argument("--photos", nargs="+", required=True)
    p.add_argument("--styles", nargs="+", required=True)
    p.add_argument("--out", default="docs/gallery")
    p.add_argument("--size", type=positive_int, default=384)
    p.add_argument("--iterations", type=positive_int, default=200)
    p.add_argument("--methods", default="auto,gatys")
    p.add_argument("--force", action="store_true")
    a = p.parse_args(argv)
    before_after(a.photos, a.styles, a.out, size=a.size, iterations=a.iterations,
                 methods=tuple(a.methods.split(",")), force=a.force)
    return 0


sys.exit(run_main(main))
