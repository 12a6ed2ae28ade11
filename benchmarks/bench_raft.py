"""Raft's three reference configurations (shared/reference/tlc-counts.md), every property on.

Prints distinct states, states generated, depth, seconds and states per second
beside TLC's figures (one worker, same machine kind). Usage:

    python benchmarks/bench_raft.py [--only 1,2,3] [--no-properties]
    python benchmarks/bench_raft.py --symmetry [--workers 2] [--only 1,2]

``--write-docs`` writes docs/benchmarks/raft.md (or raft-symmetry.md) from this run's
configurations, and the recorded figures of the configurations not run.

With ``--symmetry`` distinct states are orbits under renaming the servers (TLC's
``Permutations(Server)``); each configuration runs in a fresh subprocess so that its
peak resident memory, minus the interpreter's, divided by the orbits gives the bytes
per distinct state (with workers: plus each worker's growth past the fork).
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

from agree.checker.run import check
from agree.models.raft import Raft
from agree.properties.raft import PROPERTIES

#: (parameters, TLC distinct, TLC generated, TLC depth, TLC seconds with 1 worker)
CONFIGS = [
    (dict(servers=2, values=1, max_term=2, max_log=1, max_messages=2),
     25_164, 239_037, 33, 6.2),
    (dict(servers=3, values=1, max_term=2, max_log=0, max_messages=1),
     705_532, 8_683_474, 39, 107.0),
    (dict(servers=3, values=1, max_term=2, max_log=1, max_messages=1),
     2_379_781, 28_169_044, 53, 372.0),
]

COLUMNS = ["configuration", "distinct", "generated", "depth", "seconds", "states/s",
           "equal to TLC"]
SYM_COLUMNS = ["configuration", "orbits", "TLC distinct (no symmetry)", "generated",
               "depth", "wall", "CPU", "bytes/orbit"]
#: --symmetry, one process, measured when the README recorded them (commit 0e99d85).
RECORDED_SYM = {
    2: ["118,001", "705,532", "", "", "38.5 s", "26.7 s", "518"],
    3: ["397,346", "2,379,781", "", "", "393 s (load 5 on 2 cores)", "", "202"],
}
SYM_WHEN = Provenance.recorded(
    "0e99d85", "2026-11-26", "on the shared 2-core machine, one process, every property")


def label(params: dict[str, int]) -> str:
    """A configuration as it reads in a table."""
    return " ".join(f"{k}={v}" for k, v in params.items() if k != "values")


def write_docs(symmetry: bool, rows: list[list[object]], chosen: list[int]) -> None:
    """The page of this run's rows, and the recorded rows of the configurations not run."""
    if not symmetry:
        missing = [[label(CONFIGS[n - 1][0]), *CONFIGS[n - 1][1:4], "[scale page](scale.md)",
                    "", "yes (tests/test_raft.py)"] for n in (1, 2, 3) if n not in chosen]
        tables = [Table("Measured now", Provenance.now(), COLUMNS, rows)] if rows else []
        if missing:
            tables.append(Table(
                "Long configurations", Provenance.recorded(
                    "12dfc5d", "2026-11-26", "by `bench_scale.py`, which timed them"),
                COLUMNS, missing, "Counts pinned by `tests/test_raft.py` (the last under "
                "`pytest -m reference`); their times are on the [scale page](scale.md)."))
        write_page("raft", "Raft: the reference configurations",
                   "raft.tla's reference configurations (values 1, max term 2), every "
                   "property checked by the one-process checker: the counts are TLC's, "
                   "exactly.", tables, "python benchmarks/bench_raft.py --write-docs")
        return
    tables = [Table("Measured now", Provenance.now(), SYM_COLUMNS, rows)] if rows else []
    old = [[label(CONFIGS[n - 1][0]), *RECORDED_SYM[n]] for n in (2, 3) if n not in chosen]
    if old:
        tables.append(Table("Long configurations", SYM_WHEN, SYM_COLUMNS, old))
    write_page("raft-symmetry", "Raft with symmetry",
               "`--symmetry`: one state per orbit under renaming servers and values "
               "(TLC's `Permutations(Server)`), every property checked, one process. "
               "Bytes per orbit: peak resident memory minus the interpreter's, over the "
               "orbits.", tables, "python benchmarks/bench_raft.py --symmetry --write-docs")


