"""benchmarks/speed/gpu.py, the one-shot GPU check, runs end to end on the CPU at a tiny size.

The lent GPU machine gives a session minutes; a script that breaks there wastes them, so its
sections are exercised here but the 4th, which needs PyTorch on CUDA (the numbers are not GPU
numbers, and are not checked).
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_its_sections_on_cpu(real_params, tmp_path):
    """Every section runs (no budget skip: the subprocess timeout is the only limit, so a loaded machine is
    slower, not a failure)."""
    out = tmp_path / "gpu.md"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    args = ["--only", "1,2,3,5", "--size", "64", "--iterations", "6", "--batch", "2", "--batches", "2",
            "--variants", "default,c2f", "--budget", "100000", "--out", str(out), "--json", str(tmp_path / "gpu.json")]
    r = subprocess.run([sys.executable, "-m", "benchmarks.speed.gpu", *args],
                       capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    text = out.read_text()
    assert "error" not in text, text
    rows = [l for l in text.splitlines() if l[:4] in ("| 1 ", "| 2 ", "| 3 ", "| 5 ")]
    assert len([l for l in rows if l.startswith("| 1 ")]) == 3, text
    assert len([l for l in rows if l.startswith("| 2 ") and "images/s" in l]) == 2, text
    assert len([l for l in rows if l.startswith("| 3 ") and " ms " in l]) >= 2, text  # jaxstyle fp32 and bf16
    five = [l for l in rows if l.startswith("| 5 ")]
    assert len(five) == 2 and "6 its" in five[0] and "6 its" in five[1], text
    assert "schedule [(64, 6)]" in five[0]  # the CPU's default at 64 px: one level (below 128 px)
