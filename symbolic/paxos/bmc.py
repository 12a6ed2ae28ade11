"""Paxos.tla (models/paxos.py) and its bug zoo as finite, quantifier-free Z3
encodings, for ``agree bmc`` (symbolic/finite_z3.py says how).

For ``acceptors`` acceptors, ``values`` values and ballots 0..max_ballot: each
acceptor's ``max_bal``, ``max_vbal`` (-1..max_ballot) and ``max_val`` (None or a
value) is a small bit-vector; the message set is one Bool per message 1a(b),
1b(a, b, mbal, mval) (every mbal and mval, even combinations Paxos never sends),
2a(b, v) and 2b(a, b, v). Each action is unfolded over its concrete parameters,
and says what its explicit twin says, step for step. Each zoo variant overrides
the one step its explicit twin changes (models/zoo/paxos.py, and
``PidTimestampPaxos`` of models/paxos_article.py); the Paxos bundle
(protocols/catalog.py) names them, symbolic/paxos/driver.py builds them.

The unbounded encodings for ``agree prove`` are symbolic/paxos/invariant.py and
symbolic/paxos/zoo.py; this one is for finding violations fast.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, TypeVar

import z3  # type: ignore[import-untyped]

from agree.models.paxos import M1a, M1b, M2a, M2b, PaxosState, majorities
from agree.symbolic.finite_z3 import Act, FiniteEncoding, FinState, Key
from agree.symbolic.z3base import Conjunct, solver

__all__ = ["AcceptBelowPromiseBmc", "AmnesiaBmc", "PaxosBmc", "PidTimestampBmc", "SingleDecreeBmc",
           "TwoBKeepsPromiseBmc", "WrongValueBmc", "bmc_solver"]

S = TypeVar("S")


class SingleDecreeBmc(FiniteEncoding[S]):
    """What the single-decree encodings (Paxos.tla's and the article's) share: the
    configuration, and agreement and validity over their vote and proposal messages."""

    accs: range
    vals: range
    #: The ballots (proposal ids) a configuration has.
    rounds: range
    max_ballot: int
    quorums: list[list[int]]

    def vote(self, a: int, b: int, v: int) -> Any:
        """The message by which acceptor a votes for v in ballot b."""
        raise NotImplementedError

    def proposal(self, b: int, v: int) -> Any:
        """The message proposing v in ballot b."""
        raise NotImplementedError

    def chosen(self, s: FinState, v: int) -> Any:
        """A quorum voted for v in one ballot."""
        return self.any_of(self.all_of(s.msgs[self.vote(a, b, v)] for a in q)
                           for b in self.rounds for q in self.quorums)

    def safety(self, s: FinState) -> list[Conjunct]:
        vals = list(self.vals)
        agreement = self.all_of(z3.Not(z3.And(self.chosen(s, v), self.chosen(s, w)))
                                for i, v in enumerate(vals) for w in vals[i + 1:])
        validity = self.all_of(z3.Implies(self.chosen(s, v), self.any_of(
            s.msgs[self.proposal(b, v)] for b in self.rounds)) for v in vals)
        return [Conjunct("agreement", agreement), Conjunct("validity", validity)]

    def explicit_params(self, model: z3.ModelRef, bound: int) -> dict[str, Any]:
        return {"acceptors": len(self.accs), "values": len(self.vals),
                "max_ballot": self.max_ballot}


class PaxosBmc(SingleDecreeBmc[PaxosState]):
    """Paxos.tla for a finite configuration, without arrays or quantifiers."""

    spec_name = "paxos"

    def __init__(self, acceptors: int, values: int, max_ballot: int) -> None:
        self.accs, self.vals = range(acceptors), range(values)
        self.bals = self.rounds = range(max_ballot + 1)
        self.max_ballot = max_ballot
        #: Every majority, as the explicit spec's ``quorums``.
        self.quorums = [sorted(q) for q in majorities(acceptors)]
        self.domains = {"max_bal": (-1, max_ballot), "max_vbal": (-1, max_ballot),
                        "max_val": (-1, values - 1)}
        self.assumptions = (f"acceptors: {acceptors}, quorums the majorities",
                            f"values: {values}", f"ballots: 0..{max_ballot}",
                            "finite encoding (bit-vectors and one Bool per message)")
        self._universe = self._messages()

    def _messages(self) -> list[Any]:
        reports = [(mb, mv) for mb in (-1, *self.bals) for mv in (None, *self.vals)]
        return [*(M1a(b) for b in self.bals),
                *(M1b(a, b, mb, mv) for a in self.accs for b in self.bals
                  for mb, mv in reports),
                *(M2a(b, v) for b in self.bals for v in self.vals),
                *(M2b(a, b, v) for a in self.accs for b in self.bals for v in self.vals)]

    # -- explicit states -------------------------------------------------------

    def keys(self) -> list[Key]:
        return [(name, a) for name in ("max_bal", "max_vbal", "max_val") for a in self.accs]

    def universe(self) -> list[Any]:
        return self._universe

    def split(self, state: PaxosState) -> tuple[dict[Key, int], frozenset[Any]]:
        return ({**self.indexed("max_bal", state.max_bal),
                 **self.indexed("max_vbal", state.max_vbal),
                 **self.indexed("max_val", state.max_val)}, state.msgs)

    def build(self, scalars: dict[Key, int], msgs: frozenset[Any]) -> PaxosState:
        return PaxosState(tuple(scalars["max_bal", a] for a in self.accs),
                          tuple(scalars["max_vbal", a] for a in self.accs),
                          tuple(self.opt(scalars["max_val", a]) for a in self.accs), msgs)

    def initial(self) -> PaxosState:
        n = len(self.accs)
        return PaxosState((-1,) * n, (-1,) * n, (None,) * n, frozenset())

    # -- actions ---------------------------------------------------------------

    def acts(self, s: FinState) -> list[Act]:
        return [*(self.phase1a(s, b) for b in self.bals),
                *(self.phase2a(s, b, v) for b in self.bals for v in self.vals),
                *(self.phase1b(s, a, b) for a in self.accs for b in self.bals),
                *(self.phase2b(s, a, b, v) for a in self.accs for b in self.bals
                  for v in self.vals)]

    def phase1a(self, s: FinState, b: int) -> Act:
        """Phase1a(b): send 1a(b); always enabled (resending is a stutter)."""
        return Act("Phase1a", (b,), z3.BoolVal(True), sends={M1a(b): z3.BoolVal(True)})

    def phase1b(self, s: FinState, a: int, b: int) -> Act:
        """Phase1b(a, 1a(b)): b above max_bal[a]: a joins b and reports its latest vote."""
        sends = {M1b(a, b, mb, mv): z3.And(self.is_(s, ("max_vbal", a), mb),
                                           self.is_(s, ("max_val", a), mv))
                 for mb in (-1, *self.bals) for mv in (None, *self.vals)}
        return Act("Phase1b", (a, b), z3.And(s.msgs[M1a(b)], self.lt(s, ("max_bal", a), b)),
                   sets={("max_bal", a): self.const("max_bal", b)}, sends=sends)

    def phase2a(self, s: FinState, b: int, v: int) -> Act:
        """Phase2a(b, v): no 2a for b yet, and some quorum's 1b messages show v safe."""
        guard = z3.And(*(z3.Not(s.msgs[M2a(b, w)]) for w in self.vals),
                       self.any_of(self.shows_safe(s, q, b, v) for q in self.quorums))
        return Act("Phase2a", (b, v), guard, sends={M2a(b, v): z3.BoolVal(True)})

    def reported(self, s: FinState, a: int, b: int, above: int = -2) -> Any:
        """a sent a 1b for b reporting a vote in a ballot above ``above`` (-2: any 1b)."""
        return self.any_of(s.msgs[M1b(a, b, mb, mv)] for mb in (-1, *self.bals)
                           if mb > above for mv in (None, *self.vals))

    def shows_safe(self, s: FinState, q: list[int], b: int, v: int) -> Any:
        """Every member of q sent a 1b for b; none reported a vote, or the highest
        reported vote, at some ballot c, is for v (Paxos.tla's Q1b / Q1bv)."""
        top_is_v = self.any_of(z3.And(
            self.any_of(s.msgs[M1b(a, b, c, v)] for a in q),
            *(z3.Not(self.reported(s, a, b, above=c)) for a in q)) for c in self.bals)
        return z3.And(*(self.reported(s, a, b) for a in q),
                      z3.Or(self.all_of(z3.Not(self.reported(s, a, b, above=-1)) for a in q),
                            top_is_v))

    def phase2b(self, s: FinState, a: int, b: int, v: int) -> Act:
        """Phase2b(a, 2a(b, v)): b at least max_bal[a]: a votes for v in b."""
        guard = z3.And(s.msgs[M2a(b, v)], z3.Not(self.gt(s, ("max_bal", a), b)))
        return Act("Phase2b", (a, b, v), guard, sets={
            ("max_bal", a): self.const("max_bal", b),
            ("max_vbal", a): self.const("max_vbal", b),
            ("max_val", a): self.const("max_val", v)}, sends={M2b(a, b, v): z3.BoolVal(True)})

    # -- safety ----------------------------------------------------------------

    def vote(self, a: int, b: int, v: int) -> Any:
        return M2b(a, b, v)

    def proposal(self, b: int, v: int) -> Any:
        return M2a(b, v)


