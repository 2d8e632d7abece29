"""Synset labels (WordNet groups as image labels), pools of several sources, pool scores."""
import json

import numpy as np
import pytest
from PIL import Image

from jaxstyle.select import classes as C
from jaxstyle import images
from jaxstyle.select.probes import poolscores, scoring
from jaxstyle.errors import JaxstyleError
from jaxstyle.select.pools.pools import FolderPool, MultiPool, open_pools
from helpers import tiny_params

DOMESTIC_CAT, DOG = "n02121808", "n02084071"


def test_group_synset_labels_count_for_the_right_classes():
    cat, dog = C.label_code(DOMESTIC_CAT), C.label_code(DOG)
    assert cat >= C.NUM_CLASSES and dog >= C.NUM_CLASSES  # groups, not classes
    for spec in ("cat", "domestic_cat", "feline", "carnivore", DOMESTIC_CAT):
        m = C.class_mask(spec)
        assert m.positive[cat] and m.known[cat], spec
    m = C.class_mask("dog")
    assert not m.positive[cat] and m.known[cat]  # a cat is a known negative for dog
    assert m.positive[dog] and not m.positive[281] and m.positive[151]
    beagle = C.class_mask("beagle")
    assert not beagle.known[dog] and not beagle.positive[dog]  # a Kaggle dog: maybe a beagle
    assert beagle.known[cat] and not beagle.positive[cat]
    assert C.class_mask("tabby").known[dog] and not C.class_mask("tabby").known[cat]
    bird = C.class_mask("bird")
    assert bird.known[cat] and bird.known[dog] and not bird.positive[cat]
    assert C.class_mask("carnivore").positive[dog]
    # the hypernyms ship in class_groups.json: no WordNet needed
    assert {"feline", "carnivore", "true_cat"} <= {C.label_name(C.label_code(w))
                                                   for w in C.groups()["cat"].hypernyms}


def test_label_code_errors():
    with pytest.raises(JaxstyleError, match="WordNet group"):
        C.label_code("n99999999")
    with pytest.raises(JaxstyleError, match="class index"):
        C.label_code(1000)
    assert C.label_code("281") == 281 and C.label_wnid(C.label_code(DOG)) == DOG


def test_confusion_names():
    n = C.confusion_names()
    assert n[281] == "cat" and n[151] == "dog" and n[C.label_code(DOMESTIC_CAT)] == "cat"
    assert n[C.label_code(DOG)] == "dog" and n[291] == "big_cat"


def _img(p, color):
    p.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40 + len(p.name), 30), color).save(p)


def _two_sources(tmp_path):
    a = tmp_path / "a"
    for i, (name, idx) in enumerate([("t.png", 281), ("d.png", 151), ("x.png", 1)]):
        _img(a / name, (40 * i, 90, 200))
    (a / "labels.csv").write_text("filename,class_index\nt.png,281\nd.png,151\nx.png,1\n")
    b = tmp_path / "b"
    rows = ["filename,class_index,wnid,name"]
    for i in range(5):
        _img(b / f"cat.{i}.jpg", (200, 30 * i, 10))
        rows.append(f"cat.{i}.jpg,-1,{DOMESTIC_CAT},domestic_cat")
        _img(b / f"dog.{i}.jpg", (10, 30 * i, 200))
        rows.append(f"dog.{i}.jpg,-1,{DOG},dog")
    (b / "labels.csv").write_text("\n".join(rows) + "\n")
    return a, b


def test_mixed_two_source_pool(tmp_path):
    a, b = _two_sources(tmp_path)
    pool = open_pools([f"folder:{a}", f"folder:{b}"])
    assert isinstance(pool, MultiPool) and pool.names == ["a", "b"] and pool.size == 13
    items = list(pool.loaders())
    assert items[0][0] == "a/t.png" and items[3][0] == "b/cat.0.jpg"
    assert items[3][1] == C.label_code(DOMESTIC_CAT) and items[4][1] == C.label_code(DOG)
    batches = list(pool.batches(4, 32))
    assert [len(bt[0]) for bt in batches] == [4, 4, 4, 1]  # batches run across the source boundary
    assert all(bt[2].shape[1:] == (32, 32, 3) for bt in batches)  # one shape whatever the image sizes
    assert [i for bt in pool.batches(4, 32, start=5) for i in bt[0]] == [it[0] for it in items[5:]]
    assert [pool.source_of(i) for i, _, _ in items] == [0] * 3 + [1] * 10
    got = pool.fetch({"a/x.png", "b/dog.3.jpg"}, 16)
    assert set(got) == {"a/x.png", "b/dog.3.jpg"} and got["a/x.png"].shape == (16, 16, 3)
    single = open_pools([f"folder:{a}"])
    assert isinstance(single, FolderPool) and [i for i, _, _ in single.loaders()][0] == "t.png"


