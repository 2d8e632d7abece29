"""``jaxstyle gallery`` / ``scripts/make_gallery.py``: before/after rows for the docs
(the rows are drawn by :mod:`jaxstyle.evaluate.gallery`)."""
from __future__ import annotations

from typing import Sequence

from . import ArgumentParser, positive_int
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
    p.add_argument("--force", action="store_true", help="overwrite existing rows")
    a = p.parse_args(argv)
    gallery.before_after(a.photos, a.styles, a.out, size=a.size, iterations=a.iterations,
                         methods=tuple(a.methods.split(",")), force=a.force)
    return 0
