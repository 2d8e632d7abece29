"""The photos an evaluation runs on: ``NAME.jpg`` beside ``NAME_mask.png`` (255 = object) in a folder,
with an optional ``index.csv`` (``is_dog``, ``category``, ``species``, ``breed``, ``source``), and the
style images of a folder."""
from __future__ import annotations

import csv
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..errors import JaxstyleError, UsageError

PHOTO_EXTS = (".jpg", ".jpeg", ".png")
MASK_SUFFIX = "_mask"


@dataclass(frozen=True)
class Pair:
    name: str
    photo: Path
    mask: Path
    is_dog: bool
    category: str
    species: str = ""   # an index's ``species`` or ``class`` column, else dog, the category, or the name's first
                        # word where it names a class
    breed: str = ""     # an index's ``breed`` column, else the category
    source: str = ""    # an index's ``source`` column (first word), else the folder's name


def _read_index(root: Path) -> dict[str, dict]:
    idx = root / "index.csv"
    if not idx.is_file():
        return {}
    try:
        with open(idx, newline="", encoding="utf-8") as f:
            return {row["name"]: row for row in csv.DictReader(f) if row.get("name")}
    except (OSError, KeyError, csv.Error, UnicodeDecodeError) as e:
        raise JaxstyleError(f"{idx}: unreadable index ({type(e).__name__}: {e})") from None


def _class_word(stem: str) -> str:
    """The first word of a photo's name where it names a class (``horse_weizmann_170``: horse), else ""."""
    from ..select import classes

    word = stem.split("_", 1)[0]
    try:
        classes.resolve(word)
    except (UsageError, JaxstyleError):
        return ""
    return word


def is_of(pair: Pair, class_name: str) -> bool:
    """Whether ``pair`` shows class ``class_name``, by any of its names (``cow`` is cattle, ``n02084071`` dog);
    a category's note is not part of its class (``bird (black swan)``)."""
    from ..select import classes

    species = pair.species.split(" (", 1)[0].strip()
    return bool(species) and classes.canonical(species) == classes.canonical(class_name)


def _truthy(s) -> bool:
    return str(s).strip().lower() in ("1", "true", "yes", "y")


def find_pairs(root: str | os.PathLike, photos: Sequence[str] | None = None, only_dogs: bool = False,
               limit: int | None = None, log: Callable[[str], None] | None = None) -> list[Pair]:
    """Photo/mask pairs of ``root``, sorted by name (or in the order of ``photos``).

    ``is_dog`` comes from ``index.csv`` (column ``is_dog``) when the folder has one, else
    from the name containing "dog". ``photos``: names or shell patterns to keep.
    """
    root = Path(root)
    if not root.is_dir():
        raise JaxstyleError(f"{root}: pairs directory does not exist")
    index = _read_index(root)
    files = {p.stem: p for p in sorted(root.iterdir()) if p.is_file() and p.suffix.lower() in PHOTO_EXTS}
    pairs = []
    for stem, path in sorted(files.items()):
        if stem.endswith(MASK_SUFFIX):
            continue
        mask = next((root / f"{stem}{MASK_SUFFIX}{e}" for e in (".png", ".PNG")
                     if (root / f"{stem}{MASK_SUFFIX}{e}").is_file()), None)
        if mask is None:
            if log:
                log(f"skipping {path.name}: no {stem}{MASK_SUFFIX}.png")
            continue
        row = index.get(stem)
        is_dog = _truthy(row["is_dog"]) if row and "is_dog" in row else "dog" in stem.lower()
        row = row or {}
        category = row.get("category") or ("dog" if is_dog else "")
        species = row.get("species") or row.get("class") or ("dog" if is_dog else category) or _class_word(stem)
        source = (row.get("source") or root.resolve().name).split()[0].lower()
        pairs.append(Pair(stem, path, mask, is_dog, category, species, row.get("breed") or category, source))
    if not pairs:
        raise JaxstyleError(f"{root}: no photo/mask pairs (NAME.jpg + NAME{MASK_SUFFIX}.png)")
    if photos:
        missing = [p for p in photos if not any(fnmatch.fnmatchcase(x.name, p) for x in pairs)]
        if missing:
            raise UsageError(f"--photos: no pair matches {', '.join(missing)}")
        # in the order given (first matching pattern), so the important photos run first
        rank = {x.name: next((i for i, p in enumerate(photos) if fnmatch.fnmatchcase(x.name, p)), None)
                for x in pairs}
        pairs = sorted((x for x in pairs if rank[x.name] is not None), key=lambda x: (rank[x.name], x.name))
    if only_dogs:
        pairs = [x for x in pairs if x.is_dog]
        if not pairs:
            raise JaxstyleError(f"{root}: no dog photos (--only-dogs)")
    if limit is not None:
        pairs = pairs[:limit]
    return pairs


def find_styles(root: str | os.PathLike, names: Sequence[str] | None = None) -> list[tuple[str, Path]]:
    """(name, path) of the style images in ``root`` (all, or those named, in the given order)."""
    root = Path(root)
    if not root.is_dir():
        raise JaxstyleError(f"{root}: styles directory does not exist")
    found = {p.stem: p for p in sorted(root.iterdir())
             if p.is_file() and p.suffix.lower() in PHOTO_EXTS + (".webp", ".bmp", ".tif", ".tiff")}
    if not found:
        raise JaxstyleError(f"{root}: no style images")
    if not names:
        return sorted(found.items())
    missing = [n for n in names if n not in found]
    if missing:
        raise UsageError(f"--style-names: {', '.join(missing)} not in {root} (have {', '.join(sorted(found))})")
    return [(n, found[n]) for n in names]
