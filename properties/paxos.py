"""What must hold of Paxos: agreement, validity, and Lamport's inductive invariant.

``Inv`` of Paxos.tla is split into named conjuncts so a report names the part
that failed; ``V!Inv`` (module Voting's ``VotesSafe`` and ``OneValuePerBallot``
over the votes the 2b messages record) is among them. These predicates read
only the state's fields (``max_bal``, ``max_vbal``, ``max_val``, and ``msgs``
with message types "1a", "1b", "2a", "2b"), so the bug-zoo variants reuse them.

Every predicate reads the message set through :func:`facts`, one pass over
``msgs`` per state shared by all of them (``per_state``: the checker evaluates
them back to back on the same state). A failing one returns a witness
(properties/paxos_witness.py), built only then.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from agree.models.paxos import M1b, Paxos, PaxosState, message_universe
from agree.properties import paxos_witness as why
from agree.properties.paxos_witness import Vote
from agree.spec import Property, Witness, invariant, per_state, property_of, sometimes

__all__ = ["INDUCTIVE", "PROPERTIES", "SAFETY", "Facts", "chosen", "facts", "votes"]


class Facts(NamedTuple):
    """What the message set says, gathered in one pass (read-only by convention)."""

    votes: tuple[set[Vote], ...]  # Paxos.tla's votes[a]: <<bal, val>> of a's 2b messages
    voters: dict[Vote, set[int]]  # who voted for each <<bal, val>>
    proposals: dict[int, set[int]]  # ballot -> values of its 2a messages
    reports: list[M1b]  # the 1b messages
    chosen: frozenset[int]  # Voting's chosen: values a quorum voted for in one ballot


@per_state
def facts(spec: Paxos, s: PaxosState) -> Facts:
    """Summarise the message set (one pass per state, shared by all properties)."""
    votes: tuple[set[Vote], ...] = tuple(set() for _ in spec.acceptors)
    voters: dict[Vote, set[int]] = {}
    proposals: dict[int, set[int]] = {}
    reports = []
    for m in s.msgs:
        kind = m.type
        if kind == "2b":
            vote = (m.bal, m.val)
            votes[m.acc].add(vote)
            if vote in voters:
                voters[vote].add(m.acc)
            else:
                voters[vote] = {m.acc}
        elif kind == "2a":
            if m.bal in proposals:
                proposals[m.bal].add(m.val)
            else:
                proposals[m.bal] = {m.val}
        elif kind == "1b":
            reports.append(m)
    quorums = spec.quorums
    smallest = min(len(q) for q in quorums)
    chosen = frozenset(v for (_, v), accs in voters.items()
                       if len(accs) >= smallest and any(q <= accs for q in quorums))
    return Facts(votes=votes, voters=voters, proposals=proposals, reports=reports,
                 chosen=chosen)


def votes(spec: Paxos, s: PaxosState) -> tuple[set[Vote], ...]:
    """``votes[a]``: the <<ballot, value>> pairs acceptor a voted for (its 2b messages)."""
    return facts(spec, s).votes


def chosen(spec: Paxos, s: PaxosState) -> frozenset[int]:
    """Values v for which some quorum voted for v in one ballot (Voting's ``chosen``)."""
    return facts(spec, s).chosen


# A constant of the configuration (Paxos.tla's Message set), built on first use only:
# it is large for the largest parameters, and most checks never ask for it.
@lru_cache(maxsize=16)
def _universe(acceptors: int, values: int, max_ballot: int) -> frozenset[Any]:
    """Every well-typed message (Paxos.tla's Message set) for the constants."""
    return frozenset(message_universe(acceptors, values, max_ballot))


@invariant
def agreement(spec: Paxos, s: PaxosState) -> bool | Witness:
    """At most one value is chosen (Paxos.tla's Consistency)."""
    c = chosen(spec, s)
    if len(c) <= 1:
        return True
    return why.two_chosen(spec, c, facts(spec, s).voters, spec.quorums, why.m2b, why.msgs)


@invariant
def validity(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Only a value that a leader proposed (sent in a 2a message) can be chosen."""
    proposed: set[int] = set()
    for vals in facts(spec, s).proposals.values():
        proposed |= vals
    c = chosen(spec, s)
    if c <= proposed:
        return True
    return why.never_proposed(spec, min(c - proposed), facts(spec, s).voters, spec.quorums,
                              why.m2b, why.msgs)


@invariant
def type_ok(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Every variable holds a value of its type (Paxos.tla's TypeOK)."""
    n = spec.acceptors_n
    universe = _universe(n, spec.values_n, spec.max_ballot)
    if not (len(s.max_bal) == len(s.max_vbal) == len(s.max_val) == n):
        return why.bad_type(spec, s, universe)
    bals = spec.typed_ballots
    for a in range(n):
        if s.max_bal[a] not in bals or s.max_vbal[a] not in bals:
            return why.bad_type(spec, s, universe)
        if s.max_val[a] is not None and s.max_val[a] not in spec.values:
            return why.bad_type(spec, s, universe)
    return s.msgs <= universe or why.bad_type(spec, s, universe)


@invariant
def inv_latest_vote(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Inv: <<max_vbal[a], max_val[a]>> is a vote a cast, or <<-1, None>>."""
    vs = votes(spec, s)
    for a in spec.acceptors:
        if s.max_vbal[a] == -1:
            if s.max_val[a] is not None:
                return why.bad_latest_vote(spec, s, vs)
        elif (s.max_vbal[a], s.max_val[a]) not in vs[a]:
            return why.bad_latest_vote(spec, s, vs)
    return True


@invariant
def inv_1b(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Inv: a 1b message's sender has joined its ballot, and the vote it reports was cast."""
    vs = votes(spec, s)
    reports = facts(spec, s).reports
    for m in reports:
        if s.max_bal[m.acc] < m.bal:
            return why.bad_1b(spec, s, vs, reports)
        if m.mbal >= 0 and (m.mbal, m.mval) not in vs[m.acc]:
            return why.bad_1b(spec, s, vs, reports)
    return True


def shows_safe_at(s: PaxosState, vs: tuple[set[Vote], ...], q: frozenset[int], b: int,
                  v: int) -> bool:
    """Voting's ShowsSafeAt(Q, b, v): every acceptor in Q has max_bal >= b, and for
    some c in -1..b-1, Q voted for v at c (unless c = -1) and cast no vote between c and b.

    The only candidate c is the highest ballot below b in which a member of Q voted
    (-1 if none): a lower c has that vote between c and b, a higher one has no vote at c.
    """
    for a in q:
        if s.max_bal[a] < b:
            return False
    top = max((bal for a in q for (bal, _) in vs[a] if bal < b), default=-1)
    return top == -1 or any((top, v) in vs[a] for a in q)


@invariant
def inv_2a_safe(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Inv: some quorum shows a 2a message's value safe at its ballot."""
    f = facts(spec, s)
    for b, vals in f.proposals.items():
        for v in vals:
            if not any(shows_safe_at(s, f.votes, q, b, v) for q in spec.quorums):
                b, v = min((b, v) for b, vals in f.proposals.items() for v in vals
                           if not any(shows_safe_at(s, f.votes, q, b, v)
                                      for q in spec.quorums))
                return why.unsafe_proposal(spec, s, b, v)
    return True


@invariant
def inv_2a_unique(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Inv: there is at most one 2a message per ballot."""
    proposals = facts(spec, s).proposals
    if all(len(vals) == 1 for vals in proposals.values()):
        return True
    b = min(b for b, vals in proposals.items() if len(vals) > 1)
    return why.two_proposals(spec, b, proposals[b])


def unsafe_below(spec: Paxos, s: PaxosState, vs: tuple[set[Vote], ...], b: int, v: int,
                 ) -> int | None:
    """Voting's SafeAt(b, v) holds when this is None: for every c < b, some quorum each of
    which voted for v at c, or cannot vote at c (max_bal above c and no vote at c).
    Otherwise the first ballot c where no quorum does (for the witness)."""
    ballots_voted = [{bal for (bal, _) in vs[a]} for a in spec.acceptors]
    for c in range(b):
        ok = {a for a in spec.acceptors
              if (c, v) in vs[a] or (s.max_bal[a] > c and c not in ballots_voted[a])}
        if not any(q <= ok for q in spec.quorums):
            return c
    return None


@invariant
def votes_safe(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Voting's VotesSafe: every vote <<b, v>> was cast when v was safe at b."""
    f = facts(spec, s)
    if all(unsafe_below(spec, s, f.votes, b, v) is None for (b, v) in f.voters if b > 0):
        return True
    b, v = min(vote for vote in f.voters if vote[0] > 0
               and unsafe_below(spec, s, f.votes, *vote) is not None)
    c = unsafe_below(spec, s, f.votes, b, v)
    assert c is not None
    return why.unsafe_vote(spec, s, b, v, c, f.voters[(b, v)])


@invariant
def one_value_per_ballot(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Voting's OneValuePerBallot: no two votes in one ballot are for different values."""
    ballots = [b for (b, _) in facts(spec, s).voters]
    if len(ballots) == len(set(ballots)):
        return True
    return why.two_votes(spec, s, min(b for b in ballots if ballots.count(b) > 1))


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
