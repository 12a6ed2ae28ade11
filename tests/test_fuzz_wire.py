"""Hostile input on the wire: garbage, truncated, oversized and wrong-version frames, and
peers that are not in the configuration. A node must neither crash nor hang nor change
state; malformed frames are logged and dropped."""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from pathlib import Path
from typing import Any

import pytest
from _nodes import free_ports
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agree.impl.raft import AppendEntriesRequest, Entry, RequestVoteRequest
from agree.impl.server import KVServer, ServerOptions
from agree.impl.wire import (
    MAX_FRAME,
    WIRE_VERSION,
    CodecError,
    FrameDecoder,
    FrameTooLarge,
    decode_payload,
    encode_frame,
    encode_message,
)


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


# -- the decoder alone ------------------------------------------------------------------

json_objects = st.dictionaries(
    st.sampled_from(["t", "term", "source", "dest", "entries", "prev_log_index",
                     "prev_log_term", "commit_index", "success", "match_index", "vote_granted",
                     "last_log_term", "last_log_index", "op", "key", "id",
                     "last_included_index", "last_included_term", "data"]),
    st.one_of(st.sampled_from(["RequestVoteRequest", "RequestVoteResponse",
                               "AppendEntriesRequest", "AppendEntriesResponse",
                               "InstallSnapshotRequest", "ClientRequest"]),
              st.integers(-2, 2**70), st.booleans(), st.none(), st.text(max_size=5),
              st.lists(st.lists(st.one_of(st.integers(-1, 3), st.text(max_size=6)),
                                max_size=3), max_size=3)),
    max_size=9)


@settings(max_examples=300, deadline=None)
@given(json_objects)
def test_payload_decoding_gives_a_message_or_a_codec_error(obj: dict[str, Any]) -> None:
    obj.setdefault("t", "RequestVoteRequest")
    if not isinstance(obj["t"], str):
        obj["t"] = "x"
    try:
        decode_payload(obj)
    except CodecError as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=40),
    st.builds(lambda b: frame(bytes([WIRE_VERSION]) + b), st.binary(max_size=40)),
    st.builds(lambda v, b: frame(bytes([v]) + b), st.integers(0, 255), st.binary(max_size=20)),
    st.builds(lambda o: frame(bytes([WIRE_VERSION]) + json.dumps(o).encode()), json_objects),
), max_size=8), st.integers(1, 64))
def test_any_byte_stream_in_any_chunks_decodes_or_is_refused(parts: list[bytes],
                                                              chunk: int) -> None:
    data = b"".join(parts)
    dec = FrameDecoder(max_frame=4096)
    try:
        for k in range(0, len(data), chunk):
            for obj in dec.feed(data[k:k + chunk]):
                assert isinstance(obj, dict) and isinstance(obj["t"], str)
    except FrameTooLarge:
        return


def test_a_deeply_nested_payload_is_dropped_and_logged() -> None:
    dec = FrameDecoder()
    out = dec.feed(frame(bytes([WIRE_VERSION]) + b"[" * 100_000)
                   + encode_frame({"t": "ClientRequest", "id": 1, "op": "status"}))
    assert [o["id"] for o in out] == [1]
    assert len(dec.errors) == 1


# -- a live server -----------------------------------------------------------------------


async def _status(port: int) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(encode_frame({"t": "ClientRequest", "id": 99, "op": "status"}))
        header = await asyncio.wait_for(reader.readexactly(4), 5)
        body = await asyncio.wait_for(reader.readexactly(struct.unpack(">I", header)[0]), 5)
    finally:
        writer.close()
    reply: dict[str, Any] = json.loads(body[1:])
    return reply


