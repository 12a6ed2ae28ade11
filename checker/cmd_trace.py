"""`agree trace ...`: reading counterexample files."""

from __future__ import annotations

import argparse
from typing import Any

from agree.checker import registry
from agree.traces.text import render_text
from agree.traces.trace import load_trace

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("trace", help="read, render and replay trace files",
                       description="Work with counterexample traces (JSON files written by "
                       "`agree check`).")
    tsub = p.add_subparsers(dest="trace_command", metavar="ACTION",
                            parser_class=type(p))
    tsub.required = True

    show = tsub.add_parser("show", help="render a trace as text",
                           description="Replay FILE through its spec (refusing a file that "
                           "does not replay) and print it: the initial state, then per step "
                           "the action and only what changed.")
    show.add_argument("file", metavar="FILE")
    show.add_argument("--full", action="store_true", help="print every state in full")
    show.set_defaults(handler=run_show)


def run_show(args: argparse.Namespace, extra: list[str]) -> int:
    trace = load_trace(args.file, registry.resolve)
    spec, _ = registry.resolve(trace.spec, trace.params)
    print(render_text(spec, trace, full=args.full), end="")
    return 0
