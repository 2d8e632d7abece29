"""``--data tfds:NAME[:SPLIT]``: an image pool read through tensorflow-datasets (optional extra).

``pip install 'jaxstyle[tfds]'`` provides it; it is imported only when used. Labels map to
ImageNet-1k class indices when the dataset's label names are wnids (imagenet2012,
imagenette, ...) or when it has exactly 1000 unnamed/standard classes (imagenet_v2,
imagenet2012 variants): both use the standard sorted-wnid order. Other label spaces are
refused. The dataset must already be prepared (imagenet2012 needs a manual download);
order is the dataset's own, files unshuffled, so ``--resume`` can skip what was scored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from .. import classes
from ...errors import JaxstyleError, UsageError
from ..probes.scoring import Batch

DEFAULT_SPLITS = ("validation", "test", "train")


def import_tfds():
    """tensorflow_datasets, or a one-line error saying how to get it."""
    try:
        import tensorflow_datasets as tfds  # noqa: PLC0415
    except ImportError:
        raise JaxstyleError("--data tfds:... needs tensorflow-datasets: pip install 'jaxstyle[tfds]' "
                            "(or use --data folder:PATH)") from None
    return tfds


def label_map(label_feature: Any) -> np.ndarray:
    """Dataset label -> ImageNet-1k class index (array lookup), from a tfds ClassLabel."""
    names = list(getattr(label_feature, "names", None) or [])
    n = int(getattr(label_feature, "num_classes", len(names)) or len(names))
    if names and all(re.fullmatch(r"n\d{8}", x) for x in names):
        w2i = classes.wnid_to_index()
        missing = [x for x in names if x not in w2i]
        if missing:
            raise JaxstyleError(f"tfds labels {', '.join(missing[:3])} are not ImageNet-1k classes")
        return np.asarray([w2i[x] for x in names], np.int64)
    if n == classes.NUM_CLASSES:
        return np.arange(classes.NUM_CLASSES, dtype=np.int64)
    raise JaxstyleError(f"tfds label space ({n} classes, not wnids) is not ImageNet-1k; "
                        "use imagenet2012, imagenet_v2 or a dataset labelled by wnid")


@dataclass
class TfdsPool:
    """A prepared TFDS image classification split."""
    dataset: str
    split: str
    builder: Any
    labels: np.ndarray
    size: int | None

    @property
    def name(self) -> str:
        return f"tfds:{self.dataset}:{self.split}"

    @classmethod
    def open(cls, name: str, split: str | None = None, data_dir: str | None = None) -> "TfdsPool":
        tfds = import_tfds()
        try:
            builder = tfds.builder(name, data_dir=data_dir)
        except Exception as e:  # DatasetNotFoundError and friends
            raise UsageError(f"tfds dataset {name!r}: {str(e).splitlines()[0][:160]}") from None
        info = builder.info
        feats = info.features
        if "image" not in feats or "label" not in feats:
            raise UsageError(f"tfds dataset {name!r} has no image/label features")
        splits = list(info.splits.keys()) if info.splits else []
        if split is None:
            split = next((s for s in DEFAULT_SPLITS if s in splits), splits[0] if splits else "test")
        elif splits and split.split("[")[0] not in splits:
            raise UsageError(f"tfds dataset {name!r} has no split {split!r}; splits: {', '.join(splits)}")
        try:
            size = int(info.splits[split].num_examples) or None
        except Exception:
            size = None
        return cls(name, split, builder, label_map(feats["label"]), size)

    def _examples(self, start: int = 0) -> Iterator[tuple[str, int, np.ndarray]]:
        tfds = import_tfds()
        try:
            ds = self.builder.as_dataset(split=self.split, shuffle_files=False)
        except Exception as e:
            raise JaxstyleError(f"tfds {self.name}: not prepared ({str(e).splitlines()[0][:160]}); "
                                "run tfds build / download it first") from None
        if start:
            ds = ds.skip(start)
        for i, ex in enumerate(tfds.as_numpy(ds), start):
            fn = ex.get("file_name")
            id_ = fn.decode() if isinstance(fn, bytes) else (str(fn) if fn is not None else f"{self.split}[{i}]")
            yield id_, int(self.labels[int(ex["label"])]), ex["image"]

    def loaders(self, start: int = 0) -> Iterator[tuple[str, int, Any]]:
        return ((i, l, (lambda im=im: im)) for i, l, im in self._examples(start))

    def batches(self, batch: int, size: int, start: int = 0) -> Iterator[Batch]:
        from .batching import batch_items

        return batch_items(self.loaders(start), batch, size)

    def fetch(self, ids: set[str], size: int) -> dict[str, np.ndarray]:
        """Second pass over the split for the contact-sheet images (stops when all are found)."""
        from .batching import crop_array

        out = {}
        for id_, _, im in self._examples():
            if id_ in ids:
                out[id_] = crop_array(im, size)
                if len(out) == len(ids):
                    break
        return out