def symmetric_run(n: int, workers: int, properties: bool) -> dict[str, Any]:
    """Configuration ``n`` (1-based) with symmetry, in this process; its figures."""

    params = CONFIGS[n - 1][0]
    spec, props = Raft(**params), list(PROPERTIES) if properties else []
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    stats: dict[str, Any] = {}
    start = time.perf_counter()
    cpu0 = time.process_time()
    if workers > 1:
        r = check(spec, props, workers=workers, symmetry=True, stats=stats)
    else:
        r = check(spec, props, symmetry=True)
    seconds = time.perf_counter() - start
    # CPU seconds on the critical path (the process, plus the busiest worker): the wall
    # time on an idle machine; the machine is shared
    cpu = time.process_time() - cpu0 + max(stats.get("worker_cpu", [0.0]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak += sum(stats.get("worker_rss_growth", []))
    return {"distinct": r.distinct, "generated": r.generated, "depth": r.depth,
            "verdict": r.verdict, "seconds": seconds, "cpu_seconds": cpu,
            "bytes_per_state": round((peak - base) / max(r.distinct, 1))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="1,2,3", help="which configurations (1-based)")
    parser.add_argument("--no-properties", action="store_true", help="check nothing")
    parser.add_argument("--symmetry", action="store_true",
                        help="one state per orbit under renaming the servers")
    parser.add_argument("--workers", type=int, default=1, help="with --symmetry: processes")
    parser.add_argument("--write-docs", action="store_true",
                        help="write the docs page (docs/benchmarks/) from this run")
    parser.add_argument("--recorded", action="store_true",
                        help="run nothing; write the docs page from the recorded figures")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(symmetric_run(args.one, args.workers, not args.no_properties)))
        return
    chosen = [] if args.recorded else [int(x) for x in args.only.split(",")]
    args.write_docs = args.write_docs or args.recorded
    rows: list[list[object]] = []
    if args.symmetry:
        rows = symmetric(chosen, args.workers, args.no_properties)
        if args.write_docs:
            write_docs(True, rows, chosen)
        return
    print(f"{'configuration':<44} {'distinct':>10} {'generated':>11} {'depth':>5} "
          f"{'seconds':>8} {'states/s':>9} {'TLC s':>6}  match")
    for n, (params, distinct, generated, depth, tlc_s) in enumerate(CONFIGS, 1):
        if n not in chosen:
            continue
        result = check(Raft(**params), [] if args.no_properties else PROPERTIES)
        same = (result.distinct, result.generated, result.depth) == (distinct, generated, depth)
        bad = [v.property for v in result.violations]
        rows.append([label(params), result.distinct, result.generated, result.depth,
                     f"{result.seconds:.1f} s", round(result.states_per_second),
                     "yes" if same else "NO"])
        print(f"{label(params):<44} {result.distinct:>10,} {result.generated:>11,} "
              f"{result.depth:>5} "
              f"{result.seconds:>8.1f} {result.states_per_second:>9,.0f} {tlc_s:>6.1f}  "
              f"{'TLC-equal' if same else 'DIFFERENT'}{' violated: ' + str(bad) if bad else ''}",
              flush=True)
    if args.write_docs:
        write_docs(False, rows, chosen)


def symmetric(chosen: list[int], workers: int, no_properties: bool) -> list[list[object]]:
    """Each chosen configuration with symmetry, in a fresh subprocess: orbits beside
    TLC's distinct count (without symmetry), seconds, bytes per orbit."""
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows: list[list[object]] = []
    print(f"{'configuration':<44} {'orbits':>9} {'TLC distinct':>12} {'ratio':>5} "
          f"{'generated':>10} {'depth':>5} {'seconds':>8} {'cpu s':>7} {'TLC s':>6} "
          f"{'bytes/state':>11}")
    for n in chosen:
        params, distinct, _, _, tlc_s = CONFIGS[n - 1]
        cmd = [sys.executable, __file__, "--one", str(n), "--workers", str(workers),
               *(["--no-properties"] if no_properties else [])]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{label(params):<44} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append([label(params), r["distinct"], distinct, r["generated"], r["depth"],
                     f"{r['seconds']:.1f} s", f"{r['cpu_seconds']:.1f} s",
                     r["bytes_per_state"]])
        print(f"{label(params):<44} {r['distinct']:>9,} {distinct:>12,} "
              f"{distinct / max(r['distinct'], 1):>5.2f} {r['generated']:>10,} {r['depth']:>5} "
              f"{r['seconds']:>8.1f} {r['cpu_seconds']:>7.1f} {tlc_s:>6.1f} "
              f"{r['bytes_per_state']:>11,}"
              f"{'' if r['verdict'] == 'holds' else '  ' + r['verdict']}", flush=True)
    return rows


if __name__ == "__main__":
    main()
