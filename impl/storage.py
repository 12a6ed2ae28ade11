"""Durable Raft state: SQLite (standard library) with synchronous writes, and an in-memory twin.

Both implement `Storage`: `load()` gives back what was persisted (the hard state and
the log after the snapshot), `load_snapshot()` the snapshot; `save(ready)` does step 1
of a Ready (a leader's snapshot, hard state and log suffix) in one transaction, and
`compact(snapshot)` stores a snapshot the node took and deletes the log it replaces,
in one transaction too: a crash leaves the old log or the snapshot, never neither.
A snapshot's configuration (membership changes: the voters at its index) is kept in
the meta table's ``snapshot_voters`` row, written in the snapshot's transaction and
covered by its checksum; configuration entries are log entries like any other.
The SQLite file carries a format marker, a version and the owner's node id, and the
hard state, the snapshot and every log entry a CRC32; a database that is corrupt,
truncated, foreign, of another version or tampered with is refused on open with a
one-line StorageError, never served. Deleted log rows leave free pages that later
writes reuse, so a compacted log keeps the file's size bounded.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import zlib
from collections.abc import Sequence
from typing import Protocol

from agree.impl.raft.messages import Entry, HardState, Ready, Snapshot

__all__ = ["FORMAT", "VERSION", "MemoryStorage", "SQLiteStorage", "Storage", "StorageError",
           "entry_checksum", "hard_state_checksum", "snapshot_checksum"]

FORMAT = "agree-raft"
#: 2: the hard_state row carries a checksum (version 1 files had none and are refused)
#: 3: a snapshot table (a version 2 file is upgraded on open: it has no snapshot)
VERSION = 3


class StorageError(Exception):
    """The store cannot be used; the message says why and what to do."""


class Storage(Protocol):
    """What a Raft driver needs from durable storage."""

    def load(self) -> tuple[HardState, tuple[Entry, ...]]: ...

    def load_snapshot(self) -> Snapshot | None: ...

    def save(self, ready: Ready) -> None: ...

    def compact(self, snapshot: Snapshot) -> None: ...

    def close(self) -> None: ...


def entry_checksum(index: int, entry: Entry) -> int:
    """CRC32 over index, term and value, so a flipped bit or a moved row shows."""
    return zlib.crc32(struct.pack(">QQ", index, entry.term) + entry.value)


def hard_state_checksum(hard_state: HardState) -> int:
    """CRC32 over current_term and voted_for (None as -1), so a flipped bit shows."""
    voted_for = -1 if hard_state.voted_for is None else hard_state.voted_for
    return zlib.crc32(b"hard_state" + struct.pack(">Qq", hard_state.current_term, voted_for))


def snapshot_checksum(snapshot: Snapshot) -> int:
    """CRC32 over the snapshot's index, term, data and configuration (when it has one)."""
    crc = zlib.crc32(b"snapshot" + struct.pack(">QQ", snapshot.index, snapshot.term)
                     + snapshot.data)
    if snapshot.voters is not None:
        crc = zlib.crc32(_voters_text(snapshot.voters).encode(), crc)
    return crc


def _voters_text(voters: tuple[int, ...]) -> str:
    return ",".join(str(v) for v in voters)


