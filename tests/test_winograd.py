"""Winograd convolutions (jaxstyle.model.winograd) and vgg.prepare, against lax's direct convolution."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstyle.model import vgg, winograd
from jaxstyle.errors import UsageError
from helpers import tiny_params


def _direct(x, k):
    return jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _case(shape, cout, seed=0):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
    k = jnp.asarray(rng.standard_normal((3, 3, shape[-1], cout)) * np.sqrt(2 / (9 * shape[-1])), jnp.float32)
    return x, k


# odd sizes, sizes below one tile, non-square, batch > 1
SHAPES = [(2, 13, 17, 5), (1, 3, 7, 4), (1, 1, 1, 3)]


@pytest.mark.parametrize("m", sorted(winograd.MATRICES))
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_matches_direct(m, shape):
    x, k = _case(shape, 7)
    u = jnp.asarray(winograd.transform_kernel(k, m))
    assert u.shape == ((m + 2) ** 2, shape[-1], 7)
    ref = _direct(x, k)
    got = winograd.conv3x3(x, u)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-5 * float(jnp.max(jnp.abs(ref))) * m)


@pytest.mark.parametrize("m", sorted(winograd.MATRICES))
def test_gradients_match_direct(m):
    x, k = _case((2, 11, 14, 6), 5, seed=1)
    u = jnp.asarray(winograd.transform_kernel(k, m))
    t = jnp.asarray(np.random.default_rng(2).standard_normal((2, 11, 14, 5)), jnp.float32)
    # a non-linear loss, so the cotangent reaching the convolution is not constant
    gx = jax.grad(lambda x: jnp.sum(jnp.sin(winograd.conv3x3(x, u)) * t))(x)
    rx = jax.grad(lambda x: jnp.sum(jnp.sin(_direct(x, k)) * t))(x)
    np.testing.assert_allclose(gx, rx, rtol=0, atol=1e-4 * float(jnp.max(jnp.abs(rx))) * m)
    # the kernel cotangent against the derivative along d of the plain (autodiff) forward
    d = jnp.asarray(np.random.default_rng(3).standard_normal(u.shape), jnp.float32)
    du = jax.grad(lambda u: jnp.sum(jnp.sin(winograd.conv3x3(x, u)) * t))(u)
    _, jvp = jax.jvp(lambda u: jnp.sum(jnp.sin(winograd._forward(x, u)) * t), (u,), (d,))
    np.testing.assert_allclose(float(jnp.vdot(du, d)), float(jvp), rtol=1e-3)


def test_transform_kernel_rejects_bad_input():
    with pytest.raises(ValueError, match="tile m=3"):
        winograd.transform_kernel(np.zeros((3, 3, 2, 2)), 3)
    with pytest.raises(ValueError, match="kernel"):
        winograd.transform_kernel(np.zeros((5, 5, 2, 2)), 2)
    with pytest.raises(ValueError, match="not a Winograd kernel"):
        winograd.tile_size(np.zeros((9, 2, 2)))


def test_prepare_is_pure_idempotent_and_reversible(monkeypatch):
    monkeypatch.setattr(vgg, "WINOGRAD_MIN_CHANNELS", 1)
    p = tiny_params()
    w = vgg.prepare(p, "winograd")
    assert all("winograd" not in v for v in p.values())  # input untouched
    assert sorted(n for n, v in w.items() if "winograd" in v) == sorted(vgg.WINOGRAD_TILE)
    for n, m in vgg.WINOGRAD_TILE.items():
        assert winograd.tile_size(w[n]["winograd"]) == m
    again = vgg.prepare(w, "winograd")
    assert all(again[n]["winograd"] is w[n]["winograd"] for n in vgg.WINOGRAD_TILE)
    assert all("winograd" not in v for v in vgg.prepare(w, "direct").values())
    fwd = vgg.prepare(w, "winograd", grad=False)  # forward-only: block 2 back to direct
    assert vgg.WINOGRAD_FORWARD_ONLY_SKIP and all("winograd" not in fwd[n] for n in vgg.WINOGRAD_FORWARD_ONLY_SKIP)
    assert sorted(n for n, v in fwd.items() if "winograd" in v) == sorted(
        set(vgg.WINOGRAD_TILE) - set(vgg.WINOGRAD_FORWARD_ONLY_SKIP))
    assert any("winograd" in v for v in vgg.prepare(p, "auto", backend="cpu").values())
    assert all("winograd" not in v for v in vgg.prepare(p, "auto", backend="gpu").values())
    with pytest.raises(UsageError, match="convolution algorithm"):
        vgg.prepare(p, "fft")


def test_narrow_layers_stay_direct():
    w = vgg.prepare(tiny_params(), "winograd")  # widths 1/16: at most 32 input channels
    assert all("winograd" not in v for v in w.values())


def test_prepared_vgg_matches_direct_features_and_pixel_gradient(monkeypatch):
    monkeypatch.setattr(vgg, "WINOGRAD_MIN_CHANNELS", 1)
    p = tiny_params(width=1 / 8)
    w = vgg.prepare(p, "winograd")
    img = jnp.asarray(np.random.default_rng(4).uniform(0, 255, (1, 70, 52, 3)), jnp.float32)
    layers = ("conv3_1", "conv4_2", "conv5_1")
    a, b = vgg.features(p, img, layers), vgg.features(w, img, layers)
    for l in layers:
        np.testing.assert_allclose(b[l], a[l], rtol=0, atol=1e-4 * float(jnp.max(jnp.abs(a[l]))))
    f = lambda params, x: jnp.sum(vgg.apply(params, vgg.preprocess(x), ("conv5_1",))["conv5_1"] ** 2)
    g = jax.jit(jax.grad(f, argnums=1))
    ga, gb = g(p, img), g(w, img)
    assert float(jnp.linalg.norm(gb - ga) / jnp.linalg.norm(ga)) < 1e-3


def test_stylize_levels_use_winograd_only_with_enough_work():
    from jaxstyle.transfer import levels as S

    big = (288, 512)
    assert S.level_uses_fast_conv("auto", big, 20)  # 2.9M pixel-iterations
    assert not S.level_uses_fast_conv("auto", (72, 128), 50)  # 0.46M: the compile would not pay back
    assert S.level_uses_fast_conv("winograd", (72, 128), 1) and S.level_uses_fast_conv("direct", (72, 128), 1)
    n = S.WINOGRAD_MIN_WORK
    assert S.level_uses_fast_conv("auto", (100, 100), n // 10_000) != S.level_uses_fast_conv("auto", (100, 100),
                                                                                              n // 10_000 - 1)
