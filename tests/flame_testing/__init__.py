"""Helpers the tests and benchmarks share (on pytest's path through ``pythonpath`` in pyproject.toml)."""
