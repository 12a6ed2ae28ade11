"""Snapshots and log compaction (Raft thesis ch. 5): the compacted log, and the rules.

:class:`RaftLog` is the log RaftCore keeps: the entries after the last snapshot,
indexed by absolute position (log index - 1) like the plain list it replaces, so
``len(log)`` is the last index and ``log[k - 1]`` the entry at index k, for every
index after the snapshot; the snapshot's own index still has a term (``term_at``).

The rules, mixed into RaftCore like replication.py's:

- ``compact(index, data)``: the driver, having applied the log up to ``index`` and
  stored ``data`` (the state machine then) durably, lets the core drop the entries up
  to ``index``. The core never decides when: the driver's policy does (e.g. every N
  applied entries, ``--snapshot-every``).
- A leader whose follower needs an entry it compacted sends InstallSnapshot instead
  of AppendEntries (a heartbeat while it is in flight carries no entries and names
  the snapshot's index as prev_log_index).
- A follower given a snapshot newer than what it committed keeps the entries after
  it if its log has the snapshot's last entry (same index and term), else drops its
  whole log; either way the next Ready carries the snapshot to persist and restore.
  It answers like a successful AppendEntries of the prefix the snapshot replaces.

Compacted entries are committed, and every leader of the current term has them
(Leader Completeness): so an AppendEntries whose prev_log_index or entries fall in
the compacted prefix matches there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol, overload

from agree.impl.raft.messages import (
    AppendEntriesResponse,
    Entry,
    InstallSnapshotRequest,
    Message,
    Role,
    Snapshot,
)

if TYPE_CHECKING:
    from agree.impl.raft.config import Config

__all__ = ["CompactedError", "RaftLog", "Snapshots", "snapshot_due"]


def snapshot_due(applied: int, snapshot: Snapshot | None, every: int) -> bool:
    """The drivers' policy: snapshot once `every` entries were applied since the last
    snapshot (0: never)."""
    return every > 0 and applied - (snapshot.index if snapshot is not None else 0) >= every


class CompactedError(LookupError):
    """An entry at or below the snapshot's index was asked for: only its term is kept."""


class RaftLog:
    """The entries after `snapshot` (all of them without one), by absolute position."""

    def __init__(self, entries: Iterable[Entry] = (), snapshot: Snapshot | None = None) -> None:
        self.snapshot = snapshot
        self._entries = list(entries)

    @property
    def offset(self) -> int:
        """The index of the last compacted entry (0: nothing compacted)."""
        return self.snapshot.index if self.snapshot is not None else 0

    def __len__(self) -> int:
        return self.offset + len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        """The entries kept (after the snapshot), in index order."""
        return iter(self._entries)

    @overload
    def __getitem__(self, key: int) -> Entry: ...
    @overload
    def __getitem__(self, key: slice) -> list[Entry]: ...

    def __getitem__(self, key: int | slice) -> Entry | list[Entry]:
        offset = self.offset
        if isinstance(key, slice):
            start = 0 if key.start is None else key.start
            if start < offset or key.step is not None:
                raise CompactedError(f"positions from {start} on: the log is compacted "
                                     f"up to index {offset}")
            stop = None if key.stop is None else max(key.stop - offset, 0)
            return self._entries[start - offset:stop]
        if not 0 <= key - offset < len(self._entries):
            if key < offset and key >= 0:
                raise CompactedError(f"index {key + 1} is compacted (snapshot at {offset})")
            raise IndexError(f"no entry at index {key + 1}")
        return self._entries[key - offset]

    def __delitem__(self, key: slice) -> None:
        start = 0 if key.start is None else key.start
        if start < self.offset or key.stop is not None or key.step is not None:
            raise CompactedError("only a suffix after the snapshot can be deleted")
        del self._entries[start - self.offset:]

    def append(self, entry: Entry) -> None:
        self._entries.append(entry)

    def pop(self) -> Entry:
        if not self._entries:
            raise CompactedError("the log holds no entry after its snapshot")
        return self._entries.pop()

    def term_at(self, index: int) -> int:
        """The term of the entry at `index`: 0 for index 0, the snapshot's at its index;
        CompactedError below it."""
        if index == 0:
            return 0
        offset = self.offset
        if index == offset:
            assert self.snapshot is not None
            return self.snapshot.term
        if index < offset:
            raise CompactedError(f"index {index} is compacted (snapshot at {offset})")
        return self._entries[index - 1 - offset].term

    def has(self, index: int, term: int) -> bool:
        """Whether the log holds an entry of `term` at `index` (index 0 always matches).

        A compacted index below the snapshot's matches any term: it is committed, and
        only a leader of the current term asks, which holds the same entry there."""
        if index < self.offset:
            return True
        return index <= len(self) and self.term_at(index) == term

    def compact(self, snapshot: Snapshot) -> None:
        """Drop the entries up to snapshot.index, which this log holds (a local snapshot)."""
        if not self.offset < snapshot.index <= len(self):
            raise ValueError(f"cannot compact up to {snapshot.index}: the log holds "
                             f"{self.offset + 1}..{len(self)}")
        if self.term_at(snapshot.index) != snapshot.term:
            raise ValueError(f"the snapshot's term {snapshot.term} is not the log's "
                             f"{self.term_at(snapshot.index)} at index {snapshot.index}")
        del self._entries[:snapshot.index - self.offset]
        self.snapshot = snapshot

    def install(self, snapshot: Snapshot) -> bool:
        """Take a leader's snapshot (newer than the offset): keep the entries after it if
        the log holds its last entry, else drop them all. True if any entry was kept."""
        kept = (snapshot.index < len(self)
                and self.term_at(snapshot.index) == snapshot.term)
        if kept:
            del self._entries[:snapshot.index - self.offset]
        else:
            self._entries = []
        self.snapshot = snapshot
        return kept


