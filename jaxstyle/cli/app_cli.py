"""``jaxstyle app``: serve the web page (Gradio) on this machine."""
from __future__ import annotations

from typing import Sequence

from . import ArgumentParser, positive_int


def positive_float(s: str) -> float:
    import argparse

    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not 0 < v < float("inf"):
        raise argparse.ArgumentTypeError(f"{s} must be a number > 0")
    return v


def build_parser() -> ArgumentParser:
    from ..app.session import MAX_UPLOAD_MB

    p = ArgumentParser(prog="jaxstyle app", description="A local web page: upload a photo, see and fix the object "
                       "map, stylize it with a painting, download the result (needs pip install -e '.[app]').")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=positive_int, default=7860, help="port to listen on")
    p.add_argument("--styles", default=None, metavar="DIR",
                   help="a folder of paintings the page offers beside the bundled one")
    p.add_argument("--max-upload-mb", type=positive_float, default=MAX_UPLOAD_MB, help="largest upload accepted, in MB")
    p.add_argument("--weights", default=None, help="VGG-19 .npz (default weights/vgg19.npz; made on first use)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        import gradio  # noqa: F401
    except ModuleNotFoundError:
        from ..errors import JaxstyleError
        raise JaxstyleError("jaxstyle app needs Gradio: pip install -e '.[app]'") from None
    from .._cache import enable_compilation_cache
    from ..app import serve

    enable_compilation_cache()
    serve.run(serve.AppConfig(styles_dir=a.styles, max_upload_mb=a.max_upload_mb, weights=a.weights),
              a.host, a.port)
    return 0
