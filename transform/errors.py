"""Errors of the transform stage, grouped by what the caller should do."""

from __future__ import annotations

from genius_wh.errors import GeniusWhError


class TransformError(GeniusWhError):
    """Base of every error the transform stage raises on purpose."""


class ConversionError(ValueError):
    """A value cannot be converted for its typed column; the row keeps NULL there."""


class LakeWriteError(TransformError):
    """Retriable: a staging file could not be written (disk full, permissions); rerun the chunk."""
