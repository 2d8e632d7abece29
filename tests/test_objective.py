"""The objective: its terms, their composition, and the guided content balance."""
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstyle.model import vgg
from jaxstyle.transfer import inputs, objective as O


def _content_term(params, content, x, region, pad_hw=None):
    """The guided objective's content term at ``x`` for ``region`` (padded to ``pad_hw`` when given)."""
    hw = content.shape[:2]
    style = np.random.default_rng(1).uniform(0, 255, (20, 20, 3)).astype(np.float32)
    tg = O.style_targets(params, [style], [1.0], O.GATYS_STYLE_LAYERS, max(hw), 1.0, "max")
    spec = dict(style_layers=O.GATYS_STYLE_LAYERS, style_targets=tg, channels={}, region=jnp.asarray(region),
                layer_weights={l: 0.2 for l in O.GATYS_STYLE_LAYERS}, normalize="relative", pooling="max",
                weights=dict(content=1.0, style=1.0, tv=0.0))
    if pad_hw is None:
        spec.update(base=jnp.asarray(content), content_target=vgg.features(params, content, (O.CONTENT_LAYER,))[
            O.CONTENT_LAYER])
    else:
        valid = vgg.valid_masks(hw, pad_hw)
        base = inputs.pad(jnp.asarray(content), pad_hw, "edge")
        layers = O.GATYS_STYLE_LAYERS + (O.CONTENT_LAYER,)
        spec.update(base=base, valid=valid, guided=True, region=inputs.pad(jnp.asarray(region), pad_hw),
                    masks=O.layer_masks(jnp.asarray(region), pad_hw, layers),
                    content_target=O.padded_content_target(params, base, tuple(map(jnp.asarray, valid)), "max"))
        x = inputs.pad(jnp.asarray(x), pad_hw, "edge")
    f, args = O.make(params, spec)
    return float(f(jnp.asarray(x), args)[1]["content"])


@pytest.mark.parametrize("pad_hw", [None, (128, 160)])
def test_content_balance_per_object_pixel_does_not_depend_on_the_objects_share(tiny_params, pad_hw):
    """The same object and region in a frame 4x as large (a quarter of the share) get the same
    content term: the content error is averaged over the region, as the guided Grams are (a
    mean over the frame would give the larger frame a quarter of it)."""
    rng = np.random.default_rng(3)
    big = rng.uniform(0, 255, (128, 128, 3)).astype(np.float32)
    x_big = big.copy()
    x_big[16:48, 16:48] = np.clip(big[16:48, 16:48] + rng.normal(0, 25, (32, 32, 3)), 0, 255)
    region = np.zeros((128, 128), np.float32)
    region[16:48, 16:48] = 1.0
    c_small_share = _content_term(tiny_params, big, x_big, region, pad_hw)
    c_large_share = _content_term(tiny_params, big[:64, :64], x_big[:64, :64], region[:64, :64],
                                  None if pad_hw is None else (64, 80))
    assert 0.7 < c_small_share / c_large_share < 1.4, (c_small_share, c_large_share)


def test_the_objective_is_the_weighted_sum_of_its_terms(tiny_params):
    """``f``'s loss is :func:`objective.weighted_sum` of the terms it reports, and each term is its function's."""
    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, (32, 40, 3)).astype(np.float32)
    x = jnp.asarray(np.clip(content + rng.normal(0, 20, content.shape), 0, 255).astype(np.float32))
    style = rng.uniform(0, 255, (20, 20, 3)).astype(np.float32)
    plan = O.gatys_style()
    weights = dict(content=2.0, style=3.0, tv=0.5)
    spec = dict(style_layers=plan.layers, channels=plan.channels, layer_weights=plan.layer_w, region=None,
                style_targets=O.style_targets(tiny_params, [style], [1.0], plan.layers, 40, 1.0, "max"),
                content_target=vgg.features(tiny_params, content, (O.CONTENT_LAYER,))[O.CONTENT_LAYER],
                base=jnp.asarray(content), normalize="relative", weights=weights, pooling="max")
    f, args = O.make(tiny_params, spec)
    loss, terms = f(x, args)
    np.testing.assert_allclose(float(loss), float(O.weighted_sum(terms, weights)), rtol=1e-6)
    assert float(O.tv_term(x, None)) == pytest.approx(float(terms["tv"]), rel=1e-6)
    assert all(float(terms[k]) > 0 for k in ("style", "content", "tv"))
    assert O.objective_fn(plan.layers, (), True, False, "max", False) is f  # one function per configuration


def test_paper_style_uses_the_selected_filters_only():
    sel = {"conv5_1": [1, 2, 3], "conv4_1": [0]}
    equal, prop = O.style_plan("paper", sel, "equal", "paper"), O.style_plan("paper", sel, "proportional", "paper")
    assert equal.layers == prop.layers == ("conv4_1", "conv5_1")
    assert [int(i) for i in equal.channels["conv5_1"]] == [1, 2, 3]
    assert equal.layer_w == {"conv4_1": 0.5, "conv5_1": 0.5} and prop.layer_w == {"conv4_1": 0.25, "conv5_1": 0.75}
    assert O.style_plan("gatys", None, "equal", "default") == O.gatys_style()
