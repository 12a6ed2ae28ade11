"""PreVote, CheckQuorum and ReadIndex with real server processes on 127.0.0.1 (the
real-process chaos harness's cluster: every link through a proxy that can cut it)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from agree.chaos.cluster import RealCluster
from agree.impl.client import ClusterUnavailable, KVClient


async def _until(cluster: RealCluster, pred: Any, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = await pred()
        if value is not None:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def _status(cluster: RealCluster, k: int) -> dict[str, Any]:
    st = await cluster.status(k)
    assert st is not None, f"node {k} does not answer"
    return st


def test_prevote_checkquorum_and_read_index_with_real_processes(tmp_path: Path) -> None:
    async def scenario() -> None:
        cluster = RealCluster(3, tmp_path)
        await cluster.start()
        client = KVClient(cluster.addresses, client_id="t", timeout=10, attempt_timeout=1)
        try:
            leader = await _until(cluster, cluster.leader)
            assert (await client.put("k", "1")).get("ok")
            # ReadIndex: reads are served, and append nothing to the log
            before = (await _status(cluster, leader))["last_index"]
            for _ in range(5):
                assert (await client.get("k")).get("value") == "1"
            assert (await _status(cluster, leader))["last_index"] == before
            term = (await _status(cluster, leader))["term"]

            # PreVote: a follower cut off for 1.2 s (several election timeouts) keeps its
            # term, and back, does not depose the leader
            follower = next(k for k in range(3) if k != leader)
            cluster.isolate(follower, True)
            await asyncio.sleep(1.2)
            assert (await _status(cluster, follower))["term"] == term
            cluster.isolate(follower, False)
            await asyncio.sleep(0.6)
            st = await _status(cluster, leader)
            assert (st["role"], st["term"]) == ("Leader", term)

            # CheckQuorum: the leader cut off steps down in its term; a read there is
            # refused (not answered with the old value) while the others commit a new one
            cluster.isolate(leader, True)

            async def stepped_down() -> dict[str, Any] | None:
                st = await _status(cluster, leader)
                return st if st["role"] == "Follower" else None
            st = await _until(cluster, stepped_down, 3)
            assert st["term"] == term
            others = KVClient([a for k, a in enumerate(cluster.addresses) if k != leader],
                              client_id="u", timeout=10, attempt_timeout=1)
            try:
                assert (await others.put("k", "2")).get("ok")
            finally:
                await others.close()
            lonely = KVClient([cluster.addresses[leader]], client_id="v", timeout=1,
                              attempt_timeout=0.5)
            try:
                await lonely.get("k")
                raise AssertionError("the cut-off node answered a read")
            except ClusterUnavailable:
                pass
            finally:
                await lonely.close()
            cluster.isolate(leader, False)
            assert (await client.get("k")).get("value") == "2"
        finally:
            await client.close()
            await cluster.close()

    asyncio.run(scenario())
