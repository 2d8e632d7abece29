"""The cell head of the learned map: hypercolumns, training, pseudo-labels from image labels, files."""
import jax
import numpy as np
import pytest

from jaxstyle.errors import JaxstyleError
from jaxstyle.select.heads import cellhead, cellpool, patchjudge

DOG, HORSE, PERSON, CAR, CHIHUAHUA = "n02084071", "n02374451", "n00007846", "n02958343", "n02085620"
BUS, RACER = "n02924116", "n04037443"


def test_hypercolumns_pool_each_layer_to_the_last_grid():
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    feats = {"a": jax.random.normal(k[0], (2, 8, 12, 3)), "b": jax.random.normal(k[1], (2, 4, 6, 5)),
             "c": jax.random.normal(k[2], (2, 2, 3, 7))}
    h = np.asarray(cellhead.hypercolumns(feats, ("a", "b", "c")))
    assert h.shape == (2, 2, 3, 15)
    np.testing.assert_allclose(h[1, 1, 2, :3], np.asarray(feats["a"][1, 4:8, 8:12].mean((0, 1))), rtol=1e-5)
    np.testing.assert_allclose(h[0, 0, 1, 3:8], np.asarray(feats["b"][0, 0:2, 2:4].mean((0, 1))), rtol=1e-5)
    np.testing.assert_allclose(h[..., 8:], np.asarray(feats["c"]), rtol=1e-6)


def test_normalise_gives_each_layer_a_unit_mean_cell_norm():
    g = np.random.default_rng(0).random((4, 5, 6)) * np.array([1, 1, 100, 100, 100, 100])
    n = cellhead.normalise(g, (2, 4))
    for s, e in ((0, 2), (2, 6)):
        assert np.linalg.norm(n[..., s:e], axis=-1).mean() == pytest.approx(1.0, rel=1e-4)


def _blobs(n=300, c=16, k=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, c))
    y = rng.integers(0, k, n)
    return (centres[y] + rng.normal(0, 1, (n, c))).astype(np.float32), y


def test_fit_learns_separable_cells_and_its_loss_falls(tmp_path):
    X, y = _blobs()
    head = cellhead.fit(X, y, cellhead.group_names("dog"), jax.random.PRNGKey(0), hidden=8, steps=150,
                        meta={"dims": [16]})
    first, last = head.meta["loss"]
    assert last < 0.2 * first
    assert (head.probs(X).argmax(-1) == y).mean() > 0.95
    back = cellhead.load(cellhead.save(head, tmp_path / "dog.npz"))
    assert back.groups == ("dog", "animal", "person", "scene") and back.dims == (16,)
    np.testing.assert_allclose(back.probs(X), head.probs(X), rtol=1e-5)
    assert cellhead.shipped("dog", tmp_path).target == "dog" and cellhead.shipped("emu", tmp_path) is None


