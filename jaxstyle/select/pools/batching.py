"""Pool images as scoring batches: the scoring preprocessing of one image (:func:`crop_array`)
and the grouping of ``(id, label, load())`` into ``(ids, labels, uint8 (b, S, S, 3), consumed, skipped)``."""
from __future__ import annotations

from typing import Iterator

import numpy as np
from PIL import Image

from ...images import center_crop_square
from ...errors import JaxstyleError
from ..probes.scoring import Batch


def crop_array(img: Image.Image | np.ndarray, size: int) -> np.ndarray:
    """The scoring preprocessing: short side ``size``, centre square, uint8 RGB."""
    if isinstance(img, np.ndarray):
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        img = Image.fromarray(img.astype(np.uint8)).convert("RGB")
    return np.asarray(center_crop_square(img, size), np.uint8)


def batch_items(loaders: Iterator[tuple[str, int, object]], batch: int, size: int) -> Iterator[Batch]:
    """Group ``(id, label, load())`` into batches; a load raising JaxstyleError is skipped."""
    ids, labels, arrs, consumed, skipped = [], [], [], 0, []
    for id_, label, load in loaders:
        consumed += 1
        try:
            arrs.append(crop_array(load(), size))
        except JaxstyleError:
            skipped.append(id_)
        else:
            ids.append(id_)
            labels.append(label)
        if len(ids) == batch:
            yield ids, np.asarray(labels, np.int64), np.stack(arrs), consumed, skipped
            ids, labels, arrs, consumed, skipped = [], [], [], 0, []
    if consumed:
        arr = np.stack(arrs) if arrs else np.zeros((0, size, size, 3), np.uint8)
        yield ids, np.asarray(labels, np.int64), arr, consumed, skipped
