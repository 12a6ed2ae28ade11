"""The `agree` command line: subcommands registered from their own modules.

Exit codes everywhere: 0 success / all properties hold, 1 a property is
violated, 2 bad usage or bad input (one line on stderr, never a traceback),
3 a budget ran out first, 4 unknown (a solver gave up).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from agree.checker.result import SpecRuntimeError
from agree.cli.common import ArgumentParser, UsageError, require_positive
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