class AcceptBelowPromiseBmc(PaxosBmc):
    """Phase2b without the guard ``m.bal >= maxBal[a]`` (maxBal never decreases)."""

    spec_name = "paxos-accept-below-promise"

    def phase2b(self, s: FinState, a: int, b: int, v: int) -> Act:
        act = super().phase2b(s, a, b, v)
        old = s.scalars["max_bal", a]
        act.guard = s.msgs[M2a(b, v)]
        act.sets["max_bal", a] = z3.If(self.gt(s, ("max_bal", a), b), old,
                                       self.const("max_bal", b))
        return act


class AmnesiaBmc(PaxosBmc):
    """An extra action Restart(a): the acceptor's variables return to their initial values."""

    spec_name = "paxos-amnesia"

    def acts(self, s: FinState) -> list[Act]:
        return [*super().acts(s), *(self.restart(s, a) for a in self.accs)]

    def restart(self, s: FinState, a: int) -> Act:
        return Act("Restart", (a,), z3.BoolVal(True), sets={
            ("max_bal", a): self.const("max_bal", -1),
            ("max_vbal", a): self.const("max_vbal", -1),
            ("max_val", a): self.const("max_val", None)})


class WrongValueBmc(PaxosBmc):
    """Phase2a accepts the value of any vote the quorum reported."""

    spec_name = "paxos-wrong-value"

    def shows_safe(self, s: FinState, q: list[int], b: int, v: int) -> Any:
        reported_v = self.any_of(s.msgs[M1b(a, b, c, v)] for a in q for c in self.bals)
        return z3.And(*(self.reported(s, a, b) for a in q),
                      z3.Or(self.all_of(z3.Not(self.reported(s, a, b, above=-1)) for a in q),
                            reported_v))


