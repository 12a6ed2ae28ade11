"""The KV server: one Raft node over asyncio TCP with SQLite storage (a thin driver).

Each Ready from the core is done as the Ready contract asks: its write, then its
messages, then applying committed entries to the KV state machine and answering
the clients that waited for them. The writes go to a storage thread
(impl/storage_writer.py) that does every write waiting in one SQLite transaction
(group commit) while the loop goes on; a Ready's messages wait for its write, and
Readys finish in order. Two things do not wait (thesis §10.2.1): a leader sends its
AppendEntries and InstallSnapshot requests at once, while its own write is in
flight, and counts its own log toward commit only once that write is reported
durable (Config.async_persist); and committed entries, being on a majority's disks,
are applied and answered at once. So an acknowledged write is on a majority's disks
as before, and a follower still persists before it replies. With an event log
nothing skips ahead: every send and apply waits for its write, so the events are
logged before the sends they describe.
No loop turn is lost on a put's way (issue 16 point 7): accepted connections are
read by impl/net.py's FrameProtocol, which hands each frame over in the turn that
read it; the node flushes at the end of that read (or when its storage thread
reports) rather than a turn later, unless clients' writes wait to be proposed (those
wait for the turn's end, so every write that arrived in it goes into one batch); and
a write is answered in the call that applies it.
Writes go through the log; reads are ReadIndex reads (impl/raft/reads.py: the leader
confirms its leadership with a heartbeat round, then answers once it has applied the
read index; ``reads="log"``: through the log), so both are linearizable; a request
to a follower is answered with a redirect to the leader it knows of (the client side:
impl/server_clients.py).
Membership requests (add or remove a voter) are impl/changes.py's.
Every `snapshot_every` applied entries the node snapshots the KV state machine and
compacts its log behind it (impl/raft/snapshot.py), in the same loop turn as the
apply; it restarts from its snapshot, and a leader sends InstallSnapshot to a
follower that needs an entry it compacted.
If a Ready cannot be persisted (disk full, I/O error) the node fail-stops: it
sends and acknowledges nothing more, logs one line saying why, and stops;
`failure` holds that line and `wait_stopped()` returns once it has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agree.eventlog import EventLogWriter
from agree.impl.changes import PendingChanges
from agree.impl.kv import KVStateMachine
from agree.impl.net import FrameProtocol, PeerLink
from agree.impl.raft import (
    AppendEntriesRequest,
    Config,
    InstallSnapshotRequest,
    Message,
    NotLeader,
    RaftCore,
    Ready,
    Role,
)
from agree.impl.raft.snapshot import snapshot_due
from agree.impl.server_clients import ClientRequests, Outcome
from agree.impl.server_events import event_args, log_ready, ready_state
from agree.impl.storage import SQLiteStorage, StorageError
from agree.impl.storage_writer import ReadyPipeline, Step
from agree.impl.wire import (
    MAX_FRAME,
    decode_payload,
    encode_message,
)

__all__ = ["KVServer", "ServerOptions", "event_args"]

log = logging.getLogger("agree.impl.server")


@dataclass(frozen=True)
class ServerOptions:
    """How to run one node: its id, every node's address (indexed by id), where to keep data."""

    node_id: int
    peers: tuple[tuple[str, int], ...]
    data_dir: str
    bind_host: str = "127.0.0.1"
    tick_ms: float = 10.0
    config: Config = field(default_factory=Config)
    event_log: str | None = None
    seed: int | None = None
    request_timeout: float = 5.0
    reads: str = "index"
    """"index": ReadIndex reads; "log": reads appended to the log as commands."""
    snapshot_every: int = 10_000
    """snapshot the state machine and compact the log every this many applied entries
    (0: never)"""


#: what a leader sends before its own write of the same Ready is durable
_EARLY = (AppendEntriesRequest, InstallSnapshotRequest)


