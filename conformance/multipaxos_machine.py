"""Multi-Paxos conformance as a Hypothesis state machine, and seeded Multi-Paxos bugs.

Rules are the environment's choices for impl/paxos/multi.py (a node's election timeout,
a client's proposal at a node, deliver / drop / duplicate a message, crash, restart,
isolate a node and heal);
after each, :class:`MultiPaxosCluster` maps the nodes onto models/multipaxos.py and asks
the spec. Each seeded bug breaks one rule of the spec; the Multi-Paxos bundle
(protocols/catalog.py) names it, from the zoo variant making the same mistake if any.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from agree.conformance.bag_machine import BagMachine
from agree.conformance.bugs import SeededBug
from agree.conformance.multipaxos_adapter import MultiPaxosCluster
from agree.impl.paxos import (
    NOOP,
    MAccept,
    MAccepted,
    MNack,
    MPrepare,
    MPromise,
    MultiPaxosNode,
    Vote,
)
from agree.impl.paxos.multi import MultiReady

__all__ = ["ACCEPT_BELOW_PROMISE", "LAST_PROMISE_WINS", "PROMISE_OMITS_VOTES",
           "SKIP_RECOVERY", "VOTES_NOT_PERSISTED", "MultiPaxosMachine", "multipaxos_machine"]


class MultiPaxosMachine(BagMachine):
    """Hostile schedules for Multi-Paxos nodes, every step held to the Multi-Paxos spec."""

    servers = 3
    values = 2
    slots = 2
    max_round = 5
    examples: ClassVar[int] = 0
    coverage: ClassVar[dict[str, int]] = {}

    def __init__(self) -> None:
        super().__init__()
        type(self).examples += 1
        self.c = MultiPaxosCluster(self.servers, self.slots, self.values, self.max_round)

    @rule(node=st.integers(0, 7))
    def campaign(self, node: int) -> None:
        self.c.campaign(node % self.servers)

    @rule(node=st.integers(0, 7), v=st.integers(0, 7))
    def propose(self, node: int, v: int) -> None:
        """A client's value, sent to a node that believes it leads if there is one (clients
        follow leader hints), else to any node."""
        leaders = [k for k, nd in enumerate(self.c.nodes) if nd is not None and nd.is_leader]
        target = leaders[node % len(leaders)] if leaders else node % self.servers
        self.c.propose(target, v % self.values)

    @rule(node=st.integers(0, 7))
    def isolate(self, node: int) -> None:
        self.c.isolate(node % self.servers)

    @precondition(lambda self: self.c.isolated is not None)
    @rule()
    def heal(self) -> None:
        self.c.heal()

    @rule(node=st.integers(0, 7), peer=st.integers(0, 7))
    def elect(self, node: int, peer: int) -> None:
        """Node's election timeout fires and its phase 1 runs with one peer alone: the
        Prepare to the peer and the peer's answer are delivered, the rest stays in flight
        (so a quorum of two recovers, and what the third node holds stays unheard of)."""
        i = node % self.servers
        j = (i + 1 + peer % (self.servers - 1)) % self.servers if self.servers > 1 else i
        self.c.campaign(i)
        me = self.c.nodes[i]
        if me is None:
            return
        for kinds, src, dst in (((MPrepare,), i, j), ((MPromise, MNack), j, i)):
            k = next((k for k, m in enumerate(self.c.bag) if isinstance(m, kinds)
                      and (m.source, m.dest, m.ballot) == (src, dst, me.ballot)), None)
            if k is not None:
                self.c.deliver(k)


def multipaxos_machine(servers: int = 3, values: int = 2) -> type[MultiPaxosMachine]:
    """A MultiPaxosMachine subclass for another configuration."""
    attrs: dict[str, Any] = {"servers": servers, "values": values, "examples": 0,
                             "coverage": {}}
    return type(f"MultiPaxosMachine{servers}", (MultiPaxosMachine,), attrs)


# -- seeded bugs -------------------------------------------------------------------

_ORIGINAL_READY = MultiPaxosNode.ready
_ORIGINAL_ON_PROMISE = MultiPaxosNode._on_promise


def _recover_with(merge: Callable[[MultiPaxosNode, list[Vote]], dict[int, Vote]],
                  ) -> Callable[[MultiPaxosNode, MPromise], None]:
    """impl's _on_promise with another way of merging the promises' votes per slot."""

    def on_promise(self: MultiPaxosNode, m: MPromise) -> None:
        if m.ballot != self.ballot or self._led:
            return
        self._promises[m.source] = m
        if 2 * len(self._promises) <= self.n:
            return
        best = merge(self, [v for p in self._promises.values() for v in p.votes])
        last = max([self._first - 1, *best, *self.chosen])
        self.is_leader = self._led = True
        self.leader_hint = self.id
        self.next_slot = last + 1
        self._elapsed = 0
        for slot in range(self._first, last + 1):
            value = self.chosen.get(slot, best[slot].value if slot in best else NOOP)
            for j in range(self.n):
                self._deliver(MAccept(m.ballot, slot, value, self.id, j))

    return on_promise


def _highest(votes: list[Vote]) -> dict[int, Vote]:
    best: dict[int, Vote] = {}
    for v in votes:
        if v.slot not in best or v.ballot > best[v.slot].ballot:
            best[v.slot] = v
    return best


def _own_log_first(self: MultiPaxosNode, votes: list[Vote]) -> dict[int, Vote]:
    best = _highest(votes)
    for slot, mine in self.votes.items():  # its own log taken as final: not recovered
        if slot >= self._first:
            best[slot] = mine
    return best


def _last_report(self: MultiPaxosNode, votes: list[Vote]) -> dict[int, Vote]:
    return {v.slot: v for v in votes}  # each report overwrites: no ballot comparison


def _accept_below_promise(self: MultiPaxosNode, m: MAccept) -> None:
    if self.max_bal is None or m.ballot > self.max_bal:
        self.max_bal = m.ballot
    self._follow(m.ballot)
    self.votes[m.slot] = Vote(m.slot, m.ballot, m.value)
    self._dirty.add(m.slot)
    for j in range(self.n):
        self._deliver(MAccepted(m.ballot, m.slot, m.value, self.id, j))


def _promise_omits_votes(self: MultiPaxosNode, m: MPrepare) -> None:
    if self.max_bal is None or m.ballot > self.max_bal:
        self.max_bal = m.ballot
        self._follow(m.ballot)
        votes = tuple(self.votes[s] for s in sorted(self.votes) if s > m.first_slot)
        self._deliver(MPromise(m.ballot, votes, self.id, m.source))
    else:
        self._deliver(MNack(m.ballot, self.max_bal, self.id, m.source))


def _forget_votes(self: MultiPaxosNode) -> MultiReady:
    ready = _ORIGINAL_READY(self)
    return MultiReady(ready.max_bal, (), ready.messages, ready.committed)


def _bug(name: str, breaks: str, attr: str, fn: Callable[..., Any]) -> SeededBug:
    return SeededBug(name, breaks, MultiPaxosNode, attr, fn)


SKIP_RECOVERY = _bug("mp-skip-recovery",
                     "BecomeLeader: recover every slot from phase 1, its own log included",
                     "_on_promise", _recover_with(_own_log_first))
LAST_PROMISE_WINS = _bug("mp-last-promise-wins",
                         "BecomeLeader: per slot, the value of the highest-ballot vote",
                         "_on_promise", _recover_with(_last_report))
ACCEPT_BELOW_PROMISE = _bug("mp-accept-below-promise",
                            "Phase2b: never vote below the ballot promised",
                            "_on_accept", _accept_below_promise)
PROMISE_OMITS_VOTES = _bug("mp-promise-omits-first-slot",
                           "Phase1b: report the latest vote of every slot from first on",
                           "_on_prepare", _promise_omits_votes)
VOTES_NOT_PERSISTED = _bug("mp-votes-not-persisted", "an acceptor's votes are stable storage",
                           "ready", _forget_votes)
