"""Snapshots end to end with real server processes: SIGKILL while nodes snapshot loses no
acknowledged write, a restarted node comes back from its snapshot, and real-process
chaos with frequent snapshots stays linearizable."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from _nodes import NodeCluster, free_ports

import agree.impl.server as server_module
from agree.chaos.real import RealOptions, run_real
from agree.impl.client import ClusterUnavailable, KVClient
from agree.impl.server import KVServer, ServerOptions

pytestmark = pytest.mark.integration

VALUE = "x" * 3000  # 60 keys of it: each snapshot writes ~200 KB, so a node spends
KEYS = 60           # much of its time snapshotting and a SIGKILL lands in one


async def _status(client: KVClient, address: str) -> dict[str, Any] | None:
    """A node's status, or None while it does not answer (restarting)."""
    try:
        return await client.status(address)
    except (OSError, TimeoutError):
        return None


def test_sigkill_while_snapshotting_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """Every node snapshots after every applied entry; nodes are SIGKILLed and restarted
    while one client writes. Every acknowledged put must be read back (or a later put
    of the same key whose outcome was unknown), and every node restarts."""
    cluster = NodeCluster(tmp_path, event_logs=False, own_dirs=True,
                          args=("--snapshot-every", "1"))
    rng = random.Random(5)
    acked: dict[str, str] = {}
    maybe: dict[str, set[str]] = {}  # values written after the last ack, outcome unknown
    kills = 0

    async def writer(stop: asyncio.Event) -> None:
        client = KVClient(cluster.addrs, client_id="w", timeout=8)
        try:
            i = 0
            while not stop.is_set():
                key, value = f"k{i % KEYS}", f"{i}:{VALUE}"
                i += 1
                try:
                    reply = await client.put(key, value)
                except ClusterUnavailable:
                    maybe.setdefault(key, set()).add(value)
                    continue
                if reply.get("ok"):
                    acked[key] = value
                    maybe.pop(key, None)
                else:
                    maybe.setdefault(key, set()).add(value)
        finally:
            await client.close()

    async def killer() -> None:
        nonlocal kills
        stop = asyncio.Event()
        task = asyncio.create_task(writer(stop))
        await asyncio.sleep(1.5)
        for _ in range(5):
            k = rng.randrange(3)
            cluster.kill(k)
            kills += 1
            await asyncio.sleep(rng.uniform(0.3, 0.8))
            cluster.start(k)
            await asyncio.sleep(rng.uniform(0.5, 1.0))
        stop.set()
        await task

    with cluster:
        cluster.start_all()
        asyncio.run(asyncio.wait_for(killer(), 90))
        assert kills == 5 and len(acked) >= 10, len(acked)

        async def read_back() -> list[int]:
            client = KVClient(cluster.addrs, client_id="r", timeout=15)
            try:
                for key, value in acked.items():
                    got = (await client.get(key))["value"]
                    assert got == value or got in maybe.get(key, set()), key
                deadline = time.monotonic() + 20
                while True:  # every node restarted and caught up
                    # a node restarted last may not listen yet on a loaded machine
                    statuses = [await _status(client, a) for a in cluster.addrs]
                    up = [s for s in statuses if s is not None]
                    applied = {s["last_applied"] for s in up}
                    if (len(up) == len(statuses) and len(applied) == 1) \
                            or time.monotonic() > deadline:
                        return [s["snapshot_index"] if s else -1 for s in statuses]
                    await asyncio.sleep(0.2)
            finally:
                await client.close()

        snapshots = asyncio.run(asyncio.wait_for(read_back(), 60))
        assert all(s > 0 for s in snapshots), snapshots
    # the log really is compacted on disk: at most a few entries past the snapshot
    for k in range(3):
        db = sqlite3.connect(tmp_path / f"d{k}" / f"node{k}.db")
        (rows,) = db.execute("SELECT count(*) FROM log").fetchone()
        db.close()
        assert rows <= 5, (k, rows)


def test_real_chaos_with_frequent_snapshots_stays_linearizable(tmp_path: Path) -> None:
    outcome = run_real(RealOptions(duration=6, faults=4, clients=3, seed=3, snapshot_every=3,
                                   data=str(tmp_path)))
    assert not outcome.failed, outcome.violations
    assert outcome.lost_writes == []
    assert outcome.acknowledged > 0
    assert outcome.faults["kills"] >= 1, outcome.fault_log
    assert all(s > 0 for s in outcome.snapshot_index), outcome.snapshot_index


def _late_follower(tmp_path: Path) -> tuple[bool, list[int]]:
    """Three in-process servers snapshotting every 5 entries; node 2 starts after 20 puts.
    Returns whether it caught up within 5 s, and the nodes' snapshot indexes."""
    ports = free_ports(3)
    peers = tuple(("127.0.0.1", p) for p in ports)
    addrs = [f"127.0.0.1:{p}" for p in ports]

    async def scenario() -> tuple[bool, list[int]]:
        servers = [KVServer(ServerOptions(k, peers, str(tmp_path), seed=k, snapshot_every=5))
                   for k in range(3)]
        for s in servers[:2]:
            await s.start()
        try:
            client = KVClient(addrs[:2], timeout=15)
            for i in range(20):
                assert (await client.put(f"k{i % 3}", f"v{i}"))["ok"]
            await client.close()
            await servers[2].start()
            deadline = time.monotonic() + 5
            leader = next(s for s in servers[:2] if s.core.role.value == "Leader")
            while servers[2].kv.data != leader.kv.data and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return (servers[2].kv.data == leader.kv.data,
                    [s.core.first_index - 1 for s in servers])
        finally:
            for s in servers:
                await s.stop()

    return asyncio.run(asyncio.wait_for(scenario(), 40))


def test_a_late_follower_is_caught_up_by_install_snapshot_over_tcp(tmp_path: Path) -> None:
    caught_up, snapshots = _late_follower(tmp_path)
    assert caught_up
    assert snapshots[2] > 0  # it got there by a snapshot: its log starts after one


def test_a_snapshot_too_large_for_a_frame_is_not_sent_and_said(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(server_module, "MAX_FRAME", 60)
    with caplog.at_level(logging.ERROR, logger="agree.impl.server"):
        caught_up, snapshots = _late_follower(tmp_path)
    assert not caught_up and snapshots[2] == 0
    assert "cannot catch up by snapshot" in caplog.text
    assert caplog.text.count("above the frame limit") <= 2  # once per snapshot index
