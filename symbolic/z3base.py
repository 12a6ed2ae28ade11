"""Shared pieces of the Z3 encodings: pinned solver settings, named conjuncts,
quantifier helpers over finite or uninterpreted domains, and the encoding interface
the prover and the bounded model checker work against.

An encoding mirrors one explicit spec: its state as Z3 terms (a NamedTuple of
arrays, one field per state variable), one transition relation per action with
an explicit frame (every variable either updated or equal to its old value),
and the invariants as named conjuncts with the same names as their Python twins.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Generic, TypeVar

import z3  # type: ignore[import-untyped]

__all__ = [
    "SEED",
    "Z3_PINNED",
    "Case",
    "Conjunct",
    "Domain",
    "Encoding",
    "ModelReader",
    "OptionSort",
    "Quorums",
    "at",
    "fact",
    "fresh",
    "instances",
    "parts",
    "solver",
    "solver_for",
    "z3_version",
]

#: The random seed every solver is created with (printed with every verdict).
SEED = 0
#: The Z3 version the proofs and timings were made with (a test checks it is the one
#: installed; pyproject pins it).
Z3_PINNED = "5.4.1.0"

S = TypeVar("S")
V = TypeVar("V")

_ids = itertools.count()


def z3_version() -> str:
    """The Z3 version in use (the pinned one is checked by the tests)."""
    return str(z3.get_full_version())


def solver(timeout: float | None = None) -> z3.Solver:
    """A fresh solver with the pinned seeds and an optional timeout in seconds."""
    z3.set_param("smt.random_seed", SEED)
    z3.set_param("sat.random_seed", SEED)
    s = z3.Solver()
    s.set("random_seed", SEED)
    if timeout is not None:
        s.set("timeout", max(1, int(timeout * 1000)))
    return s


def solver_for(logic: str) -> z3.Solver:
    """A solver for one logic (e.g. "QF_BV" for a bit-vector BMC encoding), with the
    pinned seeds."""
    solver(None)  # sets the global seeds
    s = z3.SolverFor(logic)
    s.set("random_seed", SEED)
    return s


def fresh(name: str, sort: z3.SortRef) -> Any:
    """A Z3 constant with a name no other call returns (bound variables, parameters)."""
    return z3.Const(f"{name}!{next(_ids)}", sort)


def parts(goal: z3.BoolRef) -> list[z3.BoolRef]:
    """The goal's top-level conjuncts, nested conjunctions flattened."""
    if z3.is_and(goal):
        return [x for c in goal.children() for x in parts(c)]
    return [goal]


def instances(goal: z3.BoolRef) -> list[tuple[z3.BoolRef, list[Any]]]:
    """The goal's top-level conjuncts (nested conjunctions flattened), each with its
    outermost universal quantifier replaced by constants: (instance, constants). The
    constants are named after the bound variables (which ``fresh`` made unique), so
    two calls on one goal give the same instances. Proving an instance from facts
    that do not mention its constants proves the quantified conjunct: the prover
    splits a hard obligation into such parts (``Encoding.cases``)."""
    out: list[tuple[z3.BoolRef, list[Any]]] = []
    for p in parts(goal):
        if not (z3.is_quantifier(p) and p.is_forall()):
            out.append((p, []))
            continue
        consts = [z3.Const(f"sk.{p.var_name(k)}", p.var_sort(k)) for k in range(p.num_vars())]
        # De Bruijn: variable 0 is the last one bound.
        out.append((z3.substitute_vars(p.body(), *reversed(consts)), consts))
    return out


def uid() -> int:
    """A number to keep sort names of different encodings apart."""
    return next(_ids)


@dataclass(frozen=True)
class Conjunct:
    """One named part of an invariant (named like its Python twin)."""

    name: str
    formula: z3.BoolRef


@dataclass(frozen=True)
class Case:
    """One case of an obligation proved by cases: under the axioms, the action's
    guard, the invariant conjuncts ``uses`` and ``assume``, ``goal`` holds. The
    prover also checks that the cases together imply the obligation's own goal,
    so a wrong split cannot prove anything."""

    name: str
    assume: z3.BoolRef
    #: None: the obligation's own goal.
    goal: z3.BoolRef | None
    #: The invariant conjuncts (names) the case may assume; None: all of them.
    uses: tuple[str, ...] | None = None
    #: A step of the proof rather than a case: once proved, its goal is a fact
    #: the later cases and the glue may use (a lemma of the pre-state, say).
    fact: bool = False


