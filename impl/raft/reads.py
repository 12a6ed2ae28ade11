"""ReadIndex: linearizable reads without appending to the log (Raft thesis §6.4).

Mixed into RaftCore. A leader takes a read (``read_index()``, which returns the read's
id), and answers it in a later Ready's ``reads`` as (id, read index):

1. it waits until it has committed an entry of its own term (the no-op a new leader
   appends, core._become_leader), so that its commit index is at least every index
   committed before the read arrived; the read index is its commit index then;
2. it confirms it is still the leader with a heartbeat round sent *after* the read
   arrived: every AppendEntries carries the id of the leader's newest read
   (``read_ctx``), each reply echoes it, and a read is confirmed once a quorum
   (the leader included) has answered a request carrying its id or a later one in
   the leader's term. No newer leader can then have committed anything the read
   would miss;
3. the driver serves the read once its state machine has applied the read index.

Reads that arrive together share one heartbeat round (it is sent once per Ready).
A leader that loses its leadership before a read is confirmed refuses it (read index
None): the client retries elsewhere. A confirmed read stays valid after that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from agree.impl.raft.config import NotLeader
from agree.impl.raft.messages import Role

if TYPE_CHECKING:
    from agree.impl.raft.config import Config

__all__ = ["Reads"]


class _Core(Protocol):
    config: Config
    _id: int
    _current_term: int
    _role: Role
    _commit_index: int
    _leader_hint: int | None
    _read_seq: int
    _read_acked: list[int]
    _pending_reads: list[tuple[int, int, int | None]]
    _read_round_due: bool
    _reads_out: list[tuple[int, int | None]]

    def term_at(self, index: int) -> int: ...
    def _peers(self) -> tuple[int, ...]: ...
    def _is_quorum(self, servers: set[int]) -> bool: ...
    def _heartbeat(self, j: int) -> None: ...
    def _release_reads(self) -> None: ...
    def _drop_reads(self) -> None: ...


class Reads:
    """RaftCore's ReadIndex rules."""

    # RaftCore's attributes these rules assign (RaftCore.__init__ sets them)
    _read_seq: int
    _read_acked: list[int]
    _pending_reads: list[tuple[int, int, int | None]]
    _read_round_due: bool
    _reads_out: list[tuple[int, int | None]]

    def read_index(self: _Core) -> int:
        """Take a linearizable read; returns its id (answered in a later Ready's reads).

        Raises NotLeader elsewhere."""

        if self._role is not Role.LEADER:
            raise NotLeader(self._leader_hint)
        self._read_seq += 1
        self._pending_reads.append((self._read_seq, self._current_term, None))
        self._read_round_due = True
        self._release_reads()
        return self._read_seq

    def _ack_read(self: _Core, j: int, ctx: int) -> None:
        """j answered a request of our term that carried read id ``ctx``."""
        if ctx > self._read_acked[j]:
            self._read_acked[j] = ctx
            self._release_reads()

    def _release_reads(self: _Core) -> None:
        """Give pending reads their index once an entry of our term is committed, and
        answer those a quorum has confirmed (in id order)."""
        if not self._pending_reads:
            return
        if self._role is not Role.LEADER:
            self._drop_reads()
            return
        committed_in_term = self.term_at(self._commit_index) == self._current_term
        still: list[tuple[int, int, int | None]] = []
        for rid, term, index in self._pending_reads:
            if index is None and committed_in_term:
                index = self._commit_index
            confirmed = self._is_quorum(
                {self._id} | {j for j in self._peers() if self._read_acked[j] >= rid})
            if index is not None and confirmed and term == self._current_term:
                self._reads_out.append((rid, index))
            else:
                still.append((rid, term, index))
        self._pending_reads = still

    def _drop_reads(self: _Core) -> None:
        """Leadership lost: refuse every read not yet confirmed."""
        self._reads_out += [(rid, None) for rid, _, _ in self._pending_reads]
        self._pending_reads = []

    def _read_round(self: _Core) -> None:
        """The heartbeat round that confirms the reads taken since the last one."""
        if self._read_round_due:
            self._read_round_due = False
            if self._role is Role.LEADER:
                for j in self._peers():
                    self._heartbeat(j)
