"""The DuckDB warehouse: snapshots, HTTP exchanges, raw bodies, typed datasets and findings."""
