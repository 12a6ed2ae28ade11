"""SQLite storage: round trips, one transaction per Ready, and refusing bad databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agree.impl.raft import Entry, HardState, Ready
from agree.impl.storage import MemoryStorage, SQLiteStorage, StorageError


def fill(store: SQLiteStorage | MemoryStorage) -> None:
    store.save(Ready(HardState(3, 1), 1, (Entry(1, b"a"), Entry(2, b"b"), Entry(3, b"c"))))
    store.save(Ready(None, 2, (Entry(3, b"x"),)))   # truncate from 2, then append


def test_round_trip_and_truncation(tmp_path: Path) -> None:
    """What was saved comes back after reopening; a suffix write replaces the old suffix."""
    path = str(tmp_path / "n0.db")
    store = SQLiteStorage(path, 0, 3)
    fill(store)
    store.close()
    again = SQLiteStorage(path, 0, 3)
    assert again.load() == (HardState(3, 1), (Entry(1, b"a"), Entry(3, b"x")))
    again.close()
    mem = MemoryStorage()
    fill(mem)
    assert mem.load() == (HardState(3, 1), (Entry(1, b"a"), Entry(3, b"x")))


def test_synchronous_full(tmp_path: Path) -> None:
    """Writes are durable: PRAGMA synchronous is FULL (2) on the connection."""
    store = SQLiteStorage(str(tmp_path / "n.db"), 0, 3)
    assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)
    store.close()


def test_empty_ready_writes_nothing(tmp_path: Path) -> None:
    mem = MemoryStorage()
    mem.save(Ready())
    assert mem.writes == 0


def refused(path: Path, node: int = 0, size: int = 3) -> str:
    with pytest.raises(StorageError) as info:
        SQLiteStorage(str(path), node, size)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_truncated_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "n0.db"
    store = SQLiteStorage(str(path), 0, 3)
    fill(store)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 7])
    assert "not a usable agree database" in refused(path)


def test_garbage_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "n0.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    assert "not a usable agree database" in refused(path)


def test_foreign_database_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.commit()
    db.close()
    assert "not written by agree" in refused(path)


def test_other_nodes_database_refused(tmp_path: Path) -> None:
    path = tmp_path / "n1.db"
    SQLiteStorage(str(path), 1, 3).close()
    assert "belongs to node 1" in refused(path, node=0)


def test_flipped_entry_refused_by_checksum(tmp_path: Path) -> None:
    path = tmp_path / "n0.db"
    store = SQLiteStorage(str(path), 0, 3)
    fill(store)
    store._db.execute("UPDATE log SET value = ? WHERE idx = 2", (b"y",))
    store.close()
    assert "checksum mismatch in log entry 2" in refused(path)


def test_version_marker_checked(tmp_path: Path) -> None:
    path = tmp_path / "n0.db"
    store = SQLiteStorage(str(path), 0, 3)
    store._db.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    store.close()
    assert "version 99" in refused(path)
