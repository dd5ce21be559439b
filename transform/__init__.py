"""transform: spool segments into typed staging rows for the warehouse (pure rules, thin I/O)."""

from __future__ import annotations

from genius_wh.chunkresult import ChunkResult, FieldSeen, LoadIssue, QuarantinedLine, UnknownField
from genius_wh.naming import column_name
from genius_wh.widening import value_type, widen
from transform.chunk import transform_chunk

__all__ = ["ChunkResult", "FieldSeen", "LoadIssue", "QuarantinedLine", "UnknownField",
           "column_name", "transform_chunk", "value_type", "widen"]