def _one_line(text: str, limit: int = 200) -> str:
    """`text` with its whitespace runs (newlines included) collapsed, cut to `limit` chars."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


class MemoryStorage:
    """Storage in memory: survives a simulated crash (the object is kept), not a real one."""

    def __init__(self) -> None:
        self.hard_state = HardState()
        self.entries: list[Entry] = []  # the log after the snapshot
        self.snapshot: Snapshot | None = None
        self.writes = 0

    def load(self) -> tuple[HardState, tuple[Entry, ...]]:
        return self.hard_state, tuple(self.entries)

    def load_snapshot(self) -> Snapshot | None:
        return self.snapshot

    def save(self, ready: Ready) -> None:
        if not ready.must_persist():
            return
        if ready.snapshot is not None:
            self._drop_through(ready.snapshot)
        if ready.hard_state is not None:
            self.hard_state = ready.hard_state
        if ready.first_index is not None:
            del self.entries[ready.first_index - 1 - self._offset():]
            self.entries.extend(ready.entries)
        self.writes += 1

    def compact(self, snapshot: Snapshot) -> None:
        self._drop_through(snapshot)
        self.writes += 1

    def _offset(self) -> int:
        return self.snapshot.index if self.snapshot is not None else 0

    def _drop_through(self, snapshot: Snapshot) -> None:
        """Store `snapshot`; delete the entries up to its index (those after stay)."""
        del self.entries[:max(snapshot.index - self._offset(), 0)]
        self.snapshot = snapshot

    def close(self) -> None:
        pass


#: at most one row: the last snapshot (version 3 on)
_SNAPSHOT_TABLE = ("CREATE TABLE snapshot (id INTEGER PRIMARY KEY CHECK (id = 0), "
                   "idx INTEGER NOT NULL, term INTEGER NOT NULL, data BLOB NOT NULL, "
                   "crc INTEGER NOT NULL)")

_SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE hard_state (id INTEGER PRIMARY KEY CHECK (id = 0),
                         current_term INTEGER NOT NULL, voted_for INTEGER,
                         crc INTEGER NOT NULL);
{_SNAPSHOT_TABLE};
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
            raise StorageError(f"{path} is not a usable agree database "
                               f"({_one_line(str(exc))}); "
                               "move it away to start this server empty") from None
        except StorageError:
            self._db.close()
            raise
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
            # damage the checks below did not foresee still refuses, never crashes
            self._db.close()
            raise StorageError(f"{path} is not a usable agree database (unreadable content: "
                               f"{_one_line(str(exc))}); "
                               "move it away to start this server empty") from None

    def _create(self, node_id: int, cluster_size: int) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("BEGIN IMMEDIATE")
        for stmt in _SCHEMA.strip().split(";"):
            if stmt.strip():
                self._db.execute(stmt)
        self._db.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("format", FORMAT), ("version", str(VERSION)), ("node_id", str(node_id)),
            ("cluster_size", str(cluster_size))])
        self._db.execute("INSERT INTO hard_state VALUES (0, ?, ?, ?)",
                         (*HardState(), hard_state_checksum(HardState())))
        self._db.execute("COMMIT")

    def _verify(self, node_id: int, cluster_size: int) -> None:
        bad = f"{self.path} is not a usable agree database"
        rows = self._db.execute("PRAGMA quick_check").fetchall()
        if rows != [("ok",)]:
            first = _one_line(" ".join(str(r[0]) for r in rows[:3]))
            raise StorageError(f"{bad}: integrity check failed ({first}); "
                               "move it away to start this server empty")
        tables = {str(r[0]) for r in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"meta", "hard_state", "log"} <= tables:
            raise StorageError(f"{bad}: not written by agree (tables "
                               f"{_one_line(repr(sorted(tables)))})")
        meta = {str(k): v for k, v in self._db.execute("SELECT key, value FROM meta")}
        if meta.get("format") != FORMAT:
            raise StorageError(f"{bad}: format marker {_one_line(repr(meta.get('format')))}, "
                               f"expected {FORMAT!r}")
        upgrade = meta.get("version") == "2" and "snapshot" not in tables
        if meta.get("version") != str(VERSION) and not upgrade:
            raise StorageError(f"{bad}: version {_one_line(str(meta.get('version')))}, this "
                               f"build reads only versions 2 and {VERSION}; move it away (or "
                               "use the agree release that wrote it)")
        if not upgrade and "snapshot" not in tables:
            raise StorageError(f"{bad}: its snapshot table is missing; "
                               "move it away to start this server empty")
        if meta.get("node_id") != str(node_id) or meta.get("cluster_size") != str(cluster_size):
            raise StorageError(f"{bad}: it belongs to node "
                               f"{_one_line(str(meta.get('node_id')))} of a "
                               f"{_one_line(str(meta.get('cluster_size')))}-node cluster, "
                               f"not node {node_id} of {cluster_size}")
        if upgrade:
            self._upgrade_from_2()
        self.load()  # checks the hard state, the snapshot, every entry's checksum and the
        # index sequence

    def _upgrade_from_2(self) -> None:
        """A version 2 file is a version 3 file without a snapshot: add the table."""
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute(_SNAPSHOT_TABLE)
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(VERSION),))
        self._db.execute("COMMIT")

    def load_snapshot(self) -> Snapshot | None:
        """The persisted snapshot, if any; StorageError if its checksum or a type is wrong."""
        rows = self._db.execute("SELECT id, idx, term, data, crc FROM snapshot").fetchall()
        if not rows:
            return None
        if len(rows) != 1 or rows[0][0] != 0:
            raise StorageError(f"{self.path}: the snapshot row is damaged; "
                               "the database is corrupt")
        _, idx, term, data, crc = rows[0]
        if not (_is_int(idx) and _is_int(term) and isinstance(data, bytes) and _is_int(crc)
                and idx >= 1 and term >= 1):
            raise StorageError(f"{self.path}: the snapshot has values of the wrong type; "
                               "the database is corrupt")
        # the configuration in force at the snapshot (membership changes), if any
        row = self._db.execute("SELECT value FROM meta WHERE key = 'snapshot_voters'").fetchone()
        voters: tuple[int, ...] | None = None
        if row is not None:
            try:
                voters = tuple(int(v) for v in str(row[0]).split(",") if v)
            except ValueError:
                raise StorageError(f"{self.path}: the snapshot's configuration is damaged; "
                                   "the database is corrupt") from None
        snapshot = Snapshot(idx, term, data, voters)
        if snapshot_checksum(snapshot) != crc:
            raise StorageError(f"{self.path}: checksum mismatch in the snapshot; "
                               "the database is corrupt")
        return snapshot

    def load(self) -> tuple[HardState, tuple[Entry, ...]]:
        """The persisted hard state and the log after the snapshot; StorageError if a
        checksum or type is wrong, or the log does not start right after the snapshot."""
        rows = self._db.execute(
            "SELECT id, current_term, voted_for, crc FROM hard_state").fetchall()
        if len(rows) != 1 or rows[0][0] != 0:
            raise StorageError(f"{self.path}: the hard state row is missing or damaged; "
                               "the database is corrupt")
        _, term, voted_for, hs_crc = rows[0]
        if (not _is_int(term) or term < 1 or not _is_int(hs_crc)
                or not (voted_for is None or (_is_int(voted_for) and voted_for >= 0))):
            raise StorageError(f"{self.path}: the hard state has values of the wrong type; "
                               "the database is corrupt")
        hard_state = HardState(term, voted_for)
        if hard_state_checksum(hard_state) != hs_crc:
            raise StorageError(f"{self.path}: checksum mismatch in the hard state "
                               "(current term, voted for); the database is corrupt")
        snapshot = self.load_snapshot()
        base = snapshot.index if snapshot is not None else 0
        entries: list[Entry] = []
        for idx, e_term, value, crc in self._db.execute(
                "SELECT idx, term, value, crc FROM log ORDER BY idx"):
            if not (_is_int(idx) and _is_int(e_term) and isinstance(value, bytes)
                    and _is_int(crc)) or e_term < 1:
                raise StorageError(f"{self.path}: log entry {_one_line(repr(idx))} has values "
                                   "of the wrong type; the database is corrupt")
            entry = Entry(e_term, value)
            if idx != base + len(entries) + 1:
                raise StorageError(f"{self.path}: log has a gap before index {idx}; "
                                   "the database was tampered with")
            if entry_checksum(idx, entry) != crc:
                raise StorageError(f"{self.path}: checksum mismatch in log entry {idx}; "
                                   "the database is corrupt")
            entries.append(entry)
        return hard_state, tuple(entries)

    def save(self, ready: Ready) -> None:
        """Step 1 of `ready` in one durable transaction (nothing to do: no write).

        StorageError (one line) if the write fails, e.g. on a full disk: nothing of
        `ready` may then be treated as saved.
        """
        if not ready.must_persist():
            return
        try:
            self._save(ready)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write {self.path} ({_one_line(str(exc))}; "
                               "is the disk full or failing?)") from None

    def _save(self, ready: Ready) -> None:
        self._transaction([ready])

    def write_batch(self, batch: Sequence[Ready | Snapshot]) -> None:
        """Several writes in order, in one durable transaction (one fsync: group commit):
        a Ready's step 1 (as `save`), or a snapshot this node took (as `compact`).

        StorageError (one line) if the write fails: nothing of the batch may then be
        treated as saved."""
        try:
            self._transaction(batch)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write {self.path} ({_one_line(str(exc))}; "
                               "is the disk full or failing?)") from None

    def _transaction(self, batch: Sequence[Ready | Snapshot]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for item in batch:
                if isinstance(item, Snapshot):
                    self._store_snapshot(item)
                else:
                    self._write(item)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def _write(self, ready: Ready) -> None:
        """Within a transaction: a Ready's step 1."""
        db = self._db
        if ready.snapshot is not None:
            self._store_snapshot(ready.snapshot)
        if ready.hard_state is not None:
            db.execute("UPDATE hard_state SET current_term = ?, voted_for = ?, crc = ? "
                       "WHERE id = 0", (*ready.hard_state,
                                        hard_state_checksum(ready.hard_state)))
        if ready.first_index is not None:
            first = ready.first_index
            db.execute("DELETE FROM log WHERE idx >= ?", (first,))
            db.executemany("INSERT INTO log VALUES (?, ?, ?, ?)", [
                (first + k, e.term, e.value, entry_checksum(first + k, e))
                for k, e in enumerate(ready.entries)])

    def compact(self, snapshot: Snapshot) -> None:
        """Store a snapshot this node took and delete the log up to its index, in one
        durable transaction; StorageError (one line) if the write fails."""
        self.write_batch([snapshot])

    def _store_snapshot(self, snapshot: Snapshot) -> None:
        """Within a transaction: the snapshot row, and no log entry up to its index."""
        self._db.execute("INSERT OR REPLACE INTO snapshot VALUES (0, ?, ?, ?, ?)",
                         (snapshot.index, snapshot.term, snapshot.data,
                          snapshot_checksum(snapshot)))
        if snapshot.voters is None:
            self._db.execute("DELETE FROM meta WHERE key = 'snapshot_voters'")
        else:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('snapshot_voters', ?)",
                             (_voters_text(snapshot.voters),))
        self._db.execute("DELETE FROM log WHERE idx <= ?", (snapshot.index,))

    def close(self) -> None:
        self._db.close()


def _is_int(value: object) -> bool:
    """An SQLite INTEGER (a flipped type byte can turn a column into REAL, TEXT or BLOB)."""
    return isinstance(value, int) and not isinstance(value, bool)
