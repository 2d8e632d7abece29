"""benchmarks/speed/c2f_plans.py: the speed-up read from two traces (no stylization run here)."""
from pathlib import Path

from benchmarks.speed import c2f_plans


def test_speedup_to_the_same_gain_and_loss():
    # (seconds, iteration, gain, loss), as benchmarks.common.gain_trace returns them
    run = [(10.0, 5, 0.5, 3.0), (20.0, 10, 0.8, 2.0)]
    single = [(5.0, 5, 0.3, 4.0), (30.0, 10, 0.7, 2.5), (40.0, 15, 0.85, 1.9), (60.0, 20, 0.9, 1.5)]
    assert c2f_plans.speedup(run, single, 2, higher=True) == "2.00×"  # gain 0.8 first reached at 40 s
    assert c2f_plans.speedup(run, single, 3, higher=False) == "2.00×"  # loss 2.0 first reached at 40 s
    never = [(5.0, 5, 0.3, 4.0), (50.0, 10, 0.7, 2.5)]
    assert c2f_plans.speedup(run, never, 2, higher=True) == "> 2.50×"  # a lower bound


def test_time_to_a_fixed_gain_bar():
    run = [(10.0, 5, 0.5, 3.0), (20.0, 10, 0.8, 2.0), (25.0, 15, 0.78, 1.8)]
    single = [(5.0, 5, 0.3, 4.0), (30.0, 10, 0.7, 2.5), (40.0, 15, 0.85, 1.9), (60.0, 20, 0.8, 1.5)]
    assert c2f_plans.to_bar(run, 0.75) == 20.0 and c2f_plans.to_bar(single, 0.75) == 40.0
    assert c2f_plans.bar_speedup(run, single, 0.75) == "2.00×"
    assert c2f_plans.bar_speedup(run, single, 0.84) == "< 1.60×"  # the run never gets there: 40 s / its 25 s
    assert c2f_plans.bar_speedup(run, single, 0.95) == "never"
    assert c2f_plans.bar_speedup(single, run, 0.84) == "> 0.62×"  # 25 s / 40 s: a lower bound


def test_warm_runs_time_the_second_of_two(monkeypatch):
    """``--warm``: each run is made twice; only the second, which keeps the compiled programs, is returned."""
    calls = []

    def fake(photo, size, its, scales, cold=True, **kw):
        calls.append((its, scales, cold))
        return [(float(len(calls)), its, 0.5, 1.0)]

    monkeypatch.setattr(c2f_plans.common, "gain_trace", fake)
    out = c2f_plans.trace(Path("p.jpg"), Path("s.jpg"), "auto", 64, [[32, 3], [64, 2]], None, None, None, None,
                          warm=True)
    assert calls == [(5, None, True), (5, None, False)] and out == [(2.0, 5, 0.5, 1.0)]
    calls.clear()
    c2f_plans.trace(Path("p.jpg"), Path("s.jpg"), "auto", 64, None, 7, None, None, None)
    assert calls == [(7, 1, True)]
