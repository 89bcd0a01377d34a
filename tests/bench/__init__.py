"""Benchmarks of issue 3 (`make bench`, or `python -m tests.bench [--quick]`).

Not collected by pytest (`norecursedirs = ["bench"]`); modules are named `bench_*.py`.
"""
