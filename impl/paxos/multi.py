"""Multi-Paxos, sans-IO: a log of Paxos instances (slots) with a stable leader.

A node becomes leader by running phase 1 once for every slot from its first
unchosen one on (Prepare carries that slot; each Promise reports the votes at
or above it). With a quorum of promises it re-proposes the highest-ballot vote
of every reported slot, fills gaps with no-ops (empty values), and from then on
proposes new values with phase 2 alone: the stable leader skips phase 1. A
Nack (a higher promise elsewhere) makes it step down. Acceptors persist their
promise and each vote (MultiReady.max_bal / votes) before replying; ballots are
(round, node id), unique by construction. Followers time out after [T, 2T] ticks
without hearing from a leader, drawn from an injected random source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from agree.impl.paxos.single import Ballot

__all__ = [
    "NOOP",
    "MAccept",
    "MAccepted",
    "MHeartbeat",
    "MNack",
    "MPrepare",
    "MPromise",
    "MultiMessage",
    "MultiPaxosNode",
    "MultiReady",
    "NotLeader",
    "Vote",
]

NOOP = b""


class RandomSource(Protocol):
    def randint(self, a: int, b: int) -> int: ...


class Vote(NamedTuple):
    """An acceptor's vote in one slot: the ballot and the value it voted for."""

    slot: int
    ballot: Ballot
    value: bytes


class MPrepare(NamedTuple):
    ballot: Ballot
    first_slot: int
    source: int
    dest: int


class MPromise(NamedTuple):
    ballot: Ballot
    votes: tuple[Vote, ...]
    source: int
    dest: int


class MAccept(NamedTuple):
    ballot: Ballot
    slot: int
    value: bytes
    source: int
    dest: int


class MAccepted(NamedTuple):
    ballot: Ballot
    slot: int
    value: bytes
    source: int
    dest: int


class MNack(NamedTuple):
    ballot: Ballot
    promised: Ballot
    source: int
    dest: int


class MHeartbeat(NamedTuple):
    ballot: Ballot
    source: int
    dest: int


MultiMessage = MPrepare | MPromise | MAccept | MAccepted | MNack | MHeartbeat


class NotLeader(Exception):
    def __init__(self, leader_hint: int | None) -> None:
        super().__init__(f"not the leader (leader hint: {leader_hint})")
        self.leader_hint = leader_hint


@dataclass(frozen=True)
class MultiReady:
    """Persist `max_bal` (if not None) and `votes`, then send `messages`, then apply
    `committed` ((slot, value) in slot order; NOOP values are gaps filled by a leader)."""

    max_bal: Ballot | None
    votes: tuple[Vote, ...]
    messages: tuple[MultiMessage, ...]
    committed: tuple[tuple[int, bytes], ...]


