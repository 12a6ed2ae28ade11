"""Finite, quantifier-free Z3 encodings for bounded model checking.

A configuration of a message-set protocol (Paxos.tla style) is finite once its
acceptors, values and ballots are: every state variable is then a small
integer (a bit-vector holding ``x - low``; None is encoded as -1) and the
message set is one Bool per message of the finite universe. Actions are
unfolded over their concrete parameters: each is a guard and its effects (the
variables it sets, the messages it sends, each possibly under a condition),
all plain formulas over the old state's terms.

Next is a selector ``pick`` (a bit-vector numbering the concrete actions) and,
per variable, one frame: the new value is the picked action's update, or the
old value; a message is sent if it was, or if the picked action sends it. A
``pick`` past the last action picks none: the state stutters, which is how
:meth:`FiniteEncoding.next_or_stutter` lets one query cover every depth up to K.
No arrays, no quantifiers: the solver sees a propositional problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import z3  # type: ignore[import-untyped]

from agree.symbolic.z3base import Conjunct, Encoding

__all__ = ["Act", "FinState", "FiniteEncoding", "Key", "conj"]

S = TypeVar("S")

#: A scalar variable: (name, index), e.g. ("max_bal", 0) for acceptor a1's maxBal.
Key = tuple[str, int]


def _width(n: int) -> int:
    """Bits to hold 0..n-1 (at least 1)."""
    return max(1, (n - 1).bit_length())


def conj(xs: Sequence[Any]) -> Any:
    """``z3.And`` of many Bool terms in one call (the Python API casts each argument,
    which costs more than the solver when a test asks thousands of small queries)."""
    if not xs:
        return z3.BoolVal(True)
    ctx = xs[0].ctx
    arr = (z3.Ast * len(xs))(*(x.as_ast() for x in xs))
    return z3.BoolRef(z3.Z3_mk_and(ctx.ref(), len(xs), arr), ctx)


@dataclass(frozen=True)
class FinState:
    """One state's terms: each scalar a bit-vector, each possible message a Bool."""

    scalars: dict[Key, Any]
    msgs: dict[Any, Any]
    #: Literals made once: ``(key, x)`` -> ``scalar = x``, message -> its negation.
    literals: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class Act:
    """One concrete action: its label and parameters (for reports), its guard, and
    its effects on the old state's terms: ``sets`` new scalar values (encoded
    bit-vector terms, see :meth:`FiniteEncoding.const`), ``sends`` the messages it
    adds, each under a condition (True: always)."""

    label: str
    args: tuple[Any, ...]
    guard: Any
    sets: dict[Key, Any] = field(default_factory=dict)
    sends: dict[Any, Any] = field(default_factory=dict)


