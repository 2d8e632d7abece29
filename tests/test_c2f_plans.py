"""benchmarks/c2f_plans.py: the speed-up read from two traces (no stylization run here)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import c2f_plans  # noqa: E402


def test_speedup_to_the_same_gain_and_loss():
    # (seconds, iteration, loss, gain)
    run = [(10.0, 5, 3.0, 0.5), (20.0, 10, 2.0, 0.8)]
    single = [(5.0, 5, 4.0, 0.3), (30.0, 10, 2.5, 0.7), (40.0, 15, 1.9, 0.85), (60.0, 20, 1.5, 0.9)]
    assert c2f_plans.speedup(run, single, 3, higher=True) == "2.00×"  # gain 0.8 first reached at 40 s
    assert c2f_plans.speedup(run, single, 2, higher=False) == "2.00×"  # loss 2.0 first reached at 40 s
    never = [(5.0, 5, 4.0, 0.3), (50.0, 10, 2.5, 0.7)]
    assert c2f_plans.speedup(run, never, 3, higher=True) == "> 2.50×"  # a lower bound
