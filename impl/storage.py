"""Durable Raft state: SQLite (standard library) with synchronous writes, and an in-memory twin.

Both implement `Storage`: `load()` gives back what was persisted; `save(ready)`
does step 1 of a Ready (hard state and log suffix) in one transaction. The SQLite
file carries a format marker, a version and the owner's node id, and every log
entry a CRC32; a database that is corrupt, truncated, foreign or tampered with is
refused on open with a one-line StorageError, never served.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import zlib
from typing import Protocol

from agree.impl.raft.messages import Entry, HardState, Ready

__all__ = ["FORMAT", "VERSION", "MemoryStorage", "SQLiteStorage", "Storage", "StorageError",
           "entry_checksum"]

FORMAT = "agree-raft"
VERSION = 1


class StorageError(Exception):
    """The store cannot be used; the message says why and what to do."""


class Storage(Protocol):
    """What a Raft driver needs from durable storage."""

    def load(self) -> tuple[HardState, tuple[Entry, ...]]: ...

    def save(self, ready: Ready) -> None: ...

    def close(self) -> None: ...


def entry_checksum(index: int, entry: Entry) -> int:
    """CRC32 over index, term and value, so a flipped bit or a moved row shows."""
    return zlib.crc32(struct.pack(">QQ", index, entry.term) + entry.value)


class MemoryStorage:
    """Storage in memory: survives a simulated crash (the object is kept), not a real one."""

    def __init__(self) -> None:
        self.hard_state = HardState()
        self.entries: list[Entry] = []
        self.writes = 0

    def load(self) -> tuple[HardState, tuple[Entry, ...]]:
        return self.hard_state, tuple(self.entries)

    def save(self, ready: Ready) -> None:
        if not ready.must_persist():
            return
        if ready.hard_state is not None:
            self.hard_state = ready.hard_state
        if ready.first_index is not None:
            del self.entries[ready.first_index - 1:]
            self.entries.extend(ready.entries)
        self.writes += 1

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE hard_state (id INTEGER PRIMARY KEY CHECK (id = 0),
                         current_term INTEGER NOT NULL, voted_for INTEGER);
CREATE TABLE log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, value BLOB NOT NULL,
                  crc INTEGER NOT NULL);
"""


class SQLiteStorage:
    """One SQLite file per server; `PRAGMA synchronous=FULL`, one transaction per save."""

    def __init__(self, path: str, node_id: int, cluster_size: int) -> None:
        self.path = path
        fresh = not os.path.exists(path) or os.path.getsize(path) == 0
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {path}: {exc}") from None
        try:
            self._db.execute("PRAGMA synchronous=FULL")
            if fresh:
                self._create(node_id, cluster_size)
            else:
                self._verify(node_id, cluster_size)
        except sqlite3.Error as exc:
            self._db.close()
            raise StorageError(f"{path} is not a usable agree database ({exc}); "
                               "move it away to start this server empty") from None
        except StorageError:
            self._db.close()
            raise

    def _create(self, node_id: int, cluster_size: int) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("BEGIN IMMEDIATE")
        for stmt in _SCHEMA.strip().split(";"):
            if stmt.strip():
                self._db.execute(stmt)
        self._db.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("format", FORMAT), ("version", str(VERSION)), ("node_id", str(node_id)),
            ("cluster_size", str(cluster_size))])
        self._db.execute("INSERT INTO hard_state VALUES (0, 1, NULL)")
        self._db.execute("COMMIT")

    def _verify(self, node_id: int, cluster_size: int) -> None:
        bad = f"{self.path} is not a usable agree database"
        rows = self._db.execute("PRAGMA quick_check").fetchall()
        if rows != [("ok",)]:
            raise StorageError(f"{bad}: integrity check failed ({rows[0][0]}); "
                               "move it away to start this server empty")
        tables = {r[0] for r in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"meta", "hard_state", "log"} <= tables:
            raise StorageError(f"{bad}: not written by agree (tables {sorted(tables)})")
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT:
            raise StorageError(f"{bad}: format marker {meta.get('format')!r}, "
                               f"expected {FORMAT!r}")
        if meta.get("version") != str(VERSION):
            raise StorageError(f"{bad}: version {meta.get('version')}, this build reads "
                               f"version {VERSION}")
        if meta.get("node_id") != str(node_id) or meta.get("cluster_size") != str(cluster_size):
            raise StorageError(f"{bad}: it belongs to node {meta.get('node_id')} of a "
                               f"{meta.get('cluster_size')}-node cluster, not node {node_id} "
                               f"of {cluster_size}")
        if self._db.execute("SELECT count(*) FROM hard_state").fetchone() != (1,):
            raise StorageError(f"{bad}: hard state missing")
        self.load()  # checks every entry's checksum and the index sequence

    def load(self) -> tuple[HardState, tuple[Entry, ...]]:
        """The persisted hard state and log; StorageError if an entry fails its checksum."""
        term, voted_for = self._db.execute(
            "SELECT current_term, voted_for FROM hard_state WHERE id = 0").fetchone()
        entries: list[Entry] = []
        for idx, e_term, value, crc in self._db.execute(
                "SELECT idx, term, value, crc FROM log ORDER BY idx"):
            entry = Entry(int(e_term), bytes(value))
            if idx != len(entries) + 1:
                raise StorageError(f"{self.path}: log has a gap before index {idx}; "
                                   "the database was tampered with")
            if entry_checksum(idx, entry) != crc:
                raise StorageError(f"{self.path}: checksum mismatch in log entry {idx}; "
                                   "the database is corrupt")
            entries.append(entry)
        return HardState(int(term), None if voted_for is None else int(voted_for)), tuple(entries)

    def save(self, ready: Ready) -> None:
        """Step 1 of `ready` in one durable transaction (nothing to do: no write)."""
        if not ready.must_persist():
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if ready.hard_state is not None:
                db.execute("UPDATE hard_state SET current_term = ?, voted_for = ? WHERE id = 0",
                           (ready.hard_state.current_term, ready.hard_state.voted_for))
            if ready.first_index is not None:
                first = ready.first_index
                db.execute("DELETE FROM log WHERE idx >= ?", (first,))
                db.executemany("INSERT INTO log VALUES (?, ?, ?, ?)", [
                    (first + k, e.term, e.value, entry_checksum(first + k, e))
                    for k, e in enumerate(ready.entries)])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
