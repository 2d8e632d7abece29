"""One lookup of a class's shipped files by any of its names (jaxstyle.select.assets), and the
train / held-out split of more-masked/ (jaxstyle.select.masksplit)."""
from __future__ import annotations

import numpy as np
import pytest

from jaxstyle.errors import UsageError
from jaxstyle.select import assets, cellhead, classes, filters, masksplit, pools, probe


def _probe(groups):
    k = len(groups)
    return probe.Probe(np.zeros((4, k), np.float32), np.zeros(k, np.float32), tuple(groups), {"pooling": "max"})


@pytest.mark.parametrize("name,wnid,canonical", [("dog", "n02084071", "dog"), ("horse", "n02374451", "horse"),
                                                 ("cow", "n02402425", "cattle"), ("sheep", "n02411705", "sheep"),
                                                 ("car", "n02958343", "car"), ("bird", "n01503061", "bird")])
def test_name_and_wnid_find_the_same_files(tmp_path, name, wnid, canonical):
    probe.save(_probe(probe.group_names(canonical)), tmp_path / f"{canonical}.npz")
    (tmp_path / f"{canonical}.json").write_text("{}")
    dirs = assets.AssetDirs(tmp_path, tmp_path, tmp_path)
    by_name, by_wnid = assets.lookup(name, dirs), assets.lookup(wnid, dirs)
    assert by_name == by_wnid and by_name.name == canonical
    assert by_name.probe == tmp_path / f"{canonical}.npz" and by_name.filters == tmp_path / f"{canonical}.json"
    assert by_name.synsets == (wnid,)
    # the callers find them by the wnid too
    assert probe.shipped(wnid, tmp_path).groups == probe.shipped(name, tmp_path).groups
    assert filters.shipped_path(wnid, tmp_path) == filters.shipped_path(name, tmp_path)
    assert cellhead.shipped(wnid, tmp_path / "none") is None


def test_shipped_dog_by_wnid():
    a = assets.lookup("n02084071")
    assert a == assets.lookup("Dog") and a.probe and a.filters and a.head
    assert probe.shipped("n02084071").meta == probe.shipped("dog").meta
    assert cellhead.shipped("n02084071") is not None


def test_new_classes_resolve_and_unknown_is_one_line():
    assert classes.resolve("horse") == ("horse", [339])  # sorrel, below horse.n.01
    assert classes.resolve("cow") == classes.resolve("n02402425") == ("cattle", [345])
    assert classes.resolve("bike")[0] == "bicycle"  # a pool synset's lemma shadows nothing
    with pytest.raises(UsageError) as e:
        assets.lookup("hrose")
    assert "did you mean" in str(e.value) and "horse" in str(e.value) and "\n" not in str(e.value)


def test_label_codes_of_pool_synsets_join_their_groups():
    code = classes.label_code("n02374451")  # a pool-det horse
    y = probe.group_of_codes(probe.group_names("horse"), classes.num_labels())
    assert y[code] == 0 and y[339] == 0  # the horse label and sorrel
    y = probe.group_of_codes(probe.group_names("dog"), classes.num_labels())
    assert probe.group_names("dog")[y[code]] == "mammal"
    assert probe.group_names("dog")[y[classes.label_code("n00007846")]] == "person"


def test_split_keeps_groups_whole(shared_data):
    split = masksplit.load()
    root = shared_data / "more-masked"
    train, held = masksplit.photos(root, "train", split), masksplit.photos(root, "held_out", split)
    assert len(train) + len(held) == len(masksplit.read_index(root, split["weizmann_cut"]))
    assert not {p.group for p in train} & {p.group for p in held}
    for cls in ("horse", "cow", "sheep", "bird", "car"):
        assert any(p.cls == cls for p in train) and any(p.cls == cls for p in held), cls
    assert not any(p.cls in ("dog", "cat") for p in train)
    names = {p.name for p in held}
    pool = pools.open_pool(f"masked:{root}")
    assert pool.size == len(masksplit.train_pool(root, split)) > 100
    assert not {it.id[:-4] for it in pool.items} & names and all(it.id.endswith(".jpg") for it in pool.items)


def test_classes_command_reads_meta_and_results(tmp_path, capsys):
    from jaxstyle import cli

    pr = _probe(probe.group_names("horse"))
    pr = probe.Probe(pr.W, pr.b, pr.groups, {"pooling": "max", "pool": ["folder:/x/pool-det", "masked:/x/more-masked"],
                                             "images": 321, "counts": {"horse": 88}})
    probe.save(pr, tmp_path / "horse.npz")
    (tmp_path / "map_iou.json").write_text(
        '{"command": "python scripts/class_matrix.py X", "classes": {"horse": {"n": 7, "median_iou": 0.777, '
        '"mean_iou": 0.5, "share_ge_0.6": 0.25, "sources": ["weizmann"]}}}')
    assert cli.main(["classes", "--probes", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "horse (n02374451" in out and "pool-det, more-masked; 321 images, 88 rows" in out
    assert "median 0.777" in out and "25 %" in out and "scripts/class_matrix.py X" in out
    assert cli.main(["classes", "--probes", str(tmp_path), "--class", "n02374451"]) == 0
    assert "horse" in capsys.readouterr().out
    assert cli.main(["classes", "--probes", str(tmp_path), "--class", "sheep"]) == 2  # no probe
    assert cli.main(["classes", "--class", "hrose"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "unknown class 'hrose'" in err[1]
