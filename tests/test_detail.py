"""The detail band of a new level: mirror and tile, random phases, the styles' fine band."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle.transfer import detail


def test_mirror_and_tile():
    a = jnp.arange(2 * 3 * 1, dtype=jnp.float32).reshape(2, 3, 1)
    m = np.asarray(detail.mirror(a))
    assert m.shape == (4, 6, 1)
    np.testing.assert_array_equal(m[:2, :3], a)
    np.testing.assert_array_equal(m[2:4, :3], np.asarray(a)[::-1])  # reflected, so rows 1 and 2 are equal
    np.testing.assert_array_equal(m[:2, 3:6], np.asarray(a)[:, ::-1])
    t = np.asarray(detail.tile(jnp.asarray(m), (5, 7)))
    assert t.shape == (5, 7, 1)
    np.testing.assert_array_equal(t[4], t[0])  # it repeats with the mirror image's period
    np.testing.assert_array_equal(t[:, 6], t[:, 0])


def test_style_detail_is_the_styles_fine_band():
    """A flat style has no detail; a pixel-level checkerboard is all detail; weights mix as sqrt."""
    key = jax.random.PRNGKey(0)
    flat = np.full((16, 16, 3), 120.0, np.float32)
    assert float(jnp.abs(detail.style_detail([flat], [1.0], 16, 1.0, (32, 32), (16, 16), key)).max()) < 1e-3
    yy, xx = np.mgrid[:16, :16]
    check = np.repeat((((yy + xx) % 2) * 200.0 + 20.0)[..., None], 3, -1).astype(np.float32)
    # hw = one period of the 16 px style's mirror image, so the random phases keep the band's energy exactly
    d = np.asarray(detail.style_detail([check], [1.0], 16, 1.0, (32, 32), (16, 16), key))
    assert d.shape == (32, 32, 3)
    assert abs(d.mean()) < 5.0 and d.std() > 60.0  # zero-mean, most of the checkerboard's +-100
    two = np.asarray(detail.style_detail([check, flat], [3.0, 1.0], 16, 1.0, (32, 32), (16, 16), key))
    np.testing.assert_allclose(two.std(), np.sqrt(0.75) * d.std(), rtol=1e-3)


def test_random_phase_keeps_the_spectra_and_drops_the_layout():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(32, 48, 1)).astype(np.float32)
    a = np.concatenate([base, 0.5 * base + rng.normal(size=base.shape).astype(np.float32), -base], -1)
    b = np.asarray(detail.random_phase(jnp.asarray(a), jax.random.PRNGKey(1)))
    fa, fb = np.fft.fft2(a, axes=(0, 1)), np.fft.fft2(b, axes=(0, 1))
    np.testing.assert_allclose(np.abs(fb), np.abs(fa), rtol=1e-3, atol=1e-3)  # each channel's spectrum
    np.testing.assert_allclose(np.cov(b.reshape(-1, 3).T), np.cov(a.reshape(-1, 3).T), rtol=1e-3, atol=1e-3)
    assert abs(np.corrcoef(a[..., 0].ravel(), b[..., 0].ravel())[0, 1]) < 0.2  # not the same picture
    c = np.asarray(detail.random_phase(jnp.asarray(a), jax.random.PRNGKey(2)))
    assert np.abs(c - b).max() > 0.1  # the key decides the layout


def test_style_detail_with_a_key_tiles_without_seams():
    """The random-phase band of a mirror image is periodic, so it tiles: no edge at the seam."""
    rng = np.random.default_rng(3)
    style = rng.uniform(0, 255, (16, 16, 3)).astype(np.float32)
    d = np.asarray(detail.style_detail([style], [1.0], 16, 1.0, (80, 80), (40, 40), jax.random.PRNGKey(0)))
    assert d.shape == (80, 80, 3)
    np.testing.assert_allclose(d[32:64], d[:32], atol=1e-3)  # period 2 x 16 = 32 pixels
    step = np.abs(np.diff(d, axis=0)).mean(axis=(1, 2))
    assert step[31] < 2 * np.median(step)  # the seam row is an ordinary row
