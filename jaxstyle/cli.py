"""Command-line plumbing shared by ``scripts/*.py``: the error edge, flag parsers."""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Callable, Sequence

from .errors import JaxstyleError, UsageError

__all__ = ["JaxstyleError", "UsageError", "run_main", "ArgumentParser", "positive_int", "nonneg_float"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2."""

    def error(self, message: str):  # noqa: D401
        raise UsageError(f"{self.prog}: {message}")


def _int_at_least(s: str, minimum: int) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an integer") from None
    if v < minimum:
        raise argparse.ArgumentTypeError(f"{s} must be {'> 0' if minimum == 1 else f'>= {minimum}'}")
    return v


def positive_int(s: str) -> int:
    return _int_at_least(s, 1)


def nonneg_int(s: str) -> int:
    return _int_at_least(s, 0)


def nonneg_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{s} must be a finite number >= 0")
    return v


def unit_float(s: str) -> float:
    v = nonneg_float(s)
    if v > 1:
        raise argparse.ArgumentTypeError(f"{s} must be in [0, 1]")
    return v


def one_line(text: str) -> str:
    """Collapse newlines (from file names or library messages) so an error stays one line."""
    return " ".join(str(text).split()) if ("\n" in str(text) or "\r" in str(text)) else str(text)


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run ``main``; user errors become one line on stderr with exit 2 (usage) or 1 (runtime).

    ``--debug`` anywhere in argv (or ``JAXSTYLE_DEBUG=1``) shows the traceback instead.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("JAXSTYLE_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    try:
        return int(main(argv) or 0)
    except JaxstyleError as e:
        if debug:
            traceback.print_exc()
        print(f"error: {one_line(e)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted; no partial output was written", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try a smaller --size or --batch", file=sys.stderr)
        return 1
    except Exception as e:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc()
        print(f"error: internal error {type(e).__name__}: {one_line(str(e)[:200])} (rerun with --debug for a traceback)",
              file=sys.stderr)
        return 1
