"""Agreement and validity for the article's Paxos, in its own vocabulary.

A value is chosen when a majority of acceptors sent Accepted() for the same
proposal (n, v), as the article says; a proposed value is one in a Propose.
"""

from __future__ import annotations

from agree.models.paxos_article import ArticlePaxos, ArticleState
from agree.spec import Property, invariant, property_of, sometimes

__all__ = ["PROPERTIES", "chosen"]


def chosen(spec: ArticlePaxos, s: ArticleState) -> set[int]:
    """Values a majority accepted in one proposal."""
    by_proposal: dict[tuple[int, int], set[int]] = {}
    for m in s.msgs:
        if m.type == "accepted":
            by_proposal.setdefault((m.n, m.val), set()).add(m.acc)
    return {v for (_, v), accs in by_proposal.items() if 2 * len(accs) > spec.acceptors_n}


@invariant
def agreement(spec: ArticlePaxos, s: ArticleState) -> bool:
    """At most one value is chosen."""
    return len(chosen(spec, s)) <= 1


@invariant
def validity(spec: ArticlePaxos, s: ArticleState) -> bool:
    """Only a proposed value can be chosen."""
    return chosen(spec, s) <= {m.val for m in s.msgs if m.type == "propose"}


@sometimes
def value_chosen(spec: ArticlePaxos, s: ArticleState) -> bool:
    """Some value gets chosen."""
    return bool(chosen(spec, s))


PROPERTIES: tuple[Property, ...] = tuple(
    property_of(f) for f in (agreement, validity, value_chosen))
