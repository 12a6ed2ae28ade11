"""What every command module shares: one-line usage errors and their parser.

Kept apart from cli/main.py, which imports the command modules, so that they can import
this at the top instead of inside functions.
"""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from agree.spec import SpecError

__all__ = ["ArgumentParser", "UsageError", "require_positive"]


class UsageError(Exception):
    """Bad usage or input, reported as one line and exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def require_positive(args: argparse.Namespace, *names: str) -> None:
    """Refuse an option among ``names`` that is set but not a positive finite number
    (float options accept "nan" and "inf", which no budget or timeout means)."""
    for name in names:
        value = getattr(args, name)
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise SpecError(f"--{name.replace('_', '-')} must be a positive number")
