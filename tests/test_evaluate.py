"""Tests of jaxstyle.evaluate.evaluation (scripts/evaluate.py) on a tiny random VGG and synthetic pairs."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jaxstyle.cli import evaluate_cli
from jaxstyle.evaluate import evaluation as evaluate, mapeval, pairs as pairfiles
from jaxstyle.cli import run_main
from jaxstyle.errors import JaxstyleError, UsageError

from helpers import tiny_params

FAST = dict(iterations=2, filters="conv5_1:1,2", stylize_kwargs={"map_options": {"size": 48}, "chunk": 2})


def _pair(root: Path, name: str, h: int, w: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    photo = np.stack([xx * 255 / w, yy * 255 / h, np.full((h, w), 90.0)], -1) + rng.uniform(0, 40, (h, w, 3))
    mask = ((yy - h / 2) ** 2 / (h / 3) ** 2 + (xx - w / 2) ** 2 / (w / 3) ** 2 <= 1).astype(np.uint8) * 255
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(root / f"{name}.jpg", quality=95)
    Image.fromarray(mask, "L").save(root / f"{name}_mask.png")


@pytest.fixture(scope="module")
def params():
    return tiny_params()


@pytest.fixture()
def dirs(tmp_path):
    pairs, styles = tmp_path / "pairs", tmp_path / "styles"
    pairs.mkdir()
    styles.mkdir()
    _pair(pairs, "dog_a", 32, 48, 0)
    _pair(pairs, "cat_b", 32, 48, 1)
    (pairs / "orphan.jpg").write_bytes((pairs / "cat_b.jpg").read_bytes())  # no mask: skipped
    rng = np.random.default_rng(5)
    stripes = (np.sin(np.arange(40)[:, None] / 2.0 + np.arange(40)[None, :] / 3.0)[..., None] * 120 + 128)
    Image.fromarray(np.clip(stripes * [1.0, 0.4, 0.8] + rng.uniform(0, 20, (40, 40, 3)), 0, 255)
                    .astype(np.uint8)).save(styles / "waves.png")
    return pairs, styles, tmp_path / "out"


@pytest.fixture(scope="module")
def one_run(params, tmp_path_factory):
    """One full evaluation (2 photos x 1 style x 4 methods), shared by the read-only checks."""
    root = tmp_path_factory.mktemp("ev")
    pairs, styles = root / "pairs", root / "styles"
    pairs.mkdir()
    styles.mkdir()
    _pair(pairs, "dog_a", 32, 48, 0)
    _pair(pairs, "cat_b", 32, 48, 1)
    Image.fromarray(np.random.default_rng(5).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(styles / "noise.png")
    logs: list[str] = []
    res = evaluate.run(pairs, styles, root / "out", evaluate.RunConfig(size=48, gallery_width=48, **FAST), params=params,
                       log=logs.append)
    return root / "out", res, logs


def test_files_written(one_run):
    out, res, logs = one_run
    for f in evaluate.OUTPUT_FILES:
        assert (out / f).is_file(), f
    galleries = sorted(p.name for p in (out / "gallery").iterdir())
    assert galleries == ["cat_b__noise.png", "dog_a__noise.png"]
    g = np.asarray(Image.open(out / "gallery" / "dog_a__noise.png"))
    assert g.ndim == 3 and g.shape[1] > 4 * 48  # 4 panel columns, 2 rows
    assert not list(out.rglob("*.part"))  # atomic writes leave no temporaries
    assert any(l.startswith("[8/8]") for l in logs)
    assert len(res["rows"]) == 8


def test_csv_columns_and_values(one_run):
    out, _, _ = one_run
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == evaluate.COLUMNS
    assert len(rows) == 8
    assert {r["method"] for r in rows} == {"auto", "paper", "gatys", "mask"}
    by = {(r["photo"], r["method"]): r for r in rows}
    # is_dog from the name (no index.csv); content shape at --size 48
    assert by[("dog_a", "gatys")]["is_dog"] == "1" and by[("cat_b", "gatys")]["is_dog"] == "0"
    assert by[("dog_a", "auto")]["height"] == "32" and by[("dog_a", "auto")]["width"] == "48"
    for r in rows:
        assert float(r["seconds"]) > 0
        assert 0 <= float(r["cover_obj"]) <= 1 and 0 <= float(r["cover_bg"]) <= 1
        assert float(r["psnr_bg"]) > 0
    # map metrics only for auto; the gatys row is its own reference
    assert math.isnan(float(by[("dog_a", "gatys")]["map_iou"]))
    assert 0 <= float(by[("dog_a", "auto")]["map_ap"]) <= 1
    for r in rows:  # the ratio to gatys' gain on the same photo, NaN where that gain is not > 0
        g = float(by[(r["photo"], "gatys")]["gain_obj"])
        want = float(r["gain_obj"]) / g if g > 0 else float("nan")
        assert float(r["gain_obj_vs_gatys"]) == pytest.approx(want, nan_ok=True)
    # mask-guided keeps the background (outside the dilated mask) pixel for pixel
    assert by[("dog_a", "mask")]["psnr_bg"] == "inf"


def test_json_and_summary(one_run):
    out, _, _ = one_run
    doc = json.loads((out / "results.json").read_text())  # strict JSON: no NaN/Infinity tokens
    s = doc["settings"]
    assert s["size"] == 48 and s["iterations"] == 2 and s["complete"] is True
    assert s["num_photos"] == 2 and s["num_dogs"] == 1 and s["styles"] == ["noise"]
    assert {"processor", "cores"} <= set(s["machine"]) and "commit" in s["git"]
    assert len(doc["rows"]) == 8 and doc["columns"] == list(evaluate.COLUMNS)
    md = (out / "summary.md").read_text()
    assert "## Dogs" in md and "## Non-dogs" in md
    header = next(l for l in md.splitlines() if l.startswith("| method |"))
    assert "psnr_bg" in header and "gain_obj" in header and "cover_obj" in header
    for meth in ("auto", "paper", "gatys", "mask"):
        assert sum(l.startswith(f"| {meth} | 1 |") for l in md.splitlines()) == 2  # dogs + non-dogs
    assert "targets for `auto`" in md and "cover_bg ≤ 0.03" in md


def test_merge(one_run, tmp_path):
    out, res, _ = one_run
    merged = tmp_path / "merged"
    assert run_main(evaluate_cli.main, ["--merge", str(out), str(out), "--out", str(merged)]) == 0
    doc = json.loads((merged / "results.json").read_text())
    assert len(doc["rows"]) == 8  # duplicates collapse
    assert doc["settings"]["merged_from"] == [str(out), str(out)]
    with open(merged / "results.csv") as f:
        rows = list(csv.DictReader(f))
    with open(out / "results.csv") as f:
        assert rows == list(csv.DictReader(f))  # numbers survive the JSON round trip
    assert "## Dogs" in (merged / "summary.md").read_text()
    assert run_main(evaluate_cli.main, ["--merge", str(out), "--out", str(merged)]) == 2  # no --force: usage


def test_refuses_overwrite_then_force(dirs, params):
    pairs, styles, out = dirs
    out.mkdir()
    (out / "summary.md").write_text("old")
    with pytest.raises(JaxstyleError, match="--force"):
        evaluate.run(pairs, styles, out, evaluate.RunConfig(methods=("gatys",), size=32, **FAST), params=params,
                     log=lambda s: None)
    assert (out / "summary.md").read_text() == "old"
    logs = []
    evaluate.run(pairs, styles, out, evaluate.RunConfig(methods=("gatys",), size=32, **FAST), params=params,
                 force=True, limit_photos=1, log=logs.append)
    assert "gatys" in (out / "summary.md").read_text()
    assert any("orphan.jpg" in l for l in logs)  # photo without a mask is reported and skipped
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 1  # --limit-photos 1, 1 style, 1 method


def test_index_csv_is_dog(dirs):
    pairs, _, _ = dirs
    (pairs / "index.csv").write_text("name,category,is_dog\ndog_a,wolf,0\ncat_b,cat,1\n")
    got = {p.name: (p.is_dog, p.category) for p in pairfiles.find_pairs(pairs)}
    assert got == {"dog_a": (False, "wolf"), "cat_b": (True, "cat")}
    assert [p.name for p in pairfiles.find_pairs(pairs, only_dogs=True)] == ["cat_b"]
    assert [p.name for p in pairfiles.find_pairs(pairs, photos=["dog_*"])] == ["dog_a"]
    assert [p.name for p in pairfiles.find_pairs(pairs, photos=["dog_a", "cat_b"])] == ["dog_a", "cat_b"]


def test_any_class_is_told_by_its_names(tmp_path):
    """A folder of other classes' pairs: the species comes from an index's ``class`` column or the name's first
    word, and a photo is of ``--class`` by any of the class's names (``cow`` is cattle, a wnid is its group)."""
    from PIL import Image

    for name in ("horse_weizmann_170", "cow_msrc_5_1", "photo_3", "car_x"):
        Image.new("RGB", (8, 8)).save(tmp_path / f"{name}.jpg")
        Image.new("L", (8, 8)).save(tmp_path / f"{name}_mask.png")
    got = {p.name: p for p in pairfiles.find_pairs(tmp_path)}
    assert {n: p.species for n, p in got.items()} == {"horse_weizmann_170": "horse", "cow_msrc_5_1": "cow",
                                                       "photo_3": "", "car_x": "car"}
    assert pairfiles.is_of(got["horse_weizmann_170"], "horse") and pairfiles.is_of(got["horse_weizmann_170"], "n02374451")
    assert pairfiles.is_of(got["cow_msrc_5_1"], "cattle") and not pairfiles.is_of(got["cow_msrc_5_1"], "horse")
    assert not pairfiles.is_of(got["photo_3"], "dog")
    (tmp_path / "index.csv").write_text("name,class\nphoto_3,sheep\n")
    assert {p.name: p.species for p in pairfiles.find_pairs(tmp_path)}["photo_3"] == "sheep"
    swan = pairfiles.Pair("s", tmp_path, tmp_path, False, "bird (black swan)", "bird (black swan)")
    assert pairfiles.is_of(swan, "bird") and pairfiles.is_of(pairfiles.Pair("d", tmp_path, tmp_path, True, "dog", "dog"),
                                                             "n02084071")


