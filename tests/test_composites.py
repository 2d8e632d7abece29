"""Tests of jaxstyle.evaluate.composites: building two-animal photos, drawing them, scoring a map."""
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from jaxstyle.errors import JaxstyleError
from jaxstyle.evaluate import composites as C

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class _Pair:
    name: str
    species: str


def test_side_by_side_scales_to_the_lower_photo_and_places_each_mask():
    a, b = np.full((40, 60, 3), 10.0, np.float32), np.full((20, 20, 3), 200.0, np.float32)
    ma, mb = np.ones((40, 60), np.float32), np.ones((20, 20), np.float32)
    photo, (pa, pb) = C.side_by_side([a, b], [ma, mb])
    assert photo.shape == (20, 50, 3)
    assert np.allclose(photo[:, :30], 10.0) and np.allclose(photo[:, 30:], 200.0)
    assert pa[:, :30].min() == 1 and pa[:, 30:].max() == 0
    assert pb[:, 30:].min() == 1 and pb[:, :30].max() == 0


def test_draw_alternates_kinds_sides_and_is_seeded():
    pairs = [_Pair(f"d{i}", "dog") for i in range(6)] + [_Pair(f"c{i}", "cat") for i in range(3)]
    got = C.draw(pairs, "dog", 6, seed=3)
    assert [k for k, *_ in got] == ["two dogs", "dog + other"] * 3
    assert all(a.species == b.species == "dog" for k, a, b in got if k == "two dogs")
    mixed = [(a.species, b.species) for k, a, b in got if k != "two dogs"]
    assert mixed == [("dog", "cat"), ("cat", "dog"), ("dog", "cat")]
    two = [(a.name, b.name) for k, a, b in got if k == "two dogs"]
    assert all(x != y for x, y in two) and len({n for p in two for n in p}) == 6  # no repeats while photos last
    assert C.draw(pairs, "dog", 6, seed=3) == got and C.draw(pairs, "dog", 6, seed=4) != got
    assert [k for k, *_ in C.draw(pairs[:6], "dog", 3)] == ["two dogs"] * 3  # no other species: only pairs
    with pytest.raises(JaxstyleError, match="two photos of 'dog'"):
        C.draw(pairs[5:], "dog", 2)


def test_score_reports_the_least_covered_animal_and_the_other_one():
    own_a, own_b, other = (np.zeros((20, 60), np.float32) for _ in range(3))
    own_a[5:15, 2:18], own_b[5:15, 22:38], other[5:15, 42:58] = 1, 1, 1
    omap = own_a.copy()  # only the first animal of the class is on
    r = C.score(omap, [own_a, own_b], [other])
    assert r["own_cover_min"] == 0.0 and r["wrong_cover"] == 0.0 and 0.3 < r["map_iou"] < 0.7
    r = C.score(np.maximum(own_a + own_b, other), [own_a, own_b], [other])
    assert r["own_cover_min"] == 1.0 and r["wrong_cover"] == 1.0
    assert np.isnan(C.score(omap, [own_a], [])["wrong_cover"])


def test_composites_flag_needs_maps_only(tmp_path):
    r = subprocess.run([sys.executable, "scripts/evaluate.py", "--pairs", str(tmp_path), "--styles", str(tmp_path),
                        "--composites", "2", "--out", str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "--composites needs --maps-only" in r.stderr and "Traceback" not in r.stderr


def test_no_two_photos_of_the_class_is_one_line_and_writes_nothing(tmp_path):
    from PIL import Image

    pairs = tmp_path / "pairs"
    pairs.mkdir()
    for name in ("cat_a", "cat_b"):
        Image.fromarray(np.full((32, 48, 3), 120, np.uint8)).save(pairs / f"{name}.jpg")
        Image.fromarray(np.full((32, 48), 255, np.uint8)).save(pairs / f"{name}_mask.png")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "scripts/evaluate.py", "--maps-only", "--composites", "2", "--pairs", str(pairs),
                        "--class", "dog", "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == "error: composites need two photos of 'dog'; found 0"
    assert not out.exists()
