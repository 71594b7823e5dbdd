"""Benchmarks: scripts, not timed tests; results go to BENCHMARKS.md."""
