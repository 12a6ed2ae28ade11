"""Durable put throughput and latency: agree beside etcd, three processes each, on loopback.

    python benchmarks/bench_kv.py [--clients 1,8,32,128] [--seconds 10] [--rounds 2]
                                  [--interleave WINDOW]
                                  [--write-docs]

agree: three `agree serve` processes (python -m agree.impl.server; SQLite with
PRAGMA synchronous=FULL: every write it acknowledges is fsynced on a majority).
etcd: three `etcd` processes (Debian's etcd-server; `apt-get install etcd-server`) with
their defaults, which fsync the WAL before acknowledging; started by this benchmark on
free loopback ports with fresh data directories, stopped by PID.

Both are driven the same way, from this process: CLIENTS asyncio clients, each with
one connection kept alive and one put outstanding, for SECONDS after a warm-up, all
connected to the leader (agree's client follows its redirect; for etcd the leader is
asked for with the maintenance status call first, so no put is forwarded). agree's
client speaks its own framed JSON over TCP; etcd's speaks HTTP/1.1 JSON to etcd's
gRPC gateway (POST /v3/kv/put), so both encode and parse JSON per request. Keys cycle
over 1,000 names, values are ~10 bytes. Each system runs once per round with a fresh
cluster, taking every client count in turn; with --interleave W, all systems are up at
once and take turns of W seconds within each point, so a change in the machine's load
(other work, the disk's fsync latency, which on some virtual machines is ten times
longer when the disk is otherwise idle) reaches all alike. Without etcd on PATH,
agree's figures are printed alone (and said so). PySyncObj's comparison: bench_pysyncobj.py.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agree.impl.net import free_ports

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import Provenance, Table, write_page


class PutClient(Protocol):
    async def put(self, key: str, value: str) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class Point:
    """One measured point: a system at a client count."""

    system: str
    clients: int
    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float
    """the servers' CPU time per put (all three processes, warm-up included)"""

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds


async def drive(make: Callable[[], Awaitable[PutClient]], clients: int, seconds: float,
                warmup: float, close: bool = True) -> tuple[list[float], float, int]:
    """`clients` closed-loop clients putting for `warmup` then `seconds`; the latencies
    of the puts started after the warm-up, the measured span, and the failed puts
    (the clients are closed after, unless `close` is false)."""
    conns = [await make() for _ in range(clients)]
    latencies: list[float] = []
    errors = 0
    t_start = time.perf_counter() + warmup
    t_end = t_start + seconds

    async def worker(c: PutClient, k: int) -> None:
        nonlocal errors
        i = k
        while True:
            t0 = time.perf_counter()
            if t0 >= t_end:
                return
            try:
                await c.put(f"key{i % 1000}", f"value-{i}")
            except Exception:  # a failed put is counted, not fatal
                errors += 1
                await asyncio.sleep(0.01)
                continue
            t1 = time.perf_counter()
            if t0 >= t_start:
                latencies.append(t1 - t0)
            i += clients

    await asyncio.gather(*(worker(c, k) for k, c in enumerate(conns)))
    span = time.perf_counter() - t_start
    if close:
        for c in conns:
            await c.close()
    return latencies, span, errors


def point(system: str, clients: int, result: tuple[list[float], float, int],
          cpu: float) -> Point:
    latencies, span, errors = result
    q = statistics.quantiles(sorted(latencies), n=100) if len(latencies) > 1 else [0.0] * 99
    return Point(system, clients, len(latencies), span, q[49] * 1000, q[98] * 1000, errors,
                 cpu * 1000 / max(len(latencies), 1))


def cpu_seconds(procs: Sequence[subprocess.Popen[Any]]) -> float:
    """User plus system CPU time the processes used so far (Linux /proc; 0 elsewhere)."""
    total = 0
    for p in procs:
        try:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


# ---- agree ----
class AgreePut:
    """agree's own client (impl/client.py), raising on a put that did not succeed."""

    def __init__(self, addrs: list[str]) -> None:
        from agree.impl.client import KVClient
        self.client = KVClient(addrs, timeout=30)

    async def put(self, key: str, value: str) -> None:
        r = await self.client.put(key, value)
        if not r.get("ok"):
            raise RuntimeError(f"put failed: {r}")

    async def close(self) -> None:
        await self.client.close()


