"""`agree conform raft|paxos` and `agree validate LOG...`: the implementation held to the spec.

`conform` runs the Hypothesis state machine of conformance/ over the
simulated cluster; `validate` checks the merged JSON-lines event logs of a real
run against the Raft spec.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from agree.cli.common import UsageError
from agree.protocols import registry
from agree.protocols.bundle import resolve_ref

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "conform", help="hold the implementation to the spec under hostile schedules",
        description="Drive impl/'s Raft (or Paxos, or Multi-Paxos) cores through "
        "Hypothesis-chosen schedules (deliver, drop, duplicate, tick, timeout, crash, restart, "
        "partition, heal, propose); after every choice map the cluster onto the spec and "
        "check that the spec allows the step and every safety property holds. Exit 0: "
        "conforms; 1: a step or property failed (Hypothesis' minimal program and the mapped "
        "trace are printed).")
    p.add_argument("protocol", choices=[b.name for b in registry.listed(registry.protocols())
                                          if b.conformance])
    p.add_argument("--examples", type=int, default=300, metavar="N",
                   help="Hypothesis examples (schedules) to run (default 300)")
    p.add_argument("--steps", type=int, default=50, metavar="K",
                   help="rules per schedule at most (default 50)")
    p.add_argument("--seed", type=int, default=None, metavar="S",
                   help="seed Hypothesis (default: derandomized, the same run every time)")
    p.add_argument("--servers", type=int, default=3, metavar="N", help="cluster size (3)")
    p.add_argument("--values", type=int, default=2, metavar="K", help="client values (2)")
    p.add_argument("--bug", metavar="NAME", default=None,
                   help="apply a seeded implementation bug first (see --list-bugs)")
    p.add_argument("--list-bugs", action="store_true", help="list the seeded bugs and exit")
    p.set_defaults(handler=run_conform)

    from agree.conformance.deviations import DEFAULT

    v = sub.add_parser(
        "validate", help="check a real run's event logs against the Raft spec",
        description="Merge the JSON-lines event logs of the servers of one run (written by "
        "`agree serve --event-log FILE`, by agree.eventlog's EventLogWriter, or by any writer "
        "of the schema) and check that they are a behaviour of the Raft spec, "
        "searching over the steps the logs do not show (message loss, duplication). Every line is "
        "first checked against the event-log schema (raft-event-log.v1). Exit 0: "
        "the run is a behaviour of the spec; 1: it is not (the first step that fails is "
        "printed); 2: a log is unreadable.")
    v.add_argument("logs", nargs="+", metavar="LOG")
    v.add_argument("--max-batch", type=int, default=None, metavar="K",
                   help="entries per AppendEntries the servers sent at most (default: from "
                   "the logs, the most any request in them carries)")
    v.add_argument("--deviation", action="append", default=None, metavar="NAME",
                   help="declare a deviation from raft.tla the servers make (repeatable; "
                   "default: agree's own server's, " + ", ".join(DEFAULT) + "; 'none': "
                   "raft.tla exactly); the catalogue: docs, Deviations")
    v.set_defaults(handler=run_validate)


def run_conform(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.conformance.bugs import seeded
    from agree.conformance.harness import ConformanceFailure
    from agree.conformance.power import run_machine

    bundle = next(b for b in registry.protocols() if b.name == args.protocol)
    bugs = bundle.seeded_bugs()
    if args.list_bugs:
        width = max([24, *(len(b.name) for b in bugs)])
        for b in bugs:
            print(f"{b.name:<{width}} breaks {b.breaks}")
        return 0
    if args.examples < 1 or args.steps < 1:
        raise UsageError("agree conform: --examples and --steps must be at least 1")
    if not 1 <= args.servers <= 7 or not 1 <= args.values <= 8:
        raise UsageError("agree conform: --servers must be 1..7 and --values 1..8")
    if args.bug is not None and args.bug not in {b.name for b in bugs}:
        raise UsageError(f"agree conform: no seeded {args.protocol} bug {args.bug!r} "
                         f"(known: {', '.join(b.name for b in bugs)})")
    machine: Any = resolve_ref(bundle.conformance)(args.servers, args.values)
    start = time.perf_counter()
    try:
        if args.bug is not None:
            with seeded(args.bug):
                run_machine(machine, args.examples, args.seed, args.steps)
        else:
            run_machine(machine, args.examples, args.seed, args.steps)
    except ConformanceFailure as exc:
        notes = [n for n in getattr(exc, "__notes__", []) if not n.startswith("You can ")]
        print("Hypothesis' minimal reproducing program:\n")
        print("\n".join(notes) + "\n")
        print(exc.text, end="")
        print(f"\n{args.protocol}: the implementation does NOT conform "
              f"({machine.examples} examples run, shrinking included; "
              f"{time.perf_counter() - start:.1f}s)")
        return 1
    seconds = time.perf_counter() - start
    print(f"{args.protocol}: {machine.examples} schedules of up to {args.steps} rules, every "
          f"step a step of the spec and every property held ({seconds:.1f}s)")
    print("spec actions matched:")
    for label, count in sorted(machine.coverage.items()):
        print(f"  {label:<46} {count}")
    return 0


def run_validate(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.conformance.deviations import resolve
    from agree.conformance.validate_logs import validate_files

    if args.max_batch is not None and args.max_batch < 1:
        raise UsageError("agree validate: --max-batch must be at least 1")
    try:
        resolve(args.deviation)
    except ValueError as exc:
        raise UsageError(f"agree validate: {exc}") from None
    report = validate_files(args.logs, args.max_batch, args.deviation)
    print(report.text, end="")
    return 0 if report.ok else 1
