"""Benchmarks run by hand; ``bench.loadgen`` and ``bench.live_server`` are also imported by the tests (never the
reverse: nothing here imports ``tests``)."""