class AgreeCluster:
    """Three `python -m agree.impl.server` processes with fresh data; with `tree`, the
    servers of that source tree (imported through a symlink agree -> tree on PYTHONPATH),
    named `name`."""

    def __init__(self, tree: str | None = None, name: str = "agree") -> None:
        self.name = name
        self.data = tempfile.mkdtemp(prefix="agree-bench-")
        self.addrs = [f"127.0.0.1:{p}" for p in free_ports(3)]
        env = None
        if tree is not None:
            os.symlink(os.path.abspath(tree), os.path.join(self.data, "agree"))
            env = {**os.environ, "PYTHONPATH": self.data}
        self.procs = [subprocess.Popen([sys.executable, "-m", "agree.impl.server", "--id",
                                        str(k), "--peers", ",".join(self.addrs), "--data",
                                        self.data], stdout=subprocess.DEVNULL, env=env,
                                       cwd=self.data)
                      for k in range(3)]

    async def ready(self) -> None:
        c = AgreePut(self.addrs)
        await c.put("warmup", "x")
        await c.close()

    async def client(self) -> PutClient:
        c = AgreePut(self.addrs)
        await c.put("hello", "x")  # find the leader before the clock starts
        return c

    def stop(self) -> None:
        stop_all(self.procs)
        shutil.rmtree(self.data, ignore_errors=True)


# ---- etcd ----
class EtcdPut:
    """A put over HTTP/1.1 keep-alive to etcd's JSON gateway, one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.conn is None:
            self.conn = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.conn
        payload = json.dumps(body, separators=(",", ":")).encode()
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(payload)}"
                     "\r\n\r\n".encode() + payload)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next((int(line.split(":", 1)[1]) for line in lines
                       if line.lower().startswith("content-length:")), None)
        if length is None:  # the gateway answers with a length; anything else is a bug here
            raise RuntimeError(f"etcd reply without Content-Length: {lines[0]}")
        reply = json.loads(await reader.readexactly(length))
        if status != 200:
            raise RuntimeError(f"etcd {path}: HTTP {status} {reply}")
        return dict(reply)

    async def put(self, key: str, value: str) -> None:
        await self.call("/v3/kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                       "value": base64.b64encode(value.encode()).decode()})

    async def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()
            self.conn = None


class EtcdCluster:
    """Three etcd processes with default durability (the WAL fsynced per write batch)."""

    name = "etcd"

    def __init__(self, etcd: str) -> None:
        self.data = tempfile.mkdtemp(prefix="etcd-bench-")
        ports = free_ports(6)
        self.client_ports, peer_ports = ports[:3], ports[3:]
        cluster = ",".join(f"n{k}=http://127.0.0.1:{p}" for k, p in enumerate(peer_ports))
        self.procs = []
        for k in range(3):
            curl, purl = (f"http://127.0.0.1:{self.client_ports[k]}",
                          f"http://127.0.0.1:{peer_ports[k]}")
            self.procs.append(subprocess.Popen(
                [etcd, "--name", f"n{k}", "--data-dir", os.path.join(self.data, f"n{k}"),
                 "--listen-client-urls", curl, "--advertise-client-urls", curl,
                 "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
                 "--initial-cluster", cluster, "--initial-cluster-state", "new",
                 "--initial-cluster-token", "bench", "--logger", "zap",
                 "--log-level", "error"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.leader_port = self.client_ports[0]

    async def ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                c = EtcdPut("127.0.0.1", self.client_ports[0])
                await c.put("warmup", "x")
                status = await c.call("/v3/maintenance/status", {})
                await c.close()
                break
            except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError("etcd did not come up within 30 s") from None
                await asyncio.sleep(0.2)
        leader = status["leader"]
        for port in self.client_ports:  # find the member whose id is the leader's
            c = EtcdPut("127.0.0.1", port)
            member = (await c.call("/v3/maintenance/status", {}))["header"]["member_id"]
            await c.close()
            if member == leader:
                self.leader_port = port

    async def client(self) -> PutClient:
        return EtcdPut("127.0.0.1", self.leader_port)

    def stop(self) -> None:
        stop_all(self.procs)
        shutil.rmtree(self.data, ignore_errors=True)


def stop_all(procs: Sequence[subprocess.Popen[Any]]) -> None:
    """SIGTERM each process we started, by PID; SIGKILL what is still up after 10 s."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_system(cluster: AgreeCluster | EtcdCluster, clients: Sequence[int], seconds: float,
               warmup: float) -> list[Point]:
    """Every client count in turn against one fresh cluster."""
    async def go() -> list[Point]:
        await cluster.ready()
        out = []
        for n in clients:
            cpu = cpu_seconds(cluster.procs)
            result = await drive(cluster.client, n, seconds, warmup)
            p = point(cluster.name, n, result, cpu_seconds(cluster.procs) - cpu)
            report(p)
            out.append(p)
        return out

    try:
        return asyncio.run(go())
    finally:
        cluster.stop()