class _Core(Protocol):
    """What the snapshot rules read and move of RaftCore (the mixin's self type)."""

    config: Config
    _id: int
    _current_term: int
    _role: Role
    @property
    def _log(self) -> RaftLog: ...
    _commit_index: int
    _applied: int
    _unstable_from: int | None
    _installed: Snapshot | None
    _leader_hint: int | None
    _ticks: int
    _out: list[Message]
    _inflight: list[bool]
    _sent_upto: list[int]
    _sent_at: list[int]

    def term_at(self, index: int) -> int: ...
    def _event(self, action: str, **args: object) -> None: ...
    def _reset_timer(self) -> None: ...
    def _mark_unstable(self, index: int) -> None: ...


class Snapshots:
    """RaftCore's snapshot rules: compaction, InstallSnapshot out and in."""

    # RaftCore's attributes these rules assign (declared here for the type checker)
    _role: Role
    _leader_hint: int | None
    _commit_index: int
    _applied: int
    _unstable_from: int | None
    _installed: Snapshot | None

    @property
    def snapshot(self: _Core) -> Snapshot | None:
        """The last snapshot taken or installed (None: the log is whole)."""
        return self._log.snapshot

    @property
    def first_index(self: _Core) -> int:
        """The index of the first entry kept in the log (after the snapshot)."""
        return self._log.offset + 1

    def compact(self: _Core, index: int, data: bytes) -> Snapshot:
        """Drop the log up to `index`, which the driver applied and whose state machine
        `data` is; returns the snapshot, for the driver to persist (Storage.compact) before
        it does anything else: a crash before that restarts from the whole log, one after
        from the snapshot. ValueError if `index` is not applied or already compacted."""
        if not self._log.offset < index <= self._applied:
            raise ValueError(f"cannot snapshot at {index}: applied up to {self._applied}, "
                             f"compacted up to {self._log.offset}")
        if self._unstable_from is not None and self._unstable_from <= index:
            raise ValueError(f"cannot snapshot at {index}: entries from "
                             f"{self._unstable_from} on are not persisted yet")
        self._log.compact(Snapshot(index, self.term_at(index), data))
        snap = self._log.snapshot  # the log may add what it knows (membership's voters)
        assert snap is not None
        return snap

    def _send_snapshot(self: _Core, j: int) -> None:
        """InstallSnapshot(i, j): j needs an entry we compacted; send the snapshot."""
        snap = self._log.snapshot
        assert snap is not None
        m = InstallSnapshotRequest(self._current_term, snap.index, snap.term, snap.data,
                                   self._id, j, snap.voters)
        self._event("SendSnapshot", i=self._id, j=j, m=m)
        self._out.append(m)
        self._inflight[j] = True
        self._sent_upto[j] = snap.index
        self._sent_at[j] = self._ticks

    def _handle_install_snapshot(self: _Core, m: InstallSnapshotRequest) -> None:
        """Reject a stale leader; take a snapshot newer than our commit index (keeping
        the entries after it if we hold its last entry); reply as to the AppendEntries
        of the prefix it replaces (thesis §5.1, fig. 5.3)."""
        i, j = self._id, m.source
        if m.term < self._current_term:
            self._event("RejectInstallSnapshot", i=i, j=j, m=m)
            self._out.append(AppendEntriesResponse(self._current_term, False, 0, i, j))
            return
        if self._role is Role.LEADER:
            return  # two leaders in one term cannot happen (Election Safety); ignore
        if self._role is Role.CANDIDATE:
            self._role = Role.FOLLOWER
        self._leader_hint = j
        self._reset_timer()
        index = m.last_included_index
        if index > self._commit_index:
            snap = Snapshot(index, m.last_included_term, m.data, m.voters)
            kept = self._log.install(snap)
            if self._unstable_from is not None:  # what is left to persist starts after it
                self._unstable_from = max(self._unstable_from, index + 1)
            if not kept:
                self._mark_unstable(index + 1)  # the stored entries after it go too
            self._commit_index = index
            self._applied = index
            self._installed = snap
        self._event("InstallSnapshot", i=i, j=j, m=m)
        self._out.append(AppendEntriesResponse(self._current_term, True, index, i, j))
