"""Put throughput and latency of a three-process localhost cluster, against PySyncObj.

    python benchmarks/bench_pysyncobj.py [--ops 3000] [--concurrency 32]

(The comparison with etcd, at several client counts, is bench_kv.py.)

agree: three `agree serve` processes (SQLite, PRAGMA synchronous=FULL, one
transaction per Ready), driven over TCP by CONCURRENCY asyncio clients in this
process, each with one put outstanding (a put is acknowledged once committed and
applied on the leader). PySyncObj: three processes, each a SyncObj holding a
ReplDict with a journal file (its durable mode; note it writes the journal
through mmap without an fsync per entry); the load runs inside the leader's
process with CONCURRENCY puts outstanding, acknowledged by the commit callback.
PySyncObj runs twice: with its default appendEntriesPeriod (0.1 s) and with 0.01 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from agree.impl.net import free_ports


def summary(name: str, latencies: list[float], seconds: float) -> dict[str, Any]:
    lat = sorted(latencies)
    q = statistics.quantiles(lat, n=100)
    return {"system": name, "ops": len(lat), "seconds": round(seconds, 3),
            "ops_per_s": round(len(lat) / seconds, 1), "p50_ms": round(q[49] * 1000, 2),
            "p99_ms": round(q[98] * 1000, 2)}


# ---- agree ----
async def drive_agree(addrs: list[str], ops: int, concurrency: int) -> tuple[list[float], float]:
    from agree.impl.client import KVClient
    clients = [KVClient(addrs, timeout=30) for _ in range(concurrency)]
    await clients[0].put("warmup", "x")
    latencies: list[float] = []
    counter = iter(range(ops))

    async def worker(c: KVClient) -> None:
        for i in counter:
            t0 = time.perf_counter()
            r = await c.put(f"key{i % 1000}", f"value-{i}")
            latencies.append(time.perf_counter() - t0)
            if not r.get("ok"):
                raise RuntimeError(f"put failed: {r}")

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed = time.perf_counter() - start
    for c in clients:
        await c.close()
    return latencies, elapsed


def bench_agree(ops: int, concurrency: int) -> dict[str, Any]:
    data = tempfile.mkdtemp(prefix="agree-bench-")
    addrs = [f"127.0.0.1:{p}" for p in free_ports(3)]
    procs = [subprocess.Popen([sys.executable, "-m", "agree.impl.server", "--id",
                               str(k), "--peers", ",".join(addrs), "--data", data],
                              stdout=subprocess.DEVNULL) for k in range(3)]
    try:
        latencies, elapsed = asyncio.run(drive_agree(addrs, ops, concurrency))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
    return summary("agree (SQLite synchronous=FULL)", latencies, elapsed)


# ---- PySyncObj ----
def pysyncobj_node(k: int, ports: list[int], data: str, ops: int, concurrency: int,
                   period: float) -> None:
    """One PySyncObj replica; node 0 also generates the load and prints the results."""
    from pysyncobj import SyncObj, SyncObjConf
    from pysyncobj.batteries import ReplDict

    store = ReplDict()
    conf = SyncObjConf(journalFile=os.path.join(data, f"journal{k}"),
                       fullDumpFile=os.path.join(data, f"dump{k}"),
                       appendEntriesPeriod=period, autoTickPeriod=min(0.05, period / 2))
    me = f"127.0.0.1:{ports[k]}"
    others = [f"127.0.0.1:{p}" for j, p in enumerate(ports) if j != k]
    obj = SyncObj(me, others, conf=conf, consumers=[store])
    if k != 0:
        while True:
            time.sleep(1)
    while obj._getLeader() is None:
        time.sleep(0.05)
    store.set("warmup", "x", sync=True, timeout=30)
    slots = threading.Semaphore(concurrency)
    done = threading.Event()
    latencies: list[float] = []
    failures: list[Any] = []
    lock = threading.Lock()

    def callback(result: Any, error: Any, t0: float) -> None:
        with lock:
            latencies.append(time.perf_counter() - t0)
            if error:
                failures.append(error)
            if len(latencies) == ops:
                done.set()
        slots.release()

    start = time.perf_counter()
    for i in range(ops):
        slots.acquire()
        t0 = time.perf_counter()
        store.set(f"key{i % 1000}", f"value-{i}",
                  callback=lambda r, e, t0=t0: callback(r, e, t0))
    done.wait(120)
    elapsed = time.perf_counter() - start
    result = summary(f"PySyncObj (journal, period {period:g}s)", latencies, elapsed)
    result["failures"] = len(failures)
    print(json.dumps(result), flush=True)
    os._exit(0)


def bench_pysyncobj(ops: int, concurrency: int, period: float) -> dict[str, Any]:
    data = tempfile.mkdtemp(prefix="pysyncobj-bench-")
    ports = free_ports(3)
    base = [sys.executable, __file__, "--pysyncobj-node", "--ports",
            ",".join(map(str, ports)), "--data", data, "--ops", str(ops),
            "--concurrency", str(concurrency), "--period", str(period)]
    procs = [subprocess.Popen([*base, "--node", str(k)], stdout=subprocess.PIPE, text=True)
             for k in (1, 2, 0)]
    try:
        out, _ = procs[2].communicate(timeout=300)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ops", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--pysyncobj-node", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--node", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--ports", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--period", type=float, default=0.1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pysyncobj_node:
        pysyncobj_node(args.node, [int(p) for p in args.ports.split(",")], args.data,
                       args.ops, args.concurrency, args.period)
        return
    print(f"{args.ops} puts, {args.concurrency} concurrent clients, 3 nodes on localhost, "
          f"{os.cpu_count()} CPUs")
    rows = [bench_agree(args.ops, args.concurrency)]
    try:
        import pysyncobj  # noqa: F401
        # its default appendEntriesPeriod (0.1 s), and tuned down to 0.01 s
        rows.append(bench_pysyncobj(args.ops, args.concurrency, 0.1))
        rows.append(bench_pysyncobj(args.ops, args.concurrency, 0.01))
    except ImportError:
        print("PySyncObj not installed (pip install pysyncobj): skipped")
    for r in rows:
        print(f"{r['system']:40} {r['ops_per_s']:>9.1f} puts/s   p50 {r['p50_ms']:>7.2f} ms"
              f"   p99 {r['p99_ms']:>7.2f} ms   ({r['ops']} puts in {r['seconds']} s)")


if __name__ == "__main__":
    main()
