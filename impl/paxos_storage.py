"""Durable acceptor state for the Paxos cores: SQLite, synchronous writes, checked on open.

An acceptor must not forget a promise or a vote: the driver saves each Ready's
acceptor part here (one transaction) before sending the Ready's messages.
Like the Raft store, the file carries a format marker, a version and its owner,
and each row a CRC32; anything else is refused with a one-line StorageError.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import zlib
from collections.abc import Iterator

from agree.impl.paxos import AcceptorState, Ballot, MultiReady, PaxosReady, Vote
from agree.impl.storage import StorageError

__all__ = ["PAXOS_FORMAT", "SQLiteAcceptorStorage"]

PAXOS_FORMAT = "agree-paxos"
_VERSION = "1"
_SINGLE_SLOT = 0  # single-decree Paxos keeps its one vote in slot 0


def _crc(slot: int, bal: Ballot | None, vbal: Ballot | None, value: bytes | None) -> int:
    nums = [slot, *(bal or (0, 0)), *(vbal or (0, 0)), value is not None]
    return zlib.crc32(struct.pack(">6Q", *nums) + (value or b""))


class SQLiteAcceptorStorage:
    """Promise (max_bal) and votes per slot of one acceptor. Use one file per protocol:
    single-decree keeps its state in slot 0, Multi-Paxos its promise in slot 0."""

    def __init__(self, path: str, node_id: int) -> None:
        self.path = path
        fresh = not os.path.exists(path) or os.path.getsize(path) == 0
        bad = f"{path} is not a usable agree Paxos database"
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"{bad} ({' '.join(str(exc).split())})") from None
        try:
            self._db.execute("PRAGMA synchronous=FULL")
            if fresh:
                self._db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
                self._db.execute("CREATE TABLE acceptor (slot INTEGER PRIMARY KEY, "
                                 "bal_round INTEGER, bal_node INTEGER, vbal_round INTEGER, "
                                 "vbal_node INTEGER, value BLOB, crc INTEGER NOT NULL)")
                self._db.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("format", PAXOS_FORMAT), ("version", _VERSION), ("node_id", str(node_id))])
            else:
                if self._db.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
                    raise StorageError(f"{bad}: integrity check failed")
                meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
                expected = {"format": PAXOS_FORMAT, "version": _VERSION, "node_id": str(node_id)}
                if meta != expected:
                    raise StorageError(f"{bad}: marker {meta}, expected {expected}")
                self._rows()
        except StorageError:
            self._db.close()
            raise
        except (sqlite3.Error, TypeError, ValueError, OverflowError, struct.error) as exc:
            # damage the row checks did not foresee (a flipped type byte, bad UTF-8) still
            # refuses the file in one line, never crashes
            self._db.close()
            raise StorageError(f"{bad} ({' '.join(str(exc).split())})") from None

    def _rows(self) -> dict[int, tuple[Ballot | None, Vote | None]]:
        out: dict[int, tuple[Ballot | None, Vote | None]] = {}
        for slot, br, bn, vr, vn, value, crc in self._db.execute(
                "SELECT * FROM acceptor ORDER BY slot"):
            if not (all(_is_nat(x) for x in (slot, crc))
                    and all(x is None or _is_nat(x) for x in (br, bn, vr, vn))
                    and (value is None or isinstance(value, bytes))):
                raise StorageError(f"{self.path}: slot {slot!r} has values of the wrong "
                                   "type; the database is corrupt")
            bal = Ballot(br, bn) if br is not None else None
            vbal = Ballot(vr, vn) if vr is not None else None
            val = bytes(value) if value is not None else None
            if _crc(slot, bal, vbal, val) != crc:
                raise StorageError(f"{self.path}: checksum mismatch in slot {slot}; "
                                   "the database is corrupt")
            out[slot] = (bal, Vote(slot, vbal, val) if vbal is not None and val is not None
                         else None)
        return out

    def _put(self, slot: int, bal: Ballot | None, vbal: Ballot | None,
             value: bytes | None) -> None:
        self._db.execute("INSERT OR REPLACE INTO acceptor VALUES (?, ?, ?, ?, ?, ?, ?)", (
            slot, bal.round if bal else None, bal.node if bal else None,
            vbal.round if vbal else None, vbal.node if vbal else None, value,
            _crc(slot, bal, vbal, value)))

    # ---- single-decree ----
    def load_single(self) -> AcceptorState:
        bal, vote = self._rows().get(_SINGLE_SLOT, (None, None))
        return AcceptorState(bal, vote.ballot if vote else None, vote.value if vote else None)

    def save_single(self, ready: PaxosReady) -> None:
        a = ready.acceptor
        if a is not None:
            with self._transaction():
                self._put(_SINGLE_SLOT, a.max_bal, a.max_vbal, a.max_val)

    # ---- Multi-Paxos: slot 0 holds max_bal, slots >= 1 the votes ----
    def load_multi(self) -> tuple[Ballot | None, tuple[Vote, ...]]:
        rows = self._rows()
        bal = rows.get(_SINGLE_SLOT, (None, None))[0]
        votes = tuple(v for s, (_, v) in sorted(rows.items()) if s > 0 and v is not None)
        return bal, votes

    def save_multi(self, ready: MultiReady) -> None:
        if ready.max_bal is None and not ready.votes:
            return
        with self._transaction():
            if ready.max_bal is not None:
                self._put(_SINGLE_SLOT, ready.max_bal, None, None)
            for v in ready.votes:
                self._put(v.slot, None, v.ballot, v.value)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One durable transaction; StorageError (one line) if it cannot be written,
        e.g. on a full disk, with nothing of it saved."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite may have rolled back already
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write {self.path} ({' '.join(str(exc).split())}; "
                               "is the disk full or failing?)") from None

    def close(self) -> None:
        self._db.close()


def _is_nat(value: object) -> bool:
    """A non-negative SQLite INTEGER (a flipped type byte can make it REAL, TEXT or BLOB)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