def fact(name: str, goal: z3.BoolRef, uses: tuple[str, ...] | None,
         assume: z3.BoolRef | None = None) -> Case:
    """A step of a split: ``goal`` (under ``assume``, if given) from the conjuncts
    ``uses`` (None: all), a fact for the cases after it."""
    return Case(name, z3.BoolVal(True) if assume is None else assume, goal, uses, fact=True)


def at(q: z3.QuantifierRef, *consts: Any) -> z3.BoolRef:
    """The body of the universal formula ``q`` with its bound variables set to
    ``consts`` (in the order they are bound): an instance a split asks at constants."""
    return z3.substitute_vars(q.body(), *reversed(consts))  # de Bruijn: 0 is the last


class Domain:
    """A sort with, when finite, its enumerated elements: quantifiers over a finite
    domain unfold into conjunctions (easier for the solver), over an uninterpreted
    one they stay quantifiers."""

    def __init__(self, name: str, size: int | None, prefix: str) -> None:
        self.name = name
        self.size = size
        if size is None:
            self.sort: z3.SortRef = z3.DeclareSort(f"{name}{uid()}")
            self.elements: list[Any] | None = None
        else:
            tag = uid()
            sort, elems = z3.EnumSort(f"{name}{tag}", [f"{prefix}{i + 1}.{tag}"
                                                        for i in range(size)])
            self.sort, self.elements = sort, list(elems)

    def forall(self, fn: Callable[[Any], z3.BoolRef]) -> z3.BoolRef:
        if self.elements is not None:
            return z3.And([fn(e) for e in self.elements])
        x = fresh(self.name[:1].lower(), self.sort)
        return z3.ForAll([x], fn(x))

    def exists(self, fn: Callable[[Any], z3.BoolRef]) -> z3.BoolRef:
        if self.elements is not None:
            return z3.Or([fn(e) for e in self.elements])
        x = fresh(self.name[:1].lower(), self.sort)
        return z3.Exists([x], fn(x))

    def index(self, model: z3.ModelRef, value: Any) -> int:
        """The explicit id of a model's element of this sort."""
        if self.elements is not None:
            v = model.eval(value, model_completion=True)
            return next(i for i, e in enumerate(self.elements) if z3.eq(e, v))
        universe = self.universe(model)
        v = model.eval(value, model_completion=True)
        return next(i for i, e in enumerate(universe) if z3.eq(e, v))

    def universe(self, model: z3.ModelRef) -> list[Any]:
        """The elements as the model has them, in a fixed order."""
        if self.elements is not None:
            return list(self.elements)
        found = model.get_universe(self.sort)
        return sorted(found or [], key=str)


