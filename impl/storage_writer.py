"""The storage thread: a server's disk writes off its event loop, with group commit,
and the order in which its Readys finish (ReadyPipeline).

The event loop submits writes (a Ready's step 1, or a snapshot the node took) in
order; one thread takes every write waiting when it wakes and does them in one
SQLite transaction, so one fsync covers many Readys while the loop goes on serving
(more clients, more Readys per transaction). Each batch's outcome is handed back to
the loop, in submission order, through ``on_done(count, error)``: ``count`` writes,
all durable if ``error`` is None, none of them to be trusted otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agree.impl.raft.messages import Message, Ready, Snapshot
from agree.impl.storage import SQLiteStorage, StorageError

__all__ = ["ReadyPipeline", "Step", "StorageWriter"]

_STOP = object()


class StorageWriter:
    """One thread writing to `storage` for the event loop `loop` (see the module)."""

    def __init__(self, storage: SQLiteStorage, loop: asyncio.AbstractEventLoop,
                 on_done: Callable[[int, StorageError | None], None]) -> None:
        self.storage = storage
        self._loop = loop
        self._on_done = on_done
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._failed = False
        self.batches = 0  # transactions done (for tests and benchmarks)
        self._thread = threading.Thread(target=self._run, name="agree-storage", daemon=True)
        self._thread.start()

    def submit(self, item: Ready | Snapshot) -> None:
        """Queue one write; its outcome comes back through on_done, in order."""
        self._queue.put(item)

    def close(self) -> None:
        """Finish the writes queued so far, then stop the thread (blocks until it has)."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            batch: list[Ready | Snapshot] = []
            item = self._queue.get()
            stop = item is _STOP
            if not stop:
                batch.append(item)  # type: ignore[arg-type]
            while not stop:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                else:
                    batch.append(item)  # type: ignore[arg-type]
            if batch:
                self._write(batch)
            if stop:
                return

    def _write(self, batch: list[Ready | Snapshot]) -> None:
        error: StorageError | None = None
        if self._failed:  # after one failure nothing more is written or trusted
            error = StorageError(f"{self.storage.path}: an earlier write failed")
        else:
            try:
                self.storage.write_batch(batch)
                self.batches += 1
            except StorageError as exc:
                self._failed = True
                error = exc
        # a closed loop (RuntimeError) has nobody waiting for the outcome any more
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_done, len(batch), error)


@dataclass
class Step:
    """A Ready on its way: the messages it holds back until it is durable, whether it
    is, and whether its committed entries were applied already."""


    ready: Ready
    held: tuple[Message, ...]
    durable: bool
    applied: bool
    state: dict[str, Any] | None = None
    """its event log State line, taken with it (impl/server_events.py), if logged"""


class ReadyPipeline:
    """A server's Readys on their way through the storage thread, finished in order.

    `add` queues a Step and hands its write (if any) to the thread; as writes become
    durable, the log they wrote is reported through ``persisted(index, term)`` (the
    core's log_persisted), each Step at the front that is durable goes to
    ``finish(step)``, then ``written()`` is called (the server flushes again: the
    commit index may have moved). A failed write calls ``failed(error)`` and halts
    the pipeline: nothing more is finished.
    """

    def __init__(self, storage: SQLiteStorage, loop: asyncio.AbstractEventLoop,
                 persisted: Callable[[int, int], None], finish: Callable[[Step], None],
                 written: Callable[[], None],
                 failed: Callable[[StorageError], None]) -> None:
        self._persisted, self._finish = persisted, finish
        self._written, self._failed = written, failed
        self._pending: deque[Step] = deque()  # not finished yet, in order
        self._writing: deque[Step | Snapshot] = deque()  # handed to the thread, in order
        self.halted = False
        self.writer = StorageWriter(storage, loop, self._on_written)

    def add(self, step: Step, inline: bool = False) -> None:
        """Queue `step`; its write, if it has one, goes to the storage thread, or is done
        here and now if `inline` and no other write is on its way (a follower, which
        cannot reply before the write anyway, saves the handover to the thread)."""
        self._pending.append(step)
        if step.durable:
            return
        if inline and not self._writing:
            self._writing.append(step)
            error: StorageError | None = None
            try:
                self.writer.storage.write_batch([step.ready])
            except StorageError as exc:
                error = exc
            self._on_written(1, error)
            return
        self._write(step)

    def compact(self, snapshot: Snapshot) -> None:
        """Store a snapshot the node took, after every write queued before it."""
        self._write(snapshot)

    def drain(self) -> None:
        """Finish the durable Steps at the front, in order."""
        while self._pending and self._pending[0].durable and not self.halted:
            self._finish(self._pending.popleft())

    def close(self) -> None:
        """Let the writes queued so far finish, then stop the thread (blocks)."""
        self.writer.close()

    def _write(self, item: Step | Snapshot) -> None:
        self._writing.append(item)
        self.writer.submit(item.ready if isinstance(item, Step) else item)

    def _on_written(self, count: int, error: StorageError | None) -> None:
        if self.halted:
            return
        if error is not None:
            self.halted = True
            self._failed(error)
            return
        for _ in range(count):
            item = self._writing.popleft()
            if isinstance(item, Step):
                item.durable = True
                ready = item.ready
                if ready.entries:
                    assert ready.first_index is not None
                    self._persisted(ready.first_index + len(ready.entries) - 1,
                                    ready.entries[-1].term)
        self.drain()
        self._written()
