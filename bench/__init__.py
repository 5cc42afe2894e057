"""Benchmarks run by hand; ``bench.loadgen`` is also imported by the load and crash tests."""
