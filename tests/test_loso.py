"""Leave-one-source-out choice and tables (jaxstyle.evaluate.loso) on synthetic rows."""
from jaxstyle.evaluate import loso


def _row(photo, source, species, cls, variant, iou=0.0, cover=0.0, presence=1.0):
    return {"photo": photo, "source": source, "species": species, "cls": cls, "variant": variant, "iou": iou,
            "cover": cover, "presence": presence, "seconds": 0.1}


def _rows():
    rs = []
    for s, good in (("a", "v1"), ("b", "v1"), ("c", "v2")):
        for i in range(3):
            for v in ("probe", "v1", "v2"):
                rs.append(_row(f"{s}{i}", s, "dog", "dog", v, iou=0.9 if v == good else 0.5))
                rs.append(_row(f"{s}{i}c", s, "cat", "dog", v, cover=0.4 if v == "v1" and s == "c" else 0.0))
    return rs


def test_the_choice_for_a_source_is_made_on_the_others():
    rs = _rows()
    assert loso.choose([r for r in rs if r["source"] != "c"], True)[0] == "v1"
    # held out "a": chosen on b (v1 best) and c (v2 best, and v1 covers cats there): v2 wins the objective
    assert loso.choose([r for r in rs if r["source"] != "a"], True)[0] == "v2"
    lines = loso.loso(rs, ["dog"])
    assert any(l.startswith("| c | dog | 3 | v1,") for l in lines)


def test_refused_rows_score_zero_and_cover_nothing():
    rs = [_row("p", "a", "dog", "dog", "v1", iou=0.8, presence=0.5),
          _row("q", "a", "cat", "dog", "v1", cover=0.9, presence=0.5)]
    own, other = loso.scored(rs, 0.6)
    assert own.tolist() == [0.0] and other.tolist() == [0.0]
    assert loso.scored(rs, 0.4)[0].tolist() == [0.8]


def test_ablation_lists_every_variant_at_one_threshold():
    md = loso.ablation(_rows(), ["dog"], evidence=0.7)
    c_v1 = next(l for l in md if l.startswith("| c | dog | v1 |"))
    assert "0.500 / 0.500 / 0.00" in c_v1 and c_v1.endswith("| 3 | 0.400 |")
    assert sum(l.startswith("| ") and "| dog |" in l for l in md) == 9


def test_each_class_map_gets_its_own_choice():
    """The dog map's best variant is v1 and the cat map's v2 on the other sources: each held-out table row names
    its own class's choice (one choice for both would give one of them the other's variant)."""
    rs = []
    for s in ("a", "b", "c"):
        for i in range(3):
            for v in ("probe", "v1", "v2"):
                rs.append(_row(f"{s}{i}", s, "dog", "dog", v, iou=0.9 if v == "v1" else 0.5))
                rs.append(_row(f"{s}{i}k", s, "cat", "cat", v, iou=0.9 if v == "v2" else 0.6))
    lines = loso.loso(rs, ["dog", "cat"])
    assert any(l.startswith("| a | dog | 3 | v1,") for l in lines)
    assert any(l.startswith("| a | cat | 3 | v2,") for l in lines)


def test_a_videos_frames_weigh_as_one_photo():
    """Ten frames of one DAVIS cow video covered as "dog" weigh as one photo against two MSRC cows left alone."""
    assert loso.unit("davis_cows_00050") == loso.unit("cow_davis2016_cows-00010") == "davis:cows"
    assert loso.unit("dog_msrc_16_15") == "dog_msrc_16_15"
    rs = ([_row(f"cow_davis2016_cows-{i:05d}", "davis", "cow", "dog", "v", cover=1.0) for i in range(10)]
          + [_row(f"cow_msrc_{i}", "msrc", "cow", "dog", "v", cover=0.0) for i in range(2)])
    assert loso.objective(rs, 0.5) == -1.0 / 3.0


def test_each_source_is_scored_by_the_heads_whose_judge_never_saw_it(tmp_path):
    from jaxstyle.select.pools.maskedphotos import Photo

    items = [Photo(n, tmp_path, tmp_path, s, "dog") for n, s in (("a", "msrc"), ("b", "davis"), ("c", "msrc"))]
    assert loso.head_folds(items, tmp_path) == {"msrc": tmp_path / "without-msrc", "davis": tmp_path / "without-davis"}
    assert loso.head_folds(items, None, tmp_path) == {None: tmp_path}
    assert loso.head_folds(items, None) == {None: None}  # the shipped heads


