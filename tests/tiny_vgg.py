"""Tiny random VGG-19 params built in numpy (same shapes as ``vgg.init_params(width=1/16)``).

``vgg.init_params`` draws with jax.random op by op, which compiles one small kernel per
layer shape (tens of seconds on a busy 2-core machine); numpy is instant.
"""
import jax.numpy as jnp
import numpy as np

from jaxstyle import vgg


def tiny_params(seed: int = 0, width: float = 1 / 16, as_numpy: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for name in vgg.CONV_LAYERS:
        cin = 3 if name == "conv1_1" else max(1, int(vgg.IN_CHANNELS[name] * width))
        cout = max(1, int(vgg.CHANNELS[name] * width))
        k = (rng.standard_normal((3, 3, cin, cout)) * np.sqrt(2.0 / (9 * cin))).astype(np.float32)
        b = np.zeros(cout, np.float32)
        out[name] = {"kernel": k, "bias": b} if as_numpy else {"kernel": jnp.asarray(k), "bias": jnp.asarray(b)}
    return out