def test_labels_csv_group_wnid_and_unknown(tmp_path):
    root = tmp_path / "p"
    _img(root / "a.png", (1, 2, 3))
    (root / "labels.csv").write_text(f"filename,class_index,wnid\na.png,-1,{DOG}\n")
    (item,) = images.folder_pool(root, C.label_code)
    assert item.label == C.label_code(DOG)
    (root / "labels.csv").write_text("filename,class_index,wnid\na.png,-1,n99999999\n")
    with pytest.raises(JaxstyleError, match="a.png"):
        images.folder_pool(root, C.label_code)


def _score_pool(pool, spec, batch, record=False, k=4):
    p = tiny_params(0)
    scorer = scoring.BatchScorer(p, ("conv4_1", "conv5_1"), batch)
    state = scoring.init_state(("conv4_1", "conv5_1"), {"conv4_1": 32, "conv5_1": 32}, k, record=record)
    return scoring.score_stream(scorer, pool.batches(batch, 32), C.class_mask(spec), state)


def brute(state, layer, k):
    m = np.concatenate(state.layer[layer].maxima)
    known = np.asarray(state.known)
    return [sorted(np.flatnonzero(known), key=lambda i: (-m[i, c], i))[:k] for c in range(m.shape[1])]


@pytest.mark.parametrize("spec", ["cat", "beagle"])
def test_two_source_merge_exact_and_replay(tmp_path, spec):
    a, b = _two_sources(tmp_path)
    pool = open_pools([f"folder:{a}", f"folder:{b}"])
    s3 = _score_pool(pool, spec, 3, record=True)
    s5 = _score_pool(pool, spec, 5)
    known = np.asarray(s3.known)
    if spec == "beagle":
        assert known.sum() == 8  # the 5 Kaggle dogs can't say: left out
    else:
        assert known.all() and sum(s3.positive) == 6
    for l in s3.layers:
        assert s3.layer[l].top_idx.tolist() == brute(s3, l, 4)  # exact, unknown images never listed
        assert not set(s3.layer[l].top_idx.ravel()) & set(np.flatnonzero(~known))
        # different batches / shard boundaries: the same lists (values may differ in last bits)
        assert s5.layer[l].top_idx.tolist() == brute(s5, l, 4)
    ps = poolscores.from_state(s3, np.asarray([pool.source_of(i) for i in s3.ids]),
                               {"sources": [{"data": "a", "name": "a"}, {"data": "b", "name": "b"}]})
    path = poolscores.save(ps, tmp_path / "ps.npz")
    back = poolscores.load(path)
    assert list(back.wnid[3:5]) == [DOMESTIC_CAT, DOG] and back.source.tolist() == [0] * 3 + [1] * 10
    for block in (1, 4, 256):
        r = poolscores.replay(back, C.class_mask(spec), 4, block=block)
        f, g = scoring.finalize(s3), scoring.finalize(r)
        for l in s3.layers:
            for key in ("top_idx", "top_val", "top_pos", "purity", "ap"):
                assert np.array_equal(getattr(f[l], key), getattr(g[l], key)), (l, key, block)
            assert np.allclose(f[l].selectivity, g[l].selectivity)
        assert r.known == s3.known and r.positive == s3.positive


def test_unknown_images_stay_out_of_ap_and_purity():
    st = scoring.init_state(["conv5_1"], {"conv5_1": 1}, 3)
    mx = np.array([[9.0], [8.0], [7.0], [1.0]], np.float32)
    z = np.zeros((4, 1), np.int32)
    scoring.update(st, list("abcd"), np.array([False, True, True, False]), {"conv5_1": (mx, z, z, mx)}, 4,
                   known=np.array([False, True, True, True]))
    s = scoring.finalize(st)["conv5_1"]
    assert s.top_idx.tolist() == [[1, 2, 3]] and s.ap[0] == pytest.approx(1.0)
    assert s.purity[0] == pytest.approx(2 / 3)


