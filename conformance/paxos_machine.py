"""Paxos conformance as a Hypothesis state machine, and seeded Paxos bugs.

Rules are the environment's choices for single-decree Paxos (a proposal at a
node, deliver / drop / duplicate a message, crash, restart); after each,
:class:`PaxosCluster` maps the nodes onto models/paxos.py and asks the spec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import rule

from agree.conformance.bag_machine import BagMachine
from agree.conformance.bugs import SeededBug
from agree.conformance.paxos_adapter import PaxosCluster
from agree.impl.paxos import (
    Accept,
    Accepted,
    AcceptorState,
    Nack,
    PaxosNode,
    PaxosReady,
    Promise,
)

__all__ = ["ACCEPTOR_NOT_PERSISTED", "ACCEPT_BELOW_PROMISE", "IGNORE_REPORTED_VOTES",
           "PROMISE_FORGETS_VOTE", "VOTE_KEEPS_PROMISE", "PaxosMachine", "paxos_machine"]


class PaxosMachine(BagMachine):
    """Hostile schedules for single-decree Paxos nodes, every step held to Paxos.tla."""

    servers = 3
    values = 2
    examples: ClassVar[int] = 0
    coverage: ClassVar[dict[str, int]] = {}

    def __init__(self) -> None:
        super().__init__()
        type(self).examples += 1
        self.c = PaxosCluster(self.servers, self.values)

    @rule(node=st.integers(0, 7), v=st.integers(0, 7))
    def propose(self, node: int, v: int) -> None:
        self.c.propose(node % self.servers, v % self.values)


def paxos_machine(servers: int = 3, values: int = 2) -> type[PaxosMachine]:
    """A PaxosMachine subclass for another configuration."""
    attrs: dict[str, Any] = {"servers": servers, "values": values, "examples": 0,
                             "coverage": {}}
    return type(f"PaxosMachine{servers}", (PaxosMachine,), attrs)


# -- seeded bugs -------------------------------------------------------------------

_ORIGINAL_READY = PaxosNode.ready


def _forget_acceptor(self: PaxosNode) -> PaxosReady:
    ready = _ORIGINAL_READY(self)
    return PaxosReady(None, ready.messages, ready.chosen)


def _accept_below_promise(self: PaxosNode, m: Accept) -> None:
    promised = self.acceptor.max_bal
    keep = promised if promised is not None and promised > m.ballot else m.ballot
    self.acceptor = AcceptorState(keep, m.ballot, m.value)  # the promise kept, the vote cast
    for j in range(self.n):
        self._deliver(Accepted(m.ballot, m.value, self.id, j))


def _own_value(self: PaxosNode, m: Promise) -> None:
    if m.ballot != self.ballot or self._phase2 or self._value is None:
        return
    self._promises[m.source] = m
    if 2 * len(self._promises) <= self.n:
        return
    self._phase2 = True
    for j in range(self.n):
        self._deliver(Accept(self.ballot, self._value, self.id, j))


def _vote_keeps_promise(self: PaxosNode, m: Accept) -> None:
    a = self.acceptor
    if a.max_bal is not None and m.ballot < a.max_bal:
        self._deliver(Nack(m.ballot, a.max_bal, self.id, m.source))
        return
    self.acceptor = AcceptorState(a.max_bal or m.ballot, m.ballot, m.value)
    for j in range(self.n):
        self._deliver(Accepted(m.ballot, m.value, self.id, j))


def _promise_forgets_vote(self: PaxosNode, m: Any) -> None:
    a = self.acceptor
    if a.max_bal is None or m.ballot > a.max_bal:
        self.acceptor = a._replace(max_bal=m.ballot)
        self._deliver(Promise(m.ballot, None, None, self.id, m.source))
    else:
        self._deliver(Nack(m.ballot, a.max_bal, self.id, m.source))


def _bug(name: str, breaks: str, attr: str, fn: Callable[..., Any]) -> SeededBug:
    return SeededBug(name, breaks, PaxosNode, attr, fn)


# Each bug is referenced from the Paxos bundle (protocols/catalog.py): from the zoo
# variant that makes the same mistake in the spec, or from the protocol if none does.
ACCEPTOR_NOT_PERSISTED = _bug("acceptor-not-persisted",
                              "an acceptor's promise and vote are stable storage",
                              "ready", _forget_acceptor)
ACCEPT_BELOW_PROMISE = _bug("accept-below-promise",
                            "Phase2b: never vote below the ballot promised",
                            "_on_accept", _accept_below_promise)
IGNORE_REPORTED_VOTES = _bug("ignore-reported-votes",
                             "Phase2a: propose the value of the highest vote reported",
                             "_on_promise", _own_value)
VOTE_KEEPS_PROMISE = _bug("vote-keeps-promise", "Phase2b: voting in b raises max_bal to b",
                          "_on_accept", _vote_keeps_promise)
PROMISE_FORGETS_VOTE = _bug("promise-forgets-vote",
                            "Phase1b: a promise reports the acceptor's latest vote",
                            "_on_prepare", _promise_forgets_vote)
