"""The wire format: frames round-trip, garbage is dropped (not fatal), oversize is refused."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agree.impl.raft import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    InstallSnapshotRequest,
    Message,
    RequestVoteRequest,
    RequestVoteResponse,
)
from agree.impl.server import KVServer, ServerOptions
from agree.impl.wire import (
    WIRE_VERSION,
    CodecError,
    FrameDecoder,
    FrameTooLarge,
    decode_payload,
    encode_frame,
    encode_message,
)

MESSAGES: list[Message] = [
    RequestVoteRequest(2, 1, 3, 0, 1),
    RequestVoteResponse(2, True, 1, 0),
    AppendEntriesRequest(3, 2, 1, (Entry(3, b"\x00\xffx"), Entry(3, b"")), 1, 0, 2),
    AppendEntriesResponse(3, False, 0, 2, 0),
    AppendEntriesResponse(3, False, 0, 2, 0, 7, 4, 2),  # a rejection with its hint
    InstallSnapshotRequest(4, 120, 3, b'{"data":{}}\x00\xff', 0, 1),
]


@pytest.mark.parametrize(("field", "value", "error"), [
    ("data", "not base64!", "bad base64 in field 'data'"),
    ("data", 7, "field 'data' must be a base64 string"),
    ("last_included_index", 0, "last included index and term must be >= 1"),
    ("last_included_term", 0, "last included index and term must be >= 1"),
    ("last_included_index", -1, "must be a natural number"),
    ("term", 0, "term must be >= 1"),
])
def test_a_bad_install_snapshot_is_a_codec_error(field: str, value: object, error: str) -> None:
    obj = json.loads(encode_message(MESSAGES[-1])[5:])
    obj[field] = value
    with pytest.raises(CodecError, match=error):
        decode_payload(obj)


def raw_frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def test_messages_round_trip_even_fed_byte_by_byte() -> None:
    data = b"".join(encode_message(m) for m in MESSAGES)
    dec = FrameDecoder()
    out = []
    for k in range(len(data)):
        out += dec.feed(data[k:k + 1])
    assert [decode_payload(o) for o in out] == MESSAGES
    assert dec.errors == []


def test_bad_version_and_bad_json_are_dropped_and_stream_continues() -> None:
    dec = FrameDecoder()
    data = (raw_frame(bytes([9]) + b'{"t":"x"}') + raw_frame(bytes([WIRE_VERSION]) + b"{nope")
            + raw_frame(b"") + raw_frame(bytes([WIRE_VERSION]) + b"[1,2]")
            + encode_message(MESSAGES[0]))
    out = dec.feed(data)
    assert [decode_payload(o) for o in out] == [MESSAGES[0]]
    assert len(dec.errors) == 4 and "version 9" in dec.errors[0]


def test_oversize_frame_refused() -> None:
    dec = FrameDecoder(max_frame=100)
    with pytest.raises(FrameTooLarge):
        dec.feed(struct.pack(">I", 101) + b"x" * 10)


@pytest.mark.parametrize("obj", [
    {"t": "Nope"},
    {"t": "RequestVoteResponse", "term": 1, "vote_granted": 1, "source": 0, "dest": 1},
    {"t": "RequestVoteRequest", "term": 1, "last_log_term": -1, "last_log_index": 0,
     "source": 0, "dest": 1},
    {"t": "RequestVoteRequest", "term": True, "last_log_term": 0, "last_log_index": 0,
     "source": 0, "dest": 1},
    {"t": "RequestVoteRequest", "term": 0, "last_log_term": 0, "last_log_index": 0,
     "source": 0, "dest": 1},
    {"t": "AppendEntriesRequest", "term": 1, "prev_log_index": 0, "prev_log_term": 0,
     "entries": [[1, "!!notbase64"]], "commit_index": 0, "source": 0, "dest": 1},
    {"t": "AppendEntriesRequest", "term": 1, "prev_log_index": 0, "prev_log_term": 0,
     "entries": "x", "commit_index": 0, "source": 0, "dest": 1},
    {"t": "AppendEntriesResponse", "term": 1, "success": True, "source": 0, "dest": 1},
    {"t": "AppendEntriesResponse", "term": 1, "success": False, "match_index": 0,
     "source": 0, "dest": 1, "reject_index": 3, "hint_index": -1, "hint_term": 0},
    {"t": "AppendEntriesResponse", "term": 1, "success": False, "match_index": 0,
     "source": 0, "dest": 1, "reject_index": 3, "hint_index": 1, "hint_term": "2"},
    {"t": "AppendEntriesResponse", "term": 1, "success": False, "match_index": 0,
     "source": 0, "dest": 1, "reject_index": True, "hint_index": 1, "hint_term": 1},
])
def test_malformed_payloads_rejected(obj: dict[str, object]) -> None:
    with pytest.raises(CodecError):
        decode_payload(obj)


def test_a_reply_without_the_hint_reads_as_no_hint() -> None:
    """Another implementation's reply (or an event log's) may leave the hint out."""
    obj = {"t": "AppendEntriesResponse", "term": 2, "success": False, "match_index": 0,
           "source": 1, "dest": 0}
    assert decode_payload(obj) == AppendEntriesResponse(2, False, 0, 1, 0, 0, 0, 0)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_crashes_the_decoder(data: bytes) -> None:
    """Garbage decodes to kinded objects or refusals only, the same whether it arrives at
    once or byte by byte; each object decodes to a message or is refused as a CodecError."""

    def decode(chunks: list[bytes]) -> tuple[list[dict[str, object]], list[str]] | str:
        dec = FrameDecoder(max_frame=1000)
        objs: list[dict[str, object]] = []
        try:
            for chunk in chunks:
                objs += dec.feed(chunk)
        except FrameTooLarge:
            return "too large"
        return objs, dec.errors

    whole = decode([data])
    assert decode([data[i:i + 1] for i in range(len(data))]) == whole
    if whole == "too large":
        return
    objs, _ = whole
    for obj in objs:
        assert isinstance(obj, dict) and isinstance(obj["t"], str)
        with contextlib.suppress(CodecError):
            msg = decode_payload(obj)
            assert msg is obj if obj["t"] in ("ClientRequest", "ClientReply") else msg is not obj


def test_live_node_survives_garbage(tmp_path: Path, loopback_ports: Callable[[int], list[int]],
                                    caplog: pytest.LogCaptureFixture) -> None:
    """A running node drops malformed frames, logs them, and keeps serving."""
    caplog.set_level(logging.WARNING, logger="agree.impl")
    [unused_port] = loopback_ports(1)

    async def scenario() -> dict[str, object]:
        opts = ServerOptions(0, (("127.0.0.1", unused_port),), str(tmp_path))
        server = KVServer(opts)
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", unused_port)
            writer.write(raw_frame(b"\x07garbage") + raw_frame(bytes([WIRE_VERSION]) + b"{")
                         + encode_frame({"t": "AppendEntriesRequest", "term": -3})
                         + encode_frame({"t": "ClientRequest", "id": 5, "op": "status"}))
            header = await asyncio.wait_for(reader.readexactly(4), 5)
            body = await reader.readexactly(struct.unpack(">I", header)[0])
            writer.close()
            reply: dict[str, object] = json.loads(body[1:])
            return reply
        finally:
            await server.stop()

    reply = asyncio.run(scenario())
    assert reply["id"] == 5 and reply["ok"] is True and reply["node"] == 0
    logged = " | ".join(r.getMessage() for r in caplog.records)
    assert "version 7" in logged and "undecodable" in logged and "malformed" in logged