def test_a_broken_head_file_is_one_error(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not an npz")
    with pytest.raises(JaxstyleError, match="not a jaxstyle cell head"):
        cellhead.load(bad)


def test_kinds_from_image_labels():
    assert cellpool.kind(CHIHUAHUA, DOG) == 0 and cellpool.kind(DOG, DOG) == 0
    assert cellpool.kind(HORSE, DOG) == 1  # a pool-det synset, known through pool_synsets.json
    assert cellpool.kind(PERSON, DOG) == 2 and cellpool.kind(CAR, DOG) == 3
    assert cellpool.kind(CHIHUAHUA, HORSE) == 1
    with pytest.raises(JaxstyleError):
        cellpool.kind("n99999999", DOG)


def test_a_car_s_kin_is_another_conveyance_and_an_animal_s_another_animal():
    assert cellpool.kin(DOG) == ("n00015388", "animal") and cellpool.kin(CAR) == ("n03100490", "conveyance")
    assert cellpool.kind(RACER, CAR) == 0 and cellpool.kind(BUS, CAR) == 1 and cellpool.kind(HORSE, CAR) == 3
    assert cellpool.kind(BUS, DOG) == 3 and cellpool.kind(PERSON, CAR) == 2
    cells = cellpool.Cells(["b", "r"], [BUS, RACER], np.repeat(np.arange(2), 4), np.eye(8, 2, dtype=np.float16),
                           np.array([np.nan] * 4 + [1, 1, 0, 0], np.float32), np.array([0] * 6 + [1, 1], bool),
                           np.array([3, 2, 0.5, 0.2] * 2, np.float32), (2,))
    np.testing.assert_array_equal(cellpool.labels(cells, CAR)[:4], [1, 1, 3, 3])  # a bus's body is kin, not scene
    np.testing.assert_array_equal(cellpool.labels(cells, DOG)[:4], [3, 3, 3, 3])
    head = cellpool.train(cells, "car", jax.random.PRNGKey(0), steps=5)
    assert head.groups == ("car", "conveyance", "person", "scene")


def _cells(feats=None):
    """Three images of 4 cells: a dog (mapped), a horse (no map of its own), a dog its map refused."""
    cover = np.array([1.0, 0.6, 0.0, 0.0] + [np.nan] * 8, np.float32)
    far = np.array([0, 0, 0, 1] + [0] * 8, bool)
    obj = np.array([3, 2, 1, 0.5, 3, 2, 0.5, 0.2, 3, 2, 0.5, 0.2], np.float32)
    feats = np.zeros((12, 2), np.float16) if feats is None else feats.astype(np.float16)
    return cellpool.Cells(["d", "h", "r"], [CHIHUAHUA, HORSE, DOG], np.repeat(np.arange(3), 4), feats, cover, far,
                          obj, (2,))


def test_pseudo_labels_take_the_class_only_from_its_own_images():
    y = cellpool.labels(_cells(), DOG)
    np.testing.assert_array_equal(y[:4], [0, -1, -1, 3])   # confident cell, unsure cells, far cell
    np.testing.assert_array_equal(y[4:8], [1, 1, 3, 3])    # a horse: "animal" on its object cells
    np.testing.assert_array_equal(y[8:], [-1] * 4)         # a dog its map refused teaches nothing
    yh = cellpool.labels(_cells(), HORSE)                  # the dogs are other animals for a horse head
    np.testing.assert_array_equal(yh[[0, 1, 2, 3, 8, 9, 10, 11]], [1, 1, 3, 3, 1, 1, 3, 3])


def test_self_training_relabels_only_the_class_images():
    """A head whose class logit is 4 x the first input: sure calls replace a dog image's labels only."""
    feats = np.array([[0, 0], [2, 0], [-2, 0], [0, 0]] + [[2, 0]] * 8, np.float32)
    c = _cells(feats)
    W0, W1 = np.eye(2, dtype=np.float32), np.array([[4, 0, 0, 0], [0, 0, 0, 0]], np.float32)
    head = cellhead.CellHead(cellhead.group_names("dog"), np.zeros(2, np.float32), np.ones(2, np.float32),
                             ((W0, np.zeros(2, np.float32)), (W1, np.array([0, 0, 0, 0], np.float32))), {"dims": [2]})
    y = cellpool.labels(c, DOG)
    y2 = cellpool.relabel(c, y, head, DOG, sure=0.9)
    np.testing.assert_array_equal(y2[:4], [0, 0, -1, 3])  # cell 1 sure dog now; cell 2 (relu: logit 0) unsure
    np.testing.assert_array_equal(y2[4:8], y[4:8])         # the horse keeps its labels
    np.testing.assert_array_equal(y2[8:], [0] * 4)          # the refused dog's cells the head is sure of


@pytest.mark.slow
def test_head_trains_on_a_tiny_pool_from_image_labels_only(real_params, shared_data, tmp_path, monkeypatch):
    """``jaxstyle head`` on six pool-det images (two dogs, two horses, two people) at 96 px: the head's
    loss falls, and no cell of a horse or a person is labelled dog; the same for its patch judge's patches. With
    --judge-photos and --judge-folds each fold's judge misses exactly its source's photo."""
    import csv

    from jaxstyle.cli import head_cli

    det = shared_data / "pool-det"
    with open(det / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pick = [r for w in (DOG, HORSE, PERSON) for r in [x for x in rows if x["wnid"] == w][:2]]
    pool = tmp_path / "pool"
    pool.mkdir()
    with open(pool / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["filename", "wnid"])
        w.writeheader()
        for r in pick:
            (pool / r["filename"]).symlink_to(det / "images" / r["filename"])
            w.writerow({"filename": r["filename"], "wnid": r["wnid"]})
    photos = [(cellpool.Item(f"{src}:{r['filename']}", r["wnid"], det / "images" / r["filename"]), src)
              for src, r in (("davis", pick[2]), ("msrc", pick[0]))]
    monkeypatch.setattr(cellpool, "scored_photos", lambda data: photos)
    assert head_cli.main(["--class", "dog", "--data", str(pool), "--size", "96", "--cells", "16", "--steps", "60",
                          "--judge-size", "160", "--judge-photos", str(shared_data), "--judge-folds",
                          "--cache", str(tmp_path / "cache"), "--out-dir", str(tmp_path / "heads")]) == 0
    judges = {d: cellhead.load(tmp_path / "heads" / d / "dog.npz").judge.meta for d in ("", "without-davis",
                                                                                       "without-msrc")}
    assert [m["held_out"] for m in judges.values()] == [None, "davis", "msrc"]
    counts = {d: m["counts"] for d, m in judges.items()}
    assert counts["without-davis"]["animal"] < counts[""]["animal"] == counts["without-msrc"]["animal"]
    assert counts["without-msrc"]["dog"] < counts[""]["dog"] == counts["without-davis"]["dog"]
    head = cellhead.load(tmp_path / "heads" / "dog.npz")
    first, last = head.meta["loss"]
    assert last < 0.5 * first and head.meta["counts"]["dog"] > 0 and "no mask" in head.meta["labels"]
    cells = cellpool.Cells.load(next((tmp_path / "cache").glob("cells-*.npz")))
    y = cellpool.labels(cells, DOG)
    not_dog = np.array([w != DOG for w in cells.wnids])[cells.image]
    assert not_dog.any() and not (y[not_dog] == 0).any()
    first, last = head.judge.meta["loss"]
    assert last < first and head.judge.groups == ("dog", "animal", "other")
    pr = patchjudge.concat([patchjudge.PatchRows.load(f) for f in sorted((tmp_path / "cache").glob("patches-*.npz"))])
    y = patchjudge.labels(pr)
    not_dog = np.array([k != 0 for k in pr.kinds])[pr.image]
    assert (y == 0).any() and not (y[not_dog] == 0).any()


def test_learned_fields_need_the_head_its_choice_and_fitting_weights(tmp_path):
    """The one place that decides whether ``auto`` gives a class the learned map."""
    import json

    X, y = _blobs(n=40, c=4)
    head = cellhead.fit(X, y, cellhead.group_names("dog"), jax.random.PRNGKey(0), hidden=4, steps=5,
                        meta={"dims": [4], "layers": ["conv5_4"]})
    cellhead.save(head, tmp_path / "dog.npz")
    cellhead.save(head, tmp_path / "cat.npz")
    (tmp_path / "map.json").write_text(json.dumps({"classes": {"dog": {"learned": True, "min_evidence": 0.5}}}))
    assert cellhead.learned_fields("dog", data_dir=tmp_path) == {"learned": True, "min_evidence": 0.5}
    assert cellhead.learned_fields("cat", data_dir=tmp_path) is None           # a head without a choice
    assert cellhead.learned_fields("emu", data_dir=tmp_path) is None
    fits = {"conv5_4": {"bias": np.zeros(4)}}
    assert cellhead.learned_fields("dog", fits, tmp_path) is not None
    assert cellhead.learned_fields("dog", {"conv5_4": {"bias": np.zeros(6)}}, tmp_path) is None
    fields, chosen = cellhead.learned("dog", fits, tmp_path)                 # the head comes with the choice
    assert fields == {"learned": True, "min_evidence": 0.5} and chosen.groups == head.groups
    np.testing.assert_array_equal(chosen.weights[0][0], head.weights[0][0])
    assert cellhead.learned("dog", {"conv5_4": {"bias": np.zeros(6)}}, tmp_path) == (None, None)
    assert cellhead.learned("cat", data_dir=tmp_path) == (None, None)
    (tmp_path / "dog.npz").unlink()
    assert cellhead.learned_fields("dog", data_dir=tmp_path) is None           # a choice without its head


def test_head_cli_rejects_judge_photos_and_folds_before_any_pass(tmp_path):
    """A --judge-photos folder that is not the shared data, or --judge-folds without it: one error, no pass run,
    nothing written."""
    from jaxstyle.cli import head_cli
    from jaxstyle.errors import JaxstyleError, UsageError

    base = ["--class", "dog", "--data", str(tmp_path), "--out-dir", str(tmp_path / "heads"),
            "--weights", str(tmp_path / "missing.npz")]
    with pytest.raises(JaxstyleError, match="not the shared data folder"):
        head_cli.main(base + ["--judge-photos", str(tmp_path)])
    with pytest.raises(UsageError, match="--judge-folds needs --judge-photos"):
        head_cli.main(base + ["--judge-folds"])
    assert not (tmp_path / "heads").exists()
