"""Raft replication and recovery: how a leader brings each follower's log up to date.

The per-follower state (next_index, match_index and the volatile in-flight/probing
bookkeeping) is RaftCore's; these are the rules that move it, mixed into RaftCore.

Recovery (unless ``Config.spec_exact``): a new leader appends a no-op entry of its
term (``NOOP``), so the commit index moves without a client write; a rejection
carries a hint (messages.AppendEntriesResponse) and the leader backs up one term per
round trip; late or duplicated replies (a rejection of a request the leader has moved
past, a success below what it matched) change nothing; a follower not yet matched is
*probed*, one entry at a time, and gets full batches once it matches; a message with
entries stays in flight alone (heartbeats meanwhile carry none) until answered or
presumed lost after ``election_ticks``. In raft.tla's terms these are the declared
deviations fast_backup, monotonic_match_index and batched_entries
(conformance/deviations.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from agree.impl.raft.messages import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Message,
    Role,
)

if TYPE_CHECKING:
    from agree.impl.raft.config import Config
    from agree.impl.raft.snapshot import RaftLog

__all__ = ["Replication"]


class _Core(Protocol):
    """What the replication rules read and move of RaftCore (the mixin's self type)."""

    config: Config
    _id: int
    _current_term: int
    _role: Role
    @property
    def _log(self) -> RaftLog: ...
    _commit_index: int
    _ticks: int
    _out: list[Message]
    _next_index: list[int]
    _match_index: list[int]
    _inflight: list[bool]
    _probing: list[bool]
    _sent_upto: list[int]
    _sent_at: list[int]
    _read_seq: int

    @property
    def last_index(self) -> int: ...
    def term_at(self, index: int) -> int: ...
    def _event(self, action: str, **args: object) -> None: ...
    def _advance_commit_index(self) -> None: ...
    def _take_response(self, m: AppendEntriesResponse) -> bool: ...
    def _backup_to(self, m: AppendEntriesResponse) -> int: ...
    def _send_append_entries(self, j: int, limit: int | None = None) -> None: ...
    def _send_snapshot(self, j: int) -> None: ...
    def _pipelines(self, j: int) -> bool: ...


class Replication:
    """RaftCore's replication rules: AppendEntries out, replies in, hints both ways."""

    def _rejection(self: _Core, m: AppendEntriesRequest) -> AppendEntriesResponse:
        """The reply to a request whose prev_log_index/term our log lacks, with the hint:
        the term we have there and the first index of it, or our last index (§5.3)."""
        prev = m.prev_log_index
        if prev > self.last_index:
            hint_index, hint_term = self.last_index, 0
        else:
            hint_term = self.term_at(prev)
            hint_index = prev
            while (hint_index - 1 >= max(self._log.offset, 1)
                   and self.term_at(hint_index - 1) == hint_term):
                hint_index -= 1
        return AppendEntriesResponse(self._current_term, False, 0, self._id, m.source,
                                     prev, hint_index, hint_term, m.read_ctx)

    def _handle_append_entries_response(self: _Core, m: AppendEntriesResponse) -> None:
        """Success moves next/match_index; failure backs next_index up (§5.3): by one
        under spec_exact, else to the reply's hint. Late replies change nothing."""
        i, j = self._id, m.source
        if m.term < self._current_term:
            self._event("DropStaleResponse", i=i, j=j, m=m)
            return
        if self.config.spec_exact:
            if m.success:
                self._next_index[j] = m.match_index + 1
                self._match_index[j] = m.match_index
            else:
                self._next_index[j] = max(self._next_index[j] - 1, 1)
            self._inflight[j] = False
            self._event("HandleAppendEntriesResponse", i=i, j=j, m=m)
            answered = True
        else:
            answered = self._take_response(m)
        if self._role is not Role.LEADER or not answered:
            return
        self._advance_commit_index()
        if not self._inflight[j] and (not m.success or self._next_index[j] <= self.last_index):
            self._send_append_entries(j)

    def _take_response(self: _Core, m: AppendEntriesResponse) -> bool:
        """Handle a reply of our term; True if it answers what we asked (it is not late).

        A success reporting less than match_index, or a rejection of a request other
        than the one at next_index - 1 (or at or below match_index), is late or
        duplicated: next/match_index stay where they are."""
        i, j = self._id, m.source
        nxt, match = self._next_index[j], self._match_index[j]
        if m.success:
            fresh = m.match_index >= match
            if fresh:
                self._match_index[j] = m.match_index
                self._next_index[j] = m.match_index + 1
                self._probing[j] = False
                if m.match_index >= self._sent_upto[j]:
                    self._inflight[j] = False
            self._event("HandleAppendEntriesResponse", i=i, j=j, m=m,
                        next_index=self._next_index[j])
            return fresh
        fresh = m.reject_index == nxt - 1 and m.reject_index > match
        if fresh:
            self._next_index[j] = self._backup_to(m)
            self._probing[j] = True
            self._inflight[j] = False
        self._event("HandleAppendEntriesResponse", i=i, j=j, m=m,
                    next_index=self._next_index[j])
        return fresh

    def _backup_to(self: _Core, m: AppendEntriesResponse) -> int:
        """The next_index a fresh rejection's hint gives: past our last entry of the
        follower's conflicting term if we have that term, else the first index of it in
        the follower's log; past the follower's last entry if its log is shorter. Never
        at or below match_index, never above the index just rejected."""
        j = m.source
        if m.hint_term == 0:
            target = m.hint_index + 1
        else:
            target = m.hint_index
            for k in range(min(m.reject_index, self.last_index), max(self._log.offset - 1, 0),
                           -1):
                term = self.term_at(k)
                if term == m.hint_term:
                    target = k + 1
                    break
                if term < m.hint_term:
                    break
        return max(self._match_index[j] + 1, min(target, m.reject_index), 1)

    def _pipelines(self: _Core, j: int) -> bool:
        """Whether entries for matched follower j go out after those in flight, without
        waiting for their reply (Config.inflight_entries; never while j is probed)."""
        return (self._inflight[j] and not self._probing[j]
                and self._sent_upto[j] - self._match_index[j] < self.config.inflight_entries)

    def _heartbeat(self: _Core, j: int) -> None:
        """The heartbeat to j: a full AppendEntries under spec_exact; otherwise one
        without entries while entries sent are in flight and not presumed lost (they
        are after election_ticks), else the next entries due."""
        if (not self.config.spec_exact and self._inflight[j]
                and self._ticks - self._sent_at[j] < self.config.election_ticks):
            self._send_append_entries(j, 0)
        else:
            if self.config.inflight_entries:  # presumed lost: again from next_index
                self._inflight[j] = False
            self._send_append_entries(j)

    def _send_append_entries(self: _Core, j: int, limit: int | None = None) -> None:
        """AppendEntries(i, j): entries from next_index[j] on, at most ``limit`` (default:
        max_batch, or one while j is probed; everything spec_exact). An entry j needs is
        compacted: the snapshot instead (a heartbeat: none, prev_log_index at the snapshot)."""
        n = min(self._next_index[j], self.last_index + 1)
        if limit != 0 and self._pipelines(j):
            n = self._sent_upto[j] + 1  # after what is in flight (Config.inflight_entries)
            if n > self.last_index:
                return
        prev = n - 1
        if prev < self._log.offset:
            if limit != 0:
                self._send_snapshot(j)
                return
            prev = self._log.offset
        if limit is None:
            exact = self.config.spec_exact
            limit = 1 if self._probing[j] and not exact else self.config.max_batch
        entries = tuple(self._log[prev:prev + limit])
        commit = min(self._commit_index, prev + len(entries))
        m = AppendEntriesRequest(self._current_term, prev, self.term_at(prev), entries,
                                 commit, self._id, j, self._read_seq)
        self._event("AppendEntries", i=self._id, j=j, m=m)
        self._out.append(m)
        if entries or self.config.spec_exact or not self._inflight[j]:
            self._inflight[j] = True
            self._sent_upto[j] = prev + len(entries)
            self._sent_at[j] = self._ticks
