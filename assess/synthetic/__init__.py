"""Synthetic filings (invented firms, clearly labelled as such) for demos, tests and benchmarks."""
