"""Benchmarks with targets, as ratios against a bare-SDK baseline measured in the same run (see run.py)."""
