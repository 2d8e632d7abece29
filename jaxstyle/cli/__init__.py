"""The command-line layer: the ``jaxstyle`` command, its subcommands, the error edge, flag parsers.

``jaxstyle stylize|score|probe|head|visualize|evaluate|convert|class-groups|gallery|app`` (also
``python -m jaxstyle ...``) dispatches to each command's ``main(argv)``; ``scripts/*.py`` are
thin shells over the same functions. Every command reports a user error as one line on
stderr with the exit codes in :mod:`jaxstyle.errors` (0 done, 1 runtime, 2 usage, 130
interrupted) and shows every flag's default in ``--help``.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

from ..allocator import keep_freed_memory
from ..errors import JaxstyleError, UsageError

__all__ = ["JaxstyleError", "UsageError", "run_main", "ArgumentParser", "positive_int", "nonneg_float",
           "COMMANDS", "main", "entry", "script", "config_from_args", "flag_gaps"]

# subcommand -> (module with main(argv), one-line summary)
COMMANDS = {
    "stylize": ("jaxstyle.cli.stylize_cli", "put a painting's style on one object of a photo"),
    "score": ("jaxstyle.cli.score_cli", "score VGG-19 filters for a class on an image pool"),
    "probe": ("jaxstyle.cli.probe_cli", "train the class probe the object map uses on an image pool"),
    "classes": ("jaxstyle.cli.classes_cli", "list the classes with a probe: training data and measured map IoU"),
    "head": ("jaxstyle.cli.head_cli", "train the cell head the learned object map uses on image pools"),
    "visualize": ("jaxstyle.cli.visualize_cli", "render what chosen filters respond to (activation maximisation)"),
    "evaluate": ("jaxstyle.cli.evaluate_cli", "score object-only stylization on masked photos"),
    "convert": ("jaxstyle.cli.convert_cli", "convert real VGG-19 weights to weights/vgg19.npz"),
    "class-groups": ("jaxstyle.cli.class_groups_cli", "regenerate the class-group table from WordNet 3.0"),
    "gallery": ("jaxstyle.cli.gallery_cli", "before/after rows for the docs"),
    "app": ("jaxstyle.cli.app_cli", "a local web page: see and fix the object map, stylize, download"),
}
INSTALL_HINT = f"pip install -e {Path(__file__).resolve().parents[2]}"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written and appends ``(default: X)`` to every flag that has a default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if (d is not None and d is not False and d is not argparse.SUPPRESS and action.option_strings
                and "%(default)" not in text and "(default" not in text and "default:" not in text
                and f"default {d}" not in text):
            text += " (default: %(default)s)"
        return text


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2 and shows defaults in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D401
        raise UsageError(f"{self.prog}: {message}")

    def dests(self) -> list[str]:
        """The names the parsed flags get (``argparse.Namespace`` attributes), ``--help`` aside."""
        return [a.dest for a in self._actions if a.dest not in ("help", argparse.SUPPRESS)]


def flag_gaps(config: type, dests: Iterable[str], *, derived: Collection[str] = (), unflagged: Collection[str] = (),
              not_config: Collection[str] = ()) -> tuple[list[str], list[str]]:
    """What ties a command's flags to its config dataclass, and what is loose: (fields with no flag,
    flags that set no field).

    A field is set by the flag of its name, or ``derived`` by the command from several flags,
    or is ``unflagged`` (keeps its default on the command line). A flag sets the field of its
    name, or is ``not_config`` (outputs, inputs, what goes into a derived field).
    """
    dests = set(dests)
    names = [f.name for f in dataclasses.fields(config)]
    return ([n for n in names if n not in dests and n not in derived and n not in unflagged],
            sorted(d for d in dests if d not in names and d not in not_config))


def config_from_args(config: type, args: argparse.Namespace, unflagged: Collection[str] = (), **derived):
    """A ``config`` dataclass from parsed ``args``: each field from the flag of its name or from
    ``derived`` (the command's values made from several flags); ``unflagged`` fields keep their
    defaults. A field in none of them is a flag forgotten: TypeError (:func:`flag_gaps`)."""
    missing = flag_gaps(config, vars(args), derived=derived, unflagged=unflagged)[0]
    if missing:
        raise TypeError(f"{config.__name__} has no flag for {', '.join(missing)}")
    return config(**{f.name: derived[f.name] if f.name in derived else getattr(args, f.name)
                     for f in dataclasses.fields(config) if f.name not in unflagged})


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
    except ModuleNotFoundError as e:
        if debug:
            traceback.print_exc()
        print(f"error: missing module {e.name!r}; install jaxstyle and its dependencies: {INSTALL_HINT}",
              file=sys.stderr)
        return 1
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


def _command_main(name: str) -> Callable[[Sequence[str] | None], int | None]:
    return importlib.import_module(COMMANDS[name][0]).main


def main(argv: Sequence[str] | None = None) -> int:
    """``jaxstyle COMMAND [flags]``: run one subcommand (``jaxstyle COMMAND --help`` for its flags)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        lines = [f"  {n:<13} {summary}" for n, (_, summary) in COMMANDS.items()]
        print("usage: jaxstyle COMMAND [flags]   (jaxstyle COMMAND --help for its flags)\n\ncommands:\n"
              + "\n".join(lines) + "\n\nexit codes: 0 done, 1 runtime error, 2 usage error, 130 interrupted")
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from .. import __version__

        print(f"jaxstyle {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        import difflib

        near = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f"; did you mean {near[0]}?" if near else f"; one of {', '.join(COMMANDS)}"
        print(f"error: jaxstyle: unknown command {name!r}{hint}", file=sys.stderr)
        return 2
    return run_main(lambda a: _command_main(name)(a), rest)


def entry() -> None:
    """The ``jaxstyle`` console script (the process is ours: the allocator keeps freed memory)."""
    keep_freed_memory()
    sys.exit(main())


def script(name: str) -> None:
    """``scripts/<name>.py``: the same command as ``jaxstyle <name>``."""
    keep_freed_memory()
    sys.exit(run_main(lambda a: _command_main(name)(a)))
