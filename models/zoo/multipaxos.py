"""The Multi-Paxos bug zoo: known mistakes of a Multi-Paxos leader or acceptor, each a
small variant of :class:`~agree.models.multipaxos.MultiPaxos` changing one step.

All of them break agreement in some slot (two values chosen there); the registry holds
the small configuration in which `agree check` finds each as its defaults.
"""

from __future__ import annotations

from typing import ClassVar

from agree.models.multipaxos import CLOSED, M1b, M2a, MultiPaxos, MultiPaxosState

__all__ = ["AcceptBelowPromiseMultiPaxos", "LastPromiseWinsMultiPaxos",
           "SkipRecoveryMultiPaxos"]


class SkipRecoveryMultiPaxos(MultiPaxos):
    """A new leader skips phase 1 for the slots it holds a vote in: it re-proposes its
    own vote there instead of the highest-ballot vote its quorum reported.

    Breaks Paxos Made Simple §3: a new leader, having learned commands 1-134, 138 and
    139, "executes phase 1 for instances 135-137 and for all instances greater than
    139": for every instance not known *chosen*, whatever its own log holds. A slot the
    leader's process voted in is not recovered (its log entry is taken as final).
    BecomeLeader uses the owner's own vote where it has one. Ballot owners matter here,
    so acceptors are not interchangeable: no symmetry."""

    name: ClassVar[str] = "multipaxos-skip-recovery"
    symmetry: ClassVar[tuple[str, ...]] = ("values",)

    def recover(self, s: MultiPaxosState, b: int, first: int, reports: list[M1b],
                ) -> tuple[int | None, ...]:
        rec = super().recover(s, b, first, reports)
        own = s.votes[self.owner(b)]
        return tuple(v if v == CLOSED or own[slot - 1][1] is None else own[slot - 1][1]
                     for slot, v in zip(self.slots, rec, strict=True))


class LastPromiseWinsMultiPaxos(MultiPaxos):
    """A new leader merges the promises' reports slot by slot with the last report read
    overwriting the others, not the one of the highest ballot.

    Breaks Paxos Made Simple §2.2 and §3 (phase 2a takes "the value of the
    highest-numbered proposal among the responses", per instance); the merge mistake
    the Multi-Paxos lecture notes warn about (MIT 6.824 Lab 3, "Paxos: choose the value
    of the highest-numbered accept"). BecomeLeader reads the quorum's reports in
    acceptor order and keeps the last vote per slot."""

    name: ClassVar[str] = "multipaxos-last-promise-wins"

    def recover(self, s: MultiPaxosState, b: int, first: int, reports: list[M1b],
                ) -> tuple[int | None, ...]:
        last: dict[int, int] = {}
        for m in reports:
            for slot, _, v in m.votes:
                last[slot] = v
        return tuple(CLOSED if slot < first else last.get(slot) for slot in self.slots)


class AcceptBelowPromiseMultiPaxos(MultiPaxos):
    """An acceptor votes in a slot without checking its promise: a 2a of a ballot below
    the one it promised is accepted (the promise itself is kept).

    Breaks Paxos Made Simple §2.2 (an acceptor "can accept a proposal numbered n iff it
    has not responded to a prepare request having a number greater than n"); in
    Multi-Paxos the one promise covers every slot, including slots the old leader keeps
    proposing in after a new leader's phase 1. Phase2b drops its guard."""

    name: ClassVar[str] = "multipaxos-accept-below-promise"

    def phase2b(self, s: MultiPaxosState, a: int, m: M2a) -> MultiPaxosState | None:
        return self.vote(s, a, m)
