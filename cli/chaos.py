"""`agree chaos`: seeded fault schedules against the Raft KV, every history checked."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agree.chaos.history import format_history
from agree.chaos.schedule import Schedule, make_schedule, schedule_from_json, schedule_to_json
from agree.chaos.shrink import shrink
from agree.chaos.sim import Outcome, Totals, run_schedule
from agree.cli.common import UsageError

__all__ = ["failure_text", "register", "totals_text"]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value < 1e7:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if abs(value) >= 2**62:
        raise argparse.ArgumentTypeError(f"seed {text} is too large")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser(
        "chaos", help="fault schedules against the Raft KV; check every history",
        description="Run seeded fault schedules (crashes and restarts, partitions, message "
        "loss, duplication and reordering, a crash between persist and send, torn writes, "
        "clock skew) against the Raft key-value service with concurrent retrying clients, "
        "and check every history for linearizability and lost acknowledged writes. "
        "Schedule i uses seed SEED+i. Exit 0: every claim held; 1: a schedule broke one "
        "(the first is shrunk and printed); 2: bad input; 3: --time-limit ran out first.")
    p.add_argument("--schedules", type=_positive, default=20, metavar="N",
                   help="how many schedules to run (default 20)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="first seed (default 0)")
    p.add_argument("--nodes", type=_positive, default=3, metavar="N",
                   help="cluster size (default 3)")
    p.add_argument("--clients", type=_positive, default=4, metavar="N",
                   help="concurrent clients (default 4)")
    p.add_argument("--keys", type=_positive, default=2, metavar="N", help="keys (default 2)")
    p.add_argument("--ticks", type=_positive, default=300, metavar="N",
                   help="length of each schedule in clock ticks (default 300)")
    p.add_argument("--snapshot-every", type=_natural, default=None, metavar="N",
                   help="nodes snapshot and compact their logs every N applied entries "
                   "(0: never; default: never in the simulator, the servers' default "
                   "with --real)")
    p.add_argument("--spares", type=_natural, default=0, metavar="N",
                   help="N more servers, not voting at first: each schedule also adds and "
                   "removes voters, one at a time (membership changes; default 0)")
    p.add_argument("--replay", metavar="FILE",
                   help="run the one schedule in FILE (written by --out) instead")
    p.add_argument("--out", metavar="FILE", help="write the shrunk failing schedule here")
    p.add_argument("--no-shrink", action="store_true", help="report the failure unshrunk")
    p.add_argument("--shrink-time", type=_seconds, default=60.0, metavar="SECONDS",
                   help="how long shrinking may take (default 60)")
    p.add_argument("--time-limit", type=_seconds, metavar="SECONDS",
                   help="stop starting schedules after SECONDS (exit 3 if not all ran)")
    p.add_argument("--real", action="store_true",
                   help="chaos with three real server processes on 127.0.0.1 instead: "
                   "SIGKILL, SIGSTOP, and partitions, delays and dropped connections "
                   "through local TCP proxies")
    p.add_argument("--duration", type=_seconds, default=20.0, metavar="SECONDS",
                   help="--real: how long the fault phase lasts (default 20)")
    p.add_argument("--faults", type=_positive, default=12, metavar="N",
                   help="--real: at most N faults (default 12)")
    p.add_argument("--stale-reads", action="store_true",
                   help="--real: read each node's local copy instead of through the log "
                   "(not linearizable: shows that the check catches it)")
    p.add_argument("--cluster-cmd", metavar="TEMPLATE",
                   help="--real: run your own servers instead of `agree serve`: the command "
                   "starting node {id}, with placeholders {id} {port} {peers} {addresses} "
                   "{api} {data} {log} (docs/chaos.md); needs --client")
    p.add_argument("--client", metavar="FILE.py:CLASS",
                   help="--real with --cluster-cmd: the agree.chaos.outside.ClientAdapter "
                   "subclass that talks to your servers")
    p.add_argument("--deviation", action="append", default=None, metavar="NAME",
                   help="--cluster-cmd: a deviation from raft.tla your servers declare, for "
                   "validating their {log} event logs (repeatable; as agree validate)")
    p.add_argument("--keep", metavar="DIR",
                   help="--cluster-cmd: keep the data and event logs in DIR")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=run_chaos)


def _load_schedule(path: str) -> Schedule:

    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise UsageError(f"{path} is not a JSON chaos schedule") from None
    try:
        return schedule_from_json(doc)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None


def run_chaos(args: argparse.Namespace, extra: list[str]) -> int:

    if args.cluster_cmd or args.client or args.deviation or args.keep:
        if not args.real or not args.cluster_cmd or not args.client:
            raise UsageError("agree chaos: --cluster-cmd and --client go together, with --real "
                             "(--deviation and --keep only with them)")
        return _run_outside(args)
    if args.spares > 6:
        raise UsageError("agree chaos: --spares must be in 0..6")
    if args.real:
        return _run_real(args)
    if args.nodes > 9 or args.clients > 64 or args.keys > 64 or args.ticks > 100_000:
        raise UsageError("agree chaos: at most 9 nodes, 64 clients, 64 keys, 100000 ticks")
    if args.nodes + args.spares > 9:
        raise UsageError("agree chaos: at most 9 nodes and spares together")
    if args.replay:
        schedules = [_load_schedule(args.replay)]
    else:
        schedules = [make_schedule(args.seed + i, args.nodes, args.clients, args.keys,
                                   args.ticks, args.snapshot_every or 0, args.spares)
                     for i in range(args.schedules)]
    totals = Totals()
    first: Outcome | None = None
    start = last_progress = time.monotonic()
    stopped = False
    for s in schedules:
        if args.time_limit is not None and time.monotonic() - start > args.time_limit:
            stopped = True
            break
        outcome = run_schedule(s)
        totals.add(outcome)
        if outcome.failed and first is None:
            first = outcome
        now = time.monotonic()
        if not args.quiet and not args.json and now - last_progress > 10:
            last_progress = now
            print(f"  ... {totals.schedules:,}/{len(schedules):,} schedules, "
                  f"{totals.operations:,} operations, {totals.failed} failed, "
                  f"{now - start:.0f} s", file=sys.stderr, flush=True)
    seconds = time.monotonic() - start
    shrunk: tuple[Schedule, Outcome, int] | None = None
    if first is not None:
        shrunk = (first.schedule, first, 0) if args.no_shrink else shrink(
            first.schedule, first, args.shrink_time)
        if args.out:
            try:
                Path(args.out).write_text(json.dumps(schedule_to_json(shrunk[0]), indent=1)
                                          + "\n")
            except OSError as exc:
                raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    if args.json:
        doc: dict[str, Any] = {"schedules": totals.schedules, "first_seed": args.seed,
                               "operations": totals.operations,
                               "acknowledged": totals.acknowledged,
                               "indeterminate": totals.indeterminate,
                               "failed_schedules": totals.failed,
                               "violations": totals.violations,
                               "lost_writes": totals.lost_writes, "seconds": round(seconds, 2),
                               "counts": totals.faults, "complete": not stopped}
        if shrunk is not None:
            doc["first_failure"] = {"schedule": schedule_to_json(shrunk[0]),
                                    "violations": shrunk[1].violations}
        print(json.dumps(doc, indent=1))
    else:
        print(totals_text(totals, args.seed, seconds, args.replay))
        if shrunk is not None and first is not None:
            print()
            print(failure_text(first, *shrunk, out=args.out))
        elif stopped:
            print(f"Stopped by --time-limit after {totals.schedules} of {len(schedules)} "
                  "schedules; no violation so far.")
    if shrunk is not None:
        return 1
    return 3 if stopped else 0


def _run_real(args: argparse.Namespace) -> int:
    from agree.chaos.real import RealOptions, run_real

    if args.clients > 16 or args.keys > 16 or args.duration > 3600:
        raise UsageError("agree chaos --real: at most 16 clients, 16 keys, 3600 seconds")
    outcome = run_real(RealOptions(duration=args.duration, faults=args.faults,
                                   clients=args.clients, keys=args.keys, seed=args.seed,
                                   stale_reads=args.stale_reads,
                                   snapshot_every=args.snapshot_every, spares=args.spares))
    if args.json:
        print(json.dumps({"operations": len(outcome.operations),
                          "acknowledged": outcome.acknowledged, "faults": outcome.faults,
                          "violations": outcome.violations,
                          "lost_writes": len(outcome.lost_writes),
                          "seconds": round(outcome.seconds, 2)}, indent=1))
    else:
        what = (f"3 `agree serve` processes and {args.spares} spare{'s' * (args.spares > 1)}"
                if args.spares else "3 `agree serve` processes")
        print(real_text(outcome, args.seed, what))
    return 1 if outcome.failed else 0


def _run_outside(args: argparse.Namespace) -> int:
    from agree.chaos.outside import check_template, load_client, run_outside
    from agree.chaos.real import RealOptions
    from agree.conformance.deviations import resolve
    from agree.conformance.validate_logs import validate_files
    from agree.traces.trace import TraceError

    if args.clients > 16 or args.keys > 16 or args.duration > 3600:
        raise UsageError("agree chaos --real: at most 16 clients, 16 keys, 3600 seconds")
    try:
        check_template(args.cluster_cmd)
        client = load_client(args.client)
        resolve(args.deviation)
    except ValueError as exc:
        raise UsageError(f"agree chaos: {exc}") from None
    report = None
    with tempfile.TemporaryDirectory(prefix="agree-chaos-") as tmp:
        outcome = run_outside(RealOptions(duration=args.duration, faults=args.faults,
                                          clients=args.clients, keys=args.keys, seed=args.seed,
                                          data=args.keep or tmp), args.cluster_cmd, client)
        if outcome.event_logs:
            try:
                report = validate_files(outcome.event_logs, deviations=args.deviation)
            except TraceError as exc:
                outcome.violations.append(f"event logs: {exc}")
            else:
                if not report.ok:
                    outcome.violations.append("event logs: not a behaviour of the Raft spec")
    if args.json:
        print(json.dumps({"operations": len(outcome.operations),
                          "acknowledged": outcome.acknowledged, "faults": outcome.faults,
                          "violations": outcome.violations,
                          "event_logs": report.text if report else None,
                          "seconds": round(outcome.seconds, 2)}, indent=1))
    else:
        print(real_text(outcome, args.seed, "3 processes of --cluster-cmd", lost=False))
        if report is not None:
            print("\nagree validate on their event logs:\n" + report.text.rstrip())
    return 1 if outcome.failed else 0


def real_text(o: Any, seed: int, what: str = "3 `agree serve` processes",
              lost: bool = True) -> str:
    """The figures (and any failure) of a real-process chaos run."""
    f = o.faults
    lines = [
        f"agree chaos --real: {what} on 127.0.0.1, seed {seed}",
        f"client operations    {len(o.operations):,} ({o.acknowledged:,} acknowledged, "
        f"{len(o.operations) - o.acknowledged:,} indeterminate)",
        f"faults injected      {f.get('kills', 0)} SIGKILLs, {f.get('stops', 0)} SIGSTOPs, "
        f"{f.get('partitions', 0)} partitions, {f.get('delays', 0)} delays, "
        f"{f.get('drops', 0)} connection drops",
        *([f"membership changes   {f['membership changes']} requested with the leader "
           f"SIGKILLed during each, {f.get('changes committed', 0)} acknowledged"]
          if "membership changes" in f else []),
        f"violations           {sum(1 for v in o.violations if not v.startswith('lost'))}",
        f"lost writes          {len(o.lost_writes)}" if lost else
        "lost writes          not read from storage (the reads' linearizability covers them)",
        f"time                 {o.seconds:.1f} s",
        "",
        "faults:",
        *(f"  {line}" for line in o.fault_log),
        "",
    ]
    if not o.failed:
        lines.append("Every history was linearizable and no acknowledged write was lost.")
        return "\n".join(lines)
    lines += ["FAILED:", *(f"  {v}" for v in o.violations)]
    lin = o.linearizability
    if lin is not None and lin.violations:
        lines += ["", *(k.report() for k in lin.violations)]
    if o.lost_writes:
        lines += ["", "acknowledged writes missing from a node's log:"]
        lines += ["  " + line for line in format_history(o.lost_writes).splitlines()]
    return "\n".join(lines)


def totals_text(t: Totals, seed: int, seconds: float, replay: str | None = None) -> str:
    """The figures of a chaos run."""
    f = t.faults
    source = f"replaying {replay}" if replay else f"seeds {seed}..{seed + t.schedules - 1}"
    lines = [
        f"agree chaos: Raft KV in the simulator, {source}",
        f"schedules run        {t.schedules:,}",
        f"client operations    {t.operations:,} ({t.acknowledged:,} acknowledged, "
        f"{t.indeterminate:,} indeterminate)",
        f"faults injected      {f.get('crashes', 0):,} crashes, {f.get('partitions', 0):,} "
        f"partitions, {f.get('crash-after-persist', 0):,} crashes between persist and send, "
        f"{f.get('torn-write', 0):,} torn writes, {f.get('skews', 0):,} clock skews, "
        f"{f.get('elections', 0):,} forced split elections",
        f"messages             {f.get('messages sent', 0):,} sent, "
        f"{f.get('messages delivered', 0):,} delivered, {f.get('dropped', 0):,} dropped, "
        f"{f.get('duplicated', 0):,} duplicated",
        *([f"snapshots            {f['snapshots taken']:,} taken, "
           f"{f.get('snapshots installed', 0):,} installed by InstallSnapshot"]
          if f.get("snapshots taken") else []),
        *([f"membership changes   {f['changes taken']:,} taken by a leader, "
           f"{f.get('configurations committed', 0):,} configuration entries committed, "
           f"{f.get('changes refused', 0):,} refused for 30 ticks (no leader, one in progress)"]
          if "changes taken" in f else []),
        f"violations           {t.violations:,}",
        f"lost writes          {t.lost_writes:,}",
        f"time                 {seconds:.1f} s",
    ]
    if t.failed == 0:
        lines += ["", "Every history was linearizable and no acknowledged write was lost."]
    else:
        lines += ["", f"{t.failed} of {t.schedules} schedules broke a claim."]
    return "\n".join(lines)


def failure_text(original: Outcome, schedule: Schedule, outcome: Outcome, runs: int,
                 out: str | None = None) -> str:
    """The first failing schedule, shrunk, with its history and the violated claims."""
    o = original.schedule
    lines = [f"FAILED: schedule seed {o.seed} broke: {', '.join(original.claims)}"]
    if runs:
        lines.append(f"shrunk in {runs} runs: {len(o.faults)} -> {len(schedule.faults)} faults, "
                     f"{o.ticks} -> {schedule.ticks} ticks, {o.clients} -> {schedule.clients} "
                     "clients")
    lines += ["", schedule.describe(), "", "violated:"]
    lines += [f"  {v}" for v in outcome.violations]
    lin = outcome.linearizability
    if lin is not None and lin.violations:
        lines += ["", *(k.report() for k in lin.violations)]
    if outcome.lost_writes:
        lines += ["", "acknowledged writes missing from the final committed log:"]
        lines += ["  " + line for line in format_history(outcome.lost_writes).splitlines()]
    keys = sorted({k.key for k in lin.violations} if lin and lin.violations
                  else {op.key for op in outcome.lost_writes})
    for key in keys[:1]:
        ops = [op for op in outcome.operations if op.key == key]
        more = ", the first 80" if len(ops) > 80 else ""
        lines += ["", f"history of {key} ({len(ops)} operations{more}):"]
        lines += ["  " + line for line in format_history(ops[:80]).splitlines()]
    lines.append("")
    if out:
        lines.append(f"reproduce: agree chaos --replay {out}")
    else:
        lines.append(f"reproduce (unshrunk): agree chaos --schedules 1 --seed {o.seed} "
                     f"--nodes {o.nodes} --clients {o.clients} --keys {o.keys} --ticks {o.ticks}"
                     + (f" --snapshot-every {o.snapshot_every}" if o.snapshot_every else "")
                     + (f" --spares {o.spares}" if o.spares else "")
                     + "; add --out FILE to save the shrunk schedule for --replay")
    return "\n".join(lines)
