"""The patch judge of the learned map: patch rows, labels from image labels, training, files, its use."""
import dataclasses

import jax
import numpy as np
import pytest

from jaxstyle.errors import JaxstyleError, UsageError
from jaxstyle.select.heads import cellhead, patchjudge
from jaxstyle.select.heads.patches import animal_patches
from jaxstyle.transfer import learnedmap
from jaxstyle.transfer.mapconfig import MapConfig


def test_rows_pool_each_patch_max_and_weighted_means():
    rng = np.random.default_rng(0)
    f, h = rng.random((3, 4, 2)).astype(np.float32), rng.random((3, 4, 3)).astype(np.float32)
    labels = np.array([[1, 1, 0, 2], [1, 0, 0, 2], [0, 0, 0, 0]])
    animal = np.where(labels > 0, 0.5, 0.0).astype(np.float32)
    animal[0, 0] = 1.0
    hn = cellhead.normalise(h, (1, 2))
    r = patchjudge.rows(f, hn, labels, animal, [1, 2])
    assert r.shape == (2, 2 + 2 + 3)
    cells = labels == 1
    w = animal[cells] / animal[cells].sum()
    np.testing.assert_allclose(r[0, :2], f[cells].max(0), rtol=1e-6)
    np.testing.assert_allclose(r[0, 2:4], (f[cells] * w[:, None]).sum(0), rtol=1e-5)
    np.testing.assert_allclose(r[0, 4:], (hn[cells] * w[:, None]).sum(0), rtol=1e-5)


def _rows(kinds, image, mass, feats=None):
    feats = np.zeros((len(image), 3), np.float16) if feats is None else feats.astype(np.float16)
    return patchjudge.PatchRows([f"i{k}" for k in range(len(kinds))], list(kinds), np.asarray(image), feats,
                                np.asarray(mass, np.float32), (1, 1, 1))


def test_labels_take_the_class_only_from_its_images_main_patch():
    """A dog image with two patches, a horse image, a car image: the dog's patch with the most dog is the
    class, its other patch teaches nothing; every patch of the horse is "animal", of the car "other"."""
    pr = _rows([0, 1, 3], [0, 0, 1, 1, 2], [0.5, 3.0, 4.0, 1.0, 2.0])
    np.testing.assert_array_equal(patchjudge.labels(pr), [-1, 0, 1, 1, 2])


def test_concat_keeps_each_image_its_patches_and_without_drops_a_source():
    """Two row sets joined keep every patch on its own image (labels as before); ``without`` drops every patch
    of the images it names, and only those."""
    a = _rows([0, 1], [0, 0, 1], [0.5, 3.0, 4.0], np.arange(9).reshape(3, 3))
    b = dataclasses.replace(_rows([1, 0], [0, 1, 1], [1.0, 2.0, 5.0], np.arange(9, 18).reshape(3, 3)),
                            ids=["davis:cow_1", "msrc:dog_2"])
    ab = patchjudge.concat([a, b])
    np.testing.assert_array_equal(ab.image, [0, 0, 1, 2, 3, 3])
    np.testing.assert_array_equal(ab.feats[:, 0], [0, 3, 6, 9, 12, 15])
    np.testing.assert_array_equal(patchjudge.labels(ab), [-1, 0, 1, 1, -1, 0])
    held = patchjudge.without(ab, lambda i: i.startswith("davis:"))
    np.testing.assert_array_equal(held.image, [0, 0, 1, 3, 3])
    np.testing.assert_array_equal(patchjudge.labels(held), [-1, 0, 1, -1, 0])
    assert held.ids == ab.ids
    with pytest.raises(JaxstyleError, match="layouts"):
        patchjudge.concat([a, dataclasses.replace(b, dims=(2, 2, 2))])


