"""What must hold of Paxos: agreement, validity, and Lamport's inductive invariant.

``Inv`` of Paxos.tla is split into named conjuncts so a report names the part
that failed; ``V!Inv`` (module Voting's ``VotesSafe`` and ``OneValuePerBallot``
over the votes the 2b messages record) is among them. These predicates read
only the state's fields (``max_bal``, ``max_vbal``, ``max_val``, and ``msgs``
with message types "1a", "1b", "2a", "2b"), so the bug-zoo variants reuse them.

Every predicate reads the message set through :func:`facts`, one pass over
``msgs`` per state shared by all of them (``per_state``: the checker evaluates
them back to back on the same state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from agree.models.paxos import M1a, M1b, M2a, M2b, Paxos, PaxosState
from agree.spec import Fact, Property, Spec, Witness, invariant, per_state, property_of, sometimes

__all__ = ["INDUCTIVE", "PROPERTIES", "SAFETY", "Facts", "chosen", "chosen_in", "facts",
           "quorum_line", "votes"]

Vote = tuple[int, int]


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
    accs, vals, bals = range(acceptors), range(values), range(max_ballot + 1)
    reports = [(-1, None), *((b, v) for b in bals for v in vals)]
    return frozenset([
        *(M1a(b) for b in bals),
        *(M1b(a, b, mb, mv) for a in accs for b in bals for (mb, mv) in reports),
        *(M2a(b, v) for b in bals for v in vals),
        *(M2b(a, b, v) for a in accs for b in bals for v in vals),
    ])


def chosen_in(voters: Mapping[Vote, set[int]], quorums: Iterable[frozenset[int]], v: int,
              ) -> tuple[int, frozenset[int]]:
    """The lowest ballot in which a quorum voted for chosen value v, and who voted for v
    there (for witnesses: the votes that chose v)."""
    qs = list(quorums)
    b = min(b for (b, val), accs in voters.items()
            if val == v and any(q <= accs for q in qs))
    return b, frozenset(voters[(b, v)])


def quorum_line(spec: Spec[Any], v: int, b: int, accs: Iterable[int],
                vote: Callable[[int, int, int], Any], msgs: Callable[[Any], Any],
                ) -> tuple[str | Fact, ...]:
    """A witness line ``v1 chosen in ballot 0 by a2 (step 7), a3 (step 12)``: one fact per
    vote, established when the vote message ``vote(acc, b, v)`` enters ``msgs(state)``."""
    parts: list[str | Fact] = [f"{spec.show('values', v)} chosen in ballot {b} by "]
    for k, a in enumerate(sorted(accs)):
        m = vote(a, b, v)
        parts += [", "] if k else []
        parts.append(Fact(spec.show("acceptors", a), lambda st, m=m: m in msgs(st)))
    return tuple(parts)


def _vote(a: int, b: int, v: int) -> M2b:
    return M2b(a, b, v)


def _msgs(s: PaxosState) -> frozenset[Any]:
    return s.msgs


def two_chosen(spec: Spec[Any], vals: Iterable[int], voters: Mapping[Vote, set[int]],
               quorums: Iterable[frozenset[int]], vote: Callable[[int, int, int], Any],
               msgs: Callable[[Any], Any]) -> Witness:
    """Agreement's witness: the two lowest chosen values, each with its ballot and votes."""
    qs = list(quorums)
    two = sorted(vals)[:2]
    where = {v: chosen_in(voters, qs, v) for v in two}
    names = " and ".join(spec.show("values", v) for v in two)
    return Witness(f"two values are chosen, {names}",
                   [quorum_line(spec, v, b, accs, vote, msgs) for v, (b, accs) in where.items()],
                   {"chosen": where})


def never_proposed(spec: Spec[Any], v: int, voters: Mapping[Vote, set[int]],
                   quorums: Iterable[frozenset[int]], vote: Callable[[int, int, int], Any],
                   msgs: Callable[[Any], Any]) -> Witness:
    """Validity's witness: a chosen value no proposal carries, with the votes that chose it."""
    b, accs = chosen_in(voters, quorums, v)
    line = (*quorum_line(spec, v, b, accs, vote, msgs), ", never proposed")
    return Witness(f"{spec.show('values', v)} is chosen but was never proposed", [line],
                   {"value": v, "ballot": b, "voters": accs})