def test_assess_finds_confusers_and_excludes():
    st = scoring.init_state(["conv5_1"], {"conv5_1": 2}, 3)
    n = 12
    lab = np.array([281] * 4 + [151] * 4 + [1] * 4)  # cats, dogs, fish
    pos = lab == 281
    mx = np.zeros((n, 2), np.float32)
    mx[:, 0] = np.where(pos, 10, 0) + np.arange(n) * 0.1                  # cats first: clean
    mx[:, 1] = np.where(lab != 1, 10, 0) + np.where(lab == 151, 1, 0.0)  # dogs then cats: a pet filter
    z = np.zeros((n, 2), np.int32)
    scoring.update(st, [str(i) for i in range(n)], pos, {"conv5_1": (mx, z, z, mx)}, n, labels=lab)
    sc = scoring.finalize(st)
    rep = scoring.assess(st, sc, 3, depth=6)
    assert rep.confusers[0]["name"] == "dog"
    assert rep.confusion["conv5_1"]["dog"].tolist() == [0.0, 1.0]
    assert rep.excluded["conv5_1"].tolist() == [False, True]
    assert rep.base_rate == pytest.approx(4 / 12)
    sel = scoring.select(sc, 4, 3, min_purity=0.0, min_ap=0.0, exclude=rep.excluded)
    assert sel["conv5_1"] == [0]
    assert scoring.select(sc, 4, 3, min_purity=0.0, min_ap=0.0)["conv5_1"] == [0, 1]
    own = scoring.assess(st, sc, 3, extra=["cat"], depth=6)  # the class itself is never its own confuser
    assert own.confusion["conv5_1"]["cat"].tolist() == [0.0, 0.0] and own.excluded["conv5_1"].tolist() == [False, True]
    doc = rep.document(sel)
    assert json.dumps(doc) and doc["confusers"][0]["name"] == "dog"


def test_one_compile_across_sources_sizes_and_the_last_batch(tmp_path):
    a, b = _two_sources(tmp_path)  # images of several sizes in two sources; 13 = 4 batches of 4, last padded
    pool = open_pools([f"folder:{a}", f"folder:{b}"])
    p = tiny_params(1)
    scorer = scoring.BatchScorer(p, ("conv5_1",), 4)
    state = scoring.init_state(("conv5_1",), {"conv5_1": 32}, 3)
    before = scoring._reduce_jit._cache_size()
    scoring.score_stream(scorer, pool.batches(4, 40), C.class_mask("cat"), state)
    assert state.n == 13
    assert scoring._reduce_jit._cache_size() == before + 1


def test_cli_selects_classes_from_saved_pool_scores(tmp_path):
    from jaxstyle.select.probes import filters
    from jaxstyle.cli import score_cli

    a, b = _two_sources(tmp_path)
    pool = open_pools([f"folder:{a}", f"folder:{b}"])
    st = _score_pool(pool, "cat", 4, record=True)
    meta = {"sources": [{"data": f"folder:{a}", "name": "a", "images": 3, "skipped": 0},
                        {"data": f"folder:{b}", "name": "b", "images": 10, "skipped": 0}],
            "dataset": pool.name, "pool_size": 13, "image_size": 32, "command": "python scripts/score_filters.py ..."}
    ps = poolscores.from_state(st, np.asarray([pool.source_of(i) for i in st.ids]), meta)
    path = poolscores.save(ps, tmp_path / "ps.npz")
    out = tmp_path / "out"
    argv = ["--pool-scores", str(path), "--class", "cat", "--class", "151", "--top-k", "4", "--min-purity", "0",
            "--min-ap", "0", "--min-ap-lift", "0", "--max-confusion", "1", "--out-dir", str(out), "--compact"]
    assert score_cli.main(argv) == 0
    cat = json.loads((out / "cat.json").read_text())
    prov = cat["provenance"]
    assert [(s["name"], s["positive"], s["negative"], s["unknown"]) for s in prov["sources"]] == \
        [("a", 1, 2, 0), ("b", 5, 5, 0)]
    assert prov["n_positive"] == 6 and prov["class_synsets"] == [DOMESTIC_CAT]
    assert prov["scored_by"].startswith("python") and "--pool-scores" in prov["command"]
    assert cat["base_rate"] == round(6 / 13, 4) and "confusers" in cat
    assert filters.from_scores(out / "cat.json") == {l: v for l, v in cat["selected"].items() if v}
    chi = json.loads((out / "Chihuahua.json").read_text())["provenance"]
    assert chi["sources"][1]["unknown"] == 5 and chi["n_known"] == 8 and chi["n_positive"] == 1
    with pytest.raises(JaxstyleError, match="--out-dir"):
        score_cli.main(argv[:-3] + ["--out", str(tmp_path / "x.json")])
