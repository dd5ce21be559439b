"""Errors shared by every stage."""

from __future__ import annotations


class GeniusWhError(Exception):
    """Base of every error this product raises on purpose."""


class ConfigError(GeniusWhError):
    """Fatal: the settings are wrong; the message lists every problem."""
