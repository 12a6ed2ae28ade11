"""The spec API's error (re-exported by agree.spec)."""

from __future__ import annotations

__all__ = ["SpecError"]


class SpecError(Exception):
    """A spec or its parameters are unusable; the message says what to fix."""