def test_each_source_is_judged_by_the_probes_that_never_saw_it(tmp_path, monkeypatch):
    """``--fold-probes``: each source's photos go to :func:`loso.rows` with the probes of its without-<source>
    folder, the shipped heads unchanged; without it, one call with the given probes."""
    from jaxstyle.select.heads import cellhead
    from jaxstyle.select.pools.maskedphotos import Photo
    from jaxstyle.select.probes import probe

    items = [Photo(n, tmp_path, tmp_path, s, "dog") for n, s in (("a", "msrc"), ("b", "davis"), ("c", "msrc"))]
    calls = []
    monkeypatch.setattr(loso, "rows", lambda params, its, classes, probes, heads, *a, **k: calls.append(
        ([ph.name for ph in its], probes, heads)) or iter(()))
    monkeypatch.setattr(cellhead, "shipped", lambda c, d=None: f"head {d}")
    monkeypatch.setattr(probe, "shipped", lambda c, d=None: f"probe {d}")
    folds = loso.head_folds(items, None)
    list(loso.folded_rows(None, items, ["dog"], {"dog": "given"}, folds, {}, probe_folds=loso.head_folds(items, tmp_path)))
    assert calls == [(["a", "c"], {"dog": f"probe {tmp_path / 'without-msrc'}"}, {"dog": "head None"}),
                     (["b"], {"dog": f"probe {tmp_path / 'without-davis'}"}, {"dog": "head None"})]
    calls.clear()
    list(loso.folded_rows(None, items, ["dog"], {"dog": "given"}, folds, {}))
    assert calls == [(["a", "b", "c"], {"dog": "given"}, {"dog": "head None"})]


def test_a_choice_for_one_class_keeps_the_others_and_what_chose_them(tmp_path):
    import json

    path = tmp_path / "map.json"
    dog = {"variant": "judged-j0.25", "fields": {"learned": True, "min_evidence": 0.7}}
    loso.write_choice(path, {"dog": dog, "cat": {**dog, "variant": "judged-j0"}}, 408, "map_loso all")
    doc = json.loads(path.read_text())
    doc["others"] = {"sheep": {"command": "class_matrix --choose"}}
    doc["classes"]["sheep"], doc["variants"]["sheep"] = {"learned": True}, "judged-j0+x0.75"
    path.write_text(json.dumps(doc))
    loso.write_choice(path, {"cat": {"variant": "judged-j0+bg", "fields": {"min_evidence": 0.2}}}, 408, "map_loso cat")
    doc = json.loads(path.read_text())
    assert doc["variants"] == {"cat": "judged-j0+bg", "dog": "judged-j0.25", "sheep": "judged-j0+x0.75"}
    assert doc["classes"]["dog"] == dog["fields"] and doc["command"] == "map_loso cat"
    assert doc["others"]["dog"]["command"] == "map_loso all" and doc["others"]["sheep"]["command"] == "class_matrix --choose"
    assert "cat" not in doc["others"]


def test_a_photo_s_features_are_the_same_computed_or_read_from_the_cache(tmp_path, monkeypatch):
    """The cache keeps features at float16; a photo's first pass gives the same, so rows do not depend on
    whether the cache held the photo."""
    import numpy as np
    from PIL import Image

    from jaxstyle.select.pools.maskedphotos import Photo
    from jaxstyle.transfer import mapfeatures

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "p.jpg")
    ph = Photo("p", tmp_path / "p.jpg", tmp_path / "p.png", "msrc", "dog")
    feats = {"h": np.random.default_rng(0).normal(size=(2, 3, 5)).astype(np.float32) * 1.2345}
    monkeypatch.setattr(mapfeatures, "features", lambda params, rgb, hyper: feats)
    first = loso.photo_features(None, ph, 32, tmp_path / "cache")[1]
    again = loso.photo_features(None, ph, 32, tmp_path / "cache")[1]
    assert first["h"].dtype == np.float32 and np.array_equal(first["h"], again["h"])
    assert not np.array_equal(first["h"], feats["h"])  # rounded, as the cache keeps them
