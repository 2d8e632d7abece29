"""benchmarks/common.py's script helpers, and bench.py's report built from its section tables."""
import argparse

from benchmarks import common
from benchmarks.speed import bench

CODE = "import os, sys; print(sys.argv[1], sys.argv[2], os.environ.get('A'), os.environ.get('B'))"


def test_child_runs_in_the_root_with_its_arguments_and_environment(monkeypatch):
    monkeypatch.setenv("B", "gone")
    out = common.child(CODE, 7, env={"A": "set"}, unset=("B",))
    assert out.split() == [str(common.ROOT), "7", "set", "None"]


def test_parser_is_described_by_the_first_paragraph_and_names_the_cpu(capsys):
    p = common.parser("First line.\n\nMore words.")
    assert p.description == "First line."
    assert capsys.readouterr().err.startswith("cpu: ")


def _args():
    return argparse.Namespace(quick=True, b_size=1, b_iterations=2, c_size=3, g_size=4, g_photo="p.jpg", d_size=5,
                              d_batch=6, s_size=7, l_size=8, l_its=9, x_size=10)


def test_report_has_a_heading_and_table_per_section_run_in_order():
    row = dict(size=64, impl="jaxstyle", s_per_eval=0.5, run="c2f", bar=0.3, gain_trace="0.1", solver="lbfgs")
    res = dict(load_start="1", load_end="2", total_s=3.0, g=[row], a=[row], x=[row])
    info = dict(cpu="c", jax="j", jaxlib="jl", jax_devices="cpu", XLA_FLAGS="", torch="absent", python="3")
    md = bench.report(res, info, _args())
    at = [md.index(f"**({k})") for k in "agx"]
    assert at == sorted(at) and "**(b)" not in md and "**(d)" not in md
    assert "| size | implementation | s / eval |" in md and "| 64 | jaxstyle | 0.5 |" in md
    assert md.count("\n|---|") == 3 and "Bar = " in md  # one table each; the gain section's notes
    assert set(bench.COLUMNS) == set(bench._headings(_args())) == set("abcgdslx")