def test_errors_one_line(dirs, tmp_path, capsys):
    pairs, styles, out = dirs
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(JaxstyleError, match="no photo/mask pairs"):
        pairfiles.find_pairs(empty)
    cases = [
        (["--pairs", str(empty), "--styles", str(styles), "--out", str(out)], "no photo/mask pairs"),
        (["--pairs", str(tmp_path / "nope"), "--styles", str(styles), "--out", str(out)], "does not exist"),
        (["--pairs", str(pairs), "--styles", str(empty), "--out", str(out)], "no style images"),
        (["--pairs", str(pairs), "--styles", str(styles), "--style-names", "monet", "--out", str(out)], "monet"),
        (["--pairs", str(pairs), "--styles", str(styles), "--methods", "auto,magic", "--out", str(out)], "magic"),
    ]
    for argv, msg in cases:
        rc = run_main(evaluate_cli.main, argv)
        err = capsys.readouterr().err.strip().splitlines()[-1]  # progress notes may precede it
        assert rc in (1, 2), argv
        assert err.startswith("error:") and msg in err, err
    assert not out.exists()  # nothing written on an error


def test_maps_only(dirs, params, monkeypatch):
    pairs, _, out = dirs
    logs: list[str] = []
    res = mapeval.run_maps(pairs, out, size=48, filters="conv5_1:1,2", params=params, log=logs.append,
                            map_options={"size": 48})
    with open(out / "maps.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["photo"] for r in rows] == ["cat_b", "dog_a"] and len(res["rows"]) == 2
    assert [r["role"] for r in rows] == ["other", "own"]
    for k in ("map_iou", "map_recall", "map_ap"):
        assert 0.0 <= float(rows[1][k]) <= 1.0, (k, rows[1][k])
    assert 0.0 <= float(rows[0]["wrong_cover"]) <= 1.0
    assert (out / "maps_worst.jpg").is_file()
    with pytest.raises(JaxstyleError, match="--force"):
        mapeval.run_maps(pairs, out, size=48, filters="conv5_1:1,2", params=params, log=logs.append)

    # the plumbing: a map equal to the mask scores IoU 1 (own) and covers all of another animal;
    # its inverse the opposite; a refusal leaves an empty map
    from jaxstyle import images
    from jaxstyle.transfer import locate

    def oracle(params_, photo, *a, presence=1.0, invert=False, **k):
        m = images.load_mask(Path(photo).with_name(Path(photo).stem + "_mask.png"), (36, 48))
        return {"map": 1.0 - m if invert else m, "presence": presence, "probe": True, "min_evidence": 0.2}

    def run(**kw):
        monkeypatch.setattr(locate, "locate", lambda *a, **k: oracle(*a, **kw, **k))
        return {r["photo"]: r for r in mapeval.run_maps(pairs, out, size=48, filters="conv5_1:1", params=params,
                                                          force=True, log=logs.append)["rows"]}

    rows = run()
    assert rows["dog_a"]["map_iou"] == 1.0 and rows["dog_a"]["map_recall"] == 1.0
    assert rows["dog_a"]["map_precision"] == 1.0 and rows["cat_b"]["wrong_cover"] == 1.0
    rows = run(invert=True)
    assert rows["dog_a"]["map_iou"] == 0.0 and rows["dog_a"]["map_recall"] == 0.0 and rows["cat_b"]["wrong_cover"] == 0.0
    rows = run(presence=0.1)
    assert all(r["refused"] for r in rows.values())
    assert rows["dog_a"]["map_iou"] == 0.0 and rows["cat_b"]["wrong_cover"] == 0.0
    md = (out / "maps.md").read_text()
    assert "## By breed" in md and "| photo | role |" in md


def test_gatys_ratio_target_with_negative_gatys_gain():
    def row(photo, method, gain):
        return {"photo": photo, "style": "s", "method": method, "is_dog": True, "gain_obj": gain, "psnr_bg": 40.0,
                "gain_bg": 0.0, "cover_obj": 1.0, "cover_bg": 0.0, "map_iou": 1.0, "map_ap": 1.0, "seconds": 1.0}
    rows = [row("a", "auto", 0.9), row("a", "gatys", -0.5),   # gatys moved away from the style: met, no ratio
            row("b", "auto", 0.1), row("b", "gatys", 0.5),    # 0.1 < 0.8 * 0.5: not met
            row("c", "auto", 0.5), row("c", "gatys", 0.5)]    # ratio 1: met
    evaluate.add_relative_gains(rows)
    assert math.isnan(rows[0]["gain_obj_vs_gatys"]) and rows[0]["gain_obj_gatys"] == -0.5
    md = evaluate.summary_markdown(rows, {"size": 8}, ["auto", "gatys"])
    line = next(l for l in md.splitlines() if l.startswith("| gain_obj ≥ 0.8 × gatys"))
    assert "| 2/3 |" in line, line


def test_scales_flag_reaches_stylize(dirs, monkeypatch):
    pairs, styles, out = dirs
    seen: list = []
    monkeypatch.setattr(evaluate, "run", lambda *a, **k: seen.append(a[3].stylize_kwargs))
    evaluate_cli.main(["--pairs", str(pairs), "--styles", str(styles), "--out", str(out), "--scales", "1"])
    evaluate_cli.main(["--pairs", str(pairs), "--styles", str(styles), "--out", str(out)])
    assert seen == [{"scales": 1}, {}]


def test_run_config_checks_methods_and_size():
    assert evaluate.RunConfig(methods=("gatys", "auto", "gatys")).methods == ("gatys", "auto")
    with pytest.raises(UsageError, match="unknown nope"):
        evaluate.RunConfig(methods=("nope",))
    with pytest.raises(UsageError, match="too small"):
        evaluate.RunConfig(size=8)
