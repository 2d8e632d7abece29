"""Object-map and quality experiments (``python -m benchmarks.experiments.NAME``); docs/RESULTS.md, docs/METHOD.md."""
