"""The KV client: finds the leader, follows redirects, retries a request with the same id.

Each client has an id and numbers its requests; a request retried after a lost
reply or a leader change keeps its number, so the state machine applies it
once. A client has at most one request outstanding (concurrent calls on one
client queue up; run several clients for concurrency).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import struct
import time
from typing import Any

from agree.impl.net import parse_address
from agree.impl.wire import FrameDecoder, encode_frame

__all__ = ["ClusterUnavailable", "KVClient"]


class ClusterUnavailable(Exception):
    """No node gave a definite answer before the deadline."""


class KVClient:
    """Talks to a cluster given the addresses ('host:port') of some or all of its nodes."""

    def __init__(self, addresses: list[str], client_id: str | None = None,
                 timeout: float = 10.0, attempt_timeout: float = 2.0) -> None:
        if not addresses:
            raise ValueError("a client needs at least one address")
        self.addresses = [parse_address(a) for a in addresses]
        self.client_id = client_id or os.urandom(8).hex()
        self.timeout, self.attempt_timeout = timeout, attempt_timeout
        self._seq = 0
        self._ids = itertools.count(1)
        self._target = 0
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._decoder = FrameDecoder()
        self.redirects = 0
        self._lock = asyncio.Lock()  # one request outstanding: concurrent calls queue up

    async def put(self, key: str, value: str) -> dict[str, Any]:
        return await self.request("put", key, value)

    async def get(self, key: str, stale: bool = False) -> dict[str, Any]:
        """Linearizable read (ReadIndex, or through the log: as the server is started);
        stale=True reads the contacted node's copy."""
        return await self.request("get", key, stale=stale)

    async def delete(self, key: str) -> dict[str, Any]:
        return await self.request("del", key)

    async def cas(self, key: str, expected: str | None, value: str) -> dict[str, Any]:
        """Set key to value if it currently holds `expected` (None: if it is absent)."""
        return await self.request("cas", key, value, expected)

    async def add_server(self, node: int) -> dict[str, Any]:
        """Make node (one of the cluster's --peers ids) a voter: the leader catches it up,
        then commits the configuration with it. ``{"ok": true, "voters": [...]}``, or
        ``{"ok": false, "error": why}`` (unknown node, a change in progress...)."""
        return await self.request("add", "", node=node)

    async def remove_server(self, node: int) -> dict[str, Any]:
        """Remove node from the voters (the leader itself included), as ``add_server``."""
        return await self.request("remove", "", node=node)

    async def status(self, address: str) -> dict[str, Any]:
        """One node's view (role, term, commit index, leader), without redirects."""
        host, port = parse_address(address)
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                self.attempt_timeout)
        try:
            writer.write(encode_frame({"t": "ClientRequest", "id": 0, "op": "status"}))
            return await asyncio.wait_for(self._read_reply(reader, 0, FrameDecoder()),
                                          self.attempt_timeout)
        finally:
            writer.close()

    async def request(self, op: str, key: str, value: str | None = None,
                      expected: str | None = None, stale: bool = False,
                      node: int | None = None) -> dict[str, Any]:
        """Send one operation, retrying across nodes until a definite reply or the deadline.

        ``node``: the node a membership change (op add or remove) is about; such a
        request waits for its answer up to the whole timeout (a catch-up takes time)."""
        async with self._lock:
            return await self._request(op, key, value, expected, stale, node)

    async def _request(self, op: str, key: str, value: str | None, expected: str | None,
                       stale: bool, node: int | None = None) -> dict[str, Any]:
        self._seq += 1
        req: dict[str, Any] = {"t": "ClientRequest", "op": op, "key": key, "value": value,
               "expected": expected, "client": self.client_id, "seq": self._seq,
               "stale": stale}
        attempt_timeout = self.attempt_timeout
        if node is not None:
            req["node"] = node
            attempt_timeout = self.timeout
        deadline = time.monotonic() + self.timeout
        pause = 0.02
        last_error = "no reply"
        while time.monotonic() < deadline:
            rid = next(self._ids)
            req["id"] = rid
            try:
                reader, writer = await self._connect()
                writer.write(encode_frame(req))
                # asyncio.timeout, not wait_for: no task per request
                async with asyncio.timeout(min(attempt_timeout,
                                               max(deadline - time.monotonic(), 0.01))):
                    reply = await self._read_reply(reader, rid, self._decoder)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
                last_error = f"{self._address()}: {type(exc).__name__} {exc}".strip()
                self._disconnect()
                self._target = (self._target + 1) % len(self.addresses)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.5)
                continue
            if not reply.get("retry"):
                return reply
            last_error = str(reply.get("error"))
            leader = reply.get("leader")
            self._disconnect()
            if isinstance(leader, str) and leader != self._address():
                self.redirects += 1
                self._follow(leader)
            else:
                self._target = (self._target + 1) % len(self.addresses)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.5)
        raise ClusterUnavailable(f"no definite answer within {self.timeout:g}s "
                                 f"(last: {last_error})")

    async def close(self) -> None:
        self._disconnect()

    # ---- machinery ----
    def _address(self) -> str:
        host, port = self.addresses[self._target]
        return f"{host}:{port}"

    def _follow(self, leader: str) -> None:
        addr = parse_address(leader)
        if addr not in self.addresses:
            self.addresses.append(addr)
        self._target = self.addresses.index(addr)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._conn is None:
            host, port = self.addresses[self._target]
            self._conn = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                self.attempt_timeout)
            self._decoder = FrameDecoder()
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            self._conn = None

    @staticmethod
    async def _read_reply(reader: asyncio.StreamReader, want: int,
                          decoder: FrameDecoder) -> dict[str, Any]:
        while True:
            header = await reader.readexactly(4)
            (length,) = struct.unpack(">I", header)
            body = await reader.readexactly(length)
            for obj in decoder.feed(header + body):
                if obj.get("t") == "ClientReply" and obj.get("id") == want:
                    return obj
