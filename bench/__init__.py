"""Phantom's reproducible benchmarks (DESIGN.md §9); see bench/README.md."""
