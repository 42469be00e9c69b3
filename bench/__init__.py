"""Benchmarks: each figure is a median next to a floor measured in the same run."""
