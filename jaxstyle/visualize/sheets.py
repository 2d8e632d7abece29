"""Pictures for people: receptive-field crops and captioned contact sheets.

Pure functions over uint8/float RGB arrays; saving goes through :func:`jaxstyle.images.save_image`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..model import vgg

PAD_VALUE = 128  # grey outside the image in receptive-field crops


def rf_box(layer: str, pos_yx: Sequence[int], image_size: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) in ``image_size`` pixels of the receptive field of unit ``pos_yx``.

    The unit at feature position p of a layer with stride s is centred near input pixel
    ``p*s + (s-1)/2``; the box has the layer's theoretical receptive-field size and may
    extend outside the image (the caller pads).
    """
    size, stride = vgg.receptive_field(layer)
    cy = pos_yx[0] * stride + (stride - 1) / 2.0
    cx = pos_yx[1] * stride + (stride - 1) / 2.0
    top = int(round(cy - (size - 1) / 2.0))
    left = int(round(cx - (size - 1) / 2.0))
    return top, left, top + size, left + size


def rf_crop(img_array: np.ndarray, layer: str, pos_yx: Sequence[int], image_size: int) -> np.ndarray:
    """Crop ``img_array`` (the scored S x S image, or a rescaled copy of it) around the receptive
    field of feature position ``pos_yx`` of ``layer``; parts outside the image are grey."""
    img = np.asarray(img_array)
    h, w = img.shape[:2]
    sy, sx = h / image_size, w / image_size
    t, l, b, r = rf_box(layer, pos_yx, image_size)
    t, b = int(round(t * sy)), int(round(b * sy))
    l, r = int(round(l * sx)), int(round(r * sx))
    out = np.full((b - t, r - l) + img.shape[2:], PAD_VALUE, img.dtype)
    it, il, ib, ir = max(t, 0), max(l, 0), min(b, h), min(r, w)
    if ib > it and ir > il:
        out[it - t: ib - t, il - l: ir - l] = img[it:ib, il:ir]
    return out


def font():
    """The bitmap font of the sheets' captions (12 px where Pillow can size it)."""
    try:
        return ImageFont.load_default(size=12)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def contact_sheet(images: Sequence[np.ndarray], captions: Sequence[str] | None = None, cols: int = 3,
                  tile: int | None = None, title: str | None = None, gap: int = 4) -> np.ndarray:
    """Tile ``images`` (each resized to ``tile`` px square, default the largest side) in a grid
    with a caption under each and an optional title; returns uint8 (H, W, 3)."""
    if not len(images):
        raise ValueError("contact_sheet needs at least one image")
    captions = list(captions or [""] * len(images))
    if len(captions) != len(images):
        raise ValueError("one caption per image")
    cols = max(1, min(cols, len(images)))
    rows = -(-len(images) // cols)
    tile = tile or max(max(np.asarray(a).shape[:2]) for a in images)
    typeface = font()
    cap_h = 16 if any(captions) else 0
    title_h = 20 if title else 0
    W = cols * tile + (cols + 1) * gap
    H = title_h + rows * (tile + cap_h) + (rows + 1) * gap
    sheet = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((gap, 4), title, fill=(0, 0, 0), font=typeface)
    for n, (a, cap) in enumerate(zip(images, captions)):
        a = np.asarray(a)
        if a.dtype != np.uint8:
            a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, -1)
        im = Image.fromarray(a[..., :3]).resize((tile, tile), Image.BILINEAR)
        r, c = divmod(n, cols)
        x = gap + c * (tile + gap)
        y = title_h + gap + r * (tile + cap_h + gap)
        sheet.paste(im, (x, y))
        if cap:
            draw.text((x, y + tile + 2), cap[:max(4, tile // 6)], fill=(0, 0, 0), font=typeface)
    return np.asarray(sheet)


def filter_sheet(images: Sequence[np.ndarray], layer: str, filt: int, positions: Sequence[Sequence[int]],
                 values: Sequence[float], in_class: Sequence[bool], *, image_size: int,
                 scores: dict[str, float] | None = None, tile: int = 128) -> np.ndarray:
    """Top-k sheet of one filter: each image cropped to its max unit's receptive field,
    captioned with its activation and a mark (+ in class, - not)."""
    crops = [rf_crop(im, layer, p, image_size) for im, p in zip(images, positions)]
    caps = [f"{'+' if ok else '-'} {v:.1f}" for v, ok in zip(values, in_class)]
    extra = "  ".join(f"{k} {v:.2f}" for k, v in (scores or {}).items())
    return contact_sheet(crops, caps, cols=3, tile=tile, title=f"{layer}:{filt}  {extra}".strip())
