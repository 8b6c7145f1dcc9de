"""Benchmarks for policyeng: `python benchmarks/run.py` (see README.md)."""
