"""A ``jaxstyle app`` server in a subprocess for the app's page and API tests (one per test module)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 240  # weights, the example's map compiled, Gradio's import on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(*flags: str):
    """Start ``jaxstyle app`` on a free port with ``flags``; yields ``(url, process)``; stops it after."""
    port = free_port()
    log = open(os.devnull, "w") if os.environ.get("JAXSTYLE_APP_LOG") is None else open(
        os.environ["JAXSTYLE_APP_LOG"], "a")
    proc = subprocess.Popen([sys.executable, "-m", "jaxstyle", "app", "--port", str(port), *flags], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jaxstyle app exited with {proc.returncode} before serving")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"jaxstyle app did not serve {url} within {START_TIMEOUT_S} s")
            time.sleep(0.5)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def serving(url: str) -> bool:
    """Whether the page still answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status == 200
    except OSError:
        return False
