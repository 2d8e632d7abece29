"""``--data tfds:NAME[:SPLIT]``. The label mapping is tested always; the TFDS path itself runs
only where tensorflow-datasets is importable (it is an optional extra, too heavy for CI), on
TFDS's own mock data (``tfds.testing.mock_data``), so nothing is downloaded."""
import importlib.util

import numpy as np
import pytest

from jaxstyle.select import classes
from jaxstyle.errors import JaxstyleError
from jaxstyle.select.pools.tfds_pool import label_map

HAVE_TFDS = importlib.util.find_spec("tensorflow_datasets") is not None


class FakeLabel:
    def __init__(self, names=None, num_classes=None):
        self.names = names
        self.num_classes = num_classes if num_classes is not None else len(names or [])


def test_label_map_by_wnid_and_by_count():
    w = [c.wnid for c in classes.classes()]
    assert label_map(FakeLabel(w[::-1])).tolist() == list(range(999, -1, -1))
    assert label_map(FakeLabel([w[207], w[281]])).tolist() == [207, 281]  # e.g. imagenette-style subsets
    assert label_map(FakeLabel([str(i) for i in range(1000)])).tolist() == list(range(1000))
    with pytest.raises(JaxstyleError, match="not ImageNet-1k"):
        label_map(FakeLabel(["cat", "dog"]))


def test_missing_tfds_is_one_clear_error(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_tfds(name, *a, **k):
        if name.startswith("tensorflow_datasets"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tfds)
    from jaxstyle.select.pools.pools import open_pool
    with pytest.raises(JaxstyleError, match=r"pip install 'jaxstyle\[tfds\]'"):
        open_pool("tfds:imagenet_v2")


@pytest.mark.tfds
@pytest.mark.skipif(not HAVE_TFDS, reason="tensorflow-datasets not installed (optional extra jaxstyle[tfds])")
def test_tfds_mock_imagenet_v2_pool():
    import tensorflow_datasets as tfds

    from jaxstyle.select.pools.pools import open_pool

    with tfds.testing.mock_data(num_examples=7):
        pool = open_pool("tfds:imagenet_v2")
        assert pool.name.startswith("tfds:imagenet_v2:")
        batches = list(pool.batches(3, 32))
        assert [len(b[0]) for b in batches] == [3, 3, 1] and sum(b[3] for b in batches) == 7
        ids, labels, imgs, _, skipped = batches[0]
        assert imgs.shape == (3, 32, 32, 3) and imgs.dtype == np.uint8 and not skipped
        assert all(0 <= l < 1000 for b in batches for l in b[1])
        again = list(pool.batches(3, 32, start=4))  # resume position
        assert [i for b in again for i in b[0]] == [i for b in batches for i in b[0]][4:]
        got = pool.fetch({ids[1]}, 32)
        assert list(got) == [ids[1]] and np.array_equal(got[ids[1]], imgs[1])
