"""The VGG-19 Flax module: params as stored, any taps, pre-activations, Winograd inside."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_params

from jaxstyle.model import vgg
from jaxstyle.errors import UsageError


def _x(h=40, w=48, seed=0):
    rgb = np.random.default_rng(seed).uniform(0, 255, (1, h, w, 3)).astype(np.float32)
    return vgg.preprocess(jnp.asarray(rgb))


def test_init_makes_the_stored_param_tree():
    v = vgg.VGG19(("conv5_1",), width=1 / 16).init(jax.random.PRNGKey(0), _x())["params"]
    want = jax.tree_util.tree_map(np.shape, tiny_params(as_numpy=True))
    assert jax.tree_util.tree_map(np.shape, dict(v)) == {k: want[k] for k in vgg.CONV_LAYERS[:13]}


def test_taps_are_the_chain_and_preact_is_before_relu():
    p, x = tiny_params(), _x()
    taps = ("conv1_1", "conv3_2", "conv4_2")
    out = vgg.VGG19(taps).apply({"params": p}, x)
    assert set(out) == set(taps) and out["conv3_2"].shape == (1, 10, 12, 256 // 16)
    # a deeper tap does not change a shallower one, and relu(pre) = post
    alone = vgg.apply(p, x, ("conv3_2",))["conv3_2"]
    np.testing.assert_array_equal(out["conv3_2"], alone)
    pre = vgg.apply(p, x, taps, preact=True)
    assert all((pre[l] < 0).any() for l in taps)
    for l in taps:
        np.testing.assert_array_equal(jax.nn.relu(pre[l]), out[l])
    # by hand: conv1_1 is one SAME 3x3 convolution plus bias
    k, b = p["conv1_1"]["kernel"], p["conv1_1"]["bias"]
    y = jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + b
    np.testing.assert_allclose(pre["conv1_1"], y, rtol=1e-6, atol=1e-5)
    with pytest.raises(UsageError):
        vgg.apply(p, x, ("conv6_1",))


def test_winograd_params_run_winograd_with_the_same_output():
    rng = np.random.default_rng(1)
    p = {l: {"kernel": jnp.asarray(rng.standard_normal((3, 3, ci, co)) * np.sqrt(2 / (9 * ci)), jnp.float32),
             "bias": jnp.zeros(co, jnp.float32)}
         for l, ci, co in (("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128))}
    x = _x(32, 32)
    fast = vgg.prepare(p, "winograd", "cpu")
    assert "winograd" in fast["conv2_1"] and "winograd" not in fast["conv1_1"]
    a = vgg.apply(p, x, ("conv2_1",))["conv2_1"]
    b = vgg.apply(fast, x, ("conv2_1",))["conv2_1"]
    assert not np.array_equal(a, b)  # a different algorithm ran ...
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3 * float(jnp.abs(a).max()))  # ... to the same result


def test_pooling_equals_reduce_window_and_its_gradient_needs_no_select_and_scatter():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 7, 9, 3))  # odd sides: the last row and column are dropped
    ref = {"max": lambda a: jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"),
           "avg": lambda a: jax.lax.reduce_window(a, 0.0, jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4}
    for mode, f in ref.items():
        ours = jax.grad(lambda a, mode=mode: jnp.sum(jnp.sin(vgg._pool(a, mode))))
        theirs = jax.grad(lambda a, f=f: jnp.sum(jnp.sin(f(a))))
        np.testing.assert_allclose(vgg._pool(x, mode), f(x), rtol=1e-6)
        np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-6, atol=1e-7)
        hlo = jax.jit(ours).lower(x).as_text()
        assert "select_and_scatter" not in hlo and "reduce_window" not in hlo
