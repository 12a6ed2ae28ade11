"""The storage thread: a server's disk writes off its event loop, with group commit.

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
from collections.abc import Callable

from agree.impl.raft.messages import Ready, Snapshot
from agree.impl.storage import SQLiteStorage, StorageError

__all__ = ["StorageWriter"]

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