def test_judge_trains_on_patches_and_rides_in_the_head_file(tmp_path):
    rng = np.random.default_rng(1)
    n = 90
    kinds, image = [0] * 30 + [1] * 30 + [3] * 30, np.arange(n)
    centre = np.array([[3, 0, 0], [0, 3, 0], [0, 0, 3]], np.float32)[np.repeat([0, 1, 2], 30)]
    pr = _rows(kinds, image, np.ones(n), centre + rng.normal(0, 0.5, (n, 3)))
    judge = patchjudge.train(pr, "dog", jax.random.PRNGKey(0), hidden=8, steps=150)
    first, last = judge.meta["loss"]
    assert last < 0.3 * first and judge.groups == ("dog", "animal", "other")
    assert patchjudge.kept(judge, pr.feats[:30].astype(np.float32), 0.5).mean() > 0.9
    assert patchjudge.kept(judge, pr.feats[30:].astype(np.float32), 0.5).mean() < 0.1
    cv = judge.meta["cv"]                                    # its threshold, chosen by image folds of the pool
    assert 0.05 <= judge.meta["min_p"] <= 0.95 and cv["class_kept"] > 0.9 and cv["animal_kept"] < 0.1
    X30 = pr.feats.astype(np.float32)
    np.testing.assert_array_equal(patchjudge.kept(judge, X30), patchjudge.kept(judge, X30, judge.meta["min_p"]))
    X = rng.normal(size=(20, 4)).astype(np.float32)
    head = cellhead.fit(X, np.arange(20) % 4, cellhead.group_names("dog"), jax.random.PRNGKey(1), hidden=4, steps=5,
                        meta={"dims": [4]})
    from dataclasses import replace

    back = cellhead.load(cellhead.save(replace(head, judge=judge), tmp_path / "dog.npz"))
    np.testing.assert_allclose(back.judge.probs(pr.feats.astype(np.float32)), judge.probs(pr.feats.astype(np.float32)),
                               rtol=1e-5)
    np.testing.assert_allclose(back.probs(X), head.probs(X), rtol=1e-5)
    assert "judge" not in back.meta and back.judge.dims == (1, 1, 1)
    assert cellhead.load(cellhead.save(head, tmp_path / "bare.npz")).judge is None


def _judge_on_first_channel(dims):
    """A judge whose class logit is 10 x (the patch's max of the first conv5_4 channel - 0.5)."""
    c = sum(dims)
    W0 = np.zeros((c, 1), np.float32)
    W0[0, 0] = 1.0
    W1 = np.array([[10.0, 0.0, 0.0]], np.float32)
    return cellhead.CellHead(patchjudge.group_names("dog"), np.zeros(c, np.float32), np.ones(c, np.float32),
                             ((W0, np.zeros(1, np.float32)), (W1, np.array([-5.0, 0, 0], np.float32))),
                             {"dims": list(dims)})


def test_the_map_keeps_only_the_patches_its_judge_calls_the_class():
    """Two animal patches holding dog cells; the judge calls only the left one a dog: "patches" drops the
    right one, "either" keeps it where the probe (here: every patch) takes it and the class holds enough of it,
    "both" only where the probe and the judge agree."""
    probs = np.zeros((4, 6, 4), np.float32)
    probs[..., 3] = 1.0
    for cols in (slice(0, 2), slice(4, 6)):
        probs[1:3, cols] = [0.6, 0.4, 0.0, 0.0]
    patches = animal_patches(probs)
    f = np.zeros((4, 6, 2), np.float32)
    f[1:3, 0:2, 0] = 1.0
    hn = cellhead.normalise(np.ones((4, 6, 3), np.float32), (3,))
    head = cellhead.CellHead(("dog",), np.zeros(3), np.ones(3), (), {"dims": [3]},
                             judge=_judge_on_first_channel((2, 2, 3)))

    class Everything:
        pooling = "max"

        def judge(self, pooled, mean):
            return np.ones(len(pooled), bool), np.ones(len(pooled))

    judged = learnedmap.judged_patches(f, hn, patches, head, None, MapConfig(judge="patches"))
    np.testing.assert_array_equal(judged, [False, True, False])
    either = learnedmap.judged_patches(f, hn, patches, head, Everything(), MapConfig(judge="either", joined=0.5))
    np.testing.assert_array_equal(either, [False, True, True])
    assert learnedmap.judged_patches(f, hn, patches, head, Everything(), MapConfig(judge="either", joined=0.7)).sum() == 1
    both = learnedmap.judged_patches(f, hn, patches, head, Everything(), MapConfig(judge="both"))
    np.testing.assert_array_equal(both, [False, True, False])

    class RightOnly(Everything):
        def judge(self, pooled, mean):
            return np.array([False, True]), np.array([0.0, 1.0])

    assert not learnedmap.judged_patches(f, hn, patches, head, RightOnly(), MapConfig(judge="both")).any()
    np.testing.assert_array_equal(
        learnedmap.judged_patches(f, hn, patches, head, RightOnly(), MapConfig(judge="either")), [False, True, True])
    with pytest.raises(UsageError, match="no patch judge"):
        learnedmap.judged_patches(f, hn, patches, cellhead.CellHead(("dog",), None, None, (), {"dims": [3]}), None,
                                  MapConfig(judge="patches"))
    with pytest.raises(UsageError, match="map judge"):
        MapConfig(judge="owl")
