"""`agree trace replay FILE --impl [--save-test OUT.py]`: the command-line side of
replay_impl.py (kept here so checker/cmd_trace.py needs only a two-line hook)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from agree.cli.main import UsageError
from agree.conformance.paxos_replay import replay_paxos
from agree.conformance.replay_impl import regression_test, replay_raft
from agree.protocols import registry
from agree.traces.trace import TraceError, load_trace

__all__ = ["run_replay_impl"]


def run_replay_impl(args: argparse.Namespace) -> int:
    """Replay a Raft-family trace on the implementation; exit 1 where it refuses a step."""
    if args.save_test and not args.impl:
        raise UsageError("agree trace replay: --save-test needs --impl")
    trace = load_trace(args.file, registry.resolve)
    family = trace.spec.split("-", 1)[0]
    needs = {"raft": ("servers", "values"), "paxos": ("acceptors", "values", "max_ballot")}
    if family not in needs or trace.spec in ("paxos-article", "paxos-pid-timestamp",
                                             "paxos-liveness"):
        raise TraceError(f"{args.file}: --impl replays traces of raft and paxos (and their "
                         f"raft-*/paxos-* zoo variants) on impl/; this one is of {trace.spec}")
    if any(k not in trace.params for k in needs[family]):
        raise TraceError(f"{args.file}: the trace's parameters lack one of "
                         + ", ".join(needs[family]))
    result = replay_raft(trace) if family == "raft" else replay_paxos(trace)
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
