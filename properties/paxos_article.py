"""Agreement and validity for the article's Paxos, in its own vocabulary.

A value is chosen when a majority of acceptors sent Accepted() for the same
proposal (n, v), as the article says; a proposed value is one in a Propose.
"""

from __future__ import annotations

from agree.models.paxos_article import Accepted, ArticlePaxos, ArticleState
from agree.properties.paxos_witness import msgs, never_proposed, two_chosen
from agree.spec import Property, Witness, invariant, property_of, sometimes

__all__ = ["PROPERTIES", "chosen"]


def _accepted(s: ArticleState) -> dict[tuple[int, int], set[int]]:
    by_proposal: dict[tuple[int, int], set[int]] = {}
    for m in s.msgs:
        if m.type == "accepted":
            by_proposal.setdefault((m.n, m.val), set()).add(m.acc)
    return by_proposal


def chosen(spec: ArticlePaxos, s: ArticleState) -> set[int]:
    """Values a majority accepted in one proposal."""
    return {v for (_, v), accs in _accepted(s).items() if 2 * len(accs) > spec.acceptors_n}


def _majorities(spec: ArticlePaxos, s: ArticleState) -> list[frozenset[int]]:
    """The majorities among the acceptors that accepted something (for witnesses)."""
    return [frozenset(accs) for accs in _accepted(s).values()
            if 2 * len(accs) > spec.acceptors_n]


def _vote(a: int, n: int, v: int) -> Accepted:
    return Accepted(a, n, v)


@invariant
def agreement(spec: ArticlePaxos, s: ArticleState) -> bool | Witness:
    """At most one value is chosen."""
    c = chosen(spec, s)
    if len(c) <= 1:
        return True
    return two_chosen(spec, c, _accepted(s), _majorities(spec, s), _vote, msgs)


@invariant
def validity(spec: ArticlePaxos, s: ArticleState) -> bool | Witness:
    """Only a proposed value can be chosen."""
    c = chosen(spec, s)
    bad = c - {m.val for m in s.msgs if m.type == "propose"}
    if not bad:
        return True
    return never_proposed(spec, min(bad), _accepted(s), _majorities(spec, s), _vote, msgs)


@sometimes
def value_chosen(spec: ArticlePaxos, s: ArticleState) -> bool:
    """Some value gets chosen."""
    return bool(chosen(spec, s))


PROPERTIES: tuple[Property, ...] = tuple(
    property_of(f) for f in (agreement, validity, value_chosen))
