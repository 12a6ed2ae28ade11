"""End to end: three real `agree serve` processes on localhost survive SIGKILL of the leader."""

from __future__ import annotations

import asyncio
import os
import time

from _nodes import NodeCluster, leader_of

from agree.impl.client import KVClient


async def wait_for(predicate: object, what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_leader_killed_nothing_acknowledged_lost(node_cluster: NodeCluster) -> None:
    """Write, SIGKILL the leader, write through the new leader, restart the old one:
    it catches up and every acknowledged write is there (Raft §5.4, §8)."""
    cluster = node_cluster
    cluster.start_all()

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
    events = cluster.log(0).read_text().splitlines()
    assert any('"action": "AppendEntries"' in e or '"action": "HandleAppendEntriesRequest' in e
               or '"AcceptAppendEntriesRequest"' in e for e in events)
    assert os.path.getsize(cluster.data / "node0.db") > 0