class KVServer(ClientRequests):
    """A replicated KV node. `await start()`, then `await stop()` (or let the loop end)."""

    def __init__(self, opts: ServerOptions) -> None:
        n = len(opts.peers)
        if not 0 <= opts.node_id < n:
            raise ValueError(f"node id {opts.node_id} is not in 0..{n - 1}")
        self.opts = opts
        self.id = opts.node_id
        os.makedirs(opts.data_dir, exist_ok=True)
        self.storage = SQLiteStorage(os.path.join(opts.data_dir, f"node{self.id}.db"),
                                     self.id, n)
        hard_state, entries = self.storage.load()
        snapshot = self.storage.load_snapshot()
        self.kv = KVStateMachine()
        if snapshot is not None:
            try:
                self.kv.restore(snapshot.data)
            except ValueError as exc:
                self.storage.close()
                raise StorageError(f"{self.storage.path}: {exc}; the database is corrupt "
                                   "(move it away to start this server empty)") from None
        seed = opts.seed if opts.seed is not None else int.from_bytes(os.urandom(8), "big")
        # the storage thread reports each write (log_persisted); with an event log,
        # tracing on
        config = dataclasses.replace(opts.config, async_persist=True,
                                     trace=opts.config.trace or bool(opts.event_log))
        if not opts.event_log and not config.inflight_entries:
            # pipelined AppendEntries (not with an event log: conformance judges
            # replication with one message in flight)
            config = dataclasses.replace(config, inflight_entries=4 * config.max_batch)
        self.core = RaftCore(self.id, n, random.Random(seed), config, hard_state, entries,
                             snapshot)
        self.links = {j: PeerLink(*opts.peers[j]) for j in range(n) if j != self.id}
        self._waiters: dict[int, tuple[int, Outcome]] = {}
        self._changes = PendingChanges(self._redirect, self._retry)  # add/remove a voter
        # ReadIndex reads: id -> (key, future) until confirmed, then (index, key, future)
        # until applied
        self._reads: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._confirmed: list[tuple[int, str, asyncio.Future[dict[str, Any]]]] = []
        self._flush_pending: asyncio.Handle | None = None  # a _flush called soon
        self._flushing = False  # in _flush
        self._stepped = False  # a peer's message stepped since the last flush
        self._proposals: list[tuple[bytes, Outcome]] = []
        self._pipeline: ReadyPipeline | None = None  # Readys on their way to disk
        self._oversized = 0  # the snapshot index last found too large to send
        self._connections: set[FrameProtocol] = set()  # accepted, still open
        self._client_tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._event_log: EventLogWriter | None = (EventLogWriter(opts.event_log, self.id)
                                                  if opts.event_log else None)
        if self._event_log is not None:  # what raft-reconfig's InitServer starts from
            self._event_log.initial_configuration(
                range(n) if config.voters is None else config.voters, n)
        #: why the node fail-stopped (one line), or None while it is healthy
        self.failure: str | None = None
        self._stopped = asyncio.Event()
        self._stopping: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        host, port = self.opts.peers[self.id]
        return f"{host}:{port}"

    async def start(self) -> None:
        """Listen, connect to peers and start ticking. OSError if the port is taken."""
        _, port = self.opts.peers[self.id]
        self._server = await asyncio.get_running_loop().create_server(
            lambda: FrameProtocol(self._on_frame, self._connections, self._on_read),
            self.opts.bind_host, port)
        self._pipeline = ReadyPipeline(self.storage, asyncio.get_running_loop(),
                                       self.core.log_persisted, self._finish,
                                       self._written, self._write_failed)
        for link in self.links.values():
            link.start()
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())
        log.info("node %d serving on %s:%d", self.id, self.opts.bind_host, port)

    async def stop(self) -> None:
        """Stop ticking and listening, fail waiting clients, close storage (once)."""
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(self._shutdown())
        await self._stopping

    async def _shutdown(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self._server is not None:
            self._server.close()
        for link in self.links.values():
            await link.close()
        self._fail_waiters("server stopping")
        self._changes.fail("server stopping")
        self._fail_reads("server stopping")
        for conn in list(self._connections):
            conn.close()
        for _ in range(200):  # each closed connection is reported lost a loop turn later
            if not self._connections:
                break
            await asyncio.sleep(0.01)
        if self._pipeline is not None:  # let the writes queued so far finish, then close
            await asyncio.to_thread(self._pipeline.close)
        self.storage.close()
        if self._event_log is not None:
            with contextlib.suppress(OSError):  # a full disk may refuse the last flush
                self._event_log.close()
        self._stopped.set()

    async def wait_stopped(self) -> None:
        """Return once the node has stopped (after `stop()` or a fail-stop)."""
        await self._stopped.wait()

    def _fail_stop(self, why: str) -> None:
        """Persisting failed: say so in one line and stop, acknowledging nothing more."""
        if self.failure is not None:
            return
        self.failure = f"node {self.id} stopped: {why}"
        if self._pipeline is not None:
            self._pipeline.halted = True
        log.error("%s", self.failure)
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(self._shutdown())

    # ---- the Ready loop ----
    async def _tick_loop(self) -> None:
        interval = self.opts.tick_ms / 1000
        while self.failure is None:
            await asyncio.sleep(interval)
            self.core.tick()
            self._flush()

    def _schedule_flush(self) -> None:
        if self._flush_pending is None:
            self._flush_pending = asyncio.get_running_loop().call_soon(self._flush)

    def _on_read(self) -> None:
        """The frames of one read were taken: flush (now or soon, `_flush_now`) if a
        message was stepped or a flush is due."""
        if self._stepped or self._flush_pending is not None:
            self._flush_now()

    def _written(self) -> None:
        """Writes are durable: flush (now or soon, `_flush_now`), since a leader's commit
        index may have moved (RaftCore.log_persisted). Not after a follower's inline
        write, reported from within its flush: nothing of a follower's moves with it."""
        if self._flushing and self.core.role is not Role.LEADER:
            return
        self._flush_now()

    def _flush_now(self) -> None:
        """Flush now, not a loop turn later (a follower's reply and a leader's commit
        wait for the flush), unless clients' writes wait to be proposed (they wait for
        the turn's end, so every write that arrived in it goes into one batch) or this
        is called from within a flush (an inline write reporting back)."""
        if self._proposals or self._flushing:
            self._schedule_flush()
        else:
            self._flush()

    def _flush(self) -> None:
        """Take one Ready and start it: its write goes to the storage thread; a leader's
        AppendEntries and InstallSnapshot requests go out at once, while its own write
        is in flight (thesis §10.2.1: the core counts its own log toward commit only
        once the write is reported durable); everything else waits for the write."""
        if self._flush_pending is not None:
            self._flush_pending.cancel()
            self._flush_pending = None
        self._stepped = False
        if self.failure is not None:
            return
        if self._proposals:
            self._propose()
        ready = self.core.ready()
        if ready.is_empty():
            return
        self._flushing = True
        try:
            self._start(ready)
        finally:
            self._flushing = False

    def _start(self, ready: Ready) -> None:
        """Start one Ready, as `_flush` says."""
        held = ready.messages
        if (self._event_log is None and ready.hard_state is None
                and self.core.role is Role.LEADER):
            # a leader's requests need nothing of this Ready durable; with an event log,
            # every send waits, so its events are logged before the sends they describe
            self._send(m for m in held if isinstance(m, _EARLY))
            held = tuple(m for m in held if not isinstance(m, _EARLY))
        step = Step(ready, held, durable=not ready.must_persist(),
                    applied=self._event_log is None,
                    state=None if self._event_log is None else ready_state(self.core, ready))
        assert self._pipeline is not None
        self._pipeline.add(step, inline=self.core.role is not Role.LEADER)
        if step.applied:
            # committed entries are on a majority's disks: applied (and answered) at once,
            # in order, whether or not this node's own write is durable yet
            self._apply(ready)
        self._pipeline.drain()

    def _propose(self) -> None:
        """Propose the writes that arrived since the last flush, as one batch."""
        batch, self._proposals = self._proposals, []
        try:
            last = self.core.propose_batch([command for command, _ in batch])
        except NotLeader as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(self._redirect(exc.leader_hint))
            return
        term = self.core.current_term
        for index, (_, fut) in enumerate(batch, last - len(batch) + 1):
            if not fut.done():  # not timed out meanwhile
                self._waiters[index] = (term, fut)

    def _send(self, messages: Iterable[Message]) -> None:
        """Send each message; those for one peer go out in one write."""
        frames: dict[int, list[bytes]] = {}
        for m in messages:
            frame = encode_message(m)
            if len(frame) - 4 > MAX_FRAME and isinstance(m, InstallSnapshotRequest):
                self._too_large(m, len(frame))
                continue
            frames.setdefault(m.dest, []).append(frame)
        for dest, out in frames.items():
            self.links[dest].send(b"".join(out))

    def _finish(self, step: Step) -> None:
        """A durable Ready: log its events, send what it held back, then apply and answer
        (unless that was done already)."""
        ready = step.ready
        if self._event_log is not None and step.state is not None:
            try:  # before sending (impl/server_events.py)
                log_ready(self._event_log, ready, step.state)
            except OSError as exc:
                self._fail_stop(f"cannot write the event log {self.opts.event_log} "
                                f"({exc.strerror or exc}; is the disk full?)")
                return
        self._send(step.held)
        if not step.applied:
            self._apply(ready)

    def _apply(self, ready: Ready) -> None:
        """Restore a leader's snapshot, apply the committed entries, answer the clients
        and reads waiting for them; snapshot when due."""
        if ready.snapshot is not None:  # a leader's
            self.kv.restore(ready.snapshot.data)
        for index, entry in ready.committed:
            result = self.kv.apply(index, entry.value)
            waiter = self._waiters.pop(index, None)
            if waiter is not None and not waiter[1].done():
                term, fut = waiter
                fut.set_result(result if entry.term == term else
                               self._retry("entry lost to a new leader"))
        self._answer_reads(ready)
        self._changes.answer(ready, self.core.current_term)
        if self.core.role is not Role.LEADER and self._waiters:
            self._fail_waiters("leadership lost")
        if self.core.role is not Role.LEADER and self._changes:
            self._changes.fail("leadership lost")
        if snapshot_due(self.kv.last_applied, self.core.snapshot, self.opts.snapshot_every):
            self._take_snapshot()

    def _write_failed(self, error: StorageError) -> None:
        self._fail_stop(f"{error}; it acknowledged nothing it did not save, "
                        "restart it once the disk has room")

    def _too_large(self, m: InstallSnapshotRequest, size: int) -> None:
        """A snapshot too large for one frame (the receiver would drop the connection):
        not sent; said once per snapshot index, since the follower cannot catch up."""
        if self._oversized != m.last_included_index:
            self._oversized = m.last_included_index
            log.error("node %d: the snapshot at index %d is %d bytes on the wire, above the "
                      "frame limit of %d: node %d cannot catch up by snapshot (snapshots are "
                      "not sent in chunks)", self.id, m.last_included_index, size, MAX_FRAME,
                      m.dest)

    def _take_snapshot(self) -> None:
        """Snapshot the KV state and compact the log behind it, durably (one transaction,
        after the writes queued before it: a crash leaves the whole log or the snapshot);
        fail-stop if it cannot be saved."""
        assert self._pipeline is not None
        self._pipeline.compact(self.core.compact(self.kv.last_applied, self.kv.snapshot()))

    def _answer_reads(self, ready: Ready) -> None:
        """Reads the core confirmed (or refused), then every confirmed read whose index
        is applied: answered from the state machine."""
        for rid, index in ready.reads:
            pending = self._reads.pop(rid, None)
            if pending is None:
                continue
            key, fut = pending
            if index is None:
                if not fut.done():
                    fut.set_result(self._retry("leadership lost before the read was "
                                               "confirmed"))
                continue
            self._confirmed.append((index, key, fut))
        waiting = []
        for index, key, fut in self._confirmed:
            if self.kv.last_applied >= index:
                if not fut.done():
                    fut.set_result({"ok": True, "value": self.kv.data.get(key)})
            else:
                waiting.append((index, key, fut))
        self._confirmed = waiting

    # ---- connections ----
    def _on_frame(self, obj: dict[str, Any], transport: asyncio.Transport) -> None:
        """One frame from an accepted connection: a client's request or a peer's message
        (CodecError if malformed: the protocol logs and drops it)."""
        payload = decode_payload(obj)
        if isinstance(payload, dict):
            if payload["t"] == "ClientRequest" and not self._serve_write(payload, transport):
                task = asyncio.get_running_loop().create_task(
                    self._serve_client(payload, transport))
                self._client_tasks.add(task)  # keep a strong reference until done
                task.add_done_callback(self._client_tasks.discard)
            return
        self._on_message(payload)

    def _on_message(self, m: Message) -> None:
        if self.failure is not None:
            return
        if m.dest != self.id:
            log.warning("dropped %s addressed to node %d", type(m).__name__, m.dest)
            return
        self.core.step(m)
        self._stepped = True  # flushed at the end of the read (_on_read)


if __name__ == "__main__":  # pragma: no cover - `python -m agree.impl.server`
    from agree.impl.node import main

    sys.exit(main())
