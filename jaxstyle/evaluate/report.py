"""What the evaluations write: numbers for tables, CSV and text files, and labelled contact sheets.

Shared by the stylize evaluation (:mod:`~jaxstyle.evaluate.evaluation`), the map
evaluation (:mod:`~jaxstyle.evaluate.mapeval`) and the composites
(:mod:`~jaxstyle.evaluate.composites`).
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..visualize import sheets


def finite_or_none(v):
    """JSON-safe: NaN -> null, ±inf -> "inf"/"-inf"."""
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def fmt(v, key: str = "") -> str:
    """A number for a table: 2 decimals (``psnr_bg`` 1, ``seconds`` none); NaN and None "–", inf "∞"."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float) and math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if key == "psnr_bg":
        return f"{v:.1f}"
    if key == "seconds":
        return f"{v:.0f}"
    return f"{v:.2f}"


def stats(values: Sequence[float]) -> tuple[float, float, float, int]:
    """(median, min, max, n) over the non-NaN values (inf kept)."""
    a = np.asarray([v for v in values if v is not None and not math.isnan(v)], np.float64)
    if a.size == 0:
        return float("nan"), float("nan"), float("nan"), 0
    return float(np.median(a)), float(a.min()), float(a.max()), int(a.size)


def write_text(path: Path, text: str) -> None:
    """``text`` written to ``path`` atomically (replacing it)."""
    from ..images import atomic_write

    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=True)


def csv_text(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
    """``rows`` as CSV of ``columns``: floats with every digit (``nan``, ``inf``), booleans as 0/1."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        out = {}
        for k in columns:
            v = r.get(k, "")
            if isinstance(v, float):
                v = "nan" if math.isnan(v) else repr(v)  # repr keeps every digit; inf -> 'inf'
            elif isinstance(v, bool):
                v = int(v)
            out[k] = v
        w.writerow(out)
    return buf.getvalue()


def _panel(img: np.ndarray | None, hw: tuple[int, int]) -> Image.Image:
    h, w = hw
    if img is None:
        return Image.new("RGB", (w, h), (200, 200, 200))
    a = np.asarray(img, np.float32)
    if a.ndim == 2:
        a = np.repeat(a[..., None] * (255.0 if a.max() <= 1.0 else 1.0), 3, -1)
    a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    im = Image.fromarray(a[..., :3])
    return im if im.size == (w, h) else im.resize((w, h), Image.BILINEAR)


def gallery(panels: Sequence[tuple[str, np.ndarray | None, str]], title: str = "", cols: int = 4,
            width: int | None = None, gap: int = 4) -> np.ndarray:
    """Grid of labelled panels (label, image or None for "not run", caption); aspect kept.

    Images are (H, W, 3) 0-255 or (H, W) maps in [0, 1]; all are shown at the first image's
    size scaled so its long side is ``width`` (default: as is). Returns uint8 (H, W, 3).
    """
    if not panels:
        raise ValueError("gallery needs at least one panel")
    first = next((np.asarray(p[1]) for p in panels if p[1] is not None), None)
    if first is None:
        raise ValueError("gallery needs at least one image")
    h, w = first.shape[:2]
    if width:
        s = width / max(h, w)
        h, w = max(1, round(h * s)), max(1, round(w * s))
    font = sheets.font()
    cols = max(1, min(cols, len(panels)))
    rows = -(-len(panels) // cols)
    lab_h, cap_h = 16, (14 if any(p[2] for p in panels) else 0)
    title_h = 20 if title else 0
    W = cols * w + (cols + 1) * gap
    H = title_h + rows * (lab_h + h + cap_h) + (rows + 1) * gap
    sheet = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((gap, 4), title, fill=(0, 0, 0), font=font)
    for n, (label, img, cap) in enumerate(panels):
        r, c = divmod(n, cols)
        x = gap + c * (w + gap)
        y = title_h + gap + r * (lab_h + h + cap_h + gap)
        draw.text((x, y + 1), label, fill=(0, 0, 0), font=font)
        sheet.paste(_panel(img, (h, w)), (x, y + lab_h))
        if img is None:
            draw.text((x + 4, y + lab_h + h // 2 - 6), "not run", fill=(80, 80, 80), font=font)
        if cap:
            draw.text((x, y + lab_h + h + 1), cap, fill=(60, 60, 60), font=font)
    return np.asarray(sheet)