class Quorums:
    """Quorums of acceptors: for n acceptors, the minimal majorities (a set of
    more than half holds exactly when a minimal majority inside it does, for the
    monotone facts we ask of quorums); for any number, an uninterpreted sort with
    a membership relation and the axiom that two quorums share an acceptor."""

    def __init__(self, acceptors: Domain, as_sort: bool = False) -> None:
        self.acceptors = acceptors
        self.sets: list[tuple[int, ...]] | None = None
        self.table: list[tuple[int, ...]] | None = None
        if acceptors.size is not None and not as_sort:
            n = acceptors.size
            self.sets = list(combinations(range(n), n // 2 + 1))
            self.sort: z3.SortRef | None = None
        elif acceptors.size is not None:
            # n acceptors, but the quorum is one existential over a sort of the
            # minimal majorities, with membership given by a table (fewer case
            # splits than a disjunction over quorums when n is 5 or more).
            n = acceptors.size
            self.table = list(combinations(range(n), n // 2 + 1))
            tag = uid()
            self.sort, self.quorum_elems = z3.EnumSort(
                f"Quorum{tag}", [f"q{i + 1}.{tag}" for i in range(len(self.table))])
            self.member = z3.Function(f"member{uid()}", acceptors.sort, self.sort,
                                      z3.BoolSort())
        else:
            self.sort = z3.DeclareSort(f"Quorum{uid()}")
            self.member = z3.Function(f"member{uid()}", acceptors.sort, self.sort,
                                      z3.BoolSort())

    def axioms(self) -> list[z3.BoolRef]:
        if self.sort is None:
            return []
        q1, q2 = fresh("Q", self.sort), fresh("Q", self.sort)
        a = fresh("a", self.acceptors.sort)
        intersect = z3.ForAll([q1, q2], z3.Exists([a], z3.And(self.member(a, q1),
                                                               self.member(a, q2))))
        if self.table is None:
            return [intersect]
        # The membership table, and (a consequence of it, stated for the solver's
        # benefit) that two majorities intersect.
        elems = self.acceptors.elements
        assert elems is not None
        return [*(self.member(a, q) == z3.BoolVal(i in members)
                  for q, members in zip(self.quorum_elems, self.table, strict=True)
                  for i, a in enumerate(elems)), intersect]

    def exists(self, body: Callable[[QuorumView], z3.BoolRef]) -> z3.BoolRef:
        """Some quorum Q satisfies ``body(Q)``."""
        if self.sets is not None:
            elems = self.acceptors.elements
            assert elems is not None
            return z3.Or([body(QuorumView([elems[i] for i in q], None, None))
                          for q in self.sets])
        assert self.sort is not None
        q = fresh("Q", self.sort)
        return z3.Exists([q], body(QuorumView(None, q, self)))


    def branches(self, name: str) -> list[QuorumView]:
        """The quorums an action parameter named ``name`` can be: each minimal
        majority when they are enumerated (one disjunct each), else one constant
        of the quorum sort."""
        if self.sets is not None:
            elems = self.acceptors.elements
            assert elems is not None
            return [QuorumView([elems[i] for i in q], None, None, q) for q in self.sets]
        assert self.sort is not None
        return [QuorumView(None, z3.Const(name, self.sort), self)]


class QuorumView:
    """One quorum inside a formula: ``all``/``any`` of its members."""

    def __init__(self, members: Sequence[Any] | None, q: Any, quorums: Quorums | None,
                 ids: Sequence[int] = ()) -> None:
        self.members, self.q, self.quorums = members, q, quorums
        self.ids = tuple(ids)

    def describe(self) -> str:
        """For reports: ``{a1,a2,a3}`` for an enumerated quorum, else its constant."""
        if self.members is not None:
            return "{" + ",".join(f"a{i + 1}" for i in self.ids) + "}"
        return str(self.q)

    def all(self, fn: Callable[[Any], z3.BoolRef]) -> z3.BoolRef:
        if self.members is not None:
            return z3.And([fn(a) for a in self.members])
        assert self.quorums is not None
        elems = self.quorums.acceptors.elements
        if elems is not None:
            return z3.And([z3.Implies(self.quorums.member(a, self.q), fn(a)) for a in elems])
        a = fresh("a", self.quorums.acceptors.sort)
        return z3.ForAll([a], z3.Implies(self.quorums.member(a, self.q), fn(a)))

    def any(self, fn: Callable[[Any], z3.BoolRef]) -> z3.BoolRef:
        if self.members is not None:
            return z3.Or([fn(a) for a in self.members])
        assert self.quorums is not None
        elems = self.quorums.acceptors.elements
        if elems is not None:
            return z3.Or([z3.And(self.quorums.member(a, self.q), fn(a)) for a in elems])
        a = fresh("a", self.quorums.acceptors.sort)
        return z3.Exists([a], z3.And(self.quorums.member(a, self.q), fn(a)))


class Encoding(Generic[S, V]):
    """What the prover and the bounded model checker need from an encoding.

    ``S`` is the explicit spec's state type, ``V`` the NamedTuple of Z3 terms.
    Action labels are the explicit spec's labels.
    """

    #: The registry name of the spec this encodes.
    spec_name: str = ""
    #: What the encoding assumes, for reports ("ballots: unbounded integers", ...).
    assumptions: tuple[str, ...] = ()

    def fresh_state(self, tag: str) -> V:
        raise NotImplementedError

    def init(self, s: V) -> z3.BoolRef:
        raise NotImplementedError

    def action_labels(self) -> tuple[str, ...]:
        raise NotImplementedError

    def update(self, label: str, s: V, tag: str) -> tuple[z3.BoolRef, V]:
        """One action as its guard and the next state's terms: every variable of the
        next state is given, either as an update or as the old value (the frame).
        Parameters are existential: fresh constants named after ``tag``."""
        raise NotImplementedError

    def step(self, label: str, s: V, t: V, tag: str) -> z3.BoolRef:
        """The transition relation of one action: its guard, and each variable of
        ``t`` equal to its update or (the frame) to its old value."""
        guard, new = self.update(label, s, tag)
        return z3.And(guard, self.equal(t, new))

    def next(self, s: V, t: V, tag: str) -> z3.BoolRef:
        """Next: the disjunction of the actions."""
        return z3.Or([self.step(label, s, t, f"{tag}.{label}")
                      for label in self.action_labels()])

    def next_or_stutter(self, s: V, t: V, tag: str) -> z3.BoolRef:
        """Next, or t equal to s: a step of an unrolling that covers every depth up to
        its length (an encoding may have a cheaper form of it)."""
        return z3.Or(self.next(s, t, tag), self.equal(s, t))

    def invariants(self, s: V) -> list[Conjunct]:
        """The inductive invariant, conjunct by conjunct."""
        raise NotImplementedError

    def safety(self, s: V) -> list[Conjunct]:
        """The properties the invariant must imply."""
        raise NotImplementedError

    def step_safety(self, s: V, t: V) -> list[Conjunct]:
        """The action properties (over a step from ``s`` to ``t``) the invariant and
        each action must imply; none by default."""
        return []

    def axioms(self) -> list[z3.BoolRef]:
        return []

    def shrink(self, params: dict[str, Any], states: list[S]) -> tuple[dict[str, Any], list[S]]:
        """Decoded states in the smallest explicit configuration that holds them
        (e.g. only the values they use, renumbered in order)."""
        return params, states

    def cases(self, label: str | None, conjunct: str, s: V, t: V | None,
              tag: str, goal: z3.BoolRef | None = None) -> list[Case] | None:
        """A split of the obligation (``label`` None: Init or safety) into cases the
        solver handles better, or None to ask it whole. ``tag`` is the one the
        action's parameters were made with; ``goal`` the obligation's goal (its
        ``instances`` are what a case may prove instead of it)."""
        return None

    def equal(self, s: V, t: V) -> z3.BoolRef:
        pairs: Any = zip(s, t, strict=True)  # type: ignore[call-overload]
        return z3.And([x == y for x, y in pairs])

    def concrete(self, state: S) -> V:
        """An explicit state as Z3 terms (needs finite acceptors and values)."""
        raise NotImplementedError

    def bounded(self, s: V, bound: int) -> z3.BoolRef:
        """Every ballot/term in s lies in -1..bound (finite states, for decoding)."""
        raise NotImplementedError

    def decode(self, model: z3.ModelRef, s: V, bound: int) -> S:
        """The explicit state a model gives s (s must be ``bounded`` by bound)."""
        raise NotImplementedError

    def explicit_params(self, model: z3.ModelRef, bound: int) -> dict[str, Any]:
        """Parameters of the explicit spec in which a decoded state lives."""
        raise NotImplementedError

    def project(self, state: S) -> S:
        """An explicit state as the encoding sees it (decoded states are projections):
        the identity, unless the encoding leaves out history no action reads."""
        return state


class OptionSort:
    """A Z3 option over a domain's sort (none, or some value): a vote's value, which an
    acceptor that never voted does not have."""

    def __init__(self, name: str, val: Domain) -> None:
        dt = z3.Datatype(f"{name}{uid()}")
        tag = uid()
        dt.declare(f"none{tag}")
        dt.declare(f"some{tag}", (f"val{tag}", val.sort))
        self.val = val
        self.sort = dt.create()
        self.none = getattr(self.sort, f"none{tag}")
        self.some = getattr(self.sort, f"some{tag}")
        self.is_some = getattr(self.sort, f"is_some{tag}")
        self.the = getattr(self.sort, f"val{tag}")


class ModelReader:
    """Reads a model's (completed) values back into Python, for decoding spec states."""

    def __init__(self, model: z3.ModelRef) -> None:
        self.model = model

    def true(self, x: Any) -> bool:
        return bool(z3.is_true(self.model.eval(x, model_completion=True)))

    def integer(self, x: Any) -> int:
        return int(self.model.eval(x, model_completion=True).as_long())

    def option(self, opt: OptionSort, x: Any) -> int | None:
        """The explicit value id of an option, or None."""
        r = self.model.eval(x, model_completion=True)
        if self.true(opt.is_some(r)):
            return opt.val.index(self.model, opt.the(r))
        return None
