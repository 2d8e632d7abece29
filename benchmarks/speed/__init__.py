"""Speed benchmarks: each has a table in docs/BENCHMARKS.md (``python -m benchmarks.speed.<name>``)."""
