"""jaxstyle.evaluate.gallery: rows of pictures for the docs (tiny random VGG)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from jaxstyle.evaluate import gallery


def test_strength_row_is_the_photo_then_one_column_per_strength(tiny_params, tmp_path):
    rng = np.random.default_rng(0)
    photo, style = tmp_path / "p.png", tmp_path / "s.png"
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), np.uint8)).save(photo)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(style)
    path = gallery.strength_row(str(photo), str(style), (0.0, 2.0), tmp_path / "out", size=64, iterations=6,
                                method="gatys", params=tiny_params, quality=100, log=lambda s: None)
    row = np.asarray(Image.open(path), np.float32)
    assert row.shape == (48, 3 * 64, 3)
    body = slice(16, None)  # below the labels
    p, s0, s2 = row[body, :64], row[body, 64:128], row[body, 128:]
    assert np.abs(s0 - p).mean() < 3.0  # --strength 0 keeps the photo
    assert np.abs(s2 - p).mean() > 2 * np.abs(s0 - p).mean() + 3.0
