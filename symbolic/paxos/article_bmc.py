"""The article's Paxos (models/paxos_article.py ``ArticlePaxos``) as a finite,
quantifier-free Z3 encoding, for ``agree bmc`` (symbolic/finite_z3.py says how).

For ``acceptors`` acceptors, ``values`` values and ids 0..max_ballot: each
acceptor's ``highest_id``, ``accepted_n`` (-1..max_ballot) and ``accepted_val``
(None or a value) is a small bit-vector; the message set is one Bool per
Prepare(n), Promise(a, n), PromiseAccepted(a, n, accepted_n, accepted_val),
Failure(a, n), Propose(n, v) and Accepted(a, n, v). Each action is unfolded over
its concrete parameters and says what its explicit twin says.
(symbolic/paxos/article.py is the older array encoding of the same spec.)
"""

from __future__ import annotations

from typing import Any

import z3  # type: ignore[import-untyped]

from agree.models.paxos import majorities
from agree.models.paxos_article import (
    Accepted,
    ArticleState,
    Failure,
    Prepare,
    Promise,
    PromiseAccepted,
    Propose,
)
from agree.symbolic.finite_z3 import Act, FinState, Key
from agree.symbolic.paxos.bmc import SingleDecreeBmc

__all__ = ["ArticleBmc"]


class ArticleBmc(SingleDecreeBmc[ArticleState]):
    """The article's Paxos for a finite configuration, without arrays or quantifiers."""

    spec_name = "paxos-article"

    def __init__(self, acceptors: int, values: int, max_ballot: int) -> None:
        self.accs, self.vals = range(acceptors), range(values)
        self.ids = self.rounds = range(max_ballot + 1)
        self.max_ballot = max_ballot
        self.quorums = [sorted(q) for q in majorities(acceptors)]
        self.domains = {"highest_id": (-1, max_ballot), "accepted_n": (-1, max_ballot),
                        "accepted_val": (-1, values - 1)}
        self.assumptions = (f"acceptors: {acceptors}, quorums the majorities",
                            f"values: {values}", f"ids: 0..{max_ballot}",
                            "finite encoding (bit-vectors and one Bool per message)")
        a, v, n = self.accs, self.vals, self.ids
        self._universe: list[Any] = [
            *(Prepare(i) for i in n), *(Promise(x, i) for x in a for i in n),
            *(PromiseAccepted(x, i, t, w) for x in a for i in n for t in n for w in v),
            *(Failure(x, i) for x in a for i in n), *(Propose(i, w) for i in n for w in v),
            *(Accepted(x, i, w) for x in a for i in n for w in v)]

    def keys(self) -> list[Key]:
        return [(name, a) for name in ("highest_id", "accepted_n", "accepted_val")
                for a in self.accs]

    def universe(self) -> list[Any]:
        return self._universe

    def split(self, state: ArticleState) -> tuple[dict[Key, int], frozenset[Any]]:
        return ({**self.indexed("highest_id", state.highest_id),
                 **self.indexed("accepted_n", state.accepted_n),
                 **self.indexed("accepted_val", state.accepted_val)}, state.msgs)

    def build(self, scalars: dict[Key, int], msgs: frozenset[Any]) -> ArticleState:
        return ArticleState(tuple(scalars["highest_id", a] for a in self.accs),
                            tuple(scalars["accepted_n", a] for a in self.accs),
                            tuple(self.opt(scalars["accepted_val", a]) for a in self.accs),
                            msgs)

    def initial(self) -> ArticleState:
        k = len(self.accs)
        return ArticleState((-1,) * k, (-1,) * k, (None,) * k, frozenset())

    # -- actions ---------------------------------------------------------------

    def acts(self, s: FinState) -> list[Act]:
        return [*(self.prepare(n) for n in self.ids),
                *(self.receive_prepare(s, a, n) for a in self.accs for n in self.ids),
                *(self.propose(s, n, v) for n in self.ids for v in self.vals),
                *(self.receive_propose(s, a, n, v) for a in self.accs for n in self.ids
                  for v in self.vals)]

    def prepare(self, n: int) -> Act:
        """A proposer sends Prepare(n)."""
        return Act("Prepare", (n,), z3.BoolVal(True), sends={Prepare(n): z3.BoolVal(True)})

    def receive_prepare(self, s: FinState, a: int, n: int) -> Act:
        """a receives Prepare(n): a bigger n is recorded and gets a bare Promise();
        otherwise a Promise carrying a's accepted proposal, if any, else a Failure."""
        big = self.lt(s, ("highest_id", a), n)
        has = z3.And(z3.Not(big), self.ge(s, ("accepted_n", a), 0),
                     z3.Not(self.is_(s, ("accepted_val", a), None)))
        sends: dict[Any, Any] = {Promise(a, n): big,
                                 Failure(a, n): z3.And(z3.Not(big), z3.Not(has))}
        for t in self.ids:
            for w in self.vals:
                sends[PromiseAccepted(a, n, t, w)] = z3.And(
                    has, self.is_(s, ("accepted_n", a), t), self.is_(s, ("accepted_val", a), w))
        old = s.scalars["highest_id", a]
        return Act("ReceivePrepare", (a, n), s.msgs[Prepare(n)], sends=sends, sets={
            ("highest_id", a): z3.If(big, self.const("highest_id", n), old)})

    def propose(self, s: FinState, n: int, v: int) -> Act:
        """The proposer of id n, with promises for n from a majority, proposes v: no
        promise reported an accepted proposal, or v is that of the highest id."""
        def promised(a: int) -> Any:
            return z3.Or(s.msgs[Promise(a, n)], *(s.msgs[PromiseAccepted(a, n, t, w)]
                                                  for t in self.ids for w in self.vals))

        def reported_above(a: int, low: int) -> Any:
            return self.any_of(s.msgs[PromiseAccepted(a, n, t, w)] for t in self.ids
                               if t > low for w in self.vals)

        def ok(q: list[int]) -> Any:
            top_is_v = self.any_of(z3.And(
                self.any_of(s.msgs[PromiseAccepted(a, n, t, v)] for a in q),
                *(z3.Not(reported_above(a, t)) for a in q)) for t in self.ids)
            return z3.And(*(promised(a) for a in q),
                          z3.Or(self.all_of(z3.Not(reported_above(a, -1)) for a in q),
                                top_is_v))

        guard = z3.And(*(z3.Not(s.msgs[Propose(n, w)]) for w in self.vals),
                       self.any_of(ok(q) for q in self.quorums))
        return Act("Propose", (n, v), guard, sends={Propose(n, v): z3.BoolVal(True)})

    def receive_propose(self, s: FinState, a: int, n: int, v: int) -> Act:
        """a receives Propose(n, v) and accepts it if n is still the highest id it saw."""
        guard = z3.And(s.msgs[Propose(n, v)], z3.Not(self.gt(s, ("highest_id", a), n)))
        return Act("ReceivePropose", (a, n, v), guard, sets={
            ("highest_id", a): self.const("highest_id", n),
            ("accepted_n", a): self.const("accepted_n", n),
            ("accepted_val", a): self.const("accepted_val", v)},
            sends={Accepted(a, n, v): z3.BoolVal(True)})

    # -- safety (SingleDecreeBmc: agreement and validity over these) ------------

    def vote(self, a: int, b: int, v: int) -> Any:
        return Accepted(a, b, v)

    def proposal(self, b: int, v: int) -> Any:
        return Propose(b, v)
