import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle.transfer import losses


def _feats(key, shape=(6, 5, 8)):
    return jax.random.uniform(key, shape)


def test_selected_gram_is_sub_block_of_full_gram():
    f = _feats(jax.random.PRNGKey(1))
    sel = [1, 4, 6]
    full = losses.gram(f)
    np.testing.assert_allclose(losses.gram(f, channels=sel), full[np.ix_(sel, sel)], rtol=1e-6)


def test_guided_gram_all_ones_mask_equals_plain_gram():
    f = _feats(jax.random.PRNGKey(2))
    np.testing.assert_allclose(losses.gram(f, mask=jnp.ones(f.shape[:2])), losses.gram(f), rtol=1e-5)


def test_guided_gram_ignores_masked_out_positions():
    f = _feats(jax.random.PRNGKey(3))
    m = jnp.zeros(f.shape[:2]).at[:3].set(1.0)
    g = losses.gram(f, mask=m)
    np.testing.assert_allclose(g, losses.gram(f[:3]), rtol=1e-5)
    f2 = f.at[3:].set(100.0)  # changing the masked-out part changes nothing
    np.testing.assert_allclose(losses.gram(f2, mask=m), g, rtol=1e-5)


def test_content_and_style_losses_zero_at_target_and_positive_elsewhere():
    k1, k2 = jax.random.split(jax.random.PRNGKey(4))
    f, p = _feats(k1), _feats(k2)
    assert float(losses.content_loss(f, f)) == 0.0
    assert float(losses.content_loss(f, p)) > 0.0
    assert float(losses.style_loss(f, losses.gram(f))) < 1e-10
    assert float(losses.style_loss(f, losses.gram(p))) > 0.0


def test_weighted_content_loss_only_counts_weighted_positions():
    k1, k2 = jax.random.split(jax.random.PRNGKey(5))
    f, p = _feats(k1), _feats(k2)
    w = jnp.zeros(f.shape[:2]).at[0, 0].set(1.0)
    expect = float(jnp.mean(jnp.square(f[0, 0] - p[0, 0])))
    assert abs(float(losses.content_loss(f, p, w)) - expect) < 1e-6


def test_tv_loss_zero_on_flat_image_positive_on_noise():
    assert float(losses.tv_loss(jnp.full((8, 8, 3), 7.0))) == 0.0
    assert float(losses.tv_loss(jax.random.uniform(jax.random.PRNGKey(6), (8, 8, 3)))) > 0.0


def test_resize_of_a_mask_keeps_mean_roughly():
    m = jnp.zeros((32, 32)).at[:16].set(1.0)
    r = losses.resize(m, (8, 8))
    assert r.shape == (8, 8)
    assert abs(float(r.mean()) - 0.5) < 0.05


def test_style_loss_gradient_takes_one_product_of_the_features_and_matches_autodiff():
    """The Gram's gradient ``F (g + g^T)`` is one product, and it equals autodiff of ``F^T F``."""
    f = _feats(jax.random.PRNGKey(3), (7, 6, 5))
    t = jax.random.uniform(jax.random.PRNGKey(4), (5, 5))
    mask = jax.random.uniform(jax.random.PRNGKey(5), (7, 6))

    def plain(f, mask):
        fm = f.reshape(-1, 5) * mask.reshape(-1, 1)
        return jnp.mean(jnp.square(fm.T @ fm / jnp.sum(mask * mask) - t))

    for m in (None, mask):
        got = jax.grad(lambda f: losses.style_loss(f, t, m))(f)
        want = jax.grad(lambda f: plain(f, jnp.ones((7, 6)) if m is None else m))(f)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-7)
    jaxpr = str(jax.make_jaxpr(jax.grad(lambda f: losses.style_loss(f, t)))(f))  # nested jaxprs printed too
    assert jaxpr.count("dot_general[") == 2  # the Gram and its one gradient product (autodiff: 3)
