"""Snapshots in storage: compaction and a leader's snapshot are durable and atomic.

A crash at any write or fsync point (a write-ahead log torn at every length, a
checkpoint cut at every page) restarts the node from a state it really saved, whose
snapshot and log together hold every entry (no gap); damage to the snapshot is
refused in one line; a version 2 file is upgraded.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from agree.impl.kv import KVStateMachine, encode_command
from agree.impl.raft.messages import Entry, HardState, Ready, Snapshot
from agree.impl.storage import MemoryStorage, SQLiteStorage, Storage, StorageError

Saved = tuple[HardState, Snapshot | None, tuple[Entry, ...]]


def _entries(first: int, count: int, term: int) -> tuple[Entry, ...]:
    return tuple(Entry(term, encode_command("put", f"k{i % 5}", f"v{i}" * 40, "c", i))
                 for i in range(first, first + count))


def _kv_after(entries: tuple[Entry, ...]) -> bytes:
    kv = KVStateMachine()
    for k, e in enumerate(entries):
        kv.apply(k + 1, e.value)
    return kv.snapshot()


def _state(s: Storage) -> Saved:
    hs, entries = s.load()
    return hs, s.load_snapshot(), entries


def _operations() -> list[Ready | Snapshot]:
    """Saves and compactions a node goes through: entries, a snapshot, more entries, a
    second snapshot, then a leader's snapshot that replaces a conflicting suffix."""
    log = _entries(1, 40, 2)
    more = _entries(41, 20, 3)
    whole = log + more
    leaders = _entries(51, 30, 4)
    return [
        Ready(hard_state=HardState(2, 1), first_index=1, entries=log),
        Snapshot(30, 2, _kv_after(whole[:30])),
        Ready(hard_state=HardState(3, None), first_index=41, entries=more),
        Snapshot(55, 3, _kv_after(whole[:55])),
        Ready(hard_state=HardState(4, 2), first_index=58, entries=(),
              snapshot=Snapshot(70, 4, _kv_after(whole[:50] + leaders[:20]))),
        Ready(first_index=71, entries=leaders[20:25]),
    ]


def _run(s: Storage) -> list[Saved]:
    states = [_state(s)]
    for op in _operations():
        if isinstance(op, Snapshot):
            s.compact(op)
        else:
            s.save(op)
        states.append(_state(s))
    return states


def _rebuild(state: Saved) -> tuple[int, dict[str, str]]:
    """The last index and the KV map a node restarting from `state` reaches: the snapshot
    restored, then the log after it applied."""
    _, snap, entries = state
    kv = KVStateMachine()
    base = 0
    if snap is not None:
        kv.restore(snap.data)
        base = snap.index
    for k, e in enumerate(entries):
        kv.apply(base + k + 1, e.value)
    return base + len(entries), kv.data


def _reference(state_number: int) -> tuple[Entry, ...]:
    """The whole log (never compacted) a node had after `state_number` operations."""
    whole = _entries(1, 40, 2) + _entries(41, 20, 3)
    return whole if state_number < 5 else whole[:50] + _entries(51, 30, 4)[:25]


def test_sqlite_and_memory_storage_agree_on_every_state(tmp_path: Path) -> None:
    sql = SQLiteStorage(str(tmp_path / "node0.db"), 0, 3)
    sql_states = _run(sql)
    sql.close()
    mem_states = _run(MemoryStorage())
    assert sql_states == mem_states
    for k, state in enumerate(sql_states[1:], 1):
        last, data = _rebuild(state)
        kv = KVStateMachine()
        for index, e in enumerate(_reference(k)[:last], 1):
            kv.apply(index, e.value)
        assert data == kv.data, k
    _, snap, entries = sql_states[-1]
    assert snap is not None and snap.index == 70
    assert [e.term for e in entries] == [4] * 5
    # compaction really deleted the rows
    assert _state(SQLiteStorage(str(tmp_path / "node0.db"), 0, 3)) == sql_states[-1]
    db = sqlite3.connect(tmp_path / "node0.db")
    assert db.execute("SELECT min(idx), count(*) FROM log").fetchone() == (71, 5)


