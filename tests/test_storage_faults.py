"""Storage faults: a damaged, foreign or torn database, a bad data directory, a full disk.

The rule: a node refuses to start (or stops) with a clear message rather than
serve a state it cannot trust, and never loses what it acknowledged. So every
damaged file must either be refused with a StorageError or load exactly a state
that was really saved.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from _nodes import NodeCluster
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agree.cli.main import main
from agree.impl.client import ClusterUnavailable, KVClient
from agree.impl.raft.messages import Entry, HardState, Ready
from agree.impl.storage import SQLiteStorage, StorageError

State = tuple[HardState, tuple[Entry, ...]]
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _history_of_saves(path: Path, close: bool = True) -> tuple[list[State], SQLiteStorage]:
    """Write a database through several saves; return every state it passed through."""
    s = SQLiteStorage(str(path), 0, 3)
    states = [s.load()]
    readies = [
        Ready(hard_state=HardState(2, 1)),
        Ready(first_index=1, entries=tuple(Entry(2, f"v{i}".encode() * 20) for i in range(30))),
        Ready(hard_state=HardState(3, None), first_index=25,
              entries=tuple(Entry(3, f"w{i}".encode() * 20) for i in range(10))),
        Ready(hard_state=HardState(4, 2), first_index=35, entries=(Entry(4, b"x" * 500),)),
    ]
    for r in readies:
        s.save(r)
        states.append(s.load())
    if close:
        s.close()
    return states, s


_PRISTINE: list[tuple[bytes, State]] = []


def pristine() -> tuple[bytes, State]:
    """A database file after several saves, and the state it holds (built once)."""
    if not _PRISTINE:
        with tempfile.TemporaryDirectory() as d:
            states, _ = _history_of_saves(Path(d) / "node0.db")
            _PRISTINE.append(((Path(d) / "node0.db").read_bytes(), states[-1]))
    return _PRISTINE[0]


def _open_or_refuse(path: Path) -> State | None:
    """The state the node would start from, or None when it refuses (cleanly)."""
    try:
        s = SQLiteStorage(str(path), 0, 3)
    except StorageError as exc:
        assert str(exc)
        return None
    try:
        return s.load()
    finally:
        s.close()


@SETTINGS
@given(st.data())
def test_a_truncated_database_is_refused(tmp_path: Path, data: st.DataObject) -> None:
    raw, _ = pristine()
    cut = data.draw(st.integers(1, len(raw) - 1))
    path = tmp_path / "node0.db"
    path.write_bytes(raw[:cut])
    assert _open_or_refuse(path) is None


@SETTINGS
@given(st.data())
def test_a_flipped_byte_in_a_log_entry_is_refused(tmp_path: Path, data: st.DataObject) -> None:
    raw, _ = pristine()
    i = data.draw(st.integers(0, 23))
    needle = f"v{i}".encode() * 20
    at = raw.find(needle)
    assert at > 0
    damaged = bytearray(raw)
    damaged[at + data.draw(st.integers(0, len(needle) - 1))] ^= data.draw(st.integers(1, 255))
    path = tmp_path / "node0.db"
    path.write_bytes(bytes(damaged))
    assert _open_or_refuse(path) is None


def test_bit_flips_anywhere_are_refused_in_one_line_or_harmless(tmp_path: Path) -> None:
    raw, saved = pristine()
    problems = []
    for at in range(0, len(raw), 29):
        damaged = bytearray(raw)
        damaged[at] ^= 0x01
        path = tmp_path / "node0.db"
        path.write_bytes(bytes(damaged))
        try:
            loaded = _open_or_refuse(path)
        except Exception as exc:  # anything but StorageError is a crash with a traceback
            problems.append(f"byte {at}: {type(exc).__name__}: {exc}")
            continue
        if loaded is not None and loaded != saved:
            problems.append(f"byte {at}: loaded a state that was never saved: {loaded[0]}")
        try:
            SQLiteStorage(str(path), 0, 3).close()
        except StorageError as exc:
            if "\n" in str(exc):
                problems.append(f"byte {at}: a message of several lines: {exc!s:.60}")
        except Exception:
            pass
    assert not problems, f"{len(problems)} bad outcomes, e.g. " + "; ".join(problems[:3])


def test_a_flipped_bit_in_the_hard_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node0.db"
    s = SQLiteStorage(str(path), 0, 3)
    s.save(Ready(hard_state=HardState(1234567, 2)))
    s.close()
    raw = bytearray(path.read_bytes())
    at = raw.find((1234567).to_bytes(3, "big"))
    assert at > 0
    raw[at + 2] ^= 1
    path.write_bytes(bytes(raw))
    assert _open_or_refuse(path) is None


def test_a_torn_write_ahead_log_restarts_from_a_saved_state(tmp_path: Path) -> None:
    """Crash with the WAL not checkpointed, its tail torn at every length: the node restarts
    from one of the states it really saved (SQLite drops the torn transaction), or refuses."""
    live = tmp_path / "live" / "node0.db"
    live.parent.mkdir()
    states, open_store = _history_of_saves(live, close=False)
    wal = Path(str(live) + "-wal")
    db_bytes, wal_bytes = live.read_bytes(), wal.read_bytes()  # as a SIGKILL would leave them
    open_store.close()
    assert len(wal_bytes) > 4096
    seen = set()
    for cut in range(0, len(wal_bytes) + 1, 1031):
        crash = tmp_path / f"crash{cut}"
        crash.mkdir()
        (crash / "node0.db").write_bytes(db_bytes)
        Path(str(crash / "node0.db") + "-wal").write_bytes(wal_bytes[:cut])
        loaded = _open_or_refuse(crash / "node0.db")
        assert loaded is None or loaded in states, cut
        if loaded is not None:
            seen.add(states.index(loaded))
        shutil.rmtree(crash)
    assert len(seen) >= 2  # the cuts really landed in different transactions


def test_a_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node0.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
    db.execute("INSERT INTO accounts VALUES (1, 100)")
    db.commit()
    db.close()
    assert _open_or_refuse(path) is None


def test_another_nodes_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node0.db"
    _history_of_saves(path)
    with pytest.raises(StorageError, match="belongs to node 0"):
        SQLiteStorage(str(path), 1, 3)


def _serve(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["serve", "--id", "0", "--peers", "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3",
                 *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign"])
def test_serve_refuses_a_damaged_database_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str) -> None:
    path = tmp_path / "node0.db"
    _history_of_saves(path)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(raw)))
    else:
        path.unlink()
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE t (x)")
        db.commit()
        db.close()
    code, err = _serve(["--data", str(tmp_path)], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert "node0.db" in err


def test_serve_refuses_a_data_directory_that_is_a_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("I am a file")
    code, err = _serve(["--data", str(not_a_dir)], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err


def test_serve_refuses_a_data_directory_it_cannot_create(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _serve(["--data", "/proc/agree-cannot-be-here/data"], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err


# -- a full disk -------------------------------------------------------------------------


@pytest.mark.integration
def test_a_node_whose_disk_fills_stops_with_a_message_and_loses_nothing(tmp_path: Path) -> None:
    """Node 2's files may not grow past 128 KB (RLIMIT_FSIZE, the full-disk error a real
    disk gives): it must exit with a message; the others keep every acknowledged write."""
    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (128 * 1024, 128 * 1024))

    cluster = NodeCluster(tmp_path, event_logs=False, own_dirs=True, pipe_stderr=True,
                          preexec={2: small_disk})
    addrs, procs = cluster.addrs, cluster.procs
    acked: dict[str, str] = {}

    async def write() -> None:
        client = KVClient(addrs, timeout=10)
        try:
            for i in range(90):
                key = f"k{i % 20}"
                try:
                    r = await client.put(key, f"{i}:" + "x" * 2000)
                except ClusterUnavailable:
                    continue
                if r.get("ok"):
                    acked[key] = f"{i}:" + "x" * 2000
                if procs[2].poll() is not None:
                    break
        finally:
            await client.close()

    with cluster:
        cluster.start_all()
        asyncio.run(asyncio.wait_for(write(), 90))
        deadline = time.monotonic() + 5
        while procs[2].poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert procs[2].poll() is not None, "node 2 kept running on a full disk"
        assert procs[2].returncode != 0
        err = cluster.stderr(2)
        assert "Traceback" not in err and ("full" in err or "space" in err), err

        async def read_back() -> None:
            client = KVClient(addrs[:2], timeout=10)
            for key, value in acked.items():
                assert (await client.get(key))["value"] == value, key
            await client.close()

        asyncio.run(asyncio.wait_for(read_back(), 60))
