"""Test helpers: the tiny random VGG-19 and where the shared real data lies.

The tiny VGG is built in numpy (the shapes of ``vgg.VGG19(..., width=1/16).init``): drawing
with jax.random compiles one small kernel per layer shape (tens of seconds on a busy 2-core
machine); numpy is instant.
"""
import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from jaxstyle.model import vgg

# Real photos, masks, styles and the ImageNet sample (not shipped): $JAXSTYLE_SHARED_DATA, else
# ../shared/data next to the checkout. Tests that need it skip, saying so, when it is absent.
SHARED = Path(os.environ.get("JAXSTYLE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def tiny_params(seed: int = 0, width: float = 1 / 16, as_numpy: bool = False) -> dict:
    """He-initialised random VGG-19 params at ``width`` times the real channel counts, zero biases."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in vgg.CONV_LAYERS:
        cin = 3 if name == "conv1_1" else max(1, int(vgg.IN_CHANNELS[name] * width))
        cout = max(1, int(vgg.CHANNELS[name] * width))
        k = (rng.standard_normal((3, 3, cin, cout)) * np.sqrt(2.0 / (9 * cin))).astype(np.float32)
        b = np.zeros(cout, np.float32)
        out[name] = {"kernel": k, "bias": b} if as_numpy else {"kernel": jnp.asarray(k), "bias": jnp.asarray(b)}
    return out
