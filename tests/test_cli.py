"""The command-line layer: one dispatcher, the same exit codes, --help with defaults, thin scripts."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from jaxstyle import cli

ROOT = Path(__file__).resolve().parents[1]


class _Stop(Exception):
    pass


def _parser(name: str, monkeypatch) -> argparse.ArgumentParser:
    """The parser a command builds (its main stops at parse_args)."""
    got = []

    def grab(self, args=None, namespace=None):
        got.append(self)
        raise _Stop

    monkeypatch.setattr(cli.ArgumentParser, "parse_args", grab)
    with pytest.raises(_Stop):
        cli._command_main(name)(["--help"])
    return got[0]


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_flag_has_help_and_shows_its_default(name, monkeypatch):
    p = _parser(name, monkeypatch)
    assert p.prog == f"jaxstyle {name}"
    flags = [a for a in p._actions if a.option_strings and a.dest != "help"]
    assert flags
    missing = [a.option_strings[0] for a in flags if not (a.help or "").strip()]
    assert not missing, f"no help: {missing}"
    text = p.format_help()
    for a in flags:
        if a.default is not None and a.default is not False and a.default is not argparse.SUPPRESS:  # 0 too
            assert "default" in p._get_formatter()._get_help_string(a), a.option_strings[0]
    assert "default" in text


def test_dispatcher_usage_and_unknown_command(capsys):
    assert cli.main([]) == 2
    assert "stylize" in capsys.readouterr().out
    assert cli.main(["--help"]) == 0
    assert cli.main(["stylise"]) == 2
    assert "did you mean stylize" in capsys.readouterr().err
    assert cli.main(["stylize", "--size", "-3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: jaxstyle stylize:") and "\n" not in err


def test_output_exists_is_a_usage_error_in_every_command(tmp_path, capsys):
    out = tmp_path / "o.png"
    out.write_bytes(b"x")
    assert cli.main(["stylize", "--out", str(out), "--size", "32"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    npz = tmp_path / "w.npz"
    npz.write_bytes(b"x")
    assert cli.main(["convert", "--out", str(npz)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert npz.read_bytes() == b"x"


def test_script_without_the_package_says_how_to_install(tmp_path):
    """A clone run with a Python that cannot import jaxstyle: one line naming the install command."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"}
    r = subprocess.run([sys.executable, "-S", "-I", str(ROOT / "scripts" / "stylize.py")], env=env,
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "pip install -e" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_python_dash_m_runs_the_dispatcher():
    r = subprocess.run([sys.executable, "-m", "jaxstyle", "convert", "--help"], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert r.returncode == 0 and "usage: jaxstyle convert" in r.stdout and "pypi" in r.stdout


CONFIGS = {  # command -> (its CLI module, the config dataclass its flags build)
    "stylize": ("jaxstyle.cli.stylize_cli", "jaxstyle.transfer.stylize:Config"),
    "evaluate": ("jaxstyle.cli.evaluate_cli", "jaxstyle.evaluate.evaluation:RunConfig"),
    "visualize": ("jaxstyle.cli.visualize_cli", "jaxstyle.visualize.actmax:ActmaxConfig"),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_config_field_has_a_flag_and_every_flag_a_field(name, monkeypatch):
    """A field added to a command's config dataclass without a flag (or a flag that sets nothing) fails here."""
    import importlib

    mod = importlib.import_module(CONFIGS[name][0])
    where, _, cls = CONFIGS[name][1].partition(":")
    config = getattr(importlib.import_module(where), cls)
    gaps = cli.flag_gaps(config, _parser(name, monkeypatch).dests(), derived=getattr(mod, "CONFIG_DERIVED", ()),
                         unflagged=getattr(mod, "CONFIG_UNFLAGGED", ()), not_config=mod.NOT_CONFIG)
    assert gaps == ([], []), f"fields without a flag, flags without a field: {gaps}"


def test_a_config_field_without_a_flag_is_refused_when_the_config_is_built():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class C:
        size: int = 1
        new: int = 2

    with pytest.raises(TypeError, match="no flag for new"):
        cli.config_from_args(C, argparse.Namespace(size=3))
    assert cli.config_from_args(C, argparse.Namespace(size=3), ("new",)) == C(3, 2)
    assert cli.config_from_args(C, argparse.Namespace(size=3), new=5) == C(3, 5)


def test_map_variant_sets_the_variants_fields_over_the_shipped_choice():
    from jaxstyle.cli import stylize_cli
    from jaxstyle.transfer import locate

    a = stylize_cli.build_parser().parse_args(["--map-variant", "patch-j0"])
    opts = stylize_cli.map_options(a)
    assert {k: opts[k] for k in ("sure", "extent", "joined", "judge")} == {"sure": 0.8, "extent": "animal",
                                                                         "joined": 0.0, "judge": "patches"}
    assert opts["mirror"] is False and opts["scales"] == ()          # no view of a shipped choice leaks in
    assert not any(k in opts for k in locate.PROBE_MAP_KEYS)      # still the learned map, at the shipped refusal
    views = stylize_cli.map_options(stylize_cli.build_parser().parse_args(["--map-variant", "judged-j0+x0.75"]))
    assert views["scales"] == (0.75,) and views["judge"] == "probe"
    assert stylize_cli.map_options(stylize_cli.build_parser().parse_args([])) is None
