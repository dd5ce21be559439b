"""transform: spool segments into typed Parquet for the warehouse (pure rules, thin I/O)."""

from __future__ import annotations

from transform.chunk import transform_chunk
from transform.naming import column_name
from transform.result import ChunkResult, FieldSeen, LoadIssue, QuarantinedLine, UnknownField
from transform.widening import value_type, widen

__all__ = ["ChunkResult", "FieldSeen", "LoadIssue", "QuarantinedLine", "UnknownField",
           "column_name", "transform_chunk", "value_type", "widen"]
