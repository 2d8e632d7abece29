"""Activation maximisation and visualize_filters.py on a tiny random VGG (fast, CPU)."""
from __future__ import annotations

import json
from dataclasses import replace

import jax
import numpy as np
import pytest
from PIL import Image

from jaxstyle.visualize import actmax
from jaxstyle.model import vgg
from helpers import tiny_params
from jaxstyle.cli import visualize_cli as vc
from jaxstyle.cli import run_main
from jaxstyle.errors import JaxstyleError, UsageError

LAYER = "conv5_1"
CHANS = [3, 10, 16]  # filters of the tiny random net that respond to noise (0, 11, 29 are silent)
CFG = actmax.ActmaxConfig(size=32, steps=24, optimizer="adam", lr=4.0, jitter=2, scale=0.05, blur_every=4)


@pytest.fixture(scope="module")
def params():
    return tiny_params(0)  # numpy-built, 1/16 of the real widths, no compiles


@pytest.fixture(scope="module")
def batched(params):
    return actmax.maximize(params, LAYER, CHANS, jax.random.PRNGKey(3), CFG)


def test_target_activation_increases(params, batched):
    imgs, hist = batched
    assert imgs.shape == (3, 32, 32, 3) and hist.shape == (CFG.steps, 3)
    assert np.isfinite(imgs).all() and imgs.min() >= 0 and imgs.max() <= 255
    start = actmax.initial_images(LAYER, CHANS, jax.random.PRNGKey(3), CFG)
    before = actmax.activation(params, LAYER, start, CHANS)
    after = actmax.activation(params, LAYER, imgs, CHANS)
    assert (after > before + 1e-3).all(), (before, after)
    # the jittered objective climbs too
    assert (hist[-4:].mean(0) > hist[:4].mean(0)).all()
    # and the target filter gains more than the other filters do on that image
    acts = np.asarray(vgg.apply(params, vgg.preprocess(imgs), (LAYER,))[LAYER]).mean((1, 2))
    acts0 = np.asarray(vgg.apply(params, vgg.preprocess(start), (LAYER,))[LAYER]).mean((1, 2))
    gain = acts - acts0
    for n, c in enumerate(CHANS):
        assert gain[n, c] >= np.median(gain[n]), (c, gain[n, c], np.median(gain[n]))


def test_silent_filter_still_climbs(params):
    """Pre-ReLU ascent gives a gradient where the filter is silent (post-ReLU would be stuck at 0)."""
    _, hist = actmax.maximize(params, LAYER, [29], jax.random.PRNGKey(3), CFG)
    assert hist[-4:, 0].mean() > hist[:4, 0].mean() + 1.0


def test_batched_equals_one_by_one(params, batched):
    imgs, hist = batched
    for n, c in enumerate(CHANS):
        one, h1 = actmax.maximize(params, LAYER, [c], jax.random.PRNGKey(3), CFG)
        np.testing.assert_allclose(one[0], imgs[n], atol=0.05, rtol=0)
        np.testing.assert_allclose(h1[:, 0], hist[:, n], rtol=1e-3, atol=1e-3)


def test_seeds_reproducible(params, batched):
    again, _ = actmax.maximize(params, LAYER, CHANS, jax.random.PRNGKey(3), CFG)
    np.testing.assert_array_equal(again, batched[0])
    other, _ = actmax.maximize(params, LAYER, CHANS, jax.random.PRNGKey(4), CFG)
    assert np.abs(other - batched[0]).mean() > 1.0


def test_filter_key_depends_on_filter_only():
    k = jax.random.PRNGKey(0)
    a = actmax.filter_key(k, "conv5_1", 3)
    np.testing.assert_array_equal(a, actmax.filter_key(k, "conv5_1", 3))
    assert not np.array_equal(a, actmax.filter_key(k, "conv5_1", 4))
    assert not np.array_equal(a, actmax.filter_key(k, "conv4_1", 3))


def test_other_regularisers_and_sgd(params):
    """Each regulariser leaves its mark: the percentile clippings zero (mean-grey) pixels, decay shrinks."""
    base = replace(CFG, steps=6, optimizer="sgd", lr=2.0, center=True, l2_decay=0.0, blur_every=0, preact=False)
    grey = np.asarray(vgg.deprocess(np.zeros(3, np.float32)))  # a zeroed pixel

    def run(**kw):
        imgs, hist = actmax.maximize(params, "conv2_1", [1, 2], jax.random.PRNGKey(0), replace(base, **kw))
        assert imgs.shape == (2, 32, 32, 3) and np.isfinite(imgs).all() and np.isfinite(hist).all()
        assert imgs.min() >= 0 and imgs.max() <= 255
        return imgs

    def zeroed(imgs):
        return float(np.mean(np.all(np.abs(imgs - grey) < 1e-3, axis=-1)))

    plain = run()
    assert zeroed(plain) < 0.01
    assert zeroed(run(norm_pct=10.0)) >= 0.09
    assert zeroed(run(contrib_pct=10.0, center=False)) > 0.03  # ties at zero gradient keep some pixels
    assert np.abs(run(l2_decay=0.3) - grey).mean() < 0.8 * np.abs(plain - grey).mean()


def test_gaussian_blur():
    x = jax.numpy.full((9, 9, 3), 7.0)
    np.testing.assert_allclose(actmax.gaussian_blur(x, 1.0), x, rtol=1e-6)
    noise = jax.random.normal(jax.random.PRNGKey(0), (32, 32, 3))
    assert float(actmax.gaussian_blur(noise, 1.0).std()) < 0.6 * float(noise.std())
    assert actmax.gaussian_blur(noise, 0.0) is noise


