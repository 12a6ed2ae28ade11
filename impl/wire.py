"""The wire format: length-prefixed, versioned frames carrying JSON messages (no IO here).

A frame is a 4-byte big-endian length L, then L bytes: one version byte
(`WIRE_VERSION`) and a UTF-8 JSON object whose "t" names its kind: one of the seven
Raft messages, raft.tla's four, PreVote's two and InstallSnapshot (fields as in
agree.impl.raft.messages; entries as [term, base64], an InstallSnapshotRequest's data as
base64), "ClientRequest" or "ClientReply". A snapshot travels in one frame, so the state
machine must fit in `MAX_FRAME` (less a third for base64). An AppendEntriesResponse's
rejection hint (reject_index, hint_index, hint_term) and the ReadIndex read_ctx may be
left out: they read as 0. Frames
longer than the size limit end the connection (the stream cannot be resynchronised);
a frame with a wrong version or a payload that does not decode is dropped and
reported, and the stream goes on.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from typing import Any

from agree.impl.raft.messages import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    InstallSnapshotRequest,
    Message,
    PreVoteRequest,
    PreVoteResponse,
    RequestVoteRequest,
    RequestVoteResponse,
)

__all__ = ["MAX_FRAME", "WIRE_VERSION", "CodecError", "FrameDecoder", "FrameTooLarge",
           "decode_payload", "encode_frame", "encode_message", "message_to_json"]

WIRE_VERSION = 1
MAX_FRAME = 4 * 1024 * 1024
_HEADER = struct.Struct(">I")


class CodecError(Exception):
    """A frame or payload that does not decode; the message says what was wrong."""


class FrameTooLarge(CodecError):
    """A length prefix above the size limit: the connection must be closed."""


#: json.dumps(obj, separators=(",", ":")) without building an encoder per call
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_VERSION = bytes([WIRE_VERSION])


def encode_frame(obj: dict[str, Any]) -> bytes:
    """One frame holding `obj` as JSON."""
    body = _VERSION + _ENCODE(obj).encode()
    return _HEADER.pack(len(body)) + body


class FrameDecoder:
    """Incremental decoder: feed bytes, get whole payload objects back.

    `feed` returns decoded objects; frames with a bad version or bad JSON are
    skipped and described in `errors` (the caller logs them); a frame above
    `max_frame` raises FrameTooLarge.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self.errors: list[str] = []

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buf += data
        out: list[dict[str, Any]] = []
        while len(self._buf) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._buf)
            if length > self.max_frame:
                raise FrameTooLarge(f"frame of {length} bytes exceeds the limit of "
                                    f"{self.max_frame}")
            if len(self._buf) < _HEADER.size + length:
                break
            body = bytes(self._buf[_HEADER.size:_HEADER.size + length])
            del self._buf[:_HEADER.size + length]
            if not body or body[0] != WIRE_VERSION:
                got = body[0] if body else "none"
                self.errors.append(f"dropped frame with version {got}, "
                                   f"expected {WIRE_VERSION}")
                continue
            try:
                obj = json.loads(body[1:].decode())
            except (UnicodeDecodeError, ValueError) as exc:
                self.errors.append(f"dropped frame with undecodable payload ({exc})")
                continue
            except RecursionError:  # nesting deeper than the interpreter's stack allows
                self.errors.append("dropped frame with undecodable payload (nested too deeply)")
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
                self.errors.append("dropped frame: payload is not an object with a 't' kind")
                continue
            out.append(obj)
        return out


def message_to_json(m: Message) -> dict[str, Any]:
    """A Raft message as a JSON object (also the event log's representation)."""
    obj: dict[str, Any] = {"t": type(m).__name__}
    for name, value in m._asdict().items():
        if name == "entries":
            obj[name] = [[e.term, base64.b64encode(e.value).decode()] for e in value]
        elif isinstance(value, bytes):
            obj[name] = base64.b64encode(value).decode()
        else:
            obj[name] = value
    return obj


def encode_message(m: Message) -> bytes:
    """A Raft message as one frame."""
    return encode_frame(message_to_json(m))


_MESSAGES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (RequestVoteRequest, RequestVoteResponse,
                                  AppendEntriesRequest, AppendEntriesResponse,
                                  PreVoteRequest, PreVoteResponse, InstallSnapshotRequest)}
_BOOL_FIELDS = {"vote_granted", "success"}


def _nat(obj: dict[str, Any], name: str) -> int:
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CodecError(f"field {name!r} must be a natural number, got {value!r}")
    return value


def _entries(raw: object) -> tuple[Entry, ...]:
    if not isinstance(raw, list):
        raise CodecError("field 'entries' must be a list")
    out = []
    for item in raw:
        if (not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], str)
                or not isinstance(item[0], int) or isinstance(item[0], bool) or item[0] < 1):
            raise CodecError(f"bad entry {item!r}: expected [term >= 1, base64 value]")
        try:
            value = base64.b64decode(item[1], validate=True)
        except (binascii.Error, ValueError):
            raise CodecError(f"bad base64 in entry {item!r}") from None
        out.append(Entry(item[0], value))
    return tuple(out)


def _voters(raw: object) -> tuple[int, ...] | None:
    """A snapshot's configuration: null, or a list of node ids."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in raw):
        raise CodecError("field 'voters' must be null or a list of node ids")
    return tuple(raw)


def _base64(raw: object, name: str) -> bytes:
    if not isinstance(raw, str):
        raise CodecError(f"field {name!r} must be a base64 string")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise CodecError(f"bad base64 in field {name!r}") from None


def decode_payload(obj: dict[str, Any]) -> Message | dict[str, Any]:
    """A Raft message, or the object itself for client kinds; CodecError otherwise."""
    kind = obj["t"]
    if kind in ("ClientRequest", "ClientReply"):
        return obj
    cls = _MESSAGES.get(kind)
    if cls is None:
        raise CodecError(f"unknown message kind {kind!r}")
    values: list[Any] = []
    for name in cls._fields:
        if name not in obj and name in cls._field_defaults:
            # a field with a default (the rejection hint) may be left out
            values.append(cls._field_defaults[name])
        elif name in _BOOL_FIELDS:
            if not isinstance(obj.get(name), bool):
                raise CodecError(f"field {name!r} must be true or false")
            values.append(obj[name])
        elif name == "entries":
            values.append(_entries(obj.get(name)))
        elif name == "data":
            values.append(_base64(obj.get(name), name))
        elif name == "voters":
            values.append(_voters(obj.get(name)))
        else:
            values.append(_nat(obj, name))
    msg: Message = cls(*values)
    if msg.term < 1:
        raise CodecError("term must be >= 1")
    if isinstance(msg, InstallSnapshotRequest) and (msg.last_included_index < 1
                                                    or msg.last_included_term < 1):
        raise CodecError("a snapshot's last included index and term must be >= 1")
    return msg
