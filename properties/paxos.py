"""What must hold of Paxos: agreement, validity, and Lamport's inductive invariant.

``Inv`` of Paxos.tla is split into named conjuncts so a report names the part
that failed; ``V!Inv`` (module Voting's ``VotesSafe`` and ``OneValuePerBallot``
over the votes the 2b messages record) is among them. These predicates read
only the state's fields (``max_bal``, ``max_vbal``, ``max_val``, and ``msgs``
with message types "1a", "1b", "2a", "2b"), so the bug-zoo variants and the
article's Paxos reuse them where their states have the same shape.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agree.checker.spec import Property, invariant, property_of, sometimes
from agree.models.paxos import Paxos, PaxosState

__all__ = ["INDUCTIVE", "PROPERTIES", "SAFETY", "chosen", "votes"]

Vote = tuple[int, int]


@lru_cache(maxsize=8)
def votes(msgs: frozenset[Any], n: int) -> tuple[frozenset[Vote], ...]:
    """``votes[a]``: the <<ballot, value>> pairs acceptor a voted for (its 2b messages)."""
    out: list[set[Vote]] = [set() for _ in range(n)]
    for m in msgs:
        if m.type == "2b":
            out[m.acc].add((m.bal, m.val))
    return tuple(frozenset(v) for v in out)


def chosen(spec: Paxos, s: PaxosState) -> set[int]:
    """Values v for which some quorum voted for v in one ballot (Voting's ``chosen``)."""
    vs = votes(s.msgs, spec.acceptors_n)
    return {v for (b, v) in set().union(*vs)
            if any(all((b, v) in vs[a] for a in q) for q in spec.quorums)}


def _proposed(s: PaxosState) -> set[int]:
    return {m.val for m in s.msgs if m.type == "2a"}


@invariant
def agreement(spec: Paxos, s: PaxosState) -> bool:
    """At most one value is chosen (Paxos.tla's Consistency)."""
    return len(chosen(spec, s)) <= 1


@invariant
def validity(spec: Paxos, s: PaxosState) -> bool:
    """Only a value that a leader proposed (sent in a 2a message) can be chosen."""
    return chosen(spec, s) <= _proposed(s)


@invariant
def type_ok(spec: Paxos, s: PaxosState) -> bool:
    """Every variable holds a value of its type (Paxos.tla's TypeOK)."""
    bals = range(-1, spec.max_ballot + 1)
    n = spec.acceptors_n
    if not (len(s.max_bal) == len(s.max_vbal) == len(s.max_val) == n):
        return False
    if not all(b in bals for b in s.max_bal) or not all(b in bals for b in s.max_vbal):
        return False
    if not all(v is None or v in spec.values for v in s.max_val):
        return False
    for m in s.msgs:
        if m.bal not in spec.ballots:
            return False
        if m.type in ("1b", "2b") and m.acc not in spec.acceptors:
            return False
        if m.type == "1b" and not (m.mbal in bals and (m.mval is None or m.mval in spec.values)):
            return False
        if m.type in ("2a", "2b") and m.val not in spec.values:
            return False
    return True


@invariant
def inv_latest_vote(spec: Paxos, s: PaxosState) -> bool:
    """Inv: <<max_vbal[a], max_val[a]>> is a vote a cast, or <<-1, None>>."""
    vs = votes(s.msgs, spec.acceptors_n)
    for a in spec.acceptors:
        if s.max_vbal[a] == -1:
            if s.max_val[a] is not None:
                return False
        elif (s.max_vbal[a], s.max_val[a]) not in vs[a]:
            return False
    return True


@invariant
def inv_1b(spec: Paxos, s: PaxosState) -> bool:
    """Inv: a 1b message's sender has joined its ballot, and the vote it reports was cast."""
    vs = votes(s.msgs, spec.acceptors_n)
    for m in s.msgs:
        if m.type == "1b":
            if s.max_bal[m.acc] < m.bal:
                return False
            if m.mbal >= 0 and (m.mbal, m.mval) not in vs[m.acc]:
                return False
    return True


def shows_safe_at(spec: Paxos, s: PaxosState, vs: tuple[frozenset[Vote], ...],
                  q: frozenset[int], b: int, v: int) -> bool:
    """Voting's ShowsSafeAt(Q, b, v): every acceptor in Q has max_bal >= b, and for
    some c < b, Q voted for v at c (or c = -1) and cast no vote between c and b."""
    if not all(s.max_bal[a] >= b for a in q):
        return False
    for c in range(-1, b):
        if c != -1 and not any((c, v) in vs[a] for a in q):
            continue
        if all(bal <= c or bal >= b for a in q for (bal, _) in vs[a]):
            return True
    return False


@invariant
def inv_2a_safe(spec: Paxos, s: PaxosState) -> bool:
    """Inv: some quorum shows a 2a message's value safe at its ballot."""
    vs = votes(s.msgs, spec.acceptors_n)
    return all(any(shows_safe_at(spec, s, vs, q, m.bal, m.val) for q in spec.quorums)
               for m in s.msgs if m.type == "2a")


@invariant
def inv_2a_unique(spec: Paxos, s: PaxosState) -> bool:
    """Inv: there is at most one 2a message per ballot."""
    seen: dict[int, int] = {}
    for m in s.msgs:
        if m.type == "2a" and seen.setdefault(m.bal, m.val) != m.val:
            return False
    return True


def _safe_at(spec: Paxos, s: PaxosState, vs: tuple[frozenset[Vote], ...], b: int, v: int,
             ) -> bool:
    # SafeAt(b, v): for every c < b, some quorum each voted v at c or cannot vote at c.
    for c in range(b):
        if not any(all((c, v) in vs[a] or (s.max_bal[a] > c and
                                           not any(bal == c for (bal, _) in vs[a]))
                       for a in q) for q in spec.quorums):
            return False
    return True


@invariant
def votes_safe(spec: Paxos, s: PaxosState) -> bool:
    """Voting's VotesSafe: every vote <<b, v>> was cast when v was safe at b."""
    vs = votes(s.msgs, spec.acceptors_n)
    return all(_safe_at(spec, s, vs, b, v) for a in spec.acceptors for (b, v) in vs[a])


@invariant
def one_value_per_ballot(spec: Paxos, s: PaxosState) -> bool:
    """Voting's OneValuePerBallot: no two votes in one ballot are for different values."""
    seen: dict[int, int] = {}
    for a in spec.acceptors:
        for (b, v) in votes(s.msgs, spec.acceptors_n)[a]:
            if seen.setdefault(b, v) != v:
                return False
    return True


@sometimes
def value_chosen(spec: Paxos, s: PaxosState) -> bool:
    """Some value gets chosen: a model in which nothing is ever chosen is vacuous."""
    return bool(chosen(spec, s))


#: The safety properties users name: agreement and validity.
SAFETY: tuple[Property, ...] = tuple(property_of(f) for f in (agreement, validity))
#: Lamport's Inv (Paxos.tla), conjunct by conjunct, with Voting's V!Inv.
INDUCTIVE: tuple[Property, ...] = tuple(property_of(f) for f in (
    type_ok, inv_latest_vote, inv_1b, inv_2a_safe, inv_2a_unique, votes_safe,
    one_value_per_ballot))
PROPERTIES: tuple[Property, ...] = (*SAFETY, *INDUCTIVE, property_of(value_chosen))