class TwoBKeepsPromiseBmc(PaxosBmc):
    """Phase2b leaves maxBal unchanged."""

    spec_name = "paxos-2b-keeps-promise"

    def phase2b(self, s: FinState, a: int, b: int, v: int) -> Act:
        act = super().phase2b(s, a, b, v)
        del act.sets["max_bal", a]
        return act


class PidTimestampBmc(PaxosBmc):
    """Phase2a: up to ``proposers`` different values per ballot (ids are not unique)."""

    spec_name = "paxos-pid-timestamp"
    #: Spec parameters the constructor takes beyond the sizes (symbolic/paxos/driver.py).
    extra_params = ("proposers",)

    def __init__(self, acceptors: int, values: int, max_ballot: int,
                 proposers: int = 2) -> None:
        super().__init__(acceptors, values, max_ballot)
        self.proposers = proposers

    def phase2a(self, s: FinState, b: int, v: int) -> Act:
        full = self.any_of(self.all_of(s.msgs[M2a(b, w)] for w in ws)
                           for ws in combinations(self.vals, self.proposers))
        guard = z3.And(z3.Not(s.msgs[M2a(b, v)]), z3.Not(full),
                       self.any_of(self.shows_safe(s, q, b, v) for q in self.quorums))
        return Act("Phase2a", (b, v), guard, sends={M2a(b, v): z3.BoolVal(True)})


def bmc_solver() -> z3.Solver:
    """The solver ``agree bmc`` asks: Z3's tactic simplify; bit-blast; sat, with the
    pinned seeds. On these propositional queries it beat z3.Solver(), QF_FD and QF_BV,
    most where no violation exists (benchmarks/bmc_paxos.py --solvers)."""
    solver(None)  # sets the pinned global seeds
    return z3.Then("simplify", "bit-blast", "sat").solver()

