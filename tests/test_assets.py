"""One lookup of a class's shipped files by any of its names (jaxstyle.select.assets), and the
train / held-out split of more-masked/ (jaxstyle.select.pools.masksplit)."""
from __future__ import annotations

import numpy as np
import pytest

from jaxstyle.errors import UsageError
from jaxstyle.select import assets, classes
from jaxstyle.select.heads import cellhead
from jaxstyle.select.probes import filters, probe
from jaxstyle.select.pools import masksplit, pools


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
    assert pool.name == f"masked:{root}"
    assert pool.size == len(masksplit.train_pool(root, split)) > 100
    assert not {it.id[:-4] for it in pool.items} & names and all(it.id.endswith(".jpg") for it in pool.items)


def test_probe_without_a_source_leaves_its_masked_photos_out(shared_data):
    """``jaxstyle probe --without msrc``: the masked pool's MSRC photos are dropped from the features, the rest
    (other sources, other pools, every side of a several-sided run) stay; a source with no photo is an error."""
    from jaxstyle.cli.probe_cli import left_out
    from jaxstyle.errors import UsageError

    root, det = shared_data / "more-masked", shared_data / "pool-det"
    pool = pools.open_pools([f"folder:{det}", f"masked:{root}"])
    ids = [f"more-masked/{it.id}" for it in pools.open_pool(f"masked:{root}").items]
    out = left_out(pool, ["msrc"])
    dropped = {i for i in ids if out(i)}
    assert dropped and all("_msrc_" in i for i in dropped)
    assert all("_msrc_" not in i for i in set(ids) - dropped) and len(dropped) < len(ids)
    assert out(f"384/{sorted(dropped)[0]}") and not out(f"pool-det/{sorted(dropped)[0].split('/')[1]}")
    assert any(left_out(pool, ["davis"])(i) for i in ids)
    with pytest.raises(UsageError, match="no train photo"):
        left_out(pool, ["coco"])
    with pytest.raises(UsageError, match="masked:PATH"):
        left_out(pools.open_pool(f"folder:{det}"), ["msrc"])


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
    probe.save(probe.Probe(pr.W, pr.b, pr.groups, {**pr.meta, "image_size": [224, 384]}), tmp_path / "horse.npz")
    assert cli.main(["classes", "--probes", str(tmp_path), "--class", "horse"]) == 0
    assert "321 images at 224 + 384 px, 88 rows" in capsys.readouterr().out  # jaxstyle probe --size 224 384
    assert cli.main(["classes", "--probes", str(tmp_path)]) == 0
    assert "map: the probe map" in capsys.readouterr().out  # no cell head for a horse
    assert cli.main(["classes", "--class", "dog"]) == 0  # a cell head and its choice ship: the learned map
    assert "map: the learned map (cell head; refusal below 0.7" in capsys.readouterr().out
    assert cli.main(["classes", "--probes", str(tmp_path), "--class", "sheep"]) == 2  # no probe
    assert cli.main(["classes", "--class", "hrose"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "unknown class 'hrose'" in err[1]


def _pool(root, n=6, size=64):
    """A tiny labelled pool: ``n`` "horses" (a red blob on grey, pool-det's wnid) and ``n`` tables (grey, green
    stripes), a synset label each, as pool-det's labels.csv has them."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = ["filename,class_index,wnid,name"]
    for i in range(2 * n):
        img = np.full((size, size, 3), 120, np.uint8) + rng.integers(0, 20, (size, size, 3)).astype(np.uint8)
        if i < n:
            y, x = rng.integers(8, 24, 2)
            img[y: y + 28, x: x + 32] = (200, 40, 30)
            rows.append(f"h{i}.png,-1,n02374451,horse")
        else:
            img[::6] = (40, 160, 40)
            rows.append(f"t{i}.png,-1,n04379243,table")
        Image.fromarray(img).save(root / rows[-1].split(",")[0])
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return img


def test_a_probe_for_a_new_class_trained_on_a_tiny_pool_drives_the_map(tmp_path, tiny_params, monkeypatch):
    from jaxstyle.transfer import locate

    (tmp_path / "pool").mkdir()
    _pool(tmp_path / "pool")
    pf = probe.pooled_features(tiny_params, pools.open_pool(f"folder:{tmp_path / 'pool'}").batches(4, 64))
    assert sorted(classes.label_name(c) for c in set(pf.codes.tolist())) == ["horse", "table"]
    pr = probe.train(pf, probe.group_names("horse"))
    assert pr.target == "horse" and pr.meta["counts"]["horse"] == 12 and pr.meta["counts"]["other"] == 12
    probe.save(pr, tmp_path / "horse.npz")
    monkeypatch.setattr(probe, "DATA_DIR", tmp_path)
    assert assets.lookup("n02374451").probe == tmp_path / "horse.npz"
    horse = np.full((96, 128, 3), 120, np.uint8)
    horse[30:80, 40:100] = (200, 40, 30)
    table = np.full((96, 128, 3), 120, np.uint8)
    table[::6] = (40, 160, 40)
    opts = {"size": 128}
    r = locate.locate(tiny_params, horse, "n02374451", map_options=opts)
    assert r["probe"] and r["presence"] >= r["min_evidence"]
    assert r["map"][30:80, 40:100].mean() > r["map"][:20].mean() + 0.3
    assert locate.locate(tiny_params, table, "horse", map_options=opts)["presence"] < 0.2


def test_probe_command_keeps_each_sources_features(tmp_path, tiny_params):
    """Two pools (one with its images in images/, as pool-det/): each source's features are kept, and a rerun
    reads them (no VGG pass) and gives the same rows."""
    from types import SimpleNamespace

    from jaxstyle.cli.probe_cli import pool_features

    a, b = tmp_path / "a", tmp_path / "det"
    a.mkdir()
    (b / "images").mkdir(parents=True)
    _pool(a, n=4)
    _pool(b / "images", n=3)
    (b / "images" / "labels.csv").rename(b / "labels.csv")
    pool = pools.open_pools([f"folder:{a}", f"folder:{b}"])
    opts = SimpleNamespace(features=str(tmp_path / "f"), size=64, pooling="max", batch=4)
    first, n = pool_features(pool, tiny_params, opts)
    assert n == 14 and sorted(p.name for p in (tmp_path / "f").iterdir()) == ["a-64-max.npz", "det-64-max.npz"]
    assert first.ids[-1].startswith("det/images/")
    again, n = pool_features(pool, tiny_params, opts)
    assert n == 0 and again.ids == first.ids
    np.testing.assert_array_equal(again.image, first.image)
    assert all(np.array_equal(x, y) for x, y in zip(again.regions, first.regions))
    pr = probe.train(again, probe.group_names("horse"))
    assert pr.meta["counts"]["horse"] == 2 * 7


def test_probe_command_trains_on_every_image_at_each_size(tmp_path, tiny_params):
    """--size 48 64: each source's features at both sides, kept apart; the probe's rows hold every image at each
    side (the map judges photos at 512 px, larger than the 224 training crop), and the ids say which side."""
    from types import SimpleNamespace

    from jaxstyle.cli.probe_cli import sized_features

    (tmp_path / "a").mkdir()
    _pool(tmp_path / "a", n=3)
    pool = pools.open_pools([f"folder:{tmp_path / 'a'}"])
    opts = SimpleNamespace(features=str(tmp_path / "f"), size=[48, 64], pooling="max", batch=4)
    pf, n = sized_features(pool, tiny_params, opts)
    assert n == 12 and sorted(p.name for p in (tmp_path / "f").iterdir()) == ["a-48-max.npz", "a-64-max.npz"]
    assert len(pf.ids) == 12 and pf.ids[0].startswith("48/") and pf.ids[-1].startswith("64/")
    one, _ = sized_features(pool, tiny_params, SimpleNamespace(**{**vars(opts), "size": [64]}))
    assert len(one.ids) == 6 and not one.ids[0].startswith("64/")
    np.testing.assert_array_equal(pf.image[6:], one.image)  # the second side's rows are that side's features
    assert not np.allclose(pf.image[:6], one.image)
    assert probe.train(pf, probe.group_names("horse")).meta["counts"]["horse"] == 2 * 2 * 3


def test_probe_command_reads_a_pool_at_its_own_sides_only(tmp_path, tiny_params):
    """--data SPEC@64 with --size 48 64: that pool at 64 only, the other at both."""
    from types import SimpleNamespace

    from jaxstyle.cli.probe_cli import data_sizes, sized_features

    assert data_sizes("folder:/x/pool@224,384") == ("folder:/x/pool", (224, 384))
    assert data_sizes("folder:/x/a@b") == ("folder:/x/a@b", None) and data_sizes("tfds:c:d") == ("tfds:c:d", None)
    for d in "ab":
        (tmp_path / d).mkdir()
        _pool(tmp_path / d, n=2)
    pool = pools.open_pools([f"folder:{tmp_path / 'a'}", f"folder:{tmp_path / 'b'}"])
    opts = SimpleNamespace(features=str(tmp_path / "f"), size=[48, 64], pooling="max", batch=4)
    pf, n = sized_features(pool, tiny_params, opts, [None, (64,)])
    assert n == 12 and sorted(p.name for p in (tmp_path / "f").iterdir()) == ["a-48-max.npz", "a-64-max.npz",
                                                                              "b-64-max.npz"]
    assert [i.split("/")[:2] for i in pf.ids[::4]] == [["48", "a"], ["64", "a"], ["64", "b"]]


def test_probe_cli_refuses_a_pool_side_that_is_not_a_size(tmp_path, capsys):
    from jaxstyle.cli import run_main
    from jaxstyle.cli.probe_cli import main

    assert run_main(main, ["--class", "horse", "--data", f"folder:{tmp_path}@384", "--out-dir", str(tmp_path)]) == 2
    assert "not a --size side" in capsys.readouterr().err


def test_append_rows_adds_only_what_is_missing(tmp_path):
    from jaxstyle.evaluate import loso

    row = dict(photo="p", source="s", species="horse", cls="horse", variant="probe", iou=0.5, cover="nan",
               presence=0.9, seconds=1.0)
    seen = []

    def make(done):
        seen.append(set(done))
        return [row] if ("p", "horse", "probe") not in done else []

    path = tmp_path / "r" / "rows.csv"
    loso.append_rows(path, make)
    loso.append_rows(path, make)
    assert seen == [set(), {("p", "horse", "probe")}]
    assert [r["iou"] for r in loso.read_rows(path)] == [0.5]


@pytest.mark.parametrize("cls", ["horse", "cattle", "sheep", "car"])
def test_a_class_no_filter_scores_for_says_so_and_its_probe_alone_locates_it(cls):
    import json

    from jaxstyle.transfer import locate

    a = assets.lookup(cls)
    doc = json.loads(a.filters.read_text())
    assert not any(doc["selected"].values()) and "No filter reaches the purity rule" in doc["provenance"]["note"]
    assert doc["selection"]["min_purity"] == 0.88  # the shipped rule, not lowered
    assert a.probe is not None and locate.resolve_filters(None, a.name, None) == {}


def test_method_paper_needs_a_list_that_selects_filters(shared_data, capsys):
    from jaxstyle import cli

    photo = shared_data / "more-masked" / "horse_weizmann_168.jpg"
    style = shared_data / "styles" / "hokusai_great_wave.jpg"
    assert cli.main(["stylize", "--content", str(photo), "--style", str(style), "--class", "sheep", "--method",
                     "paper", "--size", "32", "--iterations", "1", "--out", "/nonexistent/x.png"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "no filter reaches the scoring rule for 'sheep'" in err
