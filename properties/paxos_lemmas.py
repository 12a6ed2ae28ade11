"""Helper lemmas that make Lamport's Paxos invariant inductive, as Python predicates.

``Inv`` of Paxos.tla (properties/paxos.py) is an invariant but not inductive
on its own: nothing in it says that a 1b message reports the sender's
*latest* vote below its ballot, which Phase2a needs to conclude
``ShowsSafeAt``. These conjuncts close the gap; together with ``INDUCTIVE``
they are the invariant ``agree prove paxos`` proves inductive. Each has a Z3
twin in symbolic/paxos/invariant.py, held to this one by tests.
"""

from __future__ import annotations

from agree.models.paxos import Paxos, PaxosState
from agree.properties import paxos_witness as why
from agree.spec import Property, Witness, invariant, property_of

__all__ = ["LEMMAS"]


@invariant
def max_bal_ge_max_vbal(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Paxos.tla Inv: an acceptor never votes below the ballot it joined (max_bal >= max_vbal)."""
    return (all(s.max_bal[a] >= s.max_vbal[a] for a in spec.acceptors)
            or why.vote_above_join(spec, s))


@invariant
def inv_2b(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Paxos.tla Inv: a 2b message is at most its sender's max_vbal and answers a 2a message."""
    proposals = {(m.bal, m.val) for m in s.msgs if m.type == "2a"}
    return all(s.max_vbal[m.acc] >= m.bal and (m.bal, m.val) in proposals
               for m in s.msgs if m.type == "2b") or why.bad_2b(spec, s, proposals)


@invariant
def inv_1b_latest(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Lemma: a 1b message of ballot b reports the sender's latest vote below b (no vote of
    the sender lies strictly between mbal and b, and mbal < b), reports None when it had
    not voted, and is the sender's only 1b message for ballot b."""
    votes_of: dict[int, list[int]] = {}
    for m in s.msgs:
        if m.type == "2b":
            votes_of.setdefault(m.acc, []).append(m.bal)
    joined: set[tuple[int, int]] = set()
    for m in sorted((m for m in s.msgs if m.type == "1b"), key=tuple):
        if (m.acc, m.bal) in joined:
            return why.bad_1b_latest(spec, s, m, "is its sender's second 1b of that ballot")
        joined.add((m.acc, m.bal))
        if not m.mbal < m.bal or (m.mbal == -1 and m.mval is not None):
            return why.bad_1b_latest(spec, s, m, "reports no vote below its ballot")
        if any(m.mbal < c < m.bal for c in votes_of.get(m.acc, ())):
            return why.bad_1b_latest(spec, s, m, "skips a later vote of its sender")
    return True


#: The lemmas, in the order the prover reports them.
LEMMAS: tuple[Property, ...] = tuple(property_of(f) for f in (
    max_bal_ge_max_vbal, inv_2b, inv_1b_latest))
