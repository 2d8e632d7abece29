"""Locating the object: the filters behind the map."""
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
