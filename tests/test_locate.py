"""Locating the object: the filters behind the map."""
import numpy as np

from jaxstyle.transfer import locate


def test_filters_from_a_manual_list_file(tiny_params, tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("# hand-picked\nconv5_1:1,2\nconv4_1:3\n")
    assert locate.resolve_filters(tiny_params, None, [str(f)]) == {"conv4_1": [3], "conv5_1": [1, 2]}
    assert locate.resolve_filters(tiny_params, None, ["conv5_1:1,2", "conv4_1:3"]) == {"conv4_1": [3], "conv5_1": [1, 2]}


def test_refused_only_where_a_probe_found_too_little():
    r = {"map": None, "presence": 0.1, "probe": True, "min_evidence": 0.2}
    assert locate.refused(r) and not locate.refused({**r, "presence": 0.3})
    assert not locate.refused({**r, "probe": False})  # hand-given filters: nothing is refused


def _widths(**layers):
    """VGG params with only the biases of the named layers, as wide as given (what the head's fit reads)."""
    return {name: {"bias": np.zeros(n, np.float32)} for name, n in layers.items()}


def test_a_class_with_a_shipped_head_gets_the_learned_map_by_default():
    from jaxstyle.select.heads import cellhead

    real = _widths(conv3_4=256, conv4_4=512, conv5_4=512)
    cfg = locate.map_config(None, "dog", real)
    assert cfg.learned and {k: getattr(cfg, k) for k in cellhead.map_fields("dog")} == cellhead.map_fields("dog")
    assert locate.map_config({"min_evidence": 0.3}, "dog", real).min_evidence == 0.3  # an option beats the choice
    assert cellhead.map_fields("cat") != cellhead.map_fields("dog")                  # chosen per class
    for opts in ({"learned": False}, {"gate": 0.9}, {"second_look": 0.05}):          # --probe-map, --head-gate, ...
        assert not locate.map_config(opts, "dog", real).learned
    assert not locate.map_config(None, "horse", real).learned                        # no head ships for it
    assert not locate.map_config(None, "dog", _widths(conv3_4=8, conv4_4=8, conv5_4=8)).learned  # a tiny VGG
    assert not locate.map_config(None, None, real).learned


def test_the_map_choice_is_the_heads_own_and_brings_its_head():
    from jaxstyle.select.heads import cellhead

    real = _widths(conv3_4=256, conv4_4=512, conv5_4=512)
    tiny = _widths(conv3_4=8, conv4_4=8, conv5_4=8)
    for name in ("dog", "cat", "horse", "emu"):
        for params in (real, tiny):
            cfg, head = locate.map_choice(None, name, params)
            fields = cellhead.learned_fields(name, params)
            assert (head is not None) == (fields is not None) == cfg.learned, (name, len(params["conv5_4"]["bias"]))
    assert locate.map_choice({"learned": False}, "dog", real)[1] is None  # an option chose the path: nothing loaded


def test_a_map_variant_on_the_probe_map_is_refused_not_ignored():
    import pytest

    from jaxstyle.errors import UsageError
    from jaxstyle.evaluate.loso import variants

    real = _widths(conv3_4=256, conv4_4=512, conv5_4=512)
    both = {k: v for k, v in variants()["both-j0"].items() if k != "learned"}  # what --map-variant sets
    assert locate.map_choice(both, "dog", real)[0].judge == "both"
    for name, opts in (("horse", both), ("dog", {**both, "learned": False})):  # no head ships; --probe-map
        with pytest.raises(UsageError, match="--map-variant needs the learned map"):
            locate.map_choice(opts, name, real)


def test_locate_many_loads_the_cell_head_once(monkeypatch):
    from jaxstyle.select.heads import cellhead

    real = _widths(conv3_4=256, conv4_4=512, conv5_4=512)
    loads, seen = [], []
    load = cellhead.load
    monkeypatch.setattr(cellhead, "load", lambda path: loads.append(path) or load(path))
    monkeypatch.setattr(locate, "class_probe", lambda params, name: None)
    monkeypatch.setattr(locate.objectmap, "object_maps", lambda params, imgs, flt, pr, cfg, batch, head: seen.append(
        head) or [{"map": np.zeros(img.shape[:2], np.float32), "presence": 1.0} for img in imgs])
    photos = [np.zeros((40, 60, 3), np.float32)] * 2
    rs = locate.locate_many(real, photos, "dog")
    assert len(rs) == 2 and len(loads) == 1 and seen[0] is not None and seen[0].meta == load(loads[0]).meta


def test_each_shipped_choice_is_a_measured_variant_at_a_measured_refusal():
    """``jaxstyle/data/heads/map.json``: every class's fields are those of the variant it names (the rows the
    choice was made on) with a refusal of the scored grid, and its head ships."""
    import json

    from jaxstyle.evaluate import loso
    from jaxstyle.select.heads import cellhead
    from jaxstyle.transfer.mapconfig import MapConfig

    doc = json.loads((cellhead.DATA_DIR / "map.json").read_text())
    assert set(doc["classes"]) == set(doc["variants"]) >= {"dog", "cat"}
    for cls, fields in doc["classes"].items():
        variant = loso.variants()[doc["variants"][cls]]
        assert set(fields) - {"min_evidence"} == set(variant), cls
        assert MapConfig(**fields) == MapConfig(**variant, min_evidence=fields["min_evidence"]), cls
        assert fields["min_evidence"] in loso.EVIDENCE and (cellhead.DATA_DIR / f"{cls}.npz").is_file()
