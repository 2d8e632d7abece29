"""The class probe: group labels from pool label codes, training, the .npz round trip."""
from dataclasses import replace

import numpy as np
import pytest

from jaxstyle.select import classes
from jaxstyle.select.probes import probe as pb, regions
from jaxstyle.errors import JaxstyleError


def test_group_names_put_the_class_first_and_other_last():
    assert pb.group_names("dog") == ("dog", "cat", "carnivore", "mammal", "bird", "animal", "person", "other")
    g = pb.group_names("cat")
    assert g[0] == "cat" and g.count("cat") == 1 and "dog" in g and g[-1] == "other"


def test_group_of_codes_classes_and_synset_labels():
    groups = pb.group_names("dog")
    y = pb.group_of_codes(groups, classes.num_labels())
    assert y[207] == 0                     # golden retriever: dog
    assert y[281] == groups.index("cat")   # tabby: cat
    assert y[291] == groups.index("carnivore")  # lion: another carnivore
    assert y[339] == groups.index("mammal")     # sorrel (a horse)
    assert y[1] == groups.index("animal")       # goldfish
    assert y[409] == groups.index("other")      # analog clock
    assert y[classes.label_code("n02121808")] == groups.index("cat")  # a Kaggle cat (group label)
    assert y[classes.label_code("n02084071")] == 0                   # a Kaggle dog
    yc = pb.group_of_codes(pb.group_names("cat"), classes.num_labels())
    assert yc[classes.label_code("n02121808")] == 0 and yc[207] == pb.group_names("cat").index("dog")


def test_fit_separates_groups_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, (3, 16))
    y = np.repeat(np.arange(3), [20, 40, 200])  # unbalanced: class-balanced weights must still find group 0
    X = np.abs(centers[y] + rng.normal(0, 1, (len(y), 16)))
    pr = pb.fit(X, y, ("dog", "cat", "other"))
    z = X @ pr.W + pr.b
    assert (z.argmax(1) == y).mean() > 0.95
    assert pr.meta["counts"] == {"dog": 20, "cat": 40, "other": 200}
    back = pb.load(pb.save(pr, tmp_path / "p.npz"))
    assert back.groups == pr.groups and np.array_equal(back.W, pr.W) and back.meta == pr.meta


def test_fit_needs_the_class():
    with pytest.raises(JaxstyleError, match="no image of 'dog'"):
        pb.fit(np.ones((4, 3)), np.array([1, 1, 2, 2]), ("dog", "cat", "other"))


def test_load_rejects_other_files(tmp_path):
    p = tmp_path / "bad.npz"
    np.savez(p, W=np.ones((3, 2)), b=np.ones(3), groups=np.array(["a", "b"]), meta=np.array("{}"))
    with pytest.raises(JaxstyleError, match="shapes disagree"):
        pb.load(p)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(JaxstyleError, match="not a jaxstyle probe"):
        pb.load(tmp_path / "junk.npz")


def test_pooled_features_pads_the_last_batch(tiny_params):
    rng = np.random.default_rng(0)
    imgs = rng.uniform(0, 255, (5, 32, 32, 3)).astype(np.uint8)
    batches = [(["a", "b", "c"], np.array([1, 2, 3]), imgs[:3]), (["d", "e"], np.array([4, 5]), imgs[3:])]
    pf = pb.pooled_features(tiny_params, iter(batches))
    assert pf.ids == list("abcde") and pf.codes.tolist() == [1, 2, 3, 4, 5] and pf.image.shape == (5, 32)
    assert len(pf.regions) == 5 and all(r.ndim == 2 and r.shape[1] == 32 for r in pf.regions)
    one = pb.pooled_features(tiny_params, iter([(["e"], np.array([5]), imgs[4:])]))
    np.testing.assert_allclose(one.image[0], pf.image[4], rtol=1e-5, atol=1e-6)


