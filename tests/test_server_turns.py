"""Loop turns on a put's critical path (issue 16 point 7): accepted connections are read
by a protocol that hands each frame over in the turn that read it (impl/net.py's
FrameProtocol), a follower flushes at the end of the read (its reply to an
AppendEntries leaves in that turn, after its write), and a leader's write is answered
in the call that applies it (impl/server_clients.py's _Answer), not from a future's
callback one turn later."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from _nodes import free_ports

from agree.impl.net import FrameProtocol
from agree.impl.raft import AppendEntriesRequest, AppendEntriesResponse, Entry, Role
from agree.impl.server import KVServer, ServerOptions
from agree.impl.server_clients import _Answer
from agree.impl.wire import FrameDecoder, decode_payload, encode_frame, encode_message


class FakeTransport(asyncio.Transport):
    """Records what is written; closing is recorded too."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


def frames_of(chunks: list[bytes]) -> list[dict[str, Any]]:
    return FrameDecoder().feed(b"".join(chunks))


def test_frames_are_handed_over_as_read_and_the_read_hook_follows_them(
        caplog: pytest.LogCaptureFixture) -> None:
    seen: list[object] = []
    track: set[FrameProtocol] = set()
    proto = FrameProtocol(lambda obj, tr: seen.append(obj["n"]), track,
                          lambda: seen.append("read"))
    transport = FakeTransport()
    proto.connection_made(transport)
    assert track == {proto}
    one, two = encode_frame({"t": "x", "n": 1}), encode_frame({"t": "x", "n": 2})
    proto.data_received(one + two[:3])  # the second frame split across two reads
    assert seen == [1, "read"]
    caplog.set_level(logging.WARNING, logger="agree.impl")
    proto.data_received(two[3:] + b"\x00\x00\x00\x02\x05{")  # then a bad version
    assert seen == [1, "read", 2, "read"]
    assert "version 5" in caplog.text
    proto.data_received(b"\xff\xff\xff\xff")  # oversized: the connection is closed
    assert transport.closed and "exceeds the limit" in caplog.text
    proto.connection_lost(None)
    assert not track


def test_an_answer_is_written_when_its_result_is_set() -> None:
    async def scenario() -> tuple[FakeTransport, _Answer, bool]:
        transport = FakeTransport()
        answer = _Answer(transport, {"id": 9, "op": "put"})
        answer.timer = asyncio.get_running_loop().call_later(60, lambda: None)
        answer.set_result({"ok": True})
        written_at_once = len(transport.written) == 1  # no loop turn in between
        with pytest.raises(asyncio.InvalidStateError):
            answer.set_result({"ok": False})
        return transport, answer, written_at_once

    transport, answer, written_at_once = asyncio.run(scenario())
    assert written_at_once and answer.done()
    assert answer.timer is not None and answer.timer.cancelled()
    assert frames_of(transport.written) == [{"ok": True, "t": "ClientReply", "id": 9}]


class Recorder:
    """Stands in for a PeerLink: keeps what the node sends."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    async def close(self) -> None:
        pass


def test_a_follower_persists_and_replies_in_the_turn_that_read_the_request(
        tmp_path: Path) -> None:
    """Node 0 of three (the others never start) takes an AppendEntries from node 1; its
    reply, after the entry is durable, is sent before the read returns."""
    ports = free_ports(3)
    peers = tuple(("127.0.0.1", p) for p in ports)

    async def scenario() -> tuple[list[dict[str, Any]], int, int]:
        server = KVServer(ServerOptions(0, peers, str(tmp_path), seed=1))
        await server.start()
        try:
            recorder = Recorder()
            server.links[1] = recorder  # type: ignore[assignment]
            request = AppendEntriesRequest(5, 0, 0, (Entry(5, b"cmd"),), 0, 1, 0)
            [obj] = FrameDecoder().feed(encode_message(request))
            server._on_frame(obj, FakeTransport())
            server._on_read()  # what FrameProtocol calls at the end of the read
            sent = frames_of(recorder.frames)
            durable = server.storage.load()[1]  # what is on disk by now
            return sent, len(durable), server.core.current_term
        finally:
            await server.stop()

    sent, on_disk, term = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert term == 5 and on_disk == 1
    replies = [decode_payload(obj) for obj in sent]
    assert any(isinstance(r, AppendEntriesResponse) and r.success and r.match_index == 1
               for r in replies), replies


def test_a_leaders_put_is_answered_and_nothing_waits(tmp_path: Path) -> None:
    """End to end on three in-process nodes: puts answered through _Answer, none left
    waiting, no client task made for them."""
    from agree.impl.client import KVClient

    ports = free_ports(3)
    peers = tuple(("127.0.0.1", p) for p in ports)

    async def scenario() -> list[dict[str, Any]]:
        servers = [KVServer(ServerOptions(k, peers, str(tmp_path), seed=k)) for k in range(3)]
        for s in servers:
            await s.start()
        try:
            client = KVClient([f"127.0.0.1:{p}" for p in ports], timeout=10)
            replies = [await client.put(f"k{n}", str(n)) for n in range(20)]
            await client.close()
            lead = next(s for s in servers if s.core.role is Role.LEADER)
            assert not lead._waiters and not lead._client_tasks
            assert lead.kv.data == {f"k{n}": str(n) for n in range(20)}
            return replies
        finally:
            for s in servers:
                await s.stop()

    replies = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert all(r["ok"] for r in replies)
