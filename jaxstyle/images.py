"""Image files: robust decoding, resizing, atomic saving, and labelled image pools (the package's shipped
files are in the data/ folder beside it)."""
from __future__ import annotations

import csv
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
from PIL import Image, ImageOps

from .errors import JaxstyleError, OutputExistsError, UsageError

MAX_PIXELS = 100_000_000  # refuse larger images (decompression bombs)
MIN_SIDE = 16  # below this an image is upscaled with a warning... or refused when degenerate
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB; alpha is composited over white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img, np.float64)
        # 16-bit modes are always scaled from 0..65535 (a dark 16-bit image must stay dark);
        # 32-bit "I" carries no range, so guess 8- or 16-bit from the values.
        hi = 65535.0 if img.mode != "I" or a.max() > 255 else 255.0
        img = Image.fromarray(np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        a = np.asarray(img, np.float64)
        img = Image.fromarray(np.clip(a * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    return img.convert("RGB")


def _mask_of(img: Image.Image) -> Image.Image:
    """Mask as "L": the alpha channel when the image has real transparency, else the luminance."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        alpha = img.getchannel("A")
        if alpha.getextrema()[0] < 255:  # a cut-out: transparent background, opaque object
            return alpha
    return _to_rgb(img).convert("L")


def open_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS,
               _convert: Callable[[Image.Image], Image.Image] = _to_rgb) -> Image.Image:
    """Open and fully decode an image as RGB (EXIF orientation applied) or raise JaxstyleError."""
    path = Path(path)
    if not path.exists():
        raise JaxstyleError(f"{path}: no such file")
    if path.is_dir():
        raise JaxstyleError(f"{path}: is a directory, not an image")
    if path.stat().st_size == 0:
        raise JaxstyleError(f"{path}: empty file")
    try:
        with warnings.catch_warnings():
            # PIL's UserWarnings on damaged metadata ("Corrupt EXIF data", "Truncated File Read")
            # would print extra stderr lines per image; the image either decodes or raises below.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            old = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = max_pixels
            try:
                with Image.open(path) as img:
                    if img.width * img.height > max_pixels:
                        raise JaxstyleError(
                            f"{path}: {img.width}x{img.height} exceeds the pixel limit {max_pixels:,}")
                    img.load()
                    img = ImageOps.exif_transpose(img)
                    rgb = _convert(img)
            finally:
                Image.MAX_IMAGE_PIXELS = old
    except JaxstyleError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise JaxstyleError(f"{path}: image exceeds the pixel limit {max_pixels:,} (decompression bomb?)") from None
    except Exception as e:  # PIL raises many types on bad data
        raise JaxstyleError(f"{path}: not a readable image ({type(e).__name__}: {str(e)[:80]})") from None
    if min(rgb.size) < 1:
        raise JaxstyleError(f"{path}: image has no pixels")
    return rgb


def long_side_wh(wh: tuple[int, int], size: int | None, multiple: int = 1) -> tuple[int, int]:
    """The (w, h) of an image of ``wh`` at long side ``size`` (aspect kept; ``None``: as it is), sides
    rounded to ``multiple``; UsageError/JaxstyleError when ``size`` or the short side is under ``MIN_SIDE``."""
    if size is None:
        w, h = wh
    else:
        if size < MIN_SIDE:
            raise UsageError(f"--size {size} is too small (minimum {MIN_SIDE})")
        w0, h0 = wh
        s = size / max(w0, h0)
        w, h = max(1, round(w0 * s)), max(1, round(h0 * s))
        if min(w, h) < MIN_SIDE:
            raise JaxstyleError(f"a {w0}x{h0} image is too thin: at long side {size} its short side is "
                                f"{min(w, h)} px (VGG needs >= {MIN_SIDE}); crop it or use a larger --size")
    return max(multiple, int(round(w / multiple)) * multiple), max(multiple, int(round(h / multiple)) * multiple)


def resize_long_side(img: Image.Image, size: int | None, multiple: int = 1) -> Image.Image:
    """Resize so the long side is ``size`` (aspect kept; Lanczos); sides rounded to ``multiple``.

    The one resize of a decoded photo: every size a run reads a photo at comes from it
    (:meth:`Photo.at`)."""
    w, h = long_side_wh(img.size, size, multiple)
    if (w, h) == img.size:
        return img
    return img.resize((w, h), Image.LANCZOS)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity, not by its pixels
class Photo:
    """A photo decoded once (:func:`open_image`) and read at each long side a run needs (:meth:`at`).

    ``path`` names it in messages. Every size is resized from the decoded full image, so a
    photo read by :meth:`at` is the same array :func:`load_image` gives for its path."""
    image: Image.Image
    path: str

    @classmethod
    def open(cls, path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> "Photo":
        return cls(open_image(path, max_pixels), str(path))

    def check(self, size: int | None, multiple: int = 1) -> None:
        """Raise what :meth:`at` would raise at ``size``, without resizing."""
        self._named(long_side_wh, self.image.size, size, multiple)

    def at(self, size: int | None, multiple: int = 1) -> np.ndarray:
        """RGB float32 array (H, W, 3) in [0, 255], long side ``size``."""
        return np.asarray(self._named(resize_long_side, self.image, size, multiple), np.float32)

    def _named(self, f, *args):
        try:
            return f(*args)
        except UsageError:
            raise
        except JaxstyleError as e:
            raise JaxstyleError(f"{self.path}: {e}") from None


def load_image(path: str | os.PathLike, size: int | None = None, multiple: int = 1,
               max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """RGB float32 array (H, W, 3) in [0, 255], long side ``size`` (:class:`Photo`)."""
    return Photo.open(path, max_pixels).at(size, multiple)


def load_mask(path: str | os.PathLike, shape: tuple[int, int]) -> np.ndarray:
    """Mask as float32 (H, W) in [0, 1] resized to ``shape``; an empty mask is an error.

    A mask with transparency (a cut-out PNG) uses its alpha channel; otherwise white = object.
    """
    img = open_image(path, _convert=_mask_of)
    if img.size != (shape[1], shape[0]):
        img = img.resize((shape[1], shape[0]), Image.BILINEAR)
    m = np.asarray(img, np.float32) / 255.0
    if m.max() < 0.5:
        raise JaxstyleError(f"{path}: mask is empty (no pixel >= 128)")
    return m


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], force: bool = False) -> Path:
    """Call ``write(tmp)`` then rename to ``path``; an existing file is kept unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    if path.is_dir():
        raise JaxstyleError(f"{path}: is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise JaxstyleError(f"{path.parent}: cannot create output directory ({e.strerror or e})") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as e:
        raise JaxstyleError(f"{path.parent}: cannot write output here ({e.strerror or e})") from None
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise JaxstyleError(f"{path}: cannot write ({e.strerror or e})") from None
        raise
    return path


def to_uint8(img) -> np.ndarray:
    return np.clip(np.rint(np.asarray(img, np.float32)), 0, 255).astype(np.uint8)


def save_image(img, path: str | os.PathLike, force: bool = False, quality: int = 92) -> Path:
    """Save an RGB [0,255] array as PNG or JPEG (by extension), atomically."""
    path = Path(path)
    ext = path.suffix.lower()
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}.get(ext)
    if fmt is None:
        raise UsageError(f"{path}: unknown image extension {ext or '(none)'}; use .png or .jpg")
    arr = to_uint8(img)
    pil = Image.fromarray(arr if arr.ndim == 3 else arr, "RGB" if arr.ndim == 3 else "L")

    def write(tmp: Path):
        kw = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
        pil.save(tmp, format=fmt, **kw)

    return atomic_write(path, write, force=force)


# --------------------------------------------------------------------------- pools
@dataclass(frozen=True)
class PoolItem:
    """One labelled image of a pool: an id (relative path), its label code (an ImageNet class
    index, or 1000+ for a WordNet group; :func:`jaxstyle.select.classes.label_code`), a loader."""
    id: str
    label: int
    load: Callable[[], Image.Image]


def center_crop_square(img: Image.Image, size: int) -> Image.Image:
    """Resize the short side to ``size`` and centre-crop a square (the scoring preprocessing)."""
    w, h = img.size
    s = size / min(w, h)
    img = img.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
    w, h = img.size
    l, t = (w - size) // 2, (h - size) // 2
    return img.crop((l, t, l + size, t + size))


def folder_pool(root: str | os.PathLike, label_of: Callable[[str], int] | Mapping[str, int]) -> list[PoolItem]:
    """A labelled folder: ``labels.csv`` (its files beside it or in ``images/``), ``<wnid>/`` subfolders, or
    ``<wnid>_*`` files.

    ``labels.csv`` has ``filename,class_index`` and optionally ``wnid``: a ``class_index`` of
    -1 (or empty) means the image is labelled by its ``wnid`` alone, which may be any synset
    ``label_of`` knows (a WordNet group such as domestic_cat n02121808). ``label_of`` maps a
    class index (as a string) or wnid to a label code and raises JaxstyleError when unknown;
    a mapping ``{wnid: class index}`` stands for ImageNet-1k classes only.
    """
    if isinstance(label_of, Mapping):
        label_of = _mapping_labels(label_of)
    root = Path(root)
    if not root.is_dir():
        raise JaxstyleError(f"{root}: no such dataset folder")
    items: list[PoolItem] = []

    def add(p: Path, label: int):
        items.append(PoolItem(str(p.relative_to(root)), label, lambda p=p: open_image(p)))

    labels = root / "labels.csv"
    if labels.is_file():
        try:
            with open(labels, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        except (UnicodeDecodeError, csv.Error) as e:
            raise JaxstyleError(f"{labels}: not a readable UTF-8 CSV ({type(e).__name__})") from None
        except OSError as e:
            raise JaxstyleError(f"{labels}: cannot read ({e.strerror or e})") from None
        for row in rows:
            try:
                raw = row["class_index"]
                name, idx, wnid = row["filename"], int(raw) if raw.strip() else -1, (row.get("wnid") or "").strip()
            except (KeyError, ValueError, TypeError, AttributeError):
                raise JaxstyleError(f"{labels}: needs columns filename,class_index with integer classes") from None
            if idx < 0 and not wnid:
                raise JaxstyleError(f"{labels}: class index {idx} of {name} is not an ImageNet-1k class "
                                    "and the row has no wnid")
            if idx >= 1000:
                raise JaxstyleError(f"{labels}: class index {idx} of {name} is not an ImageNet-1k class")
            if not name or Path(name).is_absolute() or ".." in Path(name).parts:
                raise JaxstyleError(f"{labels}: filename {name!r} must be a path inside {root}")
            try:  # the file beside labels.csv, or in images/ (pool-det/)
                add(next((d / name for d in (root, root / "images") if (d / name).is_file()), root / name),
                    label_of(str(idx) if idx >= 0 else wnid))
            except JaxstyleError as e:
                raise JaxstyleError(f"{labels}: {name}: {e}") from None
    else:
        for p in sorted(root.rglob("*")):
            if not p.is_file() or p.suffix.lower() not in IMAGE_EXTS:
                continue
            wnid = p.parent.name if p.parent != root else p.name.split("_")[0]
            try:
                add(p, label_of(wnid))
            except JaxstyleError:
                raise JaxstyleError(f"{p}: cannot tell its class (want <wnid>/ folders or <wnid>_* names); "
                                    f"{wnid!r} is not an ImageNet-1k wnid nor a WordNet group") from None
    if not items:
        raise JaxstyleError(f"{root}: no images found")
    return items


def _mapping_labels(wnid_to_index: Mapping[str, int]) -> Callable[[str], int]:
    def label_of(key: str) -> int:
        if key.isdigit():
            return int(key)
        if key not in wnid_to_index:
            raise JaxstyleError(f"{key!r} is not an ImageNet-1k wnid")
        return wnid_to_index[key]

    return label_of
