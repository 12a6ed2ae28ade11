"""Memory benchmark of the one-process checker: bytes per distinct state and time.

    python benchmarks/bench_memory.py                         # Paxos MaxBallot 2, Raft 3/log 0
    python benchmarks/bench_memory.py --configs paxos-2 --repeat 3
    git show REV:checker/explore.py > /tmp/old_explore.py
    python benchmarks/bench_memory.py --baseline /tmp/old_explore.py   # before / after
    python benchmarks/bench_memory.py --configs paxos-2 --breakdown    # where it goes

Each run is a fresh subprocess checking every property; "bytes/state" is its peak
resident memory (ru_maxrss) minus the resident memory just before the search, over
the distinct states. "cpu s" is the process's CPU time, a fairer figure than wall
time on a shared machine. With ``--baseline FILE`` the runs alternate between the
current engine and the one in FILE (an older checker/explore.py), so both see the
same load. ``--breakdown`` traces allocations (tracemalloc, several times slower)
and prints, at the largest heap seen, the bytes per state by source line.
``--write-docs`` writes docs/benchmarks/memory.md from this run, with the recorded
figures of the configurations not run (``--recorded``: from those only, running nothing).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_scale import CONFIGS
from report import Provenance, Table, write_page

COLUMNS = ["configuration", "engine", "distinct", "bytes/state", "CPU"]
#: Measured at commit 570fbb6 (one process, load 4 to 6 on 2 cores): the engine before
#: the compact seen-set and packed frontier (baseline) and after.
RECORDED = {
    "paxos-2": [["baseline", 185_369, 628, "17.1 s"], ["current", 185_369, 103, "17.6 s"]],
    "raft-3-log0": [["baseline", 705_532, 260, "75.5 s"], ["current", 705_532, 51, "76.9 s"]],
}


def write_docs(rows: list[list[object]], done: set[str]) -> None:
    """memory.md: this run's rows, then the recorded rows of configurations not run."""
    tables = [Table("Measured now", Provenance.now(), COLUMNS, rows)] if rows else []
    old = [[config, *row] for config, pair in RECORDED.items() if config not in done
           for row in pair]
    if old:
        tables.append(Table("Before and after the compact seen-set", Provenance.recorded(
            "570fbb6", "2026-11-26", "one process, load 4 to 6 on the shared 2-core "
            "machine"), COLUMNS, old, "Baseline: the engine before the compact seen-set "
            "and packed frontier, run alternately with the current one under the same load."))
    write_page("memory", "Memory per state",
               "Bytes per distinct state of the one-process checker, every property "
               "checked: peak resident memory of a fresh subprocess minus its resident "
               "memory just before the search, over the distinct states. CPU seconds are "
               "shown only beside a baseline (`--baseline OLD_explore.py`); time is on the "
               "[scale page](scale.md).", tables,
               "python benchmarks/bench_memory.py --write-docs")


def _engine(path: str | None) -> Any:
    if path is None:
        from agree.checker import run  # its check() is the old explore.check's superset
        return run
    spec = importlib.util.spec_from_file_location("agree_baseline_explore", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(config: str) -> tuple[Any, list[Any]]:
    from agree.protocols import registry

    name, params, *_ = CONFIGS[config]
    spec, props = registry.build(name, params)
    chosen = [p for p in (*spec.declared_properties(), *props)
              if p.kind in ("invariant", "action", "sometimes")]
    return spec, chosen


def one(config: str, engine: str | None) -> dict[str, Any]:
    """One search in this process: its figures."""
    explore = _engine(engine)
    spec, chosen = _build(config)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cpu0, wall0 = time.process_time(), time.perf_counter()
    r = explore.check(spec, chosen)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"distinct": r.distinct, "generated": r.generated, "depth": r.depth,
            "verdict": r.verdict, "cpu": round(cpu, 1), "seconds": round(wall, 1),
            "bytes_per_state": round((peak - base) / max(r.distinct, 1))}


def breakdown(config: str, engine: str | None, top: int) -> None:
    """Bytes per state by source line at the largest traced heap (sampled each second)."""
    import tracemalloc

    explore = _engine(engine)
    spec, chosen = _build(config)
    best: list[Any] = [0, None, 1]

    def sample(p: Any) -> None:
        current, _ = tracemalloc.get_traced_memory()
        if current > best[0]:
            best[:] = [current, tracemalloc.take_snapshot(), max(p.distinct, 1)]

    tracemalloc.start(1)
    explore.check(spec, chosen, progress=sample, progress_every=1.0)
    tracemalloc.stop()
    if best[1] is None:
        print("the search ended before the first sample")
        return
    total, snap, distinct = best
    print(f"{config}: largest heap {total / 2**20:.1f} MiB at {distinct:,} distinct states "
          f"= {total / distinct:.0f} bytes/state")
    for stat in snap.statistics("lineno")[:top]:
        print(f"  {stat.size / distinct:8.1f} bytes/state  {stat.count:>9,} blocks  "
              f"{stat.traceback}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", nargs="+", default=["paxos-2", "raft-3-log0"],
                    choices=list(CONFIGS))
    ap.add_argument("--baseline", metavar="FILE", help="an older checker/explore.py to compare")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine (the least CPU "
                    "time is printed)")
    ap.add_argument("--breakdown", action="store_true", help="trace allocations instead")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--recorded", action="store_true",
                    help="run nothing; write the docs page from the recorded figures")
    ap.add_argument("--write-docs", action="store_true",
                    help="write docs/benchmarks/memory.md from this run")
    ap.add_argument("--one", nargs=2, metavar=("CONFIG", "ENGINE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], None if args.one[1] == "-" else args.one[1])))
        return
    if args.breakdown:
        for config in args.configs:
            breakdown(config, args.baseline, args.top)
        return
    engines = [("current", "-")] + ([("baseline", args.baseline)] if args.baseline else [])
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'configuration':<13} {'engine':<9} {'distinct':>10} {'generated':>11} "
          f"{'depth':>5} {'cpu s':>7} {'wall s':>7} {'bytes/state':>11}")
    rows: list[list[object]] = []
    for config in [] if args.recorded else args.configs:
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in engines}
        for _ in range(args.repeat):
            for name, path in engines:
                out = subprocess.run([sys.executable, __file__, "--one", config, path],
                                     capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    print(f"{config:<13} {name:<9} failed: {out.stderr.strip()[-300:]}")
                    continue
                runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
        for name, _ in engines:
            if not runs[name]:
                continue
            r = min(runs[name], key=lambda x: x["cpu"])
            rows.append([config, name, r["distinct"], r["bytes_per_state"],
                         f"{r['cpu']:.1f} s" if args.baseline else "—"])
            print(f"{config:<13} {name:<9} {r['distinct']:>10,} {r['generated']:>11,} "
                  f"{r['depth']:>5} {r['cpu']:>7.1f} {r['seconds']:>7.1f} "
                  f"{r['bytes_per_state']:>11,}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.write_docs or args.recorded:
        write_docs(rows, {str(row[0]) for row in rows})


if __name__ == "__main__":
    main()
