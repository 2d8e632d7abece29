"""``jaxstyle gallery`` / ``scripts/make_gallery.py``: before/after rows for the docs
(the rows are drawn by :mod:`jaxstyle.evaluate.gallery`)."""
from __future__ import annotations

from typing import Sequence

from . import ArgumentParser, nonneg_float, positive_int
from ..evaluate import gallery


def main(argv: Sequence[str] | None = None) -> int:
    """``jaxstyle gallery`` / ``scripts/make_gallery.py``: before/after rows for the docs."""
    p = ArgumentParser(prog="jaxstyle gallery", description="Before/after rows for the docs: "
                       "photo | object map | one column per method, per photo x style.")
    p.add_argument("--photos", nargs="+", required=True, help="content photos")
    p.add_argument("--styles", nargs="+", required=True, help="style images")
    p.add_argument("--out", default="docs/gallery", help="output folder")
    p.add_argument("--size", type=positive_int, default=384, help="long side in pixels")
    p.add_argument("--iterations", type=positive_int, default=200, help="L-BFGS iterations per run")
    p.add_argument("--methods", default="auto,gatys", help="comma list of methods, one column each")
    p.add_argument("--strengths", nargs="+", type=nonneg_float, default=None, metavar="S",
                   help="instead: one row per photo x style of the first method at each --strength")
    p.add_argument("--force", action="store_true", help="overwrite existing rows")
    a = p.parse_args(argv)
    methods = tuple(a.methods.split(","))
    if a.strengths:
        for photo in a.photos:
            for style in a.styles:
                gallery.strength_row(photo, style, a.strengths, a.out, size=a.size, iterations=a.iterations,
                                     method=methods[0], force=a.force)
        return 0
    gallery.before_after(a.photos, a.styles, a.out, size=a.size, iterations=a.iterations, methods=methods,
                         force=a.force)
    return 0
