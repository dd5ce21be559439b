"""The receiver: HTTP in, durable spool lines out (never imports duckdb, polars or pyarrow)."""
