"""Object-map and quality experiments (``python -m benchmarks.experiments.<name>``); docs/RESULTS.md, docs/METHOD.md."""