@invariant
def agreement(spec: Paxos, s: PaxosState) -> bool | Witness:
    """At most one value is chosen (Paxos.tla's Consistency)."""
    c = chosen(spec, s)
    if len(c) <= 1:
        return True
    return two_chosen(spec, c, facts(spec, s).voters, spec.quorums, _vote, _msgs)


@invariant
def validity(spec: Paxos, s: PaxosState) -> bool | Witness:
    """Only a value that a leader proposed (sent in a 2a message) can be chosen."""
    proposed: set[int] = set()
    for vals in facts(spec, s).proposals.values():
        proposed |= vals
    c = chosen(spec, s)
    if c <= proposed:
        return True
    return never_proposed(spec, min(c - proposed), facts(spec, s).voters, spec.quorums, _vote,
                          _msgs)


@invariant
def type_ok(spec: Paxos, s: PaxosState) -> bool:
    """Every variable holds a value of its type (Paxos.tla's TypeOK)."""
    n = spec.acceptors_n
    if not (len(s.max_bal) == len(s.max_vbal) == len(s.max_val) == n):
        return False
    bals = spec.typed_ballots
    for a in range(n):
        if s.max_bal[a] not in bals or s.max_vbal[a] not in bals:
            return False
        if s.max_val[a] is not None and s.max_val[a] not in spec.values:
            return False
    return s.msgs <= _universe(n, spec.values_n, spec.max_ballot)


@invariant
def inv_latest_vote(spec: Paxos, s: PaxosState) -> bool:
    """Inv: <<max_vbal[a], max_val[a]>> is a vote a cast, or <<-1, None>>."""
    vs = votes(spec, s)
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
    vs = votes(spec, s)
    for m in facts(spec, s).reports:
        if s.max_bal[m.acc] < m.bal:
            return False
        if m.mbal >= 0 and (m.mbal, m.mval) not in vs[m.acc]:
            return False
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
def inv_2a_safe(spec: Paxos, s: PaxosState) -> bool:
    """Inv: some quorum shows a 2a message's value safe at its ballot."""
    f = facts(spec, s)
    for b, vals in f.proposals.items():
        for v in vals:
            if not any(shows_safe_at(s, f.votes, q, b, v) for q in spec.quorums):
                return False
    return True


@invariant
def inv_2a_unique(spec: Paxos, s: PaxosState) -> bool:
    """Inv: there is at most one 2a message per ballot."""
    return all(len(vals) == 1 for vals in facts(spec, s).proposals.values())


def safe_at(spec: Paxos, s: PaxosState, vs: tuple[set[Vote], ...], b: int, v: int,
            ) -> bool:
    """Voting's SafeAt(b, v): for every c < b, some quorum each of which voted for v
    at c, or cannot vote at c (max_bal above c and no vote at c)."""
    ballots_voted = [{bal for (bal, _) in vs[a]} for a in spec.acceptors]
    for c in range(b):
        ok = {a for a in spec.acceptors
              if (c, v) in vs[a] or (s.max_bal[a] > c and c not in ballots_voted[a])}
        if not any(q <= ok for q in spec.quorums):
            return False
    return True


@invariant
def votes_safe(spec: Paxos, s: PaxosState) -> bool:
    """Voting's VotesSafe: every vote <<b, v>> was cast when v was safe at b."""
    f = facts(spec, s)
    return all(safe_at(spec, s, f.votes, b, v) for (b, v) in f.voters if b > 0)


@invariant
def one_value_per_ballot(spec: Paxos, s: PaxosState) -> bool:
    """Voting's OneValuePerBallot: no two votes in one ballot are for different values."""
    ballots = [b for (b, _) in facts(spec, s).voters]
    return len(ballots) == len(set(ballots))


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
