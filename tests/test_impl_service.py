"""The KV service: state machine semantics, redirects and once-only retries on live nodes."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path
from typing import Any

from _nodes import free_ports

from agree.impl.client import KVClient
from agree.impl.kv import KVStateMachine, encode_command
from agree.impl.server import KVServer, ServerOptions
from agree.impl.wire import FrameDecoder, encode_frame


def test_cas_put_get_del_semantics() -> None:
    kv = KVStateMachine()
    assert kv.apply(1, encode_command("cas", "k", "a", None, "c", 1)) == {"ok": True, "value": "a"}
    assert kv.apply(2, encode_command("cas", "k", "b", None, "c", 2)) == {"ok": False, "value": "a"}
    assert kv.apply(3, encode_command("put", "k", "c", client="c", seq=3))["value"] == "a"
    assert kv.apply(4, encode_command("get", "k", client="c", seq=4))["value"] == "c"
    assert kv.apply(5, encode_command("del", "k", client="c", seq=5))["value"] == "c"
    assert kv.data == {} and kv.last_applied == 5
    assert kv.apply(6, b"not a command")["ok"] is False


def test_retried_write_applies_once() -> None:
    """A command committed twice (client retry) takes effect once; its first result is
    returned again; an older sequence number is refused."""
    kv = KVStateMachine()
    cas = encode_command("cas", "k", "a", None, "c", 1)
    first = kv.apply(1, cas)
    kv.apply(2, encode_command("put", "other", "x", client="d", seq=1))
    assert kv.apply(3, cas) == first == {"ok": True, "value": "a"}
    kv.apply(4, encode_command("put", "k", "z", client="c", seq=2))
    assert kv.apply(5, cas)["ok"] is False and kv.data["k"] == "z"


async def raw_request(addr: str, req: dict[str, Any]) -> dict[str, Any]:
    host, port = addr.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(encode_frame({"t": "ClientRequest", "id": 1, **req}))
    header = await asyncio.wait_for(reader.readexactly(4), 10)
    body = await reader.readexactly(struct.unpack(">I", header)[0])
    writer.close()
    [reply] = FrameDecoder().feed(header + body)
    return reply


def test_live_cluster_redirects_and_deduplicates(tmp_path: Path) -> None:
    """§8: a follower redirects clients to the leader; a retried request with the same client
    id and sequence number is answered from the first execution."""
    ports = free_ports(3)
    peers = tuple(("127.0.0.1", p) for p in ports)
    addrs = [f"127.0.0.1:{p}" for p in ports]
    log_file = tmp_path / "events.jsonl"

    async def scenario() -> None:
        servers = [KVServer(ServerOptions(k, peers, str(tmp_path), seed=k,
                                          event_log=str(log_file) if k == 0 else None))
                   for k in range(3)]
        for s in servers:
            await s.start()
        try:
            client = KVClient(addrs, timeout=15)
            assert (await client.put("x", "1"))["ok"]
            leader = next(s.id for s in servers if s.core.role.value == "Leader")
            follower = (leader + 1) % 3
            req = {"op": "cas", "key": "y", "value": "v", "expected": None, "client": "me",
                   "seq": 1}
            redirect = await raw_request(addrs[follower], req)
            assert redirect["ok"] is False and redirect["retry"] is True
            assert redirect["leader"] == addrs[leader]
            first = await raw_request(addrs[leader], req)
            again = await raw_request(addrs[leader], req)
            assert first["ok"] is True and again == {**first}
            assert (await client.get("y"))["value"] == "v"
            await client.close()
        finally:
            for s in servers:
                await s.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    actions = {line["action"] for line in lines}
    assert "State" in actions and ("HandleRequestVoteRequest" in actions or "Timeout" in actions)


def test_concurrent_calls_on_one_client_queue_up(tmp_path: Path) -> None:
    """One client keeps one request outstanding, so concurrent calls all apply, each once."""
    [port] = free_ports(1)

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, str]]:
        server = KVServer(ServerOptions(0, (("127.0.0.1", port),), str(tmp_path)))
        await server.start()
        try:
            client = KVClient([f"127.0.0.1:{port}"])
            replies = await asyncio.gather(*(client.cas(f"k{i % 5}", None, str(i))
                                             for i in range(20)))
            await client.close()
            return replies, dict(server.kv.data)
        finally:
            await server.stop()

    replies, data = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert sum(1 for r in replies if r["ok"]) == 5
    assert data == {f"k{i}": str(i) for i in range(5)}
