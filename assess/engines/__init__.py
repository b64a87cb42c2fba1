"""Engines other than the embedded DuckDB that run the same compiled features and packs (`assess.dialects`)."""
