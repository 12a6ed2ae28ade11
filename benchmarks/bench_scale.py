"""Scale benchmark: time with one process and with --workers 2, CPU seconds of every
process, and bytes of memory per distinct state, beside TLC's figures
(../shared/reference/tlc-counts.md, issue 8).

    python benchmarks/bench_scale.py                      # every configuration, both modes
    python benchmarks/bench_scale.py --configs raft-3-log0 --modes 1 2
    python benchmarks/bench_scale.py --configs paxos-2 --modes 1 2 sym
    python benchmarks/bench_scale.py --configs raft-3-log1 --modes 1 2 2s

The configurations (``--configs``; each is one ``agree check`` run, every property):

    paxos-2      agree check paxos --max-ballot 2
    raft-3-log0  agree check raft --servers 3 --values 1 --max-term 2 --max-log 0 --max-messages 1
    raft-3-log1  agree check raft --servers 3 --values 1 --max-term 2 --max-log 1 --max-messages 1

(raft-3-log0 takes about 40 CPU seconds with one process, raft-3-log1 about 3 minutes.)

Each run happens in a fresh subprocess, so its peak resident memory (ru_maxrss; with
workers, plus each worker's growth past the fork) minus the interpreter's baseline is
the memory the search used; divided by the distinct states it gives bytes per state.
Every property of the spec is checked, as in TLC's runs.

The machine is shared, so wall time is only good on a quiet one; CPU seconds are what
to compare under load. Printed per run: "cpu total", every process's CPU seconds added
(one process: its own; workers: the coordinator's and each worker's, each listed under
"per worker"): what parallel mode costs beyond one process; "critical", the CPU seconds on
the critical path (workers: per round of the level-synchronous search, the busiest
worker, plus the coordinator): the wall time on an idle machine with a core per worker,
so one process's "cpu total" over the workers' "critical" is the speed-up to expect;
"wait", per worker, the CPU seconds it would idle at the barriers waiting for the
busiest (the imbalance); and for workers, the candidates exchanged over the run (sent to
their owners, known seen and not sent, kept by their owners), figures that do not depend
on the load. ``--write-docs`` writes docs/benchmarks/scale.md from this run,
with the recorded figures of the runs not made (``--recorded``: from those only,
running nothing).

Mode ``Ns`` (say ``2s``) runs the N workers in this one process, each request to one
worker after the other (agree.checker.pools.InProcessPool): their CPU seconds
are then the engine's own work, without the machine's cost of two processes running at once (shared
caches and memory bus, the other users' processes). Its "critical" beside mode ``N``'s
tells how much of the speed-up the engine loses and how much the machine does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from report import Provenance, Table, write_page

CONFIGS: dict[str, tuple[str, dict[str, Any], int, float, float]] = {
    # name: (spec, parameters, TLC distinct, TLC seconds 1 worker, TLC seconds 2 workers)
    "paxos-2": ("paxos", {"max_ballot": 2}, 185_369, 64.8, 43.8),
    "raft-3-log0": ("raft", {"servers": 3, "values": 1, "max_term": 2, "max_log": 0,
                             "max_messages": 1}, 705_532, 107.0, 65.0),
    "raft-3-log1": ("raft", {"servers": 3, "values": 1, "max_term": 2, "max_log": 1,
                             "max_messages": 1}, 2_379_781, 372.0, 235.0),
}

COLUMNS = ["configuration", "mode", "distinct", "agree wall", "agree CPU, critical path",
           "agree CPU, all processes", "per worker: CPU / wait", "TLC", "verdict"]
MODES = {"1": "1 process / 1 worker", "2": "2 workers", "sym": "symmetry",
         "2s": "2 workers, one after another"}
#: Measured at commit 12dfc5d on the 2-core machine TLC was timed on, nearly idle (wall
#: seconds); their bytes/state predate the compact seen-set, so they are left out.
RECORDED: dict[tuple[str, str], tuple[float, float]] = {
    ("paxos-2", "1"): (23.9, 64.8), ("paxos-2", "2"): (12.9, 43.8),
    ("raft-3-log0", "1"): (90.2, 107.0), ("raft-3-log0", "2"): (63.2, 65.0),
    ("raft-3-log1", "1"): (394.5, 372.0), ("raft-3-log1", "2"): (240.5, 235.0),
}


def write_docs(rows: list[list[object]], done: set[tuple[str, str]]) -> None:
    """scale.md: this run's rows, then the recorded rows of the runs not made now."""
    tables = [Table("Measured now", Provenance.now(), COLUMNS, rows)] if rows else []
    old = [[config, MODES[mode], CONFIGS[config][2], f"{agree:.1f} s", "", "", "",
            f"{tlc:.0f} s"
            if tlc >= 100 else f"{tlc:.1f} s", "holds"]
           for (config, mode), (agree, tlc) in RECORDED.items() if (config, mode) not in done]
    if old:
        tables.append(Table("Long runs", Provenance.recorded(
            "12dfc5d", "2026-11-26", "on the 2-core machine TLC was timed on, nearly idle"),
            COLUMNS, old))
    write_page("scale", "Scale: agree beside TLC",
               "Time with one process and with `--workers 2`, beside TLC's on the same "
               "machine kind (TLC's seconds were measured once, as `CONFIGS` records), every "
               "property checked, distinct counts equal to TLC's, each run a fresh "
               "subprocess. Memory per state is on the [memory page](memory.md). Under "
               "load the level-synchronous workers wait for each other and "
               "lose more than one process. The CPU columns do not depend on the load "
               "much: the critical path (per barrier round, the busiest worker, plus the "
               "coordinator) is the wall time on an idle machine with a core per worker; "
               "a worker's wait is the CPU seconds the busiest spent beyond its own.",
               tables,
               "python benchmarks/bench_scale.py --write-docs")


