"""What jaxstyle ships for a class, found by any name of it (:func:`lookup`).

``--class horse``, ``--class Horse`` and ``--class n02374451`` are one class: :func:`classes.canonical`
gives the name its files go by, and every shipped file is found under that name:

- the probe, ``data/probes/<name>.npz`` (:func:`jaxstyle.select.probes.probe.shipped`);
- the filter list, ``data/filters/<name>.json`` (:func:`jaxstyle.select.probes.filters.shipped_path`);
- the cell head, ``data/heads/<name>.npz`` (:func:`jaxstyle.select.heads.cellhead.shipped`).

Adding a class is data: a probe trained by ``jaxstyle probe --class NAME`` (and, where the pool
allows, a list scored by ``scripts/score_filters.py``) written under that name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import classes


@dataclass(frozen=True)
class ClassAssets:
    """A class's canonical name, its synsets and ImageNet classes, and the paths of its shipped files
    (None where none is shipped). ``groups``: the probe's groups, the class first then its look-alikes."""

    name: str
    synsets: tuple[str, ...]
    classes: tuple[int, ...]
    probe: Path | None
    filters: Path | None
    head: Path | None
    groups: tuple[str, ...]


@dataclass(frozen=True)
class AssetDirs:
    """Where the shipped files are (the package's ``data/`` folders unless given)."""

    probes: Path | None = None
    filters: Path | None = None
    heads: Path | None = None


def lookup(name: str, dirs: AssetDirs = AssetDirs()) -> ClassAssets:
    """The shipped assets of class ``name`` (anything :func:`classes.resolve` takes); UsageError
    (one line, with close names) for an unknown one."""
    from .heads import cellhead
    from .probes import filters, probe

    key, idx = classes.resolve(name)
    p = (dirs.probes or probe.DATA_DIR) / f"{key}.npz"
    f = (dirs.filters or filters.DATA_DIR) / f"{key}.json"
    h = (dirs.heads or cellhead.DATA_DIR) / f"{key}.npz"
    pr = probe.load(p) if p.is_file() else None
    return ClassAssets(key, tuple(sorted(classes.target_synsets(name))), tuple(idx), p if pr else None,
                       f if f.is_file() else None, h if h.is_file() else None,
                       pr.groups if pr else probe.group_names(key))


def shipped_classes(probes_dir: Path | None = None) -> list[str]:
    """The classes with a shipped probe, by canonical name."""
    from .probes import probe

    d = probes_dir or probe.DATA_DIR
    return sorted(p.stem for p in d.glob("*.npz")) if d.is_dir() else []
