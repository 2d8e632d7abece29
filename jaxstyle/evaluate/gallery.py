"""Before/after pictures for the docs: photo | object map | auto | gatys, per photo × style."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ..images import atomic_write, to_uint8
from ..transfer.stylize import stylize


def _label(img: np.ndarray, text: str) -> np.ndarray:
    from PIL import ImageDraw

    pil = Image.fromarray(to_uint8(img))
    d = ImageDraw.Draw(pil)
    d.rectangle((0, 0, 8 + 7 * len(text), 14), fill=(0, 0, 0))
    d.text((4, 1), text, fill=(255, 255, 255))
    return np.asarray(pil)


def before_after(photos: Sequence[str], styles: Sequence[str], out_dir: str | Path, *, size: int = 384,
                 iterations: int = 200, methods: Sequence[str] = ("auto", "gatys"), params=None,
                 force: bool = False, quality: int = 85, log=print) -> list[Path]:
    """Write ``<photo>__<style>.jpg`` rows (photo | map | one column per method) and return the paths."""
    out_dir = Path(out_dir)
    written = []
    for photo in photos:
        for style in styles:
            cols = []
            t0 = time.time()
            for method in methods:
                r = stylize(photo, style, method=method, class_name="dog", size=size, iterations=iterations,
                            params=params)
                if not cols:
                    cols.append(_label(r.content, "photo"))
                if r.object_map is not None:
                    cols.append(_label(np.repeat(r.object_map[..., None] * 255.0, 3, -1), "object map"))
                cols.append(_label(r.image, method))
            path = out_dir / f"{Path(photo).stem}__{Path(style).stem}.jpg"
            written.append(_write_row(cols, path, force, quality))
            log(f"wrote {path} ({time.time() - t0:.1f}s)")
    return written


def strength_row(photo: str, style: str, strengths: Sequence[float], out_dir: str | Path, *, size: int = 384,
                 iterations: int = 200, method: str = "auto", params=None, force: bool = False,
                 quality: int = 85, log=print) -> Path:
    """Write ``<photo>__<style>__strength.jpg``: the photo, then ``method`` at each of ``strengths``."""
    cols = []
    t0 = time.time()
    for s in strengths:
        r = stylize(photo, style, method=method, class_name="dog", size=size, iterations=iterations,
                    strength=s, params=params)
        if not cols:
            cols.append(_label(r.content, "photo"))
        cols.append(_label(r.image, f"--strength {s:g}"))
    path = Path(out_dir) / f"{Path(photo).stem}__{Path(style).stem}__strength.jpg"
    _write_row(cols, path, force, quality)
    log(f"wrote {path} ({time.time() - t0:.1f}s)")
    return path


def _write_row(cols: Sequence[np.ndarray], path: Path, force: bool, quality: int) -> Path:
    row = np.concatenate(cols, axis=1)
    return atomic_write(path, lambda tmp: Image.fromarray(row).save(tmp, format="JPEG", quality=quality), force=force)

