"""Start the page: the shared :class:`session.Engine`, its map program compiled once, Gradio's server."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from typing import Iterator

from .session import EXAMPLE_PHOTO, AppConfig, Engine, load_upload

__all__ = ["AppConfig", "start", "run", "spawn", "serving"]
SPAWN_TIMEOUT_S = 240  # weights, the example's map compiled, Gradio's import, on a busy 2-core machine


def start(cfg: AppConfig, host: str = "127.0.0.1", port: int = 7860, engine: Engine | None = None,
          block: bool = False):
    """Build the engine (weights; the example photo's map, which compiles the map's program) and serve.

    Returns the :class:`gradio.Blocks` (its ``local_url`` is the address); ``block`` serves
    until interrupted instead.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a local tool
    from . import ui

    engine = engine or Engine(cfg)
    engine.locate(load_upload(EXAMPLE_PHOTO, None, cfg), "dog" if "dog" in engine.classes else engine.classes[0])
    page = ui.build(engine)
    page.queue(default_concurrency_limit=1)
    page.launch(server_name=host, server_port=port, max_file_size=int(cfg.max_upload_mb * 2**20), quiet=True,
                ssr_mode=False, prevent_thread_lock=True, show_error=False)
    print(f"jaxstyle app: serving on {page.local_url} (Ctrl-C to stop)", flush=True)
    if block:
        page.block_thread()
    return page


def run(cfg: AppConfig, host: str, port: int) -> None:
    """``jaxstyle app``: serve until interrupted."""
    start(cfg, host, port, block=True)


def serving(url: str) -> bool:
    """Whether the page at ``url`` answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status == 200
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def spawn(*flags: str, log=None, timeout: float = SPAWN_TIMEOUT_S) -> Iterator[tuple[str, subprocess.Popen]]:
    """``jaxstyle app FLAGS`` in a subprocess on a free port (tests, benchmarks): ``(url, process)`` once it
    serves; stopped on exit. ``log``: a file for its output (default: discarded)."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "jaxstyle", "app", "--port", str(port), *flags],
                            stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        end = time.time() + timeout
        while not serving(url):
            if proc.poll() is not None:
                raise RuntimeError(f"jaxstyle app exited with {proc.returncode} before serving")
            if time.time() > end:
                raise RuntimeError(f"jaxstyle app did not serve {url} within {timeout:.0f} s")
            time.sleep(0.5)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
