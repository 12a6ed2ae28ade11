"""A leader's writes (put, del, cas) are proposed as they arrive and answered without a
task per request (KVServer._serve_write): answered once applied, in the apply's own
loop turn; told to retry when they time out; a malformed one still gets its one-line
error. On live in-process servers."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from typing import Any

from _nodes import free_ports

from agree.impl.client import KVClient
from agree.impl.raft import Config, Role
from agree.impl.server import KVServer, ServerOptions
from agree.impl.wire import FrameDecoder, encode_frame


async def start(tmp_path: Path, timeout: float = 2.0,
                config: Config | None = None) -> tuple[list[KVServer], list[str]]:
    ports = free_ports(3)
    peers = tuple(("127.0.0.1", p) for p in ports)
    servers = [KVServer(ServerOptions(k, peers, str(tmp_path), seed=k, request_timeout=timeout,
                                      config=config or Config())) for k in range(3)]
    for s in servers:
        await s.start()
    return servers, [f"127.0.0.1:{p}" for p in ports]


def leader(servers: list[KVServer]) -> KVServer:
    return next(s for s in servers if s.core.role is Role.LEADER)


async def raw(address: str, request: dict[str, Any]) -> dict[str, Any]:
    """One request on its own connection, answered directly (no redirects)."""
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(encode_frame({"t": "ClientRequest", "id": 7, **request}))
        header = await reader.readexactly(4)
        body = await reader.readexactly(struct.unpack(">I", header)[0])
        [reply] = FrameDecoder().feed(header + body)
        return reply
    finally:
        writer.close()


def test_concurrent_writes_are_each_answered_with_their_own_result(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, Any]]:
        servers, addrs = await start(tmp_path)
        try:
            clients = [KVClient(addrs, timeout=10) for _ in range(8)]
            assert (await clients[0].put("c", "0"))["ok"]
            # eight cas on one key from one value: exactly one wins, the rest see "1"
            replies = await asyncio.gather(*(c.cas("c", "0", "1") for c in clients))
            replies += await asyncio.gather(*(c.put(f"k{n}", str(n))
                                              for n, c in enumerate(clients)))
            replies.append(await clients[0].delete("k0"))
            lead = leader(servers)
            assert lead.kv.data.get("c") == "1" and "k0" not in lead.kv.data
            assert all(lead.kv.data[f"k{n}"] == str(n) for n in range(1, 8))
            assert not lead._waiters and not lead._client_tasks  # nothing left behind
            for c in clients:
                await c.close()
            return replies
        finally:
            for s in servers:
                await s.stop()

    replies = asyncio.run(asyncio.wait_for(scenario(), 60))
    cas = replies[:8]
    assert sum(1 for r in cas if r["ok"]) == 1
    assert all(r.get("value") == "1" for r in cas if not r["ok"])
    assert all(r["ok"] for r in replies[8:])


def test_a_write_that_cannot_commit_is_told_to_retry_after_the_timeout(
        tmp_path: Path) -> None:
    async def scenario() -> tuple[dict[str, Any], float, KVServer]:
        # without CheckQuorum, so the cut-off leader stays leader past the timeout
        servers, addrs = await start(tmp_path, timeout=0.5, config=Config(check_quorum=False))
        try:
            client = KVClient(addrs, timeout=10)
            assert (await client.put("warm", "up"))["ok"]
            await client.close()
            lead = leader(servers)
            for s in servers:
                if s is not lead:
                    await s.stop()
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            reply = await raw(lead.address, {"op": "put", "key": "k", "value": "v"})
            return reply, loop.time() - t0, lead
        finally:
            for s in servers:
                await s.stop()

    reply, took, lead = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert reply["ok"] is False and reply["retry"] is True and reply["id"] == 7
    assert reply["error"] == "timed out waiting for commit"
    assert 0.4 < took < 3
    assert not lead._waiters  # the timed-out write no longer waits for its entry


def test_a_malformed_write_gets_its_error(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        servers, addrs = await start(tmp_path)
        try:
            client = KVClient(addrs, timeout=10)
            assert (await client.put("warm", "up"))["ok"]
            await client.close()
            return await raw(leader(servers).address, {"op": "put", "key": "k", "value": 5})
        finally:
            for s in servers:
                await s.stop()

    reply = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert reply == {"ok": False, "error": "bad request: value must be a string or null",
                     "t": "ClientReply", "id": 7}
