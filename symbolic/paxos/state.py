"""Z3 encoding of Lamport's Paxos.tla (models/paxos.py): its state and actions.

State, with A the acceptors and V the values (both finite enumerations, or
uninterpreted sorts for proofs about any values / any number of acceptors),
ballots unbounded integers (-1 = none):

* ``max_bal``, ``max_vbal``: arrays A -> Int; ``max_val``: A -> ValOpt (None or a value);
* the message set, one relation per message type: ``sent1a[b]``,
  ``sent1b[a, b, mbal, mval]``, ``sent2a[b, v]``, ``sent2b[a, b, v]``
  (``votes[a]`` of Paxos.tla is ``sent2b[a, ., .]``).

Each action's relation states every variable of the next state (an explicit
frame). ``max_ballot`` bounds the ballots actions may start (the explicit spec's
``Ballot`` set); None (proofs) leaves them unbounded. The invariants and the
proof's case splits are in symbolic/paxos/invariant.py (``PaxosZ3``, a subclass).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import z3  # type: ignore[import-untyped]

from agree.models.paxos import M1a, M1b, M2a, M2b, PaxosState
from agree.symbolic.z3base import (
    Domain,
    Encoding,
    ModelReader,
    OptionSort,
    Quorums,
    QuorumView,
    fresh,
)

__all__ = ["PaxosActionsZ3", "PaxosVars"]

Int = z3.IntSort()


def _add(rel: Any, *index: Any) -> Any:
    """``rel \\cup {index}`` for a relation held as an array to Bool. A lambda rather
    than a Store: reading it gives the old relation's own terms, which the
    solver's quantifier instantiation can match."""
    xs = [fresh("x", rel.domain_n(i)) for i in range(len(index))]
    return z3.Lambda(xs, z3.Or(rel[tuple(xs)] if len(xs) > 1 else rel[xs[0]],
                               z3.And([x == i for x, i in zip(xs, index, strict=True)])))


class PaxosVars(NamedTuple):
    max_bal: Any
    max_vbal: Any
    max_val: Any
    sent1a: Any
    sent1b: Any
    sent2a: Any
    sent2b: Any