async def _blast(port: int, data: bytes, close: bool) -> None:
    """Send ``data`` on a fresh connection; read whatever comes back for a moment."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if close:
            writer.write_eof()
        with pytest.raises((TimeoutError, ConnectionError, asyncio.IncompleteReadError)):
            while True:  # drain replies until the server closes or goes quiet
                if not await asyncio.wait_for(reader.read(65536), 0.2):
                    raise ConnectionError("closed")
    finally:
        writer.close()


streams = st.lists(st.one_of(
    st.binary(min_size=1, max_size=200),                                    # raw garbage
    st.builds(lambda b: frame(bytes([WIRE_VERSION]) + b), st.binary(max_size=60)),
    st.builds(lambda v: frame(bytes([v]) + b'{"t":"ClientRequest","op":"status","id":1}'),
              st.integers(0, 255)),                                         # any version
    st.builds(lambda n: struct.pack(">I", n) + b"\x01{", st.integers(3, 2**32 - 1)),  # cut
    st.just(struct.pack(">I", MAX_FRAME + 1) + b"\x01"),                    # oversized
    st.builds(lambda o: encode_frame({**o, "t": "ClientRequest"}), json_objects),
    st.builds(lambda o: encode_frame(o), json_objects),
), min_size=1, max_size=4)


@settings(max_examples=8, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(streams, st.booleans()), min_size=1, max_size=6))
def test_a_node_survives_hostile_connections(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                             attacks: list[tuple[list[bytes], bool]]) -> None:
    caplog.set_level(logging.WARNING, logger="agree.impl")
    ports = free_ports(3)
    peers = tuple(("127.0.0.1", p) for p in ports)

    async def scenario() -> tuple[dict[str, Any], int]:
        server = KVServer(ServerOptions(0, peers, str(tmp_path / f"d{ports[0]}"), seed=1))
        await server.start()
        try:
            term = server.core.current_term
            await asyncio.gather(*(_blast(ports[0], b"".join(parts), close)
                                   for parts, close in attacks))
            status = await asyncio.wait_for(_status(ports[0]), 10)
            return status, server.core.current_term - term
        finally:
            await asyncio.wait_for(server.stop(), 10)

    status, _ = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert status["ok"] is True and status["node"] == 0


def _logged_after(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                  sends: list[bytes]) -> str:
    """Send each byte string on its own connection to a live node; what did it log?"""
    caplog.set_level(logging.WARNING, logger="agree.impl")
    ports = free_ports(3)
    peers = tuple(("127.0.0.1", p) for p in ports)

    async def scenario() -> None:
        server = KVServer(ServerOptions(0, peers, str(tmp_path), seed=1))
        await server.start()
        try:
            for data in sends:
                await _blast(ports[0], data, close=False)
            assert (await _status(ports[0]))["ok"]
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    return " | ".join(r.getMessage() for r in caplog.records)


def test_malformed_frames_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    logged = _logged_after(tmp_path, caplog, [frame(b"\x05{}") + frame(b"\x01not json"),
                                              struct.pack(">I", MAX_FRAME + 10) + b"\x01"])
    assert "version 5" in logged
    assert "undecodable" in logged
    assert "exceeds the limit" in logged


def test_bad_frames_before_an_oversized_one_are_logged_too(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    logged = _logged_after(tmp_path, caplog, [frame(b"\x05{}") + struct.pack(">I", MAX_FRAME + 1)])
    assert "version 5" in logged
    assert "exceeds the limit" in logged


def test_a_half_sent_frame_does_not_block_other_clients(tmp_path: Path) -> None:
    ports = free_ports(3)
    peers = tuple(("127.0.0.1", p) for p in ports)

    async def scenario() -> dict[str, Any]:
        server = KVServer(ServerOptions(0, peers, str(tmp_path), seed=1))
        await server.start()
        try:
            _, stuck = await asyncio.open_connection("127.0.0.1", ports[0])
            stuck.write(struct.pack(">I", 1000) + b"\x01{")  # and never the rest
            await stuck.drain()
            reply = await asyncio.wait_for(_status(ports[0]), 5)
            stuck.close()
            return reply
        finally:
            await server.stop()

    assert asyncio.run(asyncio.wait_for(scenario(), 30))["ok"] is True


def test_peers_outside_the_configuration_are_rejected(tmp_path: Path) -> None:
    """Node ids 3, 7 (not in a 3-node cluster) and the node's own id cannot move its term,
    win its vote or write its log."""
    ports = free_ports(3)
    peers = tuple(("127.0.0.1", p) for p in ports)

    async def scenario() -> tuple[int, int | None, int]:
        server = KVServer(ServerOptions(0, peers, str(tmp_path), seed=1))
        await server.start()
        try:
            evil = b"".join([
                encode_message(RequestVoteRequest(50, 9, 9, 7, 0)),
                encode_message(RequestVoteRequest(51, 9, 9, 3, 0)),
                encode_message(RequestVoteRequest(52, 9, 9, 0, 0)),
                encode_message(AppendEntriesRequest(60, 0, 0, (Entry(60, b"evil"),), 1, 5, 0)),
                encode_frame({"t": "RequestVoteRequest", "term": 70, "last_log_term": 0,
                              "last_log_index": 0, "source": 2**40, "dest": 0}),
            ])
            await _blast(ports[0], evil, close=True)
            # the node has read every frame once it closed the connection (at its EOF);
            # waiting for that, not for a fixed time, keeps a slow machine from passing
            # this test before the frames were even read
            for _ in range(200):
                if not server._connections:
                    break
                await asyncio.sleep(0.05)
            assert not server._connections, "the node never finished reading the frames"
            c = server.core
            return c.current_term, c.voted_for, c.last_index
        finally:
            await server.stop()

    term, voted_for, last_index = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert term < 50
    assert voted_for in (None, 0)
    assert last_index == 0
