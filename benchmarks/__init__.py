"""Benchmark scripts (run as ``python -m benchmarks.<name>``); they print, they never assert."""