class FiniteEncoding(Encoding[S, FinState], Generic[S]):
    """The ``Encoding`` interface symbolic/bmc.py uses, for a finite configuration.

    A subclass gives ``domains`` (each scalar name's range), ``keys`` (the scalar
    variables), ``universe`` (every message, in a fixed order), ``split``/``build``
    (an explicit state to and from its scalars and message set), ``initial`` (the
    explicit initial state), ``acts`` (the concrete actions over a state's terms)
    and ``safety``.
    """

    #: Scalar name -> (low, high): the values it can hold (None is encoded as -1);
    #: set by the subclass's __init__.
    domains: dict[str, tuple[int, int]]

    # -- what a subclass gives -------------------------------------------------

    def keys(self) -> list[Key]:
        raise NotImplementedError

    def universe(self) -> list[Any]:
        raise NotImplementedError

    def split(self, state: S) -> tuple[dict[Key, int], frozenset[Any]]:
        """An explicit state's scalars (None as -1) and message set."""
        raise NotImplementedError

    def build(self, scalars: dict[Key, int], msgs: frozenset[Any]) -> S:
        raise NotImplementedError

    def initial(self) -> S:
        raise NotImplementedError

    def acts(self, s: FinState) -> list[Act]:
        raise NotImplementedError

    # -- terms -----------------------------------------------------------------

    def width(self, name: str) -> int:
        low, high = self.domains[name]
        return _width(high - low + 1)

    def const(self, name: str, x: int | None) -> Any:
        """The encoded constant of value x (None: -1) of scalar ``name``."""
        low, _ = self.domains[name]
        return z3.BitVecVal((-1 if x is None else x) - low, self.width(name))

    def is_(self, s: FinState, key: Key, x: int | None) -> Any:
        """``s[key] = x``."""
        return s.scalars[key] == self.const(key[0], x)

    def gt(self, s: FinState, key: Key, x: int) -> Any:
        """``s[key] > x``; encoded values keep the order (unsigned)."""
        return z3.UGT(s.scalars[key], self.const(key[0], x))

    def ge(self, s: FinState, key: Key, x: int) -> Any:
        return z3.UGE(s.scalars[key], self.const(key[0], x))

    def lt(self, s: FinState, key: Key, x: int) -> Any:
        return z3.ULT(s.scalars[key], self.const(key[0], x))

    def values_of(self, name: str) -> range:
        low, high = self.domains[name]
        return range(low, high + 1)

    # -- the Encoding interface --------------------------------------------------

    def fresh_state(self, tag: str) -> FinState:
        scalars = {k: z3.BitVec(f"{k[0]}[{k[1]}]@{tag}", self.width(k[0]))
                   for k in self.keys()}
        msgs = {m: z3.Bool(f"{m}@{tag}") for m in self.universe()}
        return FinState(scalars, msgs)

    def equal(self, s: FinState, t: FinState) -> z3.BoolRef:
        return z3.And([*(s.scalars[k] == t.scalars[k] for k in self.keys()),
                       *(s.msgs[m] == t.msgs[m] for m in self.universe())])

    def holds(self, s: FinState, state: S) -> z3.BoolRef:
        """The terms s are the explicit state ``state`` (a conjunction of literals)."""
        return conj(self.state_literals(s, state))

    def state_literals(self, s: FinState, state: S) -> list[Any]:
        """The literals that say the terms s are ``state`` (e.g. assumptions)."""
        scalars, msgs = self.split(state)
        lits = s.literals
        out = []
        for k in self.keys():
            key = (k, scalars[k])
            if key not in lits:
                lits[key] = self.is_(s, k, scalars[k])
            out.append(lits[key])
        for m in self.universe():
            if m in msgs:
                out.append(s.msgs[m])
            else:
                if m not in lits:
                    lits[m] = z3.Not(s.msgs[m])
                out.append(lits[m])
        return out

    def init(self, s: FinState) -> z3.BoolRef:
        return self.holds(s, self.initial())

    def action_labels(self) -> tuple[str, ...]:
        probe = self.fresh_state("labels")
        return tuple(dict.fromkeys(a.label for a in self.acts(probe)))

    def transition(self, s: FinState, t: FinState, tag: str, stutter: bool) -> z3.BoolRef:
        """Next (``stutter``: or the unchanged state) as a selector and per-variable
        frames: every variable of t is the picked action's update or the old value."""
        acts = self.acts(s)
        pick = z3.BitVec(f"pick@{tag}", _width(len(acts) + 1))
        chosen = [pick == i for i in range(len(acts))]
        parts: list[Any] = [z3.Implies(c, a.guard) for c, a in zip(chosen, acts, strict=True)]
        if not stutter:
            parts.append(z3.ULT(pick, len(acts)))
        for k in self.keys():
            new = s.scalars[k]
            for c, a in zip(chosen, acts, strict=True):
                if k in a.sets:
                    new = z3.If(c, a.sets[k], new)
            parts.append(t.scalars[k] == new)
        for m in self.universe():
            senders = [z3.And(c, a.sends[m]) for c, a in zip(chosen, acts, strict=True)
                       if m in a.sends]
            parts.append(t.msgs[m] == z3.Or(s.msgs[m], *senders))
        return z3.And(parts)

    def next(self, s: FinState, t: FinState, tag: str) -> z3.BoolRef:
        return self.transition(s, t, tag, stutter=False)

    def next_or_stutter(self, s: FinState, t: FinState, tag: str) -> z3.BoolRef:
        return self.transition(s, t, tag, stutter=True)

    def step(self, label: str, s: FinState, t: FinState, tag: str) -> z3.BoolRef:
        """The actions labelled ``label`` only (for tests of one action)."""
        acts = [a for a in self.acts(s) if a.label == label]
        if not acts:
            raise KeyError(label)
        return z3.Or([z3.And(a.guard, self.equal(t, self.apply(s, a))) for a in acts])

    def apply(self, s: FinState, a: Act) -> FinState:
        """The state terms after ``a`` (its guard aside)."""
        scalars = {k: a.sets.get(k, s.scalars[k]) for k in self.keys()}
        msgs = {m: z3.Or(s.msgs[m], a.sends[m]) if m in a.sends else s.msgs[m]
                for m in self.universe()}
        return FinState(scalars, msgs)

    def invariants(self, s: FinState) -> list[Conjunct]:
        return []  # BMC only: no inductive invariant here

    def bounded(self, s: FinState, bound: int) -> z3.BoolRef:
        return z3.BoolVal(True)  # every state of the configuration is finite

    def decode(self, model: z3.ModelRef, s: FinState, bound: int) -> S:
        scalars: dict[Key, int] = {}
        for k in self.keys():
            low, _ = self.domains[k[0]]
            scalars[k] = model.eval(s.scalars[k], model_completion=True).as_long() + low
        msgs = frozenset(m for m in self.universe()
                         if z3.is_true(model.eval(s.msgs[m], model_completion=True)))
        return self.build(scalars, msgs)

    # -- helpers for subclasses ----------------------------------------------------

    @staticmethod
    def any_of(xs: Iterable[Any]) -> Any:
        return z3.Or(list(xs))

    @staticmethod
    def all_of(xs: Iterable[Any]) -> Any:
        return z3.And(list(xs))

    @staticmethod
    def opt(x: int) -> int | None:
        """A decoded option: -1 is None."""
        return None if x == -1 else x

    @staticmethod
    def indexed(name: str, xs: Sequence[int | None]) -> dict[Key, int]:
        return {(name, i): (-1 if x is None else x) for i, x in enumerate(xs)}
