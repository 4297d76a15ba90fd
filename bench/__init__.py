"""Benchmarks: ratios against a baseline run in the same process. Run one as ``python -m bench.NAME``."""
