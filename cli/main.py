"""The `agree` command line: subcommands registered from their own modules.

Exit codes everywhere: 0 success / all properties hold, 1 a property is
violated, 2 bad usage or bad input (one line on stderr, never a traceback),
3 a budget ran out first, 4 unknown (a solver gave up).
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Sequence
from typing import NoReturn

from agree.checker.result import SpecRuntimeError
from agree.spec import SpecError
from agree.traces.trace import TraceError

__all__ = ["COMMANDS", "ArgumentParser", "UsageError", "main", "require_positive"]

#: Modules that each define ``register(subparsers)``; one per command group.
COMMANDS: list[str] = [
    "agree.cli.check",
    "agree.cli.trace",
    "agree.cli.impl",
    "agree.cli.chaos",
    "agree.cli.scale",
    "agree.cli.conform",
    "agree.cli.prove",
]


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


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="agree",
        description="Check consensus protocols: exhaustive model checking, Hypothesis, Z3, "
        "and conformance of a real implementation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True
    for module in COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agree`` console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(args_list)
        handler = args.handler
        if extra and not getattr(args, "accepts_extra", False):
            raise UsageError(f"agree {args.command}: unrecognized arguments: {' '.join(extra)}")
        code: int = handler(args, extra)
        return code
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (SpecError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SpecRuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
