"""Single-decree Paxos, sans-IO: every node is proposer, acceptor and learner.

Names follow Lamport's Paxos.tla: an acceptor's `max_bal` (highest ballot it
promised), `max_vbal` and `max_val` (the ballot and value of its last vote);
messages are phase 1a/1b/2a/2b (Prepare, Promise, Accept, Accepted). Ballots are
(round, node id) pairs, unique by construction and totally ordered, unlike the
article's PID + timestamp. An acceptor's promise and vote are in the Ready's
`acceptor` field, which the driver persists before sending the replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Accept", "Accepted", "AcceptorState", "Ballot", "Nack", "PaxosMessage", "PaxosNode",
           "PaxosReady", "Prepare", "Promise"]


class Ballot(NamedTuple):
    """A ballot number: rounds compare first, then node ids break ties."""

    round: int
    node: int


class Prepare(NamedTuple):
    """Phase 1a: proposer `source` asks `dest` to promise `ballot`."""

    ballot: Ballot
    source: int
    dest: int


class Promise(NamedTuple):
    """Phase 1b: `source` promises `ballot` and reports its last vote (if any)."""

    ballot: Ballot
    max_vbal: Ballot | None
    max_val: bytes | None
    source: int
    dest: int


class Accept(NamedTuple):
    """Phase 2a: proposer `source` asks `dest` to vote for `value` in `ballot`."""

    ballot: Ballot
    value: bytes
    source: int
    dest: int


class Accepted(NamedTuple):
    """Phase 2b: `source` voted for `value` in `ballot`; sent to every learner."""

    ballot: Ballot
    value: bytes
    source: int
    dest: int


class Nack(NamedTuple):
    """`source` refused `ballot` because it promised the higher `promised`."""

    ballot: Ballot
    promised: Ballot
    source: int
    dest: int


PaxosMessage = Prepare | Promise | Accept | Accepted | Nack


class AcceptorState(NamedTuple):
    """What an acceptor must persist before replying (Paxos.tla's maxBal, maxVBal, maxVal)."""

    max_bal: Ballot | None = None
    max_vbal: Ballot | None = None
    max_val: bytes | None = None


@dataclass(frozen=True)
class PaxosReady:
    """Persist `acceptor` (if not None), then send `messages`; `chosen` once known."""

    acceptor: AcceptorState | None
    messages: tuple[PaxosMessage, ...]
    chosen: bytes | None


class PaxosNode:
    """One node of single-decree Paxos among n; restart it from its persisted AcceptorState."""

    def __init__(self, node_id: int, n: int, acceptor: AcceptorState | None = None) -> None:
        self.id, self.n = node_id, n
        self.acceptor = acceptor or AcceptorState()
        self._persisted = self.acceptor
        self._round = self.acceptor.max_bal.round if self.acceptor.max_bal else 0
        self.ballot: Ballot | None = None       # the ballot this node is proposing in
        self._value: bytes | None = None
        self._promises: dict[int, Promise] = {}
        self._phase2 = False
        self._accepted: dict[Ballot, set[int]] = {}
        self.chosen: bytes | None = None
        self._announced = False
        self._out: list[PaxosMessage] = []

    def propose(self, value: bytes) -> Ballot:
        """Start phase 1 with a fresh ballot above every round seen; returns the ballot."""
        self._round += 1
        self.ballot = Ballot(self._round, self.id)
        self._value = value
        self._promises = {}
        self._phase2 = False
        for j in range(self.n):
            self._deliver(Prepare(self.ballot, self.id, j))
        return self.ballot

    def step(self, m: PaxosMessage) -> None:
        """Handle one message addressed to this node (others are ignored)."""
        if m.dest == self.id and 0 <= m.source < self.n:
            self._deliver(m)

    def ready(self) -> PaxosReady:
        acc = self.acceptor if self.acceptor != self._persisted else None
        self._persisted = self.acceptor
        chosen = self.chosen if self.chosen is not None and not self._announced else None
        self._announced = self.chosen is not None
        out, self._out = tuple(self._out), []
        return PaxosReady(acc, out, chosen)

    # ---- roles ----
    def _deliver(self, m: PaxosMessage) -> None:
        """Route to the role; messages to self are handled at once (no network)."""
        if m.dest != self.id:
            self._out.append(m)
            return
        self._round = max(self._round, m.ballot.round)
        getattr(self, _HANDLER[type(m)])(m)

    def _on_prepare(self, m: Prepare) -> None:
        """Phase1b: promise a ballot above every one promised so far (Paxos.tla)."""
        a = self.acceptor
        if a.max_bal is None or m.ballot > a.max_bal:
            self.acceptor = a._replace(max_bal=m.ballot)
            self._deliver(Promise(m.ballot, a.max_vbal, a.max_val, self.id, m.source))
        else:
            self._deliver(Nack(m.ballot, a.max_bal, self.id, m.source))

    def _on_promise(self, m: Promise) -> None:
        """Phase2a: with promises from a quorum, propose the value of the highest vote
        reported, or our own if none voted."""
        if m.ballot != self.ballot or self._phase2 or self._value is None:
            return
        self._promises[m.source] = m
        if 2 * len(self._promises) <= self.n:
            return
        self._phase2 = True
        voted = [p for p in self._promises.values() if p.max_vbal is not None]
        value = self._value
        if voted:
            best = max(voted, key=lambda p: p.max_vbal or Ballot(0, 0))
            assert best.max_val is not None
            value = best.max_val
        for j in range(self.n):
            self._deliver(Accept(self.ballot, value, self.id, j))

    def _on_accept(self, m: Accept) -> None:
        """Phase2b: vote unless a higher ballot was promised; tell every learner."""
        a = self.acceptor
        if a.max_bal is not None and m.ballot < a.max_bal:
            self._deliver(Nack(m.ballot, a.max_bal, self.id, m.source))
            return
        self.acceptor = AcceptorState(m.ballot, m.ballot, m.value)
        for j in range(self.n):
            self._deliver(Accepted(m.ballot, m.value, self.id, j))

    def _on_accepted(self, m: Accepted) -> None:
        """Learn: a value is chosen once a quorum voted for it in one ballot."""
        voters = self._accepted.setdefault(m.ballot, set())
        voters.add(m.source)
        if 2 * len(voters) > self.n and self.chosen is None:
            self.chosen = m.value

    def _on_nack(self, m: Nack) -> None:
        self._round = max(self._round, m.promised.round)


#: The role method that handles each message type.
_HANDLER: dict[type, str] = {Prepare: "_on_prepare", Promise: "_on_promise",
                             Accept: "_on_accept", Accepted: "_on_accepted", Nack: "_on_nack"}
