"""Real `agree serve` processes on 127.0.0.1 behind one TCP proxy per link direction.

A :class:`RealCluster` starts, kills (SIGKILL), freezes (SIGSTOP/SIGCONT) and restarts
server processes, and acts on the network through its :class:`Proxy` s: a partition is a
proxy refusing and cutting connections, a slow link a proxy delaying what it forwards.
Used by the real-process chaos run (chaos/real.py), by `agree chaos --outside`
(chaos/outside.py) and by tests. Only loopback addresses are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agree.impl.client import KVClient
from agree.impl.net import free_ports

__all__ = ["HOST", "Proxy", "RealCluster"]

HOST = "127.0.0.1"


class Proxy:
    """One direction of one link (node i -> node j): forwards (after ``delay`` seconds per
    chunk, in order), drops what is in flight when cut, and refuses while blocked."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.blocked = False
        self.delay = 0.0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def block(self) -> None:
        self.blocked = True
        self.cut()

    def cut(self) -> None:
        """Close the connections (what they carry is lost); new ones are let through."""
        for w in self._writers:
            w.close()
        self._writers.clear()

    async def close(self) -> None:
        self.block()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.blocked:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not self.blocked:
                data = await reader.read(65536)
                if not data or self.blocked:
                    break
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        except (OSError, RuntimeError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ValueError):
                self._writers.remove(writer)


class RealCluster:
    """N server processes behind per-link proxies; everything is stopped by `close`."""

    def __init__(self, n: int, data: Path, args: tuple[str, ...] = (),
                 snapshot_every: int | None = None) -> None:
        self.n = n
        self.data = data
        self.args = args  # more options for every node (those of ``agree serve``)
        self.snapshot_every = snapshot_every
        self.ports = free_ports(n)
        self.proxies: dict[tuple[int, int], Proxy] = {
            (i, j): Proxy(self.ports[j]) for i in range(n) for j in range(n) if i != j}
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.stopped: set[int] = set()

    @property
    def addresses(self) -> list[str]:
        return [f"{HOST}:{p}" for p in self.ports]

    async def start(self) -> None:
        for proxy in self.proxies.values():
            await proxy.start()
        for k in range(self.n):
            self.start_node(k)

    def peers(self, k: int) -> str:
        """How node k reaches each node, host:port in node order: its own address, and
        the proxies of its links to the others."""
        return ",".join(f"{HOST}:{self.ports[j] if j == k else self.proxies[(k, j)].port}"
                        for j in range(self.n))

    def command(self, k: int) -> list[str]:
        """The command line that starts (or restarts) node k."""
        extra = ([] if self.snapshot_every is None
                 else ["--snapshot-every", str(self.snapshot_every)])
        return [sys.executable, "-m", "agree.impl.server", "--id", str(k),
                "--peers", self.peers(k), "--data", str(self.data), *extra, *self.args]

    def start_node(self, k: int) -> None:
        cmd = self.command(k)
        with open(self.data / f"node{k}.err", "ab") as err:
            self.procs[k] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                             start_new_session=True)

    def kill(self, k: int) -> None:
        proc = self.procs.pop(k)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.stopped.discard(k)

    def freeze(self, k: int, on: bool) -> None:
        self.procs[k].send_signal(signal.SIGSTOP if on else signal.SIGCONT)
        (self.stopped.add if on else self.stopped.discard)(k)

    def links(self, k: int) -> list[Proxy]:
        """The proxies of every link to or from node k (what a fault on k acts on)."""
        return [proxy for (i, j), proxy in self.proxies.items() if k in (i, j)]

    def isolate(self, k: int, on: bool) -> None:
        for proxy in self.links(k):
            if on:
                proxy.block()
            else:
                proxy.blocked = False

    def slow(self, k: int, delay: float) -> None:
        """Delay everything to and from node k by ``delay`` seconds (0: no more)."""
        for proxy in self.links(k):
            proxy.delay = delay

    def drop(self, k: int) -> None:
        """Cut node k's connections once: the messages on the way are lost."""
        for proxy in self.links(k):
            proxy.cut()

    async def status(self, k: int) -> dict[str, Any] | None:
        client = KVClient([self.addresses[k]], timeout=1, attempt_timeout=0.5)
        try:
            return await client.status(self.addresses[k])
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            return None

    async def leader(self) -> int | None:
        for k in sorted(self.procs):
            if k in self.stopped:
                continue
            st = await self.status(k)
            if st is not None and st.get("role") == "Leader":
                return k
        return None

    async def voters(self) -> list[int]:
        """The voters of the leader's configuration (every node when nobody leads)."""
        for k in range(self.n):
            st = await self.status(k)
            if st is not None and st.get("role") == "Leader":
                return [int(v) for v in st.get("voters", range(self.n))]
        return list(range(self.n))

    async def converged(self) -> bool:
        """A leader, and its configuration's voters all committed and applied alike."""
        statuses = [await self.status(k) for k in await self.voters()]
        if any(s is None for s in statuses):
            return False
        commits = {(s or {}).get("commit_index") for s in statuses}
        applied = {(s or {}).get("last_applied") for s in statuses}
        return len(commits) == 1 and commits == applied and \
            any((s or {}).get("role") == "Leader" for s in statuses)

    async def close(self) -> None:
        for k in sorted(self.procs):
            proc = self.procs[k]
            if k in self.stopped:
                proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in self.procs.values():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        for proxy in self.proxies.values():
            await proxy.close()
