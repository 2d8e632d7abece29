"""Filter-set parsing, validation, files and shipped defaults (jaxstyle.select.probes.filters)."""
import json

import pytest

from jaxstyle.select.probes import filters as F
from jaxstyle.select.probes.scorefile import SCHEMA
from jaxstyle.model import vgg
from jaxstyle.errors import JaxstyleError, UsageError
from helpers import tiny_params


@pytest.mark.parametrize("spec,want", [
    ("conv5_1:12,40", {"conv5_1": [12, 40]}),
    (["conv5_1:12,40", "conv4_1:7"], {"conv4_1": [7], "conv5_1": [12, 40]}),
    ("conv5_1:3 conv4_1:7", {"conv4_1": [7], "conv5_1": [3]}),
    ("conv5_1: 40, 12 ; conv5_1:12", {"conv5_1": [12, 40]}),
    ("conv5_1:10-12", {"conv5_1": [10, 11, 12]}),
])
def test_parse(spec, want):
    got = F.parse(spec)
    assert got == want
    assert list(got) == [l for l in vgg.CONV_LAYERS if l in got]  # network order
    assert F.parse(F.format(got)) == got


@pytest.mark.parametrize("bad", ["", "conv5_1", "conv5_1:", "conv5_1:x", "conv9_1:3", "conv5_1:5-2", "pool5:1"])
def test_parse_errors(bad):
    with pytest.raises(UsageError):
        F.parse(bad)


def test_validate_against_params():
    params = tiny_params(0, as_numpy=True)  # conv5_1 has 32 channels
    assert F.validate({"conv5_1": [0, 31]}, params) == {"conv5_1": [0, 31]}
    with pytest.raises(UsageError, match="conv5_1"):
        F.validate({"conv5_1": [32]}, params)
    with pytest.raises(UsageError, match="conv6_1"):
        F.validate({"conv6_1": [1]}, params)


def _score_doc(selected):
    return {"schema": SCHEMA, "provenance": {}, "layers": {}, "selected": selected}


def test_load_file_formats(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(_score_doc({"conv5_1": [40, 12], "conv4_1": []})))
    assert F.from_scores(p) == F.load_file(p) == {"conv5_1": [12, 40]}
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"conv4_1": [7], "conv5_1": [1]}))
    assert F.load_file(m) == {"conv4_1": [7], "conv5_1": [1]}
    lst = tmp_path / "l.json"
    lst.write_text(json.dumps(["conv5_1:3", "conv4_1:7"]))
    assert F.load_file(lst) == {"conv4_1": [7], "conv5_1": [3]}
    t = tmp_path / "f.txt"
    t.write_text("# hand-picked\nconv5_1:12,40  # dog faces\n\nconv4_1:7\n")
    assert F.load_file(t) == {"conv4_1": [7], "conv5_1": [12, 40]}


@pytest.mark.parametrize("content", [
    "{not json", json.dumps({"schema": "other/1", "selected": {}}), json.dumps(_score_doc({"conv5_1": [-1]})),
    json.dumps(_score_doc({"conv7_1": [1]})), json.dumps({"conv5_1": ["a"]}), "", "# nothing\n", json.dumps(3),
])
def test_load_file_errors(tmp_path, content):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(JaxstyleError):
        F.load_file(p)


def test_missing_file(tmp_path):
    with pytest.raises(JaxstyleError, match="no such"):
        F.load_file(tmp_path / "nope.txt")
    with pytest.raises(JaxstyleError, match="directory"):
        F.from_scores(tmp_path)


def test_for_class_shipped_dog_and_cat():
    assert {"dog", "cat"} <= set(F.shipped())
    for name in ("dog", "cat", "domestic cat", "n02084071"):
        f = F.for_class(name)
        assert f and all(l in vgg.CONV_LAYERS for l in f)
        assert all(0 <= i < vgg.CHANNELS[l] for l, idx in f.items() for i in idx)
    doc = json.loads(F.shipped_path("dog").read_text())
    assert doc["schema"] == SCHEMA and doc["provenance"]["weights_sha256"]
    assert doc["provenance"]["class_indices"] == list(range(151, 269))


def test_for_class_missing_lists_shipped(tmp_path):
    with pytest.raises(UsageError, match="shipped: .*dog"):
        F.for_class("zebra")
    with pytest.raises(UsageError, match=r"\(none\)"):
        F.for_class("dog", data_dir=tmp_path)
