"""End to end: three real `agree serve` processes on localhost survive SIGKILL of the leader."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from agree.impl.client import KVClient


def free_ports(k: int) -> list[int]:
    socks = [socket.socket() for _ in range(k)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Cluster:
    """Three server processes; every one is killed at the end, whatever happens."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.addrs = [f"127.0.0.1:{p}" for p in free_ports(3)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.files: list[IO[bytes]] = []

    def start(self, k: int) -> None:
        cmd = [sys.executable, "-m", "agree.impl.server", "--id", str(k),
               "--peers", ",".join(self.addrs), "--data", str(self.data),
               "--event-log", str(self.data / f"events{k}.jsonl")]
        err = open(self.data / f"err{k}.txt", "ab")  # noqa: SIM115
        self.files.append(err)
        self.procs[k] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)

    def kill(self, k: int) -> None:
        proc = self.procs.pop(k)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            proc.wait()
        self.procs.clear()
        for f in self.files:
            f.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop_all()


async def wait_for(predicate: object, what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def leader_of(client: KVClient, addrs: list[str]) -> int | None:
    for k, a in enumerate(addrs):
        try:
            st = await client.status(a)
        except (OSError, TimeoutError):
            continue
        if st["role"] == "Leader":
            return k
    return None


def test_leader_killed_nothing_acknowledged_lost(cluster: Cluster) -> None:
    """Write, SIGKILL the leader, write through the new leader, restart the old one:
    it catches up and every acknowledged write is there (Raft §5.4, §8)."""
    for k in range(3):
        cluster.start(k)

    async def scenario() -> None:
        client = KVClient(cluster.addrs, timeout=20)
        acked: dict[str, str] = {}
        for i in range(10):
            r = await client.put(f"k{i}", f"v{i}")
            assert r["ok"], r
            acked[f"k{i}"] = f"v{i}"
        old = await leader_of(client, cluster.addrs)
        assert old is not None
        cluster.kill(old)
        for i in range(10, 20):
            r = await client.put(f"k{i}", f"v{i}")
            assert r["ok"], r
            acked[f"k{i}"] = f"v{i}"
        r = await client.cas("k0", "v0", "w0")
        assert r["ok"], r
        acked["k0"] = "w0"
        new = await leader_of(client, cluster.addrs)
        assert new is not None and new != old
        cluster.start(old)

        async def caught_up() -> bool:
            try:
                st_old = await client.status(cluster.addrs[old])
                st_new = await client.status(cluster.addrs[new])
            except (OSError, TimeoutError):
                return False
            return bool(st_old["last_applied"] >= st_new["commit_index"] > 0)

        await wait_for(caught_up, "the restarted node to catch up")
        local = KVClient([cluster.addrs[old]], timeout=5)
        for key, value in acked.items():
            assert (await local.get(key, stale=True))["value"] == value, key
            assert (await client.get(key))["value"] == value, key
        await local.close()
        await client.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    events = (cluster.data / f"events{0}.jsonl").read_text().splitlines()
    assert any('"action": "AppendEntries"' in e or '"action": "HandleAppendEntriesRequest' in e
               or '"AcceptAppendEntriesRequest"' in e for e in events)
    assert os.path.getsize(cluster.data / "node0.db") > 0