def server_loop() -> str:
    """The event loop agree's servers run on (--event-loop auto: uvloop if installed)."""
    try:
        import uvloop
    except ImportError:
        return "asyncio's event loop (uvloop not installed: pip install 'agree[fast]')"
    return f"uvloop {uvloop.__version__}"


def run_interleaved(clusters: Sequence[AgreeCluster | EtcdCluster], clients: Sequence[int],
                    seconds: float, warmup: float, window: float) -> list[Point]:
    """Every client count against all the clusters at once, up side by side: after a
    warm-up of each, they take turns of `window` seconds until each has had `seconds`,
    so a change in the machine's load (other work, the disk's latency) reaches all
    alike; the idle clusters only tick meanwhile."""
    async def go() -> list[Point]:
        for c in clusters:
            await c.ready()
        out = []
        for n in clients:
            conns = {c.name: [await c.client() for _ in range(n)] for c in clusters}
            for c in clusters:
                await measure_window(conns[c.name], warmup)
            got: dict[str, tuple[list[float], float, int, float]] = {
                c.name: ([], 0.0, 0, 0.0) for c in clusters}
            turns = max(1, round(seconds / window))
            for _ in range(turns):
                for c in clusters:
                    cpu = cpu_seconds(c.procs)
                    lat, span, errors = await measure_window(conns[c.name], seconds / turns)
                    old = got[c.name]
                    got[c.name] = (old[0] + lat, old[1] + span, old[2] + errors,
                                   old[3] + cpu_seconds(c.procs) - cpu)
            for c in clusters:
                lat, span, errors, cpu = got[c.name]
                p = point(c.name, n, (lat, span, errors), cpu)
                report(p)
                out.append(p)
                for conn in conns[c.name]:
                    await conn.close()
        return out

    try:
        return asyncio.run(go())
    finally:
        for c in clusters:
            c.stop()


async def measure_window(conns: Sequence[PutClient], seconds: float) -> tuple[list[float],
                                                                              float, int]:
    """The clients `conns` (already connected) putting for `seconds`: the latencies,
    the span and the failed puts."""
    async def make() -> PutClient:
        return next(pool)

    pool = iter(conns)
    return await drive(make, len(conns), seconds, 0.0, close=False)


def report(p: Point) -> None:
    print(f"  {p.system:8} {p.clients:>4} clients  {p.ops_per_s:>9.1f} puts/s  "
          f"p50 {p.p50_ms:>7.2f} ms  p99 {p.p99_ms:>7.2f} ms  "
          f"server CPU {p.cpu_ms:.2f} ms/put  ({p.ops} puts, {p.errors} errors)", flush=True)


