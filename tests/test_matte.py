"""The map's matted edge (jaxstyle/transfer/matte.py): trimap, pymatting's alpha, the MapConfig switch."""
from dataclasses import replace

import numpy as np
import pytest

from jaxstyle.errors import JaxstyleError, UsageError
from jaxstyle.transfer import matte
from jaxstyle.transfer.edges import blurred_edge
from jaxstyle.transfer.mapconfig import MapConfig


def _scene(hw=(96, 128), shift=3):
    """Two flat colours split by a wavy, anti-aliased outline (the true alpha), and a mask
    that is a plain disc ``shift`` px larger than the object's mean radius: wrong by a few pixels."""
    h, w = hw
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    cy, cx = h / 2, w / 2
    ang = np.arctan2(yy - cy, xx - cx)
    r = np.hypot(yy - cy, xx - cx)
    radius = 30 + 4 * np.sin(7 * ang)                      # the object's outline: ears and dips
    a_true = np.clip(radius - r + 0.5, 0.0, 1.0)            # one pixel of anti-aliasing
    fg, bg = np.array([200.0, 120.0, 60.0]), np.array([40.0, 90.0, 160.0])
    rgb = a_true[..., None] * fg + (1 - a_true[..., None]) * bg
    mask = (r <= 30 + shift).astype(np.float32)
    return rgb.astype(np.float32), mask, a_true


def test_trimap_band():
    m = np.zeros((100, 100), bool)
    m[20:80, 20:80] = True
    tri = matte.trimap(m, 0.05)                             # 5 px each side
    assert tri[50, 50] == 1.0 and tri[5, 5] == 0.0
    assert tri[20, 50] == 0.5 and tri[16, 50] == 0.5 and tri[24, 50] == 0.5
    assert tri[25, 50] == 1.0 and tri[14, 50] == 0.0
    assert set(np.unique(tri)) == {0.0, 0.5, 1.0}


def test_matte_follows_the_photo_where_the_blur_does_not():
    """The mask is a disc a few px off a wavy outline: the matte's alpha lands on the photo's outline."""
    rgb, mask, a_true = _scene()
    band = (matte.trimap(mask, 0.06) == 0.5)
    a = matte.matted(rgb, blurred_edge(mask, 0.01), 0.06)
    b = blurred_edge(mask, 0.01)
    err_matte, err_blur = np.abs(a - a_true)[band].mean(), np.abs(b - a_true)[band].mean()
    assert err_matte < 0.05 and err_matte < 0.3 * err_blur, (err_matte, err_blur)
    assert np.array_equal(a[~band], mask[~band])            # known pixels keep the trimap's value
    assert a.dtype == np.float32 and 0.0 <= a.min() and a.max() <= 1.0


def test_empty_full_and_unmattable_maps_pass_through():
    rgb = np.zeros((20, 30, 3), np.float32)
    for m in (np.zeros((20, 30), np.float32), np.ones((20, 30), np.float32)):
        assert np.array_equal(matte.matted(rgb, m, 0.05), m)
    thin = np.zeros((20, 30), np.float32)
    thin[10, 10:20] = 1.0                                   # eroded away: no sure object to learn from
    assert np.array_equal(matte.matted(rgb, thin, 0.1), thin)


def test_bad_input_is_one_line_error():
    with pytest.raises(JaxstyleError, match="do not match"):
        matte.alpha(np.zeros((10, 10)), np.zeros((10, 10)))
    with pytest.raises(JaxstyleError, match="unknown estimator"):
        matte.alpha(np.zeros((10, 10, 3)), np.zeros((10, 10)), "nope")
    for bad in ({"edge": "sharp"}, {"band": 0.0}, {"band": 0.5}, {"matte": "nope"}):
        with pytest.raises(UsageError):
            replace(MapConfig(), **bad)


def test_missing_pymatting_is_one_line_error(monkeypatch):
    import sys

    rgb, mask, _ = _scene()
    monkeypatch.setitem(sys.modules, "pymatting", None)
    with pytest.raises(JaxstyleError, match="pymatting"):
        matte.matted(rgb, mask, 0.1)


def test_object_map_with_the_matte_is_the_blurred_map_matted(tiny_params):
    from jaxstyle.transfer import objectmap as om

    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (48, 64, 3)).astype(np.float32)
    img[10:38, 16:48] = [230, 30, 30]
    flt = {"conv5_1": [1, 2], "conv4_1": [3]}
    cfg = MapConfig(size=64)
    blur = om.object_map(tiny_params, img, flt, None, cfg)["map"]
    mat = om.object_map(tiny_params, img, flt, None, replace(cfg, edge="matte", band=0.05))["map"]
    assert np.array_equal(mat, matte.matted(img, blur, 0.05))
    assert not np.array_equal(mat, blur)


def test_refine_with_the_matte_follows_the_photo_and_keeps_the_strokes():
    from jaxstyle.transfer import grabcut

    rgb, mask, a_true = _scene()
    cfg = MapConfig(size=128)
    stroke = np.zeros(mask.shape, bool)
    stroke[44:52, 2:10] = True                              # a remove stroke in the background
    blur = grabcut.refine(rgb, mask, remove=stroke, cfg=cfg)
    mat = grabcut.refine(rgb, mask, remove=stroke, cfg=replace(cfg, edge="matte", band=0.06))
    assert (mat[stroke] == 0).all()
    band = matte.trimap(mat >= 0.5, 0.06) == 0.5
    assert np.abs(mat - a_true)[band].mean() < np.abs(blur - a_true)[band].mean()
