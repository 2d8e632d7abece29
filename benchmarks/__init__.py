"""Benchmarks and experiments, run as modules from the repository root.

- ``benchmarks.speed``: speed benchmarks, each with a table in docs/BENCHMARKS.md
  (``python -m benchmarks.speed.bench``; ``bash benchmarks/speed/gpu.sh`` on a lent GPU);
- ``benchmarks.experiments``: object-map and quality experiments cited by docs/RESULTS.md and
  docs/METHOD.md (``python -m benchmarks.experiments.map_finish``);
- ``benchmarks.common``: what they share (paths, the timing helpers, the Gatys objective).

``python -m`` puts the repository root on the import path, so no script edits ``sys.path``.
"""
