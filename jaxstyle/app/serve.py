"""Start the page: the shared :class:`session.Engine`, its map program compiled once, Gradio's server."""
from __future__ import annotations

import os

from .session import EXAMPLE_PHOTO, AppConfig, Engine, load_upload

__all__ = ["AppConfig", "start", "run"]


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