def _open_or_refuse(path: Path) -> Saved | None:
    try:
        s = SQLiteStorage(str(path), 0, 3)
    except StorageError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    try:
        return _state(s)
    finally:
        s.close()


def test_a_crash_at_any_write_point_restarts_from_a_saved_state(tmp_path: Path) -> None:
    """Every save and compaction is one transaction: the write-ahead log torn at every
    length (a crash before, during or after each write and its fsync) restarts the node
    from one of the states it saved, never a mix (a snapshot without its log, or a log
    with its prefix deleted and no snapshot)."""
    live = tmp_path / "live" / "node0.db"
    live.parent.mkdir()
    store = SQLiteStorage(str(live), 0, 3)
    states = _run(store)
    wal = Path(str(live) + "-wal")
    db_bytes, wal_bytes = live.read_bytes(), wal.read_bytes()  # as a SIGKILL leaves them
    store.close()
    seen = set()
    frame = 4096 + 24
    cuts = sorted({*range(0, len(wal_bytes) + 1, 509),
                   *(32 + k * frame + d for k in range(len(wal_bytes) // frame + 1)
                     for d in (0, 24, frame - 1))})
    for cut in cuts:
        if cut > len(wal_bytes):
            continue
        crash = tmp_path / f"crash{cut}"
        crash.mkdir()
        (crash / "node0.db").write_bytes(db_bytes)
        Path(str(crash / "node0.db") + "-wal").write_bytes(wal_bytes[:cut])
        loaded = _open_or_refuse(crash / "node0.db")
        assert loaded is None or loaded in states, cut
        if loaded is not None:
            seen.add(states.index(loaded))
        shutil.rmtree(crash)
    assert {len(states) - 1, 1} <= seen and len(seen) >= 4  # cuts in many transactions


def test_a_crash_during_a_checkpoint_loses_nothing(tmp_path: Path) -> None:
    """The checkpoint copies the write-ahead log into the database file page by page: cut
    at every page (the file half old, half new, the log still whole), the node restarts
    from the last saved state."""
    live = tmp_path / "live" / "node0.db"
    live.parent.mkdir()
    store = SQLiteStorage(str(live), 0, 3)
    states = _run(store)
    wal = Path(str(live) + "-wal")
    before, wal_bytes = live.read_bytes(), wal.read_bytes()
    store._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    after = live.read_bytes()
    store.close()
    page = 4096
    assert after != before
    for cut in range(0, len(after) + 1, page):
        crash = tmp_path / f"cp{cut}"
        crash.mkdir()
        (crash / "node0.db").write_bytes(after[:cut] + before[cut:])
        Path(str(crash / "node0.db") + "-wal").write_bytes(wal_bytes)
        assert _open_or_refuse(crash / "node0.db") == states[-1], cut
        shutil.rmtree(crash)


def test_a_damaged_snapshot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node0.db"
    store = SQLiteStorage(str(path), 0, 3)
    _run(store)
    store.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE snapshot SET data = CAST(? AS BLOB)", (b'{"applied":70,"data":{}}',))
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="checksum mismatch in the snapshot"):
        SQLiteStorage(str(path), 0, 3)


def test_a_log_that_does_not_follow_its_snapshot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node0.db"
    store = SQLiteStorage(str(path), 0, 3)
    _run(store)
    store.close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM log WHERE idx = 71")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="gap before index 72"):
        SQLiteStorage(str(path), 0, 3)


def test_a_version_2_file_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "node0.db"
    store = SQLiteStorage(str(path), 0, 3)
    store.save(Ready(hard_state=HardState(3, 1), first_index=1, entries=_entries(1, 3, 3)))
    store.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE snapshot")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'version'")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="belongs to node 0"):
        SQLiteStorage(str(path), 1, 3)  # a foreign node's file is refused, not upgraded
    store = SQLiteStorage(str(path), 0, 3)
    assert _state(store) == (HardState(3, 1), None, _entries(1, 3, 3))
    store.compact(Snapshot(2, 3, b"{}"))
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == ("3",)