def test_pool_max_mean_and_the_probe_default():
    cells = np.array([[0.0, 1.0], [4.0, 3.0]], np.float32)
    assert regions.pool(cells, "max").tolist() == [4.0, 3.0] and regions.pool(cells, "mean").tolist() == [2.0, 2.0]
    with pytest.raises(JaxstyleError, match="unknown pooling"):
        regions.pool(cells, "median")
    W, b = np.zeros((2, 2), np.float32), np.zeros(2, np.float32)
    assert pb.Probe(W, b, ("dog", "other"), {}).pooling == "mean"  # probes saved before the field
    assert pb.Probe(W, b, ("dog", "other"), {"pooling": "max"}).pool(cells).tolist() == [4.0, 3.0]
    assert pb.fit(np.eye(2), np.array([0, 1]), ("dog", "other"), how="max").pooling == "max"


def test_image_rows_put_the_strongest_region_first_and_training_rows_add_it():
    g = np.full((12, 12, 3), 0.1, np.float32)
    g[1:3, 1:3, 0] = 2.0   # a small region
    g[6:11, 6:11, 1] = 3.0  # the strongest region
    g[7, 7, 2] = 9.0
    whole, regs, reg_means = regions.image_rows(g, "max")
    assert whole.tolist() == pytest.approx([2.0, 3.0, 9.0])
    assert regs.shape == (2, 3) and regs[0].tolist() == pytest.approx([0.1, 3.0, 9.0])
    assert regs[1].tolist() == pytest.approx([2.0, 0.1, 0.1])
    assert reg_means[0][1] == pytest.approx(3.0) and reg_means[0][2] < 9.0  # the same region's mean
    flat = np.ones((4, 4, 3), np.float32)  # no cell above the mean: no region
    assert regions.image_rows(flat, "mean")[1].shape == (0, 3)
    pf = pb.PoolFeatures(["a", "b"], np.array([7, 8]), np.stack([whole, whole + 1]), [regs, regs[:0]],
                         np.stack([whole, whole]), [reg_means, reg_means[:0]])
    X, codes = pf.training_rows()
    assert codes.tolist() == [7, 8, 7, 8]
    np.testing.assert_array_equal(X[2], regs[0])       # a's strongest region
    np.testing.assert_array_equal(X[3], whole + 1)     # b has none: its whole image again
    assert pf.subset(np.array([False, True])).ids == ["b"]
    X_mean, _ = replace(pf, how="mean").training_rows()  # the probe before: image rows only
    assert len(X_mean) == 2


def test_train_adds_a_mean_head_on_image_means_and_it_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    codes = np.concatenate([np.arange(151, 171), 400 + np.arange(20)])  # 20 dog breeds, 20 things
    image = np.abs(rng.normal(0, 1, (40, 4))).astype(np.float32)
    image[:20, 0] += 4
    means = image / 4  # cells are weaker than an image's max
    pf = pb.PoolFeatures([str(i) for i in range(40)], codes, image, [x[None] for x in image], means,
                         [x[None] for x in means])
    pr = pb.train(pf, ("dog", "other"))
    assert pr.pooling == "max" and pr.means is not None and pr.meta["rows"].startswith("each image whole and")
    assert (pr.mean_probs(means).argmax(-1) == (codes >= 400)).mean() > 0.9
    assert not np.allclose(pr.mean_probs(means), pr.probs(means))  # cells are read by the mean head
    back = pb.load(pb.save(pr, tmp_path / "p.npz"))
    np.testing.assert_array_equal(back.means[0], pr.means[0])
    assert pb.train(replace(pf, how="mean"), ("dog", "other")).means is None


def test_probe_cli_refuses_before_any_work(tmp_path, capsys):
    from jaxstyle.cli import run_main
    from jaxstyle.cli.probe_cli import main

    assert run_main(main, ["--class", "unicorn", "--data", f"folder:{tmp_path}", "--out-dir", str(tmp_path)]) == 2
    assert "not a WordNet group" in capsys.readouterr().err
    (tmp_path / "dog.npz").write_bytes(b"x")
    assert run_main(main, ["--class", "dog", "--data", f"folder:{tmp_path}", "--out-dir", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err and (tmp_path / "dog.npz").read_bytes() == b"x"
    assert run_main(main, ["--class", "cat", "--data", f"folder:{tmp_path}", "--out-dir", str(tmp_path),
                           "--cross-validate", "1"]) == 2
    assert "2 folds or more" in capsys.readouterr().err and not (tmp_path / "cat.npz").exists()
