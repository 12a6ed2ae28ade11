"""Z3 encoding of Lamport's Paxos.tla (models/paxos.py): its invariants and proof.

The state and the actions are in symbolic/paxos/state.py; ``PaxosZ3`` adds
the invariants, properties/paxos.py's ``INDUCTIVE`` plus the lemmas of
properties/paxos_lemmas.py, each conjunct named like its Python twin, the
safety properties, and how the prover splits each obligation into cases.
"""

from __future__ import annotations

from typing import Any, ClassVar

import z3  # type: ignore[import-untyped]

from agree.symbolic.paxos.state import PaxosActionsZ3, PaxosVars
from agree.symbolic.z3base import Case, Conjunct, QuorumView, fresh

__all__ = ["PaxosVars", "PaxosZ3"]

Int = z3.IntSort()


class PaxosZ3(PaxosActionsZ3):
    """Paxos.tla in Z3: ``acceptors``/``values`` None means uninterpreted sorts."""

    spec_name = "paxos"

    # -- invariants ----------------------------------------------------------

    def _all_1b(self, s: PaxosVars, fn: Any) -> z3.BoolRef:
        b, mb, mv = fresh("b", Int), fresh("mb", Int), fresh("mv", self.opt)
        return self.acc.forall(lambda a: z3.ForAll(
            [b, mb, mv], z3.Implies(s.sent1b[a, b, mb, mv], fn(a, b, mb, mv))))

    def _all_2b(self, s: PaxosVars, fn: Any) -> z3.BoolRef:
        b, v = fresh("b", Int), fresh("v", self.val.sort)
        return self.acc.forall(lambda a: z3.ForAll(
            [b, v], z3.Implies(s.sent2b[a, b, v], fn(a, b, v))))

    def type_ok(self, s: PaxosVars) -> z3.BoolRef:
        """Ballots are -1.. (or -1..max_ballot) in variables, 0.. in messages."""
        def bal(x: Any, low: int) -> z3.BoolRef:
            return x >= low if self.max_ballot is None else z3.And(x >= low,
                                                                   x <= self.max_ballot)
        b, v = fresh("b", Int), fresh("v", self.val.sort)
        return z3.And(
            self.acc.forall(lambda a: z3.And(bal(s.max_bal[a], -1), bal(s.max_vbal[a], -1))),
            z3.ForAll([b], z3.Implies(s.sent1a[b], bal(b, 0))),
            self._all_1b(s, lambda a, b, mb, mv: z3.And(bal(b, 0), bal(mb, -1))),
            z3.ForAll([b, v], z3.Implies(s.sent2a[b, v], bal(b, 0))),
            self._all_2b(s, lambda a, b, v: bal(b, 0)))

    def inv_latest_vote(self, s: PaxosVars) -> z3.BoolRef:
        return self.acc.forall(lambda a: z3.If(
            s.max_vbal[a] == -1, s.max_val[a] == self.none,
            z3.And(self.is_some(s.max_val[a]),
                   s.sent2b[a, s.max_vbal[a], self.the(s.max_val[a])])))

    def inv_1b(self, s: PaxosVars) -> z3.BoolRef:
        return self._all_1b(s, lambda a, b, mb, mv: z3.And(
            s.max_bal[a] >= b,
            z3.Implies(mb >= 0, z3.And(self.is_some(mv), s.sent2b[a, mb, self.the(mv)]))))

    def shows_safe_at(self, s: PaxosVars, b: Any, v: Any) -> z3.BoolRef:
        """Voting's ShowsSafeAt(Q, b, v) for some quorum Q."""
        def body(q: Any) -> z3.BoolRef:
            c = fresh("c", Int)
            return z3.Exists([c], self.shows_safe_at_with(s, b, v, q, c))
        return self.quorums.exists(body)

    def shows_safe_at_with(self, s: PaxosVars, b: Any, v: Any, q: QuorumView,
                           c: Any) -> z3.BoolRef:
        """ShowsSafeAt(q, b, v) with its ballot c given: every member of q joined b,
        c < b, c is -1 or a member voted v at c, and no member voted strictly
        between c and b."""
        d, w = fresh("d", Int), fresh("w", self.val.sort)
        return z3.And(
            q.all(lambda a: s.max_bal[a] >= b), c >= -1, c < b,
            z3.Or(c == -1, q.any(lambda a: s.sent2b[a, c, v])),
            q.all(lambda a: z3.ForAll([d, w], z3.Implies(s.sent2b[a, d, w],
                                                         z3.Or(d <= c, d >= b)))))

    def inv_2a_safe(self, s: PaxosVars) -> z3.BoolRef:
        b, v = fresh("b", Int), fresh("v", self.val.sort)
        return z3.ForAll([b, v], z3.Implies(s.sent2a[b, v], self.shows_safe_at(s, b, v)))

    def inv_2a_unique(self, s: PaxosVars) -> z3.BoolRef:
        b, v, w = fresh("b", Int), fresh("v", self.val.sort), fresh("w", self.val.sort)
        return z3.ForAll([b, v, w], z3.Implies(z3.And(s.sent2a[b, v], s.sent2a[b, w]), v == w))

    def votes_safe(self, s: PaxosVars) -> z3.BoolRef:
        """Voting's VotesSafe: every vote <<b, v>> of any acceptor is SafeAt(b, v), where
        SafeAt(b, v) says that for each c < b some quorum each voted v at c or joined a
        ballot above c without voting at c. The ballot c is quantified at the top; it is
        instantiated with the ballots at which someone voted, or could have (a
        multi-pattern: one vote, and any term naming ballot c)."""
        acc, val = self.acc.sort, self.val.sort
        a, b, v, c = fresh("a", acc), fresh("b", Int), fresh("v", val), fresh("c", Int)
        a2, u = fresh("a", acc), fresh("u", val)

        def not_voted_at(x: Any) -> z3.BoolRef:
            return self.val.forall(lambda w: z3.Not(s.sent2b[x, c, w]))

        body = z3.Implies(z3.And(s.sent2b[a, b, v], c >= 0, c < b), self.quorums.exists(
            lambda q: q.all(lambda x: z3.Or(s.sent2b[x, c, v],
                                            z3.And(s.max_bal[x] > c, not_voted_at(x))))))
        if not z3.is_const(s.sent2b):  # a next state's terms: a goal, no patterns needed
            return z3.ForAll([a, b, v, c], body)
        return z3.ForAll([a, b, v, c, a2, u], body,
                         patterns=[z3.MultiPattern(s.sent2b[a, b, v], s.sent2b[a2, c, u])])

    def one_value_per_ballot(self, s: PaxosVars) -> z3.BoolRef:
        b, v, w = fresh("b", Int), fresh("v", self.val.sort), fresh("w", self.val.sort)
        return self.acc.forall(lambda a1: self.acc.forall(lambda a2: z3.ForAll(
            [b, v, w], z3.Implies(z3.And(s.sent2b[a1, b, v], s.sent2b[a2, b, w]), v == w))))

    def max_bal_ge_max_vbal(self, s: PaxosVars) -> z3.BoolRef:
        return self.acc.forall(lambda a: s.max_bal[a] >= s.max_vbal[a])

    def inv_2b(self, s: PaxosVars) -> z3.BoolRef:
        return self._all_2b(s, lambda a, b, v: z3.And(s.max_vbal[a] >= b, s.sent2a[b, v]))

    def inv_1b_latest(self, s: PaxosVars) -> z3.BoolRef:
        def fn(a: Any, b: Any, mb: Any, mv: Any) -> z3.BoolRef:
            mb2, mv2 = fresh("mb", Int), fresh("mv", self.opt)
            d, w = fresh("d", Int), fresh("w", self.val.sort)
            return z3.And(
                mb < b, z3.Implies(mb == -1, mv == self.none),
                z3.ForAll([mb2, mv2], z3.Implies(s.sent1b[a, b, mb2, mv2],
                                                 z3.And(mb2 == mb, mv2 == mv))),
                z3.ForAll([d, w], z3.Implies(s.sent2b[a, d, w], z3.Or(d <= mb, d >= b))))
        return self._all_1b(s, fn)

    #: Conjunct names, in report order: properties/paxos.py INDUCTIVE, then the lemmas.
    INVARIANTS = ("type_ok", "inv_latest_vote", "inv_1b", "inv_2a_safe", "inv_2a_unique",
                  "votes_safe", "one_value_per_ballot", "max_bal_ge_max_vbal", "inv_2b",
                  "inv_1b_latest")

    def invariants(self, s: PaxosVars) -> list[Conjunct]:
        return [Conjunct(n, getattr(self, n)(s)) for n in self.INVARIANTS]

    # -- safety --------------------------------------------------------------

    def chosen(self, s: PaxosVars, v: Any) -> z3.BoolRef:
        b = fresh("b", Int)
        return z3.Exists([b], self.quorums.exists(
            lambda q: q.all(lambda a: s.sent2b[a, b, v])))

    def agreement(self, s: PaxosVars) -> z3.BoolRef:
        v, w = fresh("v", self.val.sort), fresh("w", self.val.sort)
        return z3.ForAll([v, w], z3.Implies(z3.And(self.chosen(s, v), self.chosen(s, w)),
                                            v == w))

    def validity(self, s: PaxosVars) -> z3.BoolRef:
        v, b = fresh("v", self.val.sort), fresh("b", Int)
        return z3.ForAll([v], z3.Implies(self.chosen(s, v), z3.Exists([b], s.sent2a[b, v])))

    def safety(self, s: PaxosVars) -> list[Conjunct]:
        return [Conjunct("agreement", self.agreement(s)),
                Conjunct("validity", self.validity(s))]

    # -- proof by cases --------------------------------------------------------

    #: The conjuncts each proof needs (with the action's guard), as in a paper proof.
    #: Left out of the query, the others only feed the solver's quantifier
    #: instantiation: with them, 5 acceptors took minutes and any number timed out.
    #: Not listed: the step's own conjunct and type_ok suffice.
    USES: ClassVar[dict[tuple[str | None, str], tuple[str, ...]]] = {
        ("Phase1b", "inv_1b"): ("inv_1b", "inv_latest_vote", "type_ok"),
        ("Phase1b", "inv_1b_latest"): ("inv_1b_latest", "inv_1b", "inv_latest_vote",
                                       "inv_2b", "max_bal_ge_max_vbal", "type_ok"),
        ("Phase2b", "votes_safe"): ("votes_safe", "inv_2a_safe", "one_value_per_ballot",
                                    "type_ok"),
        ("Phase2b", "one_value_per_ballot"): ("one_value_per_ballot", "inv_2b",
                                              "inv_2a_unique", "type_ok"),
        ("Phase2b", "inv_2b"): ("inv_2b", "max_bal_ge_max_vbal", "type_ok"),
        ("Phase2b", "inv_1b_latest"): ("inv_1b_latest", "inv_1b", "type_ok"),
        (None, "agreement"): ("votes_safe", "one_value_per_ballot", "type_ok"),
        (None, "validity"): ("inv_2b", "type_ok"),
    }

    def cases(self, label: str | None, conjunct: str, s: PaxosVars, t: PaxosVars | None,
              tag: str, goal: z3.BoolRef | None = None) -> list[Case] | None:
        """How to ask Z3: each step, and each safety property, from only the conjuncts
        its proof needs (``USES``); Phase2a => inv_2a_safe' by cases: the old 2a
        messages (the old conjunct), and the new one, whose ShowsSafeAt has as
        witnesses Phase2a's own quorum and highest reported vote (one case per quorum
        when quorums are enumerated). The prover falls back to the whole obligation
        when a case fails (a buggy variant), so this only decides how fast."""
        if self.max_ballot is not None:
            return None
        if label == "Phase2a" and conjunct == "inv_2a_safe" and t is not None \
                and self.own_phase2a:
            b, v = z3.Int(f"b@{tag}"), z3.Const(f"v@{tag}", self.val.sort)
            c = self.top_ballot(tag)
            b2, v2 = fresh("b", Int), fresh("v", self.val.sort)
            out = [Case("the old 2a messages", z3.BoolVal(True), z3.ForAll(
                [b2, v2], z3.Implies(s.sent2a[b2, v2], self.shows_safe_at(t, b2, v2))),
                ("inv_2a_safe",))]
            for q in self.quorums.branches(f"Q@{tag}"):
                out.append(Case(f"the new 2a message, quorum {q.describe()}",
                                self.shows_safe_with(s, b, v, q, c),
                                self.shows_safe_at_with(t, b, v, q, c),
                                ("inv_1b", "inv_1b_latest", "type_ok")))
            return out
        uses = self.USES.get((label, conjunct))
        if uses is None:
            if label is None:
                return None
            uses = (conjunct,) if conjunct == "type_ok" else (conjunct, "type_ok")
        return [Case("using " + ", ".join(uses), z3.BoolVal(True), None, uses)]

