"""The Raft core's settings and its one error: Config (timing, batching, options),
NotLeader (a proposal or read at a server that does not lead), RandomSource (where
election timeouts come from)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Config", "NotLeader", "RandomSource"]


class RandomSource(Protocol):
    """Where election timeouts come from; `random.Random(seed)` fits."""

    def randint(self, a: int, b: int) -> int: ...


@dataclass(frozen=True)
class Config:
    """Timing and batching, in ticks; the driver decides how long a tick is.

    With the server's default 10 ms tick, election_ticks=15 gives the article's
    T = 150 ms: followers time out after T..2T without hearing from a leader.
    """

    election_ticks: int = 15
    heartbeat_ticks: int = 5
    max_batch: int = 64
    trace: bool = False
    spec_exact: bool = False
    """raft.tla's replication exactly: no no-op, next_index steps back by one per
    rejection, every AppendEntries carries min(available, max_batch) entries (for
    replaying spec traces, and as the benchmarks' baseline)."""
    pre_vote: bool = True
    """Ask for pre-votes before an election (impl/raft/election.py)."""
    check_quorum: bool = True
    """A leader not heard from by a quorum for an election timeout steps down, and a
    server in a leader's lease ignores vote requests (impl/raft/election.py)."""
    voters: tuple[int, ...] | None = None
    """The initial configuration (impl/raft/membership.py): these servers vote until a
    configuration entry says otherwise; None: every server."""
    inflight_entries: int = 0
    """Pipelining: while a matched follower has fewer than this many entries sent and
    not acknowledged, new entries go to it at once, after those in flight (0: one
    message with entries in flight at a time, the replication conformance checks)."""
    async_persist: bool = False
    """The driver writes a Ready's entries while it goes on (thesis §10.2.1) and reports
    each write with `log_persisted`: a leader counts its own log toward commit only up
    to what was reported durable. False: a Ready's entries count as soon as they are
    in the log (the driver persists before doing anything else)."""

    def __post_init__(self) -> None:
        if self.election_ticks < 1 or self.heartbeat_ticks < 1 or self.max_batch < 1:
            raise ValueError("election_ticks, heartbeat_ticks and max_batch must be >= 1")
        if self.voters is not None and not self.voters:
            raise ValueError("the initial configuration needs at least one voter")


class NotLeader(Exception):
    """A proposal reached a server that is not the leader; `leader_hint` may know better."""

    def __init__(self, leader_hint: int | None) -> None:
        super().__init__(f"not the leader (leader hint: {leader_hint})")
        self.leader_hint = leader_hint
