"""Artifacts: named arrays and a JSON document in one ``.npz``, read without pickle.

Weights, pool scores, class probes and cell heads are stored this way: the arrays as they
are, the metadata as a 0-d unicode array holding JSON (under ``meta``, or the name the
format gives it). :func:`load` reads with ``allow_pickle=False``, so a file cannot run code,
and says in one :class:`JaxstyleError` what is wrong with a file that is not one.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import BinaryIO, Mapping

import numpy as np

from .errors import JaxstyleError

META = "meta"


def write(target: str | os.PathLike | BinaryIO, arrays: Mapping[str, np.ndarray], meta: Mapping | None,
          meta_key: str = META, sort_keys: bool = False) -> None:
    """Write ``arrays`` and ``meta`` (JSON under ``meta_key``; none when None) to a path or an open file.

    A path is written as given (``np.savez`` on a path would add ``.npz`` to a name without it).
    """
    doc = {} if meta is None else {meta_key: np.array(json.dumps(dict(meta), sort_keys=sort_keys))}
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as fh:
            np.savez(fh, **doc, **arrays)
    else:
        np.savez(target, **doc, **arrays)


def save(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping | None, force: bool = False,
         meta_key: str = META, sort_keys: bool = False) -> Path:
    """:func:`write` to a temporary file renamed to ``path`` (:func:`jaxstyle.images.atomic_write`):
    an existing file is kept unless ``force``."""
    from .images import atomic_write

    return atomic_write(path, lambda tmp: write(tmp, arrays, meta, meta_key, sort_keys), force=force)


def load(path: str | os.PathLike, what: str, meta_key: str = META) -> tuple[dict[str, np.ndarray], dict | None]:
    """``(arrays, meta)`` of an artifact: every array but the metadata, and the metadata's JSON object
    (None when the file has none).

    ``what`` names the kind of file in the errors: ``"{path}: file not found"``,
    ``"{path}: not a {what} (...)"`` for a file that is no readable ``.npz`` or holds an
    object array, and ``"{path}: corrupt metadata"`` when ``meta_key`` is no JSON object.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise JaxstyleError(f"{path}: file not found") from None
    except Exception as e:  # numpy and zipfile raise many types on bad data
        raise JaxstyleError(f"{path}: not a {what} ({type(e).__name__}: {str(e)[:80]})") from None
    if meta_key not in arrays:
        return arrays, None
    try:
        meta = json.loads(str(arrays.pop(meta_key)))
    except ValueError:
        raise JaxstyleError(f"{path}: corrupt metadata") from None
    if not isinstance(meta, dict):
        raise JaxstyleError(f"{path}: corrupt metadata (not a JSON object)")
    return arrays, meta


def require(path: str | os.PathLike, what: str, arrays: Mapping, meta: dict | None, names=()) -> dict:
    """``meta``, or the error that ``path`` is not a ``what`` when it has no metadata or lacks an array of ``names``."""
    missing = [n for n in names if n not in arrays] + (["metadata"] if meta is None else [])
    if missing:
        raise JaxstyleError(f"{path}: not a {what} (no {', '.join(missing)})")
    return meta
