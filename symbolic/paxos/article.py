"""Z3 encoding of the article's Paxos (models/paxos_article.py ``ArticlePaxos``), for
bounded model checking: a finite configuration (acceptors, values, ids 0..max_ballot),
so every quantifier unfolds into a conjunction or disjunction.

State: ``highest_id``, ``accepted_n``: A -> Int (-1: none); ``accepted_val``: A -> ValOpt;
one relation per message type: ``prepare[n]``, ``promise[a, n]``,
``promise_acc[a, n, accepted_n, accepted_val]``, ``failure[a, n]``, ``propose[n, v]``,
``accepted[a, n, v]``. Each action states every variable of the next state.
There is no inductive invariant (the protocol is unsafe): ``agree prove`` refuses it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import z3  # type: ignore[import-untyped]

from agree.models.paxos_article import (
    Accepted,
    ArticleState,
    Failure,
    Prepare,
    Promise,
    PromiseAccepted,
    Propose,
)
from agree.symbolic.z3base import (
    Conjunct,
    Domain,
    Encoding,
    ModelReader,
    OptionSort,
    Quorums,
    uid,
)

__all__ = ["ArticleVars", "ArticleZ3"]

Int, Bool = z3.IntSort(), z3.BoolSort()


class ArticleVars(NamedTuple):
    highest_id: Any
    accepted_n: Any
    accepted_val: Any
    prepare: Any
    promise: Any
    promise_acc: Any
    failure: Any
    propose: Any
    accepted: Any


class ArticleZ3(Encoding[ArticleState, ArticleVars]):
    """The article's Paxos for ``acceptors`` acceptors, ``values`` values, ids 0..max_ballot."""

    spec_name = "paxos-article"

    def __init__(self, acceptors: int, values: int, max_ballot: int) -> None:
        self.acc = Domain("Acceptor", acceptors, "a")
        self.val = Domain("Value", values, "v")
        self.quorums = Quorums(self.acc)
        self.max_ballot = max_ballot
        o = OptionSort("ArtValOpt", self.val)
        self.opt, self.none, self.some, self.is_some, self.the = (
            o.sort, o.none, o.some, o.is_some, o.the)
        self._option = o
        self.assumptions = (f"ids: 0..{max_ballot}", f"values: {values}",
                            f"acceptors: {acceptors}, quorums the majorities")

    @property
    def _accs(self) -> list[Any]:
        assert self.acc.elements is not None
        return self.acc.elements

    @property
    def _vals(self) -> list[Any]:
        assert self.val.elements is not None
        return self.val.elements

    def _ids(self, low: int = 0) -> list[int]:
        return list(range(low, self.max_ballot + 1))

    def fresh_state(self, tag: str) -> ArticleVars:
        a, v, o = self.acc.sort, self.val.sort, self.opt
        return ArticleVars(
            z3.Array(f"highest_id@{tag}", a, Int), z3.Array(f"accepted_n@{tag}", a, Int),
            z3.Array(f"accepted_val@{tag}", a, o), z3.Array(f"prepare@{tag}", Int, Bool),
            z3.Array(f"promise@{tag}", a, Int, Bool),
            z3.Array(f"promise_acc@{tag}", a, Int, Int, v, Bool),
            z3.Array(f"failure@{tag}", a, Int, Bool), z3.Array(f"propose@{tag}", Int, v, Bool),
            z3.Array(f"accepted@{tag}", a, Int, v, Bool))

    def _empty(self, *sorts: Any) -> Any:
        return z3.K(sorts[0], z3.BoolVal(False)) if len(sorts) == 1 else \
            z3.Lambda([z3.Const(f"x{i}!{uid()}", srt) for i, srt in enumerate(sorts)],
                      z3.BoolVal(False))

    def init(self, s: ArticleVars) -> z3.BoolRef:
        a, v = self.acc.sort, self.val.sort
        return z3.And(
            s.highest_id == z3.K(a, z3.IntVal(-1)), s.accepted_n == z3.K(a, z3.IntVal(-1)),
            s.accepted_val == z3.K(a, self.none), s.prepare == self._empty(Int),
            s.promise == self._empty(a, Int), s.promise_acc == self._empty(a, Int, Int, v),
            s.failure == self._empty(a, Int), s.propose == self._empty(Int, v),
            s.accepted == self._empty(a, Int, v))

    def action_labels(self) -> tuple[str, ...]:
        return ("Prepare", "ReceivePrepare", "Propose", "ReceivePropose")

    def update(self, label: str, s: ArticleVars, tag: str) -> tuple[z3.BoolRef, ArticleVars]:
        a = z3.Const(f"a@{tag}", self.acc.sort)
        n, v = z3.Int(f"n@{tag}"), z3.Const(f"v@{tag}", self.val.sort)
        in_ids = z3.And(n >= 0, n <= self.max_ballot)
        if label == "Prepare":
            return in_ids, s._replace(prepare=z3.Store(s.prepare, n, True))
        if label == "ReceivePrepare":
            # a bigger id: record it, bare Promise(); else report an accepted
            # proposal if any, else a failure
            big = n > s.highest_id[a]
            has = z3.And(z3.Not(big), s.accepted_n[a] >= 0, self.is_some(s.accepted_val[a]))
            return s.prepare[n], s._replace(
                highest_id=z3.If(big, z3.Store(s.highest_id, a, n), s.highest_id),
                promise=z3.If(big, z3.Store(s.promise, a, n, True), s.promise),
                promise_acc=z3.If(has, z3.Store(s.promise_acc, a, n, s.accepted_n[a],
                                                self.the(s.accepted_val[a]), True),
                                  s.promise_acc),
                failure=z3.If(z3.And(z3.Not(big), z3.Not(has)),
                              z3.Store(s.failure, a, n, True), s.failure))
        if label == "Propose":
            fresh_id = z3.And([z3.Not(s.propose[n, w]) for w in self._vals])
            return z3.And(in_ids, fresh_id, self._may_propose(s, n, v)), s._replace(
                propose=z3.Store(s.propose, n, v, True))
        if label == "ReceivePropose":
            return z3.And(s.propose[n, v], n >= s.highest_id[a]), s._replace(
                highest_id=z3.Store(s.highest_id, a, n),
                accepted_n=z3.Store(s.accepted_n, a, n),
                accepted_val=z3.Store(s.accepted_val, a, self.some(v)),
                accepted=z3.Store(s.accepted, a, n, v, True))
        raise KeyError(label)

    def _may_propose(self, s: ArticleVars, n: Any, v: Any) -> z3.BoolRef:
        """A majority promised n (either kind of Promise); none reported an accepted
        proposal, or v is the value of one with the highest reported id."""
        def promised(a: Any) -> z3.BoolRef:
            return z3.Or(s.promise[a, n], *(s.promise_acc[a, n, t, w]
                                            for t in self._ids() for w in self._vals))

        def reported_above(a: Any, low: int) -> z3.BoolRef:
            return z3.Or([s.promise_acc[a, n, t, w] for t in self._ids(low)
                          for w in self._vals])

        def body(q: Any) -> z3.BoolRef:
            def top_at(a: Any, t: int) -> z3.BoolRef:
                # a reported (t, v), and no member reported an id above t
                return z3.And(s.promise_acc[a, n, t, v],
                              q.all(lambda a2: z3.Not(reported_above(a2, t + 1))))
            top_is_v = q.any(lambda a: z3.Or([top_at(a, t) for t in self._ids()]))
            return z3.And(q.all(promised),
                          z3.Or(q.all(lambda a: z3.Not(reported_above(a, 0))), top_is_v))
        return self.quorums.exists(body)

    def invariants(self, s: ArticleVars) -> list[Conjunct]:
        return []

    def chosen(self, s: ArticleVars, v: Any) -> z3.BoolRef:
        def at(n: int) -> z3.BoolRef:
            return self.quorums.exists(lambda q: q.all(lambda a: s.accepted[a, n, v]))
        return z3.Or([at(n) for n in self._ids()])

    def safety(self, s: ArticleVars) -> list[Conjunct]:
        vals = self._vals
        agreement = z3.And([z3.Not(z3.And(self.chosen(s, v), self.chosen(s, w)))
                            for i, v in enumerate(vals) for w in vals[i + 1:]])
        validity = z3.And([z3.Implies(self.chosen(s, v),
                                      z3.Or([s.propose[n, v] for n in self._ids()]))
                           for v in vals])
        return [Conjunct("agreement", agreement), Conjunct("validity", validity)]

    def bounded(self, s: ArticleVars, bound: int) -> z3.BoolRef:
        return z3.BoolVal(True)  # every state of the configuration is bounded

    def concrete(self, state: ArticleState) -> ArticleVars:
        accs, vals = self._accs, self._vals

        def per_acc(default: Any, xs: tuple[Any, ...], conv: Any) -> Any:
            arr = z3.K(self.acc.sort, default)
            for i, x in enumerate(xs):
                arr = z3.Store(arr, accs[i], conv(x))
            return arr

        def opt(x: int | None) -> Any:
            return self.none if x is None else self.some(vals[x])

        rel = {f: self._empty(*sorts) for f, sorts in (
            ("prepare", (Int,)), ("promise", (self.acc.sort, Int)),
            ("promise_acc", (self.acc.sort, Int, Int, self.val.sort)),
            ("failure", (self.acc.sort, Int)), ("propose", (Int, self.val.sort)),
            ("accepted", (self.acc.sort, Int, self.val.sort)))}
        for m in sorted(state.msgs, key=lambda m: (m.type, tuple(m))):
            if isinstance(m, Prepare):
                rel["prepare"] = z3.Store(rel["prepare"], m.n, True)
            elif isinstance(m, Promise):
                rel["promise"] = z3.Store(rel["promise"], accs[m.acc], m.n, True)
            elif isinstance(m, PromiseAccepted):
                rel["promise_acc"] = z3.Store(rel["promise_acc"], accs[m.acc], m.n,
                                              m.accepted_n, vals[m.accepted_val], True)
            elif isinstance(m, Failure):
                rel["failure"] = z3.Store(rel["failure"], accs[m.acc], m.n, True)
            elif isinstance(m, Propose):
                rel["propose"] = z3.Store(rel["propose"], m.n, vals[m.val], True)
            elif isinstance(m, Accepted):
                rel["accepted"] = z3.Store(rel["accepted"], accs[m.acc], m.n, vals[m.val],
                                           True)
        return ArticleVars(per_acc(z3.IntVal(-1), state.highest_id, z3.IntVal),
                           per_acc(z3.IntVal(-1), state.accepted_n, z3.IntVal),
                           per_acc(self.none, state.accepted_val, opt), **rel)

    def decode(self, model: z3.ModelRef, s: ArticleVars, bound: int) -> ArticleState:
        accs, vals = self._accs, self._vals

        read = ModelReader(model)
        true, intval = read.true, read.integer

        def optval(x: Any) -> int | None:
            return read.option(self._option, x)

        msgs: set[Any] = set()
        for n in self._ids():
            if true(s.prepare[n]):
                msgs.add(Prepare(n))
            for j, v in enumerate(vals):
                if true(s.propose[n, v]):
                    msgs.add(Propose(n, j))
            for i, a in enumerate(accs):
                if true(s.promise[a, n]):
                    msgs.add(Promise(i, n))
                if true(s.failure[a, n]):
                    msgs.add(Failure(i, n))
                for j, v in enumerate(vals):
                    if true(s.accepted[a, n, v]):
                        msgs.add(Accepted(i, n, j))
                    for t in self._ids():
                        if true(s.promise_acc[a, n, t, v]):
                            msgs.add(PromiseAccepted(i, n, t, j))
        return ArticleState(tuple(intval(s.highest_id[a]) for a in accs),
                            tuple(intval(s.accepted_n[a]) for a in accs),
                            tuple(optval(s.accepted_val[a]) for a in accs), frozenset(msgs))

    def explicit_params(self, model: z3.ModelRef, bound: int) -> dict[str, Any]:
        return {"acceptors": len(self._accs), "values": len(self._vals),
                "max_ballot": self.max_ballot}