class PaxosActionsZ3(Encoding[PaxosState, PaxosVars]):
    """Paxos.tla's state and actions in Z3: ``acceptors``/``values`` None means
    uninterpreted sorts. The invariants are in ``PaxosZ3`` (symbolic/paxos/invariant.py)."""

    def __init__(self, acceptors: int | None = 3, values: int | None = None,
                 max_ballot: int | None = None, quorum_sort: bool = False) -> None:
        self.acc = Domain("Acceptor", acceptors, "a")
        self.val = Domain("Value", values, "v")
        self.quorums = Quorums(self.acc, as_sort=quorum_sort)
        self.max_ballot = max_ballot
        o = OptionSort("ValOpt", self.val)
        self.opt, self.none, self.some, self.is_some, self.the = (
            o.sort, o.none, o.some, o.is_some, o.the)
        self._option = o
        self.assumptions = (
            "ballots: unbounded integers" if max_ballot is None else f"ballots: 0..{max_ballot}",
            "values: any (uninterpreted sort)" if values is None else f"values: {values}",
            "acceptors: any number, quorums any sets that pairwise intersect"
            if acceptors is None else f"acceptors: {acceptors}, quorums the majorities",
        )

    # -- state ---------------------------------------------------------------

    def fresh_state(self, tag: str) -> PaxosVars:
        a, v, o = self.acc.sort, self.val.sort, self.opt
        return PaxosVars(
            z3.Array(f"max_bal@{tag}", a, Int),
            z3.Array(f"max_vbal@{tag}", a, Int),
            z3.Array(f"max_val@{tag}", a, o),
            z3.Array(f"sent1a@{tag}", Int, z3.BoolSort()),
            z3.Array(f"sent1b@{tag}", a, Int, Int, o, z3.BoolSort()),
            z3.Array(f"sent2a@{tag}", Int, v, z3.BoolSort()),
            z3.Array(f"sent2b@{tag}", a, Int, v, z3.BoolSort()),
        )

    def _empty(self, *sorts: z3.SortRef) -> Any:
        xs = [fresh("x", srt) for srt in sorts]
        return z3.Lambda(xs, z3.BoolVal(False))

    def init(self, s: PaxosVars) -> z3.BoolRef:
        a, v, o = self.acc.sort, self.val.sort, self.opt
        return z3.And(
            s.max_bal == z3.K(a, z3.IntVal(-1)),
            s.max_vbal == z3.K(a, z3.IntVal(-1)),
            s.max_val == z3.K(a, self.none),
            s.sent1a == z3.K(Int, z3.BoolVal(False)),
            s.sent1b == self._empty(a, Int, Int, o),
            s.sent2a == self._empty(Int, v),
            s.sent2b == self._empty(a, Int, v),
        )

    def add(self, rel: Any, *index: Any) -> Any:
        """``rel \\cup {index}``: a Store when ballots are bounded (quantifier-free
        unrolling, for BMC), else a lambda (for proofs)."""
        if self.max_ballot is not None:
            return z3.Store(rel, *index, True)
        return _add(rel, *index)

    def bal_forall(self, fn: Any, low: int = -1) -> z3.BoolRef:
        """For every ballot >= low: a conjunction when ballots are bounded (states of a
        bounded configuration only hold ballots in range), else a quantifier."""
        if self.max_ballot is not None:
            return z3.And([fn(z3.IntVal(x)) for x in range(low, self.max_ballot + 1)])
        x = fresh("b", Int)
        return z3.ForAll([x], z3.Implies(x >= low, fn(x)))

    def bal_exists(self, fn: Any, low: int = -1) -> z3.BoolRef:
        if self.max_ballot is not None:
            return z3.Or([fn(z3.IntVal(x)) for x in range(low, self.max_ballot + 1)])
        x = fresh("b", Int)
        return z3.Exists([x], z3.And(x >= low, fn(x)))

    def opt_all(self, fn: Any) -> z3.BoolRef:
        """For every ValOpt (None or a value)."""
        return z3.And(fn(self.none), self.val.forall(lambda v: fn(self.some(v))))

    def opt_any(self, fn: Any) -> z3.BoolRef:
        return z3.Or(fn(self.none), self.val.exists(lambda v: fn(self.some(v))))

    def _ballot(self, b: Any) -> z3.BoolRef:
        """b is in the spec's Ballot set."""
        if self.max_ballot is None:
            return b >= 0
        return z3.And(b >= 0, b <= self.max_ballot)

    # -- actions -------------------------------------------------------------

    def action_labels(self) -> tuple[str, ...]:
        return ("Phase1a", "Phase2a", "Phase1b", "Phase2b")

    def update(self, label: str, s: PaxosVars, tag: str) -> tuple[z3.BoolRef, PaxosVars]:
        fn = {"Phase1a": self.phase1a, "Phase2a": self.phase2a,
              "Phase1b": self.phase1b, "Phase2b": self.phase2b}[label]
        return fn(s, tag)

    def phase1a(self, s: PaxosVars, tag: str) -> tuple[z3.BoolRef, PaxosVars]:
        """Phase1a(b): send 1a(b); always enabled (resending is a stutter)."""
        b = z3.Int(f"b@{tag}")
        return self._ballot(b), s._replace(sent1a=self.add(s.sent1a, b))

    def phase1b(self, s: PaxosVars, tag: str) -> tuple[z3.BoolRef, PaxosVars]:
        """Phase1b(a, m): a receives 1a(b) with b > max_bal[a], joins b, reports its vote."""
        a, b = z3.Const(f"a@{tag}", self.acc.sort), z3.Int(f"b@{tag}")
        return z3.And(s.sent1a[b], b > s.max_bal[a]), s._replace(
            max_bal=z3.Store(s.max_bal, a, b),
            sent1b=self.add(s.sent1b, a, b, s.max_vbal[a], s.max_val[a]))

    def shows_safe(self, s: PaxosVars, b: Any, v: Any, tag: str = "") -> z3.BoolRef:
        """Phase2a's heart: 1b messages of ballot b from a quorum Q, none reporting a
        vote, or the highest reported vote is for v. (Two equivalent forms: with
        quantifiers for proofs, unfolded over the ballots for bounded BMC.)"""
        if self.max_ballot is None:
            return z3.Or([self.shows_safe_with(s, b, v, q, self.top_ballot(tag))
                          for q in self.quorums.branches(f"Q@{tag}")])

        def sent(a: Any) -> z3.BoolRef:
            return self.bal_exists(lambda mb: self.opt_any(lambda mv: s.sent1b[a, b, mb, mv]))

        def voted_below(a: Any, top: Any) -> z3.BoolRef:
            # a reported a vote in a ballot above top
            return self.bal_exists(lambda mb: z3.And(mb > top, self.opt_any(
                lambda mv: s.sent1b[a, b, mb, mv])), low=0)

        def top_is_v(q: Any) -> z3.BoolRef:
            return q.any(lambda a: self.bal_exists(lambda mb: z3.And(
                s.sent1b[a, b, mb, self.some(v)],
                q.all(lambda a2: z3.Not(voted_below(a2, mb)))), low=0))

        return self.quorums.exists(lambda q: z3.And(
            q.all(sent), z3.Or(q.all(lambda a: z3.Not(voted_below(a, z3.IntVal(-1)))),
                               top_is_v(q))))

    @staticmethod
    def top_ballot(tag: str) -> Any:
        """Phase2a's parameter c: the highest vote the quorum reported (-1: none)."""
        return z3.Int(f"c@{tag}")

    def shows_safe_with(self, s: PaxosVars, b: Any, v: Any, q: QuorumView,
                        c: Any) -> z3.BoolRef:
        """Phase2a's condition for the quorum q and the highest reported vote c, both
        action parameters (existential, like b and v): every member of q sent a 1b
        for b, each reporting a vote at most c, and c is -1 (no vote reported) or a
        member reported a vote for v at c. The same as Paxos.tla's "none voted, or
        the highest vote is for v", with the highest vote named, so that a proof can
        use it as the witness of ShowsSafeAt's ballot."""
        o = self.opt

        def reports(a: Any) -> z3.BoolRef:
            mb, mv = fresh("mb", Int), fresh("mv", o)
            return z3.Exists([mb, mv], s.sent1b[a, b, mb, mv])

        def at_most_c(a: Any) -> z3.BoolRef:
            mb, mv = fresh("mb", Int), fresh("mv", o)
            return z3.ForAll([mb, mv], z3.Implies(s.sent1b[a, b, mb, mv], mb <= c))

        return z3.And(c >= -1, q.all(reports), q.all(at_most_c),
                      z3.Or(c == -1, q.any(lambda a: s.sent1b[a, b, c, self.some(v)])))

    #: Whether Phase2a is this class's (so ``cases`` may name its witnesses).
    own_phase2a = True

    def phase2a(self, s: PaxosVars, tag: str) -> tuple[z3.BoolRef, PaxosVars]:
        """Phase2a(b, v): no 2a for b yet, and a quorum's 1b messages show v safe."""
        b, v = z3.Int(f"b@{tag}"), z3.Const(f"v@{tag}", self.val.sort)
        guard = z3.And(self._ballot(b), self.val.forall(lambda w: z3.Not(s.sent2a[b, w])),
                       self.shows_safe(s, b, v, tag))
        return guard, s._replace(sent2a=self.add(s.sent2a, b, v))

    def phase2b(self, s: PaxosVars, tag: str) -> tuple[z3.BoolRef, PaxosVars]:
        """Phase2b(a, m): a receives 2a(b, v) with b >= max_bal[a] and votes for v in b."""
        a, b = z3.Const(f"a@{tag}", self.acc.sort), z3.Int(f"b@{tag}")
        v = z3.Const(f"v@{tag}", self.val.sort)
        return z3.And(s.sent2a[b, v], b >= s.max_bal[a]), PaxosVars(
            max_bal=z3.Store(s.max_bal, a, b),
            max_vbal=z3.Store(s.max_vbal, a, b),
            max_val=z3.Store(s.max_val, a, self.some(v)),
            sent1a=s.sent1a, sent1b=s.sent1b, sent2a=s.sent2a,
            sent2b=self.add(s.sent2b, a, b, v))

    def axioms(self) -> list[z3.BoolRef]:
        return self.quorums.axioms()

    def shrink(self, params: dict[str, Any], states: list[PaxosState],
               ) -> tuple[dict[str, Any], list[PaxosState]]:
        """Keep only the values the states use (a model of an uninterpreted sort often
        has many more), renumbered in order: a smaller explicit configuration in
        which to search for the pre-state."""
        used: set[int] = set()
        for st in states:
            used.update(v for v in st.max_val if v is not None)
            for m in st.msgs:
                if isinstance(m, M1b) and m.mval is not None:
                    used.add(m.mval)
                elif isinstance(m, M2a | M2b):
                    used.add(m.val)
        new = {v: i for i, v in enumerate(sorted(used))}

        def opt(v: int | None) -> int | None:
            return None if v is None else new[v]

        def msg(m: Any) -> Any:
            if isinstance(m, M1b):
                return m._replace(mval=opt(m.mval))
            if isinstance(m, M2a | M2b):
                return m._replace(val=new[m.val])
            return m
        out = [st._replace(max_val=tuple(opt(v) for v in st.max_val),
                           msgs=frozenset(msg(m) for m in st.msgs)) for st in states]
        return {**params, "values": max(1, len(used))}, out

    # -- explicit states -----------------------------------------------------

    def _opt(self, v: int | None) -> Any:
        assert self.val.elements is not None
        return self.none if v is None else self.some(self.val.elements[v])

    def concrete(self, state: PaxosState) -> PaxosVars:
        acc, vals = self.acc.elements, self.val.elements
        if acc is None or vals is None:
            raise ValueError("concrete states need finite acceptors and values")
        a, v, o = self.acc.sort, self.val.sort, self.opt

        def per_acc(default: Any, xs: tuple[Any, ...], conv: Any) -> Any:
            arr = z3.K(a, default)
            for i, x in enumerate(xs):
                arr = z3.Store(arr, acc[i], conv(x))
            return arr

        s1a: Any = z3.K(Int, z3.BoolVal(False))
        s1b, s2a, s2b = self._empty(a, Int, Int, o), self._empty(Int, v), self._empty(a, Int, v)
        for m in sorted(state.msgs, key=lambda m: (m.type, tuple(m))):
            if isinstance(m, M1a):
                s1a = z3.Store(s1a, m.bal, True)
            elif isinstance(m, M1b):
                s1b = z3.Store(s1b, acc[m.acc], m.bal, m.mbal, self._opt(m.mval), True)
            elif isinstance(m, M2a):
                s2a = z3.Store(s2a, m.bal, vals[m.val], True)
            elif isinstance(m, M2b):
                s2b = z3.Store(s2b, acc[m.acc], m.bal, vals[m.val], True)
        return PaxosVars(per_acc(z3.IntVal(-1), state.max_bal, z3.IntVal),
                         per_acc(z3.IntVal(-1), state.max_vbal, z3.IntVal),
                         per_acc(self.none, state.max_val, self._opt), s1a, s1b, s2a, s2b)

    def bounded(self, s: PaxosVars, bound: int) -> z3.BoolRef:
        def ok(x: Any, low: int) -> z3.BoolRef:
            return z3.And(x >= low, x <= bound)
        b, mb, mv = fresh("b", Int), fresh("mb", Int), fresh("mv", self.opt)
        v = fresh("v", self.val.sort)
        return z3.And(
            self.acc.forall(lambda a: z3.And(ok(s.max_bal[a], -1), ok(s.max_vbal[a], -1))),
            z3.ForAll([b], z3.Implies(s.sent1a[b], ok(b, 0))),
            self.acc.forall(lambda a: z3.ForAll([b, mb, mv], z3.Implies(
                s.sent1b[a, b, mb, mv], z3.And(ok(b, 0), ok(mb, -1))))),
            z3.ForAll([b, v], z3.Implies(s.sent2a[b, v], ok(b, 0))),
            self.acc.forall(lambda a: z3.ForAll([b, v], z3.Implies(s.sent2b[a, b, v],
                                                                  ok(b, 0)))))

    def decode(self, model: z3.ModelRef, s: PaxosVars, bound: int) -> PaxosState:
        accs = self.acc.universe(model)
        vals = self.val.universe(model)

        read = ModelReader(model)
        true, intval = read.true, read.integer

        def optval(x: Any) -> int | None:
            return read.option(self._option, x)

        bals = range(bound + 1)
        opts = [self.none, *(self.some(e) for e in vals)]
        msgs: set[Any] = set()
        for b in bals:
            if true(s.sent1a[b]):
                msgs.add(M1a(b))
            for j, e in enumerate(vals):
                if true(s.sent2a[b, e]):
                    msgs.add(M2a(b, j))
            for i, a in enumerate(accs):
                for j, e in enumerate(vals):
                    if true(s.sent2b[a, b, e]):
                        msgs.add(M2b(i, b, j))
                for mb in range(-1, bound + 1):
                    for k, o in enumerate(opts):
                        if true(s.sent1b[a, b, mb, o]):
                            msgs.add(M1b(i, b, mb, None if k == 0 else k - 1))
        return PaxosState(tuple(intval(s.max_bal[a]) for a in accs),
                          tuple(intval(s.max_vbal[a]) for a in accs),
                          tuple(optval(s.max_val[a]) for a in accs), frozenset(msgs))

    def explicit_params(self, model: z3.ModelRef, bound: int) -> dict[str, Any]:
        return {"acceptors": len(self.acc.universe(model)),
                "values": max(1, len(self.val.universe(model))), "max_ballot": max(bound, 0)}