def etcd_binary() -> tuple[str | None, str]:
    """etcd's path and version line, or None and why not."""
    etcd = shutil.which("etcd")
    if etcd is None:
        return None, "etcd not found on PATH (apt-get install etcd-server)"
    try:
        out = subprocess.run([etcd, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"etcd at {etcd} does not run ({exc})"
    return etcd, out.splitlines()[0] if out else "etcd (version unknown)"


def rows_of(points: list[Point], round_no: int, clients: Sequence[int],
            with_etcd: bool, with_base: bool) -> list[list[object]]:
    rows: list[list[object]] = []
    for n in clients:
        a = next(p for p in points if p.system == "agree" and p.clients == n)
        row: list[object] = [round_no, n, round(a.ops_per_s), f"{a.p50_ms:.2f}",
                             f"{a.p99_ms:.2f}", f"{a.cpu_ms:.2f}"]
        if with_etcd:
            e = next(p for p in points if p.system == "etcd" and p.clients == n)
            row += [round(e.ops_per_s), f"{e.p50_ms:.2f}", f"{e.p99_ms:.2f}",
                    f"{e.cpu_ms:.2f}", f"{a.ops_per_s / e.ops_per_s:.2f}",
                    f"{a.p99_ms / e.p99_ms:.2f}"]
        if with_base:
            b = next(p for p in points if p.system == "baseline" and p.clients == n)
            row += [round(b.ops_per_s), f"{b.p50_ms:.2f}", f"{b.p99_ms:.2f}",
                    f"{a.ops_per_s / b.ops_per_s:.2f}"]
        row.append(sum(p.errors for p in points if p.clients == n))
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="1,8,32,128",
                    help="comma-separated client counts (default 1,8,32,128)")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per point")
    ap.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per point")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--interleave", type=float, default=0.0, metavar="WINDOW",
                    help="run the systems side by side, taking turns of WINDOW seconds "
                    "within each point (for a machine whose load changes: other work, "
                    "the disk's latency); default 0: one system after the other")
    ap.add_argument("--no-etcd", action="store_true", help="measure agree alone")
    ap.add_argument("--baseline", metavar="TREE",
                    help="also measure the servers of another agree source tree (e.g. a "
                         "`git archive` of an older commit), as 'baseline'")
    ap.add_argument("--baseline-label", default="the --baseline tree",
                    help="what the baseline is, for the docs page (e.g. 'main at fafc7e2')")
    ap.add_argument("--write-docs", action="store_true",
                    help="write docs/benchmarks/kv-etcd.md")
    args = ap.parse_args()
    try:
        clients = [int(c) for c in args.clients.split(",")]
        if not clients or min(clients) < 1:
            raise ValueError
    except ValueError:
        ap.error(f"--clients {args.clients!r}: expected positive integers separated by commas")
    if args.interleave < 0 or args.seconds <= 0:
        ap.error("--interleave must be >= 0 and --seconds > 0")
    if args.baseline and not os.path.isfile(os.path.join(args.baseline, "impl", "server.py")):
        ap.error(f"--baseline {args.baseline!r}: not an agree source tree (no impl/server.py)")
    etcd, why = (None, "--no-etcd given") if args.no_etcd else etcd_binary()
    print(f"3 nodes on loopback, fsync on, {os.cpu_count()} CPUs, {args.seconds:g} s per "
          f"point after {args.warmup:g} s warm-up, {args.rounds} round(s)")
    print(f"etcd: {why}" if etcd is None else f"etcd: {why} ({etcd})")
    loop = server_loop()
    print(f"agree's servers: {loop}")
    provenance = Provenance.now()
    all_rows: list[list[object]] = []
    for r in range(1, args.rounds + 1):
        print(f"round {r}", flush=True)
        if args.interleave:
            clusters: list[AgreeCluster | EtcdCluster] = [AgreeCluster()]
            if etcd is not None:
                clusters.append(EtcdCluster(etcd))
            if args.baseline:
                clusters.append(AgreeCluster(args.baseline, "baseline"))
            points = run_interleaved(clusters, clients, args.seconds, args.warmup,
                                     args.interleave)
        else:
            points = run_system(AgreeCluster(), clients, args.seconds, args.warmup)
            if etcd is not None:
                points += run_system(EtcdCluster(etcd), clients, args.seconds, args.warmup)
            if args.baseline:
                points += run_system(AgreeCluster(args.baseline, "baseline"), clients,
                                     args.seconds, args.warmup)
        all_rows += rows_of(points, r, clients, etcd is not None, bool(args.baseline))
    columns = ["round", "clients", "agree puts/s", "agree p50 ms", "agree p99 ms",
               "agree CPU ms/put"]
    if etcd is not None:
        columns += ["etcd puts/s", "etcd p50 ms", "etcd p99 ms", "etcd CPU ms/put",
                    "ratio (agree/etcd)", "p99 ratio (agree/etcd)"]
    if args.baseline:
        columns += ["baseline puts/s", "baseline p50 ms", "baseline p99 ms",
                    "ratio (agree/baseline)"]
    columns.append("errors")
    print("\n" + " | ".join(columns))
    for row in all_rows:
        print(" | ".join(str(v) for v in row))
    if args.write_docs:
        note = ("ratio: agree's puts/s over etcd's (above 1: agree is faster); p99 ratio: "
                "agree's p99 over etcd's (below 1: agree's tail is shorter); CPU ms/put: "
                "the three server processes' CPU time (user + system) per put, "
                + (f"over the measured turns. Measured side by side (--interleave): the "
                   f"systems up at once, taking turns of {args.interleave:g} s within each "
                   "point. " if args.interleave else
                   "warm-up included. Measured one system after the other. ")
                + f"agree's servers ran on {loop}. "
                + ("" if etcd is not None else f"etcd was not measured: {why}. ")
                + (f"baseline: agree's servers from {args.baseline_label}. "
                   if args.baseline else "")
                + "Both run on the same cores as the clients, which run in one Python "
                "process; other work on the machine inflates every figure.")
        table = Table(f"Durable puts, 3 nodes on loopback ({why if etcd else 'agree alone'})",
                      provenance, columns, all_rows, note)
        write_page("kv-etcd", "agree's KV service beside etcd", __doc__.split("\n\n", 2)[2],
                   [table], "python benchmarks/bench_kv.py --write-docs")


if __name__ == "__main__":
    main()
