"""Memory and disk of the KV service over a long run of puts, with and without snapshots.

    python benchmarks/bench_snapshot.py                       # 500,000 puts, snapshots on
    python benchmarks/bench_snapshot.py --puts 20000 --baseline   # quick, and without
    python benchmarks/bench_snapshot.py --write-docs           # docs/benchmarks/snapshots.md

Three `python -m agree.impl.server` processes on loopback (SQLite, fsync on), driven
by CLIENTS asyncio clients in this process, each with one put outstanding, over a
bounded key set (KEYS keys, so the state machine itself stays the same size). At
evenly spaced points it prints each node's resident memory (VmRSS from /proc) and
database size (the SQLite file plus its write-ahead log), and the leader's snapshot
index. With snapshots (``--snapshot-every N``, the servers' default 10000) both stay
bounded: the log is compacted behind each snapshot and SQLite reuses the freed pages.
``--baseline`` runs the same load again with snapshots off (``--snapshot-every 0``)
for ``--baseline-puts`` puts, where both grow with the log.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agree.impl.net import free_ports

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import Provenance, Table, write_page

COLUMNS = ["snapshots", "puts", "seconds", "puts/s", "RSS MB (min-max of 3 nodes)",
           "database MB (max)", "snapshot index"]




def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def db_mb(path: Path) -> float:
    """The SQLite file plus its write-ahead log, in MB."""
    total = 0
    for p in (path, Path(str(path) + "-wal")):
        if p.exists():
            total += p.stat().st_size
    return total / 2**20


async def drive(addrs: list[str], procs: list[subprocess.Popen[bytes]], data: Path,
                puts: int, clients: int, keys: int, samples: int,
                label: str) -> list[list[object]]:
    """Run `puts` puts; return a row at each of `samples` evenly spaced points."""
    from agree.impl.client import KVClient
    conns = [KVClient(addrs, timeout=60) for _ in range(clients)]
    await conns[0].put("warmup", "x")
    done = 0
    marks = [puts * (k + 1) // samples for k in range(samples)]
    rows: list[list[object]] = []
    start = time.perf_counter()
    counter = iter(range(puts))
    value = "v" * 100

    async def worker(c: KVClient) -> None:
        nonlocal done
        for i in counter:
            r = await c.put(f"key{i % keys}", f"{i}:{value}")
            if not r.get("ok"):
                raise RuntimeError(f"put failed: {r}")
            done += 1

    async def sampler() -> None:
        for mark in marks:
            while done < mark:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            rss = [rss_mb(p.pid) for p in procs]
            size = max(db_mb(data / f"node{k}.db") for k in range(len(procs)))
            index = 0
            for a in addrs:
                st = await conns[0].status(a)
                if st.get("role") == "Leader":
                    index = int(st.get("snapshot_index") or 0)
            row: list[object] = [label, done, round(elapsed), round(done / elapsed),
                                 f"{min(rss):.1f}-{max(rss):.1f}", f"{size:.1f}", index]
            print("  ".join(f"{c}={v}" for c, v in zip(COLUMNS, row, strict=True)),
                  flush=True)
            rows.append(row)

    await asyncio.gather(sampler(), *(worker(c) for c in conns))
    for c in conns:
        await c.close()
    return rows


def run(puts: int, clients: int, keys: int, samples: int, every: int) -> list[list[object]]:
    """One cluster, started fresh in a temporary directory, under `puts` puts."""
    data = Path(tempfile.mkdtemp(prefix="agree-snap-bench-"))
    addrs = [f"127.0.0.1:{p}" for p in free_ports(3)]
    procs = [subprocess.Popen([sys.executable, "-m", "agree.impl.server", "--id", str(k),
                               "--peers", ",".join(addrs), "--data", str(data),
                               "--snapshot-every", str(every)],
                              stdout=subprocess.DEVNULL) for k in range(3)]
    label = f"every {every:,}" if every else "off"
    try:
        return asyncio.run(drive(addrs, procs, data, puts, clients, keys, samples, label))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        for f in data.iterdir():
            f.unlink()
        data.rmdir()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--puts", type=int, default=500_000, help="puts to run (default 500000)")
    ap.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    ap.add_argument("--keys", type=int, default=1000, help="distinct keys (default 1000)")
    ap.add_argument("--samples", type=int, default=10, help="rows printed (default 10)")
    ap.add_argument("--snapshot-every", type=int, default=10_000,
                    help="the servers' --snapshot-every (default 10000)")
    ap.add_argument("--baseline", action="store_true",
                    help="also run with snapshots off, for --baseline-puts puts")
    ap.add_argument("--baseline-puts", type=int, default=100_000,
                    help="puts of the run without snapshots (default 100000)")
    ap.add_argument("--write-docs", action="store_true",
                    help="write docs/benchmarks/snapshots.md from this run")
    args = ap.parse_args(argv)
    if min(args.puts, args.clients, args.keys, args.samples, args.baseline_puts) < 1 \
            or args.snapshot_every < 1:
        print("error: --puts, --clients, --keys, --samples, --baseline-puts and "
              "--snapshot-every must be >= 1", file=sys.stderr)
        return 2
    provenance = Provenance.now()  # the commit and load as the run starts
    rows = run(args.puts, args.clients, args.keys, args.samples, args.snapshot_every)
    if args.baseline:
        rows += run(args.baseline_puts, args.clients, args.keys, args.samples, 0)
    if args.write_docs:
        write_docs(rows, args, provenance)
    return 0


def write_docs(rows: list[list[Any]], args: argparse.Namespace,
               provenance: Provenance) -> None:
    command = "python benchmarks/bench_snapshot.py --write-docs"
    if args.puts != 500_000 or args.baseline:
        command += f" --puts {args.puts}" * (args.puts != 500_000)
        command += f" --baseline --baseline-puts {args.baseline_puts}" * args.baseline
    write_page("snapshots", "Snapshots: memory and disk over a long run",
               "Three server processes on loopback (SQLite, fsync on), "
               f"{args.clients} clients each with one put outstanding, over "
               f"{args.keys:,} keys with 100-byte values. Each row is a point in the run: "
               "the resident memory of the three nodes and the largest database (SQLite "
               "file plus write-ahead log), and the leader's snapshot index. With snapshots "
               "the log is compacted behind each one, so memory and disk stay bounded; "
               "without (`--snapshot-every 0`) both grow with the log.",
               [Table("Puts over time", provenance, COLUMNS, rows)], command)


if __name__ == "__main__":
    sys.exit(main())
