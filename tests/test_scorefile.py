"""The score file: read once with one-line errors, written back as it was, its filters ranked by AP."""
import json

import pytest

from jaxstyle.errors import JaxstyleError
from jaxstyle.select.probes.scorefile import SCHEMA, ScoreFile


def _doc(**layers):
    return {"schema": SCHEMA, "provenance": {}, "layers": layers, "selected": {"conv5_1": [3, 1]}}


def test_read_write_round_trip(tmp_path):
    doc = _doc(conv5_1={"ap": [0.1, 0.9, 0.5], "purity": [1.0, 0.0, 0.5]})
    path = ScoreFile(doc).write(tmp_path / "s.json")
    sf = ScoreFile.read(path)
    assert sf.doc == doc and sf.where == str(path) and sf.selected == {"conv5_1": [3, 1]}
    assert path.read_text().count("\n") == 1  # one line: the document is compact


@pytest.mark.parametrize("text, msg", [
    ("{oops", "not valid JSON"), ("[1]", "not a score JSON object"),
    (json.dumps({"schema": "other/1"}), "unsupported score schema"),
])
def test_bad_files_say_why_in_one_line(tmp_path, text, msg):
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(JaxstyleError, match=msg):
        ScoreFile.read(p)
    with pytest.raises(JaxstyleError, match="no such score file"):
        ScoreFile.read(tmp_path / "none.json")


def test_selected_and_layers_are_checked_when_used():
    with pytest.raises(JaxstyleError, match="non-negative"):
        ScoreFile.of(dict(_doc(), selected={"conv5_1": [-1]})).selected
    with pytest.raises(JaxstyleError, match="no 'selected'"):
        ScoreFile.of(dict(_doc(), selected=[1])).selected
    with pytest.raises(JaxstyleError, match="'layers' must be a mapping"):
        ScoreFile.of(dict(_doc(), layers=[1])).layers


def test_top_ranks_by_ap_with_ties_in_file_order_and_a_floor():
    sf = ScoreFile.of(_doc(conv4_1={"ap": [0.2, 0.8, 0.8, float("nan"), 0.5]},
                           conv5_1={"purity": [0.1, 0.9]}, fc6={"ap": [1.0]}))
    assert sf.top(2) == {"conv4_1": [1, 2]}  # no AP: no rank; not a conv layer: left out
    assert sf.top(3, floor=0.3) == {"conv4_1": [1, 2, 4]}
    assert sf.top(2, floor=0.9) == {}
    assert sf.top(1, keys=("ap", "purity")) == {"conv4_1": [1], "conv5_1": [1]}
    assert sf.top(4)["conv4_1"] == [0, 1, 2, 4]  # NaN last
