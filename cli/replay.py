"""`agree trace replay FILE --impl [--save-test OUT.py]`: the command-line side of
replay_impl.py (kept here so cli/trace.py needs only a two-line hook)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from agree.cli.common import UsageError
from agree.conformance.replay_impl import regression_test
from agree.protocols import registry
from agree.traces.trace import TraceError, load_trace

__all__ = ["run_replay_impl"]


def run_replay_impl(args: argparse.Namespace) -> int:
    """Replay a trace on the implementation (its bundle's impl_replay); exit 1 where it
    refuses a step."""
    if args.save_test and not args.impl:
        raise UsageError("agree trace replay: --save-test needs --impl")
    trace = load_trace(args.file, registry.resolve)
    entry = registry.find(trace.spec)
    replay = entry.impl_replay() if entry is not None else None
    if entry is None or replay is None:
        names = [p.name for p in registry.listed(registry.protocols()) if p.impl_replay]
        raise TraceError(f"{args.file}: --impl replays traces of {' and '.join(names)} (and "
                         f"their {'/'.join(n + '-*' for n in names)} zoo variants) on impl/; "
                         f"this one is of {trace.spec}")
    needs = entry.protocol.impl_replay_params
    if any(k not in trace.params for k in needs):
        raise TraceError(f"{args.file}: the trace's parameters lack one of " + ", ".join(needs))
    result = replay(trace)
    print(f"{args.file}: {result.text()}", end="")
    if args.save_test:
        stem = re.sub(r"\W+", "_", Path(args.file).name.removesuffix(".json")).strip("_")
        try:
            Path(args.save_test).write_text(regression_test(result, args.file,
                                                            f"replay_{stem}"))
        except OSError as exc:
            raise TraceError(f"cannot write {args.save_test}: {exc.strerror or exc}") from None
        print(f"wrote {args.save_test}")
    return 1 if result.diverged else 0