@pytest.mark.parametrize("kw", [dict(size=8), dict(steps=-1), dict(optimizer="lbfgs"), dict(lr=float("nan")),
                                dict(size=32, jitter=40), dict(norm_pct=100), dict(l2_decay=1.0), dict(pooling="min")])
def test_config_rejects_bad_values(kw):
    with pytest.raises(UsageError):
        actmax.ActmaxConfig(**kw)


def test_bad_filters(params):
    with pytest.raises(UsageError, match="filters 0..31"):
        actmax.maximize(params, LAYER, [32], jax.random.PRNGKey(0), CFG)
    with pytest.raises(UsageError):
        actmax.maximize(params, "conv9_9", [0], jax.random.PRNGKey(0), CFG)
    with pytest.raises(UsageError):
        actmax.maximize(params, LAYER, [], jax.random.PRNGKey(0), CFG)


# --------------------------------------------------------------------------- CLI pieces
def _doc(n: int = 32, dataset: str = "folder:/nonexistent/pool", topk=None) -> dict:
    rng = np.random.default_rng(0)
    layers = {LAYER: {"purity": [round(float(x), 3) for x in rng.random(n)],
                      "ap": [round(float(x), 3) for x in rng.random(n)],
                      "selectivity": [0.0] * n, "topk": topk or [[] for _ in range(n)]}}
    return {"schema": "jaxstyle.scores/1", "provenance": {"dataset": dataset, "image_size": 32, "class_indices": [0]},
            "layers": layers, "selected": {LAYER: [5, 0]}}


def test_choose_filters_and_scores():
    doc = _doc()
    assert vc.choose_filters("conv5_1:3,1", doc, True, 8) == {LAYER: [1, 3]}
    assert vc.choose_filters(None, doc, True, 8) == {LAYER: [0, 5]}
    best = np.argsort(-np.asarray(doc["layers"][LAYER]["ap"]))[:4]
    assert vc.choose_filters(None, doc, False, 4) == {LAYER: sorted(int(i) for i in best)}
    assert vc.filter_scores(doc, LAYER, 5) == {k: doc["layers"][LAYER][k][5] for k in vc.SCORE_KEYS}
    assert vc.filter_scores(None, LAYER, 5) == {}
    with pytest.raises(UsageError):
        vc.choose_filters(None, None, False, 8)


def test_render_writes_images_and_index(params, tmp_path):
    cfg = CFG  # same shapes as the batched fixture: no new compile
    doc = _doc()
    msgs = []
    res = vc.render(params, {LAYER: CHANS}, tmp_path / "out", cfg, seed=3, doc=doc,
                    log=lambda *a, **k: msgs.append(" ".join(map(str, a))))
    out = tmp_path / "out"
    assert (out / "conv5_1_0003.png").is_file() and (out / "conv5_1_0016.png").is_file()
    assert Image.open(out / "conv5_1_0016.png").size == (32, 32)
    md = (out / "index.md").read_text()
    assert '--filters "conv5_1:3,10,16"' in md and 'src="conv5_1_0016.png"' in md and (out / vc.OVERVIEW).is_file()
    assert f"{doc['layers'][LAYER]['ap'][16]:.3f}" in md
    assert res["filters"] == "conv5_1:3,10,16"
    assert any("top-9 sheets skipped" in m for m in msgs)  # no topk lists in this doc
    with pytest.raises(JaxstyleError, match="--force"):
        vc.render(params, {LAYER: CHANS}, out, cfg, seed=3, doc=doc, log=lambda *a, **k: None)
    assert (out / "index.md").read_text() == md  # untouched


def test_top_sheets_from_a_folder_pool(tmp_path):
    root = tmp_path / "pool"
    root.mkdir()
    rng = np.random.default_rng(1)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(root / name)
    (root / "labels.csv").write_text("filename,class_index\na.png,0\nb.png,7\n")
    topk = [[] for _ in range(32)]
    topk[5] = [{"id": "a.png", "value": 3.5, "pos": [1, 1]}, {"id": "b.png", "value": 1.25, "pos": [0, 1]}]
    doc = _doc(dataset=f"folder:{root}", topk=topk)
    sheets = vc.top_sheets(doc, {LAYER: [0, 5]}, log=lambda *a, **k: None)
    assert set(sheets) == {(LAYER, 5)}
    assert sheets[(LAYER, 5)].dtype == np.uint8 and sheets[(LAYER, 5)].ndim == 3
    msgs = []
    missing = _doc(dataset=f"folder:{tmp_path / 'gone'}", topk=topk)
    assert vc.top_sheets(missing, {LAYER: [5]}, log=lambda *a, **k: msgs.append(a[0])) == {}
    assert "not available" in msgs[0]


def test_cli_usage_errors(tmp_path, capsys):
    assert run_main(vc.main, ["--out", str(tmp_path)]) == 2
    assert run_main(vc.main, ["--out", str(tmp_path), "--filters", "conv9_1:3"]) == 2
    assert run_main(vc.main, ["--out", str(tmp_path), "--filters", "conv5_1:3", "--size", "4"]) == 2
    assert run_main(vc.main, ["--out", str(tmp_path), "--filters", "conv5_1:3", "--selected"]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "other"}))
    assert run_main(vc.main, ["--out", str(tmp_path), "--scores", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 5 and all(l.startswith("error: ") for l in err)