class MultiPaxosNode:
    """One Multi-Paxos node; restart it from its persisted max_bal and votes."""

    def __init__(self, node_id: int, n: int, rng: RandomSource, election_ticks: int = 15,
                 heartbeat_ticks: int = 5, max_bal: Ballot | None = None,
                 votes: tuple[Vote, ...] = ()) -> None:
        self.id, self.n, self._rng = node_id, n, rng
        self.election_ticks, self.heartbeat_ticks = election_ticks, heartbeat_ticks
        # acceptor (persistent)
        self.max_bal = max_bal
        self.votes: dict[int, Vote] = {v.slot: v for v in votes}
        self._persisted_bal = max_bal
        self._dirty: set[int] = set()
        # proposer
        self._round = max_bal.round if max_bal else 0
        self.ballot: Ballot | None = None
        self.is_leader = False
        self._led = False  # this ballot has had its phase 1: never lead it again
        self._promises: dict[int, MPromise] = {}
        self._first = 1
        self.next_slot = 1
        self.leader_hint: int | None = None
        # learner
        self.chosen: dict[int, bytes] = {}
        self._tally: dict[tuple[int, Ballot], set[int]] = {}
        self._applied = 0
        # timers and output
        self._elapsed = 0
        self._timeout = rng.randint(election_ticks, 2 * election_ticks)
        self._out: list[MultiMessage] = []

    # ---- inputs ----
    def tick(self) -> None:
        self._elapsed += 1
        if self.is_leader:
            if self._elapsed >= self.heartbeat_ticks:
                self._elapsed = 0
                assert self.ballot is not None
                for j in range(self.n):
                    if j != self.id:
                        self._out.append(MHeartbeat(self.ballot, self.id, j))
        elif self._elapsed >= self._timeout:
            self.campaign()

    def campaign(self) -> None:
        """Phase 1 for every slot from the first unchosen one, in a fresh ballot."""
        self._round += 1
        self.ballot = Ballot(self._round, self.id)
        self.is_leader = False
        self._led = False
        self._promises = {}
        self._first = self._first_unchosen()
        self._reset_timer()
        for j in range(self.n):
            self._deliver(MPrepare(self.ballot, self._first, self.id, j))

    def propose(self, value: bytes) -> int:
        """Phase 2 only, in the next free slot; returns the slot. NotLeader elsewhere."""
        if not self.is_leader or self.ballot is None:
            raise NotLeader(self.leader_hint)
        slot = self.next_slot
        self.next_slot += 1
        for j in range(self.n):
            self._deliver(MAccept(self.ballot, slot, value, self.id, j))
        return slot

    def step(self, m: MultiMessage) -> None:
        if m.dest == self.id and 0 <= m.source < self.n:
            self._deliver(m)

    def ready(self) -> MultiReady:
        bal = self.max_bal if self.max_bal != self._persisted_bal else None
        self._persisted_bal = self.max_bal
        votes = tuple(self.votes[s] for s in sorted(self._dirty))
        self._dirty = set()
        committed = []
        while self._applied + 1 in self.chosen:
            self._applied += 1
            committed.append((self._applied, self.chosen[self._applied]))
        out, self._out = tuple(self._out), []
        return MultiReady(bal, votes, out, tuple(committed))

    # ---- roles ----
    def _deliver(self, m: MultiMessage) -> None:
        if m.dest != self.id:
            self._out.append(m)
            return
        self._round = max(self._round, m.ballot.round)
        getattr(self, _HANDLER[type(m)])(m)

    def _promised_at_most(self, b: Ballot) -> bool:
        return self.max_bal is None or b >= self.max_bal

    def _on_prepare(self, m: MPrepare) -> None:
        if self.max_bal is None or m.ballot > self.max_bal:
            self.max_bal = m.ballot
            self._follow(m.ballot)
            votes = tuple(self.votes[s] for s in sorted(self.votes) if s >= m.first_slot)
            self._deliver(MPromise(m.ballot, votes, self.id, m.source))
        else:
            self._deliver(MNack(m.ballot, self.max_bal, self.id, m.source))

    def _on_promise(self, m: MPromise) -> None:
        # Once led, a ballot is done with phase 1, even after stepping down: a late
        # promise must not recover it again (that would reuse its slots with new values).
        if m.ballot != self.ballot or self._led:
            return
        self._promises[m.source] = m
        if 2 * len(self._promises) <= self.n:
            return
        best: dict[int, Vote] = {}
        for p in self._promises.values():
            for v in p.votes:
                if v.slot not in best or v.ballot > best[v.slot].ballot:
                    best[v.slot] = v
        last = max([self._first - 1, *best, *self.chosen])
        self.is_leader = self._led = True
        self.leader_hint = self.id
        self.next_slot = last + 1
        self._elapsed = 0
        for slot in range(self._first, last + 1):
            if slot in self.chosen:
                value = self.chosen[slot]
            else:
                value = best[slot].value if slot in best else NOOP
            for j in range(self.n):
                self._deliver(MAccept(m.ballot, slot, value, self.id, j))

    def _on_accept(self, m: MAccept) -> None:
        if not self._promised_at_most(m.ballot):
            assert self.max_bal is not None
            self._deliver(MNack(m.ballot, self.max_bal, self.id, m.source))
            return
        self.max_bal = m.ballot
        self._follow(m.ballot)
        self.votes[m.slot] = Vote(m.slot, m.ballot, m.value)
        self._dirty.add(m.slot)
        for j in range(self.n):
            self._deliver(MAccepted(m.ballot, m.slot, m.value, self.id, j))

    def _on_accepted(self, m: MAccepted) -> None:
        voters = self._tally.setdefault((m.slot, m.ballot), set())
        voters.add(m.source)
        if 2 * len(voters) > self.n and m.slot not in self.chosen:
            self.chosen[m.slot] = m.value

    def _on_heartbeat(self, m: MHeartbeat) -> None:
        if self._promised_at_most(m.ballot):
            self._follow(m.ballot)
        else:
            assert self.max_bal is not None
            self._deliver(MNack(m.ballot, self.max_bal, self.id, m.source))

    def _on_nack(self, m: MNack) -> None:
        self._round = max(self._round, m.promised.round)
        if m.ballot == self.ballot and m.promised > m.ballot:
            self.is_leader = False
            self.leader_hint = m.promised.node

    # ---- helpers ----
    def _follow(self, b: Ballot) -> None:
        if b.node != self.id:
            self.is_leader = False
            self.leader_hint = b.node
            self._reset_timer()

    def _first_unchosen(self) -> int:
        slot = 1
        while slot in self.chosen:
            slot += 1
        return slot

    def _reset_timer(self) -> None:
        self._elapsed = 0
        self._timeout = self._rng.randint(self.election_ticks, 2 * self.election_ticks)


#: The role method that handles each message type.
_HANDLER: dict[type, str] = {MPrepare: "_on_prepare", MPromise: "_on_promise",
                             MAccept: "_on_accept", MAccepted: "_on_accepted",
                             MHeartbeat: "_on_heartbeat", MNack: "_on_nack"}
