"""asyncio TCP transport: outbound peer links with reconnect and backoff, and the
frame-reading protocol of accepted connections.

Messages between servers travel on one outbound connection per peer; each side
reads only what arrives on connections accepted by its listener. Raft tolerates
loss, so a message for a peer that is not connected is dropped, not queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from agree.impl.wire import CodecError, FrameDecoder, FrameTooLarge

__all__ = ["FrameProtocol", "PeerLink", "free_ports", "parse_address"]

log = logging.getLogger("agree.impl.net")

#: drop messages for a peer once this many bytes wait in its socket buffer
MAX_BUFFERED = 8 * 1024 * 1024


def free_ports(k: int, host: str = "127.0.0.1") -> list[int]:
    """``k`` distinct ports on ``host`` that were free a moment ago (all bound at once, so
    the kernel cannot hand out the same one twice): for local clusters and tests."""
    socks = [socket.socket() for _ in range(k)]
    try:
        for s in socks:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def parse_address(text: str) -> tuple[str, int]:
    """'host:port' -> (host, port); ValueError with a readable message otherwise."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"bad address {text!r}: expected HOST:PORT")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"bad address {text!r}: port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"bad address {text!r}: port must be in 1..65535")
    return host, port


class PeerLink:
    """The outbound connection to one peer; reconnects with exponential backoff."""

    def __init__(self, host: str, port: int, backoff_min: float = 0.05,
                 backoff_max: float = 2.0) -> None:
        self.host, self.port = host, port
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def send(self, frame: bytes) -> None:
        """Write `frame` if connected and not backed up; otherwise drop it."""
        w = self._writer
        if w is None or w.is_closing() or w.transport.get_write_buffer_size() > MAX_BUFFERED:
            self.dropped += 1
            return
        w.write(frame)

    async def _run(self) -> None:
        delay = self.backoff_min
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            delay = self.backoff_min
            self._writer = writer
            log.info("connected to %s:%d", self.host, self.port)
            try:
                while await reader.read(65536):
                    pass  # peers never write on this connection; EOF means it closed
            except OSError:
                pass
            self._writer = None
            writer.close()
            log.info("lost connection to %s:%d", self.host, self.port)
            await asyncio.sleep(delay)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()


class FrameProtocol(asyncio.Protocol):
    """One accepted connection, read as frames: each payload goes to ``handle(obj,
    transport)`` in the loop turn that read it (no reader task woken a turn later, so a
    message costs one loop turn less on every hop).

    Malformed frames are logged and skipped, as is a payload `handle` refuses with
    CodecError; an oversized frame ends the connection. `read()` is called after the
    frames of each read were handled. While open, the protocol is in `track` (if given).
    """

    def __init__(self, handle: Callable[[dict[str, Any], asyncio.Transport], None],
                 track: set[FrameProtocol] | None = None,
                 read: Callable[[], None] | None = None) -> None:
        self._handle = handle
        self._track = track
        self._read = read
        self._decoder = FrameDecoder()
        self.transport: asyncio.Transport | None = None
        self.peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = str(transport.get_extra_info("peername"))
        if self._track is not None:
            self._track.add(self)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        decoder = self._decoder
        try:
            objs = decoder.feed(data)
        except FrameTooLarge as exc:
            _log_errors(decoder, self.peer)  # frames refused before the oversized one
            log.warning("closing connection from %s: %s", self.peer, exc)
            transport.close()
            return
        if decoder.errors:
            _log_errors(decoder, self.peer)
        for obj in objs:
            try:
                self._handle(obj, transport)
            except CodecError as exc:
                log.warning("from %s: dropped malformed message: %s", self.peer, exc)
        if self._read is not None:
            self._read()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._track is not None:
            self._track.discard(self)

    def close(self) -> None:
        """Close the connection (what was written so far is still sent)."""
        if self.transport is not None:
            self.transport.close()


def _log_errors(decoder: FrameDecoder, peer: str) -> None:
    """Log and forget the frames `decoder` dropped so far."""
    for err in decoder.errors:
        log.warning("from %s: %s", peer, err)
    decoder.errors.clear()
