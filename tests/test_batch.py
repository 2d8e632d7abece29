"""Shape buckets and batches: padded runs equal unpadded ones, buckets share programs, batches keep results."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from jaxstyle import images
from jaxstyle.transfer import levels, optimize, stylize as S
from jaxstyle.cli import stylize_cli
from jaxstyle.model import vgg
from jaxstyle.errors import UsageError


@pytest.fixture(scope="module")
def biased_params(tiny_params):
    """The tiny VGG with non-zero biases, so features beyond the real pixels are not zero by themselves."""
    rng = np.random.default_rng(1)
    return {k: dict(v, bias=jnp.asarray(rng.normal(0, 0.2, v["bias"].shape), jnp.float32))
            for k, v in tiny_params.items()}


def _img(seed, hw):
    return np.random.default_rng(seed).uniform(0, 255, hw + (3,)).astype(np.float32)


def test_bucket_sizes():
    assert vgg.bucket_hw((288, 384), 4) == (288, 384)
    assert vgg.bucket_hw((256, 384), 4) == (288, 384)  # short side up to a multiple of 384/4
    assert vgg.bucket_hw((384, 200), 4) == (384, 288)  # portrait: the width is padded
    assert vgg.bucket_hw((100, 384), 4) == (192, 384)
    assert vgg.bucket_hw((256, 384), 0) == (256, 384)
    with pytest.raises(UsageError):
        S.Config(buckets=-1)


def test_valid_masks_make_padded_features_equal(biased_params):
    x = vgg.preprocess(jnp.asarray(_img(0, (37, 51)))[None])
    layers = ("conv1_2", "conv2_1", "conv3_1", "conv4_2", "conv5_1")
    ref = vgg.apply(biased_params, x, layers)
    padded = jnp.pad(x, ((0, 0), (0, 11), (0, 13), (0, 0)), constant_values=50.0)
    got = vgg.apply(biased_params, padded, layers, valid=tuple(map(jnp.asarray, vgg.valid_masks((37, 51), (48, 64)))))
    for l in layers:
        h, w = ref[l].shape[1:3]
        assert (h, w) == vgg.block_hw((37, 51), l)
        np.testing.assert_allclose(got[l][0, :h, :w], ref[l][0], rtol=1e-4, atol=1e-4 * float(jnp.abs(ref[l]).max()))
        assert float(jnp.abs(got[l][0, h:]).max(initial=0.0)) == 0.0  # nothing beyond the real positions


@pytest.mark.parametrize("method", ["gatys", "paper", "mask"])
def test_padded_bucket_run_equals_unpadded_run(biased_params, method):
    """Same images up to float rounding after a few iterations.

    Longer runs drift apart as any two float orders do: once rounding flips one accept/reject
    decision of the L-BFGS line search the trajectories part (here within 8-12 iterations on
    random weights and images; losses end within ~1-2 %).
    """
    content, style = _img(2, (40, 64)), _img(3, (48, 48))
    mask = np.zeros((40, 64), np.float32)
    mask[8:30, 10:50] = 1.0
    kw = dict(method=method, size=64, iterations=5, scales=2, chunk=1, params=biased_params, conv="direct",
              filters={"conv5_1": [1, 2], "conv4_1": [3]}, mask=mask if method == "mask" else None)
    plan = levels.level_plan(content.shape, S.Config(buckets=3, **{k: v for k, v in kw.items() if k != "params"}))
    assert all(lv.pad_hw != lv.hw for lv in plan)  # every level is really padded
    a = S.stylize(content, style, **kw)
    b = S.stylize(content, style, buckets=3, **kw)
    assert a.image.shape == b.image.shape == content.shape
    np.testing.assert_allclose(b.image, a.image, atol=0.01)
    for k in ("loss", "style", "content", "tv"):
        assert b.losses[k] == pytest.approx(a.losses[k], rel=1e-3)
    # float32 noise: the zero padding changes the Gram sums' blocking (all-ones style masks: gatys 27 % off)
    assert [h["loss"] for h in b.history] == pytest.approx([h["loss"] for h in a.history], rel=3e-5)


def test_three_photos_two_sizes_compile_two_programs(tiny_params):
    """(40, 64) and (44, 64) share a bucket (44 x 64 at 3 buckets); the portrait (64, 40) is the second."""
    photos = [_img(4, (40, 64)), _img(5, (44, 64)), _img(6, (64, 40))]
    counts = {}
    for buckets in (3, 0):
        optimize.clear_caches()
        start = optimize.compile_count()
        items = list(S.stylize_batch(photos, _img(7, (32, 32)), method="gatys", size=64, iterations=2, scales=1,
                                     params=tiny_params, buckets=buckets))
        counts[buckets] = optimize.compile_count() - start
        assert [it.result.image.shape for it in items] == [p.shape for p in photos]
    assert counts == {3: 2, 0: 3}


def test_a_batch_computes_its_object_maps_once_per_bucket(tiny_params):
    """The auto map's VGG pass is padded to the batch's buckets too: 2 programs for 3 photos, not 3."""
    from jaxstyle.transfer import mapfeatures

    photos = [_img(4, (40, 64)), _img(5, (44, 64)), _img(6, (64, 40))]
    counts = {}
    for buckets in (3, 0):
        mapfeatures.compiled.clear_cache()
        items = list(S.stylize_batch(photos, _img(7, (32, 32)), method="auto", filters={"conv5_1": [1, 2]}, size=64,
                                     iterations=1, scales=1, params=tiny_params, buckets=buckets,
                                     map_options={"size": 64}))
        assert all(it.error is None for it in items)
        counts[buckets] = mapfeatures.compiled._cache_size()
    assert counts == {3: 2, 0: 3}


def test_a_map_batch_runs_one_vgg_pass_per_bucket_and_keeps_a_bad_photo_apart(tiny_params, tmp_path):
    """map_batch 3: the maps of three photos in two buckets come from 2 VGG passes (2 programs), not one
    per photo; an unreadable photo in the chunk gets its error and the others go on."""
    from jaxstyle.transfer import mapfeatures

    photos = [_img(4, (40, 64)), _img(5, (44, 64)), _img(6, (64, 40))]
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    kw = dict(method="auto", filters={"conv5_1": [1, 2]}, size=64, iterations=1, scales=1, params=tiny_params,
              buckets=3, map_options={"size": 64})
    calls = []
    real = mapfeatures.compiled

    def counted(*a, **k):
        calls.append(a[1].shape)
        return real(*a, **k)

    one = list(S.stylize_batch(photos, _img(7, (32, 32)), map_batch=1, **kw))
    mapfeatures.compiled.clear_cache()
    try:
        mapfeatures.compiled = counted
        many = list(S.stylize_batch([photos[0], str(bad)] + photos[1:], _img(7, (32, 32)), map_batch=3, **kw))
    finally:
        mapfeatures.compiled = real
    assert sorted(calls) == [(1, 64, 44, 3), (2, 44, 64, 3)]  # one pass per bucket
    assert real._cache_size() == 2
    assert "broken.jpg" in str(many[1].error) and many[1].result is None
    # the features equal one photo's pass to float rounding (test_objectmap.py); on 64 px noise GrabCut
    # flips whole maps at that rounding, so here only that each photo got its own map
    for a, b in zip(one, [many[0]] + many[2:]):
        assert b.result.object_map.shape == a.result.object_map.shape == a.result.image.shape[:2]


def test_map_batch_defaults_follow_the_backend():
    assert S.map_batch(S.Config(), "cpu") == 1
    assert S.map_batch(S.Config(), "gpu") == S.MAP_BATCH_ACCELERATOR
    assert S.map_batch(S.Config(map_batch=2), "gpu") == 2
    with pytest.raises(UsageError, match="map batch"):
        S.Config(map_batch=0)


def _photos(tmp_path, n=3):
    d = tmp_path / "photos"
    d.mkdir()
    for i in range(n):
        images.save_image(_img(10 + i, (32, 48 - 8 * (i % 2))), d / f"p{i}.png")
    return d


def _cli(monkeypatch, tiny_params, args):
    from jaxstyle.model import weights

    monkeypatch.setattr(weights, "load", lambda *a, **k: (tiny_params, {}))
    return stylize_cli.main(["--style", str(args.pop(0)), "--size", "32", "--iterations", "2", "--scales", "1",
                             "--method", "gatys", "--quiet"] + args)


def test_interrupted_batch_keeps_finished_outputs(monkeypatch, tmp_path, tiny_params):
    d = _photos(tmp_path)
    real = S._stylize_photo
    calls = []

    def stop_at_third(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        yield from real(*a, **k)

    monkeypatch.setattr(S, "_stylize_photo", stop_at_third)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        _cli(monkeypatch, tiny_params, [d / "p0.png", "--content", str(d), "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png"]  # whole files, no temporaries
    assert images.load_image(out / "p1.png").shape == (26, 32, 3)
    # the rerun leaves what is done and does the rest
    monkeypatch.setattr(S, "_stylize_photo", real)
    before = (out / "p0.png").stat().st_mtime_ns
    assert _cli(monkeypatch, tiny_params, [d / "p0.png", "--content", str(d), "--out", str(out),
                                           "--skip-existing"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png", "p2.png"]
    assert (out / "p0.png").stat().st_mtime_ns == before


def test_batch_reports_a_bad_photo_and_goes_on(monkeypatch, tmp_path, tiny_params, capsys):
    d = _photos(tmp_path, 2)
    (d / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    assert _cli(monkeypatch, tiny_params, [d / "p0.png", "--content", str(d / "*.*"), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "broken.jpg:" in printed and "2 of 3 photos" in printed and "1 failed" in printed
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png"]


def test_batch_flags_fail_before_any_work(monkeypatch, tmp_path, tiny_params):
    d = _photos(tmp_path, 2)
    with pytest.raises(UsageError, match="folder"):
        _cli(monkeypatch, tiny_params, [d / "p0.png", "--content", str(d), "--out", str(tmp_path / "x.png")])
    (tmp_path / "o").mkdir()
    images.save_image(_img(0, (8, 8)), tmp_path / "o" / "p1.png")
    with pytest.raises(UsageError, match="exists"):
        _cli(monkeypatch, tiny_params, [d / "p0.png", "--content", str(d), "--out", str(tmp_path / "o")])
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["p1.png"]
    with pytest.raises(UsageError, match="no images"):
        _cli(monkeypatch, tiny_params, [d / "p0.png", "--content", str(tmp_path / "o" / "*.jpg")])
    photos, batch = stylize_cli.expand_contents([str(d / "p0.png"), str(d / "p1.png")])
    assert batch and [p.name for p in photos] == ["p0.png", "p1.png"]
    assert stylize_cli.expand_contents([str(d / "p0.png")]) == ([d / "p0.png"], False)
