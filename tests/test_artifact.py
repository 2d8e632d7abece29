"""Artifacts: arrays and JSON metadata in one .npz, read without pickle, with loud errors."""
from pathlib import Path

import numpy as np
import pytest

from jaxstyle import artifact
from jaxstyle.errors import JaxstyleError, OutputExistsError
from jaxstyle.select.probes import probe

DATA = Path(artifact.__file__).resolve().parent / "data"


def test_round_trip_keeps_arrays_and_metadata(tmp_path):
    arrays = {"a/W": np.arange(6, dtype=np.float32).reshape(2, 3), "names": np.array(["x", "y"])}
    path = artifact.save(tmp_path / "f", arrays, {"schema": "s/1", "n": [1, 2]})
    assert path == tmp_path / "f" and path.is_file()  # the name as given, no ".npz" added
    back, meta = artifact.load(path, "test file")
    assert meta == {"schema": "s/1", "n": [1, 2]} and sorted(back) == ["a/W", "names"]
    np.testing.assert_array_equal(back["a/W"], arrays["a/W"])
    with pytest.raises(OutputExistsError):
        artifact.save(path, arrays, {})
    artifact.save(path, {}, None, force=True, meta_key="__meta__")
    assert artifact.load(path, "test file") == ({}, None)


@pytest.mark.parametrize("content, msg", [
    (b"not a zip", "not a test file"),
    ("object", "not a test file"),
    ("[1, 2]", "corrupt metadata"),
    ("{oops", "corrupt metadata"),
])
def test_bad_files_fail_loudly(tmp_path, content, msg):
    path = tmp_path / "bad.npz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "object":
        np.savez(path, x=np.array([{"a": 1}], dtype=object))
    else:
        np.savez(path, meta=np.array(content))
    with pytest.raises(JaxstyleError, match=msg):
        artifact.load(path, "test file")
    with pytest.raises(JaxstyleError, match="file not found"):
        artifact.load(tmp_path / "none.npz", "test file")


def test_require_names_what_is_missing(tmp_path):
    with pytest.raises(JaxstyleError, match="not a probe .no W, metadata."):
        artifact.require(tmp_path / "p.npz", "probe", {"b": 1}, None, ("W", "b"))
    assert artifact.require(tmp_path / "p.npz", "probe", {"W": 1}, {"k": 1}, ("W",)) == {"k": 1}


@pytest.mark.parametrize("name", sorted(p.stem for p in (DATA / "probes").glob("*.npz")))
def test_the_shipped_probes_load_and_save_back_the_same(tmp_path, name):
    pr = probe.shipped(name)
    assert pr is not None and pr.groups[0] == name
    back = probe.load(probe.save(pr, tmp_path / f"{name}.npz"))
    assert back.groups == pr.groups and back.meta == pr.meta and back.means is not None
    np.testing.assert_array_equal(back.W, pr.W)
    np.testing.assert_array_equal(back.means[0], pr.means[0])
