"""A leader's own write in flight (thesis §10.2.1): it sends AppendEntries before its
write is durable and counts its own log toward commit only once the write is reported;
followers still persist before they reply. In the core (deterministic) and on live
in-process servers whose leader's disk is held back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from _nodes import free_ports
from test_impl_raft_core import E, core, leader_of

from agree.impl.client import ClusterUnavailable, KVClient
from agree.impl.kv import decode_command
from agree.impl.raft import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Config,
    Entry,
    Ready,
    RequestVoteResponse,
    Role,
    Snapshot,
)
from agree.impl.server import KVServer, ServerOptions
from agree.impl.storage import SQLiteStorage, StorageError

ASYNC = Config(async_persist=True, pre_vote=False)


def test_a_leader_counts_its_own_entry_only_once_its_write_is_reported() -> None:
    c = leader_of(config=ASYNC)
    index = c.propose(b"x")
    c.ready()
    c.step(AppendEntriesResponse(c.current_term, True, index, 1, 0))
    assert c.commit_index == 0  # one durable copy of two needed: the follower's
    c.log_persisted(index, c.current_term - 1)  # a report of another entry: ignored
    assert c.commit_index == 0
    c.log_persisted(index, c.current_term)
    assert c.commit_index == index


def test_two_followers_commit_without_the_leaders_write() -> None:
    c = leader_of(config=ASYNC)
    index = c.propose(b"x")
    c.ready()
    for j in (1, 2):
        c.step(AppendEntriesResponse(c.current_term, True, index, j, 0))
    assert c.commit_index == index


def test_without_async_persist_the_leader_counts_its_log_at_once() -> None:
    c = leader_of(config=Config(pre_vote=False))
    index = c.propose(b"x")
    c.step(AppendEntriesResponse(c.current_term, True, index, 1, 0))
    assert c.commit_index == index


def test_a_truncated_log_is_not_durable_until_rewritten() -> None:
    """Entries replaced by a leader's are not on disk until the new ones are reported:
    a later leader must not count the old write."""
    c = core(0, 3, term=1, log=E(1, 1, 1), config=ASYNC)  # loaded: durable up to 3
    c.step(AppendEntriesRequest(2, 1, 1, (Entry(2, b"new"),), 0, 1, 0))
    assert [e.term for e in c.log] == [1, 2]
    c.ready()
    c.campaign()
    c.ready()
    c.step(RequestVoteResponse(c.current_term, True, 1, 0))
    assert c.role is Role.LEADER and c.last_index == 3  # its no-op at 3
    c.ready()
    c.step(AppendEntriesResponse(c.current_term, True, 3, 1, 0))
    assert c.commit_index == 0
    c.log_persisted(2, 2)  # the replacing entry durable; the no-op not yet
    assert c.commit_index == 0
    c.log_persisted(3, c.current_term)
    assert c.commit_index == 3


# ---- live servers ----
def hold_writes(server: KVServer, gate: threading.Event) -> None:
    """From now on `server`'s writes wait for `gate`, then fail as if the process had
    died before they reached the disk."""
    storage = server.storage

    def held(batch: Sequence[Ready | Snapshot]) -> None:
        gate.wait(30)
        raise StorageError(f"{storage.path}: simulated crash before the write")

    storage.write_batch = held  # type: ignore[method-assign]


async def start_cluster(tmp_path: Path, ports: list[int]) -> list[KVServer]:
    peers = tuple(("127.0.0.1", p) for p in ports)
    servers = [KVServer(ServerOptions(k, peers, str(tmp_path), seed=k, request_timeout=2))
               for k in range(3)]
    for s in servers:
        await s.start()
    return servers


def leader(servers: list[KVServer]) -> KVServer:
    return next(s for s in servers if s.core.role is Role.LEADER and s.failure is None)


def logged_puts(path: Path, node: int, key: str) -> int:
    """How many puts of `key` node's database holds in its log."""
    storage = SQLiteStorage(str(path / f"node{node}.db"), node, 3)
    try:
        _, entries = storage.load()
    finally:
        storage.close()
    commands = [decode_command(e.value) for e in entries]
    return sum(1 for cmd in commands if cmd is not None and cmd["op"] == "put"
               and cmd["key"] == key)


def test_a_leader_killed_with_its_write_in_flight_loses_no_acknowledged_put(
        tmp_path: Path) -> None:
    ports = free_ports(3)
    addrs = [f"127.0.0.1:{p}" for p in ports]

    async def scenario() -> None:
        servers = await start_cluster(tmp_path, ports)
        gate = threading.Event()
        try:
            client = KVClient(addrs, timeout=15)
            assert (await client.put("warm", "up"))["ok"]
            old = leader(servers)
            hold_writes(old, gate)
            # acknowledged on the two followers' disks while the leader's write waits
            assert (await client.put("k", "v"))["ok"]
            gate.set()  # the leader's write is lost: it stops, as if killed
            await old.wait_stopped()
            assert old.failure is not None
            assert logged_puts(tmp_path, old.id, "k") == 0
            assert (await client.get("k"))["value"] == "v"
            assert leader(servers) is not old
            # the old leader restarts from its disk and catches up
            peers = tuple(("127.0.0.1", p) for p in ports)
            servers[old.id] = KVServer(ServerOptions(old.id, peers, str(tmp_path), seed=9))
            await servers[old.id].start()
            for _ in range(200):
                if servers[old.id].kv.data.get("k") == "v":
                    break
                await asyncio.sleep(0.05)
            assert servers[old.id].kv.data.get("k") == "v"
            await client.close()
        finally:
            gate.set()
            for s in servers:
                await s.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_put_on_one_follower_and_the_leaders_pending_write_is_not_acknowledged(
        tmp_path: Path) -> None:
    """One follower down and the leader's write in flight: one durable copy of the two a
    majority needs, so the put must not be acknowledged (it would be if the leader
    counted its own write before it was durable)."""
    ports = free_ports(3)
    addrs = [f"127.0.0.1:{p}" for p in ports]

    async def scenario() -> None:
        servers = await start_cluster(tmp_path, ports)
        gate = threading.Event()
        try:
            client = KVClient(addrs, timeout=15)
            assert (await client.put("warm", "up"))["ok"]
            lead = leader(servers)
            down = next(s for s in servers if s is not lead)
            await down.stop()
            hold_writes(lead, gate)
            hasty = KVClient([addrs[lead.id]], timeout=1.5, attempt_timeout=3)
            with pytest.raises(ClusterUnavailable):
                await hasty.put("k", "v")
            up = next(s for s in servers if s is not lead and s is not down)
            assert logged_puts(tmp_path, up.id, "k") >= 1  # the follower did get it
            assert "k" not in up.kv.data and "k" not in lead.kv.data
            await hasty.close()
            await client.close()
        finally:
            gate.set()
            for s in servers:
                await s.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
