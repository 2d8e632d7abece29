"""Held-out check of a probe: folds by ImageNet class, the map's region test, the report."""
import numpy as np

from jaxstyle.evaluate import probecheck
from jaxstyle.select import classes
from jaxstyle.select.probes import probe as pb


def _pool(n_per=12, c=6, seed=0):
    """Dogs (classes 151-162) fire channel 0, cats (281-285) channel 1, things (400-411) channel 2;
    each image's strongest region holds its animal, a second region is background (a thing)."""
    rng = np.random.default_rng(seed)
    codes = np.concatenate([np.arange(151, 151 + n_per), 281 + np.arange(n_per) % 5, 400 + np.arange(n_per)])
    ids = [f"img{i}" for i in range(len(codes))]
    kind = np.repeat([0, 1, 2], n_per)
    image, regions = [], []
    for k in kind:
        x = np.abs(rng.normal(0.2, 0.1, c)).astype(np.float32)
        x[k] += 3.0
        bg = np.abs(rng.normal(0.2, 0.1, c)).astype(np.float32)
        bg[2] += 3.0  # the background looks like the things
        image.append(x)
        regions.append(np.stack([x, bg]))
    return pb.PoolFeatures(ids, codes, np.stack(image), regions, np.stack(image), regions)


def test_folds_hold_out_whole_imagenet_classes_and_hash_synset_labels():
    pf = _pool()
    f = probecheck.folds(pf, 5)
    assert len(set(f[pf.codes == 281])) == 1  # one ImageNet class: one fold
    assert len(set(f[pf.codes < 200])) == 5  # twelve classes spread over the folds
    kaggle = pb.PoolFeatures(["a", "b"], np.array([classes.label_code("n02121808")] * 2), pf.image[:2], pf.regions[:2], pf.image[:2], pf.regions[:2])
    fk = probecheck.folds(kaggle, 5)
    assert set(fk) <= set(range(5)) and np.array_equal(fk, probecheck.folds(kaggle, 5))


def test_claims_need_both_heads_and_min_evidence():
    W = np.eye(3, dtype=np.float32) * 5
    probe = pb.Probe(W, np.zeros(3, np.float32), ("dog", "cat", "other"), {"pooling": "max"}, means=(W, np.zeros(3)))
    dog, cat = np.array([[1.0, 0, 0]]), np.array([[0, 1.0, 0]])
    assert probecheck.claims(probe, dog, dog, 0.2) and not probecheck.claims(probe, cat, cat, 0.2)
    assert not probecheck.claims(probe, dog, cat, 0.2)   # the mean head calls it a cat
    assert not probecheck.claims(probe, dog, dog, 0.999) and not probecheck.claims(probe, dog[:0], dog[:0], 0.2)


def test_cross_validation_claims_dogs_and_not_the_rest():
    pf = _pool()
    groups = pb.group_names("dog")
    y, claimed = probecheck.cross_validate(pf, groups, k=3)
    assert claimed[y == 0].mean() > 0.9                      # held-out dog breeds are still dogs
    assert not claimed[y == groups.index("cat")].any()
    assert not claimed[y == groups.index("other")].any()
    table = probecheck.report(groups, y, claimed)
    assert "| dog | 12 |" in table and "| bird | 0 | – |" in table