def one(config: str, mode: str, time_limit: float | None) -> dict[str, Any]:
    """Run one configuration in this process and return its figures."""
    from agree.checker.run import check
    from agree.protocols import registry

    name, params, *_ = CONFIGS[config]
    spec, props = registry.build(name, params)
    chosen = [p for p in (*spec.declared_properties(), *props)
              if p.kind in ("invariant", "action", "sometimes")]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    stats: dict[str, Any] = {}
    start = time.perf_counter()
    cpu0 = time.process_time()
    if mode == "1":
        r = check(spec, chosen, time_limit=time_limit)
    elif mode == "sym":
        r = check(spec, chosen, time_limit=time_limit, symmetry=True)
    else:
        sequential = mode.endswith("s")
        if sequential:
            from agree.checker import parallel, pools

            # in place of the forked pool: as ``pool_factory`` it would switch to the
            # stable fingerprints, which cost more than the forked workers' ``hash``
            parallel.ForkPool = pools.InProcessPool  # type: ignore[misc,assignment]
        r = check(spec, chosen, workers=int(mode.rstrip("s")), time_limit=time_limit,
                  stats=stats)
    seconds = time.perf_counter() - start
    own = time.process_time() - cpu0
    workers = stats.get("worker_cpu", [])
    if mode.endswith("s"):  # the workers' CPU is this process's: each one's requests
        workers = [sum(phases.values()) for phases in stats["worker_phase_cpu"]]
        own -= sum(workers)  # and the coordinator's the rest
    # the critical path: what the wall time would be on an idle machine (one process: its
    # CPU time; workers: per barrier round the busiest worker, plus the coordinator)
    critical = own + stats.get("critical_cpu", 0.0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # workers: add each one's growth past the fork (their final resident memory; Python
    # seldom gives memory back, so it is close to their peak); sequential workers are
    # in this process, already counted
    if not mode.endswith("s"):
        peak += sum(stats.get("worker_rss_growth", []))
    return {"config": config, "mode": mode, "distinct": r.distinct, "generated": r.generated,
            "depth": r.depth, "verdict": r.verdict, "seconds": round(seconds, 1),
            "cpu_seconds": round(critical, 1), "cpu_total": round(own + sum(workers), 1),
            "worker_cpu": [round(c, 1) for c in workers],
            "wait_cpu": [round(c, 1) for c in stats.get("wait_cpu", [])],
            "bytes_per_state": round((peak - base) / max(r.distinct, 1)),
            "exchange": {k: sum(c[k] for c in stats.get("worker_counts", []))
                         for k in ("candidates", "known", "kept")},
            "peak_rss_mb": round(peak / 2**20)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--modes", nargs="+", default=["1", "2"],
                    help="1 = one process, N = --workers N, Ns = N workers one after another in "
                         "one process, sym = one process with symmetry")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--recorded", action="store_true",
                    help="run nothing; write the docs page from the recorded figures")
    ap.add_argument("--write-docs", action="store_true",
                    help="write docs/benchmarks/scale.md from this run")
    ap.add_argument("--one", nargs=2, metavar=("CONFIG", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.time_limit)))
        return
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'configuration':<13} {'mode':<5} {'distinct':>10} {'TLC distinct':>12} "
          f"{'seconds':>8} {'critical':>8} {'cpu total':>9} {'TLC s':>6} {'bytes/state':>11} "
          f"{'verdict':<8} per worker: cpu / wait")
    rows: list[list[object]] = []
    done: set[tuple[str, str]] = set()
    for config in [] if args.recorded else args.configs:
        _, _, tlc_distinct, tlc1, tlc2 = CONFIGS[config]
        for mode in args.modes:
            cmd = [sys.executable, __file__, "--one", config, mode]
            if args.time_limit:
                cmd += ["--time-limit", str(args.time_limit)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{config:<13} {mode:<5} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            tlc = tlc1 if mode == "1" else tlc2 if mode == "2" else float("nan")
            done.add((config, mode))
            each = ", ".join(f"{c:.1f} s / {w:.1f} s" for c, w in zip(
                r["worker_cpu"], r["wait_cpu"] or [0.0] * len(r["worker_cpu"]), strict=True))
            rows.append([config, MODES.get(mode, f"{mode} workers"), r["distinct"],
                         f"{r['seconds']:.1f} s", f"{r['cpu_seconds']:.1f} s",
                         f"{r['cpu_total']:.1f} s", each,
                         "" if tlc != tlc else f"{tlc:.1f} s", r["verdict"]])
            print(f"{config:<13} {mode:<5} {r['distinct']:>10,} {tlc_distinct:>12,} "
                  f"{r['seconds']:>8.1f} {r['cpu_seconds']:>8.1f} {r['cpu_total']:>9.1f} "
                  f"{tlc:>6.1f} {r['bytes_per_state']:>11,} {r['verdict']:<8} {each}",
                  flush=True)
            if r["exchange"]["candidates"]:  # workers: what they exchanged, all levels
                print("    candidates sent {candidates:,}, known seen and not sent {known:,}, "
                      "kept {kept:,}".format(**r["exchange"]))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.write_docs or args.recorded:
        write_docs(rows, done)


if __name__ == "__main__":
    main()
