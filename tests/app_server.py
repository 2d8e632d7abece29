"""The app's page and API tests' server: ``jaxstyle app`` in a subprocess (:func:`jaxstyle.app.serve.spawn`)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from jaxstyle.app.serve import serving  # noqa: F401 - the tests' check that the server goes on

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def app_server(*flags: str):
    """One server with ``flags``: ``(url, process)``; its output goes to ``$JAXSTYLE_APP_LOG`` when set."""
    from jaxstyle.app.serve import spawn

    path = os.environ.get("JAXSTYLE_APP_LOG")
    with open(path or os.devnull, "a") as log, spawn(*flags, log=log) as server:
        yield server
