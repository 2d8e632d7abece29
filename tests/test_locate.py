"""Locating the object: the filters behind the map."""
from jaxstyle.transfer import locate


def test_filters_from_a_manual_list_file(tiny_params, tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("# hand-picked\nconv5_1:1,2\nconv4_1:3\n")
    assert locate.resolve_filters(tiny_params, None, [str(f)]) == {"conv4_1": [3], "conv5_1": [1, 2]}
    assert locate.resolve_filters(tiny_params, None, ["conv5_1:1,2", "conv4_1:3"]) == {"conv4_1": [3], "conv5_1": [1, 2]}
