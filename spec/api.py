"""The spec API: a protocol written once as a plain-Python transition system.

A spec is a subclass of :class:`Spec`. Its constructor's keyword arguments are
its parameters (TLA+ constants); ``init`` yields the initial states; methods
decorated with :func:`action` are the actions, each a pure function
``(state, *params) -> next state | None`` whose parameters range over declared
domains. Properties (:func:`invariant`, :func:`action_property`,
:func:`sometimes`) are predicates over states or steps; they may be methods of
the spec or plain functions ``(spec, state)`` kept elsewhere (``properties/``).

Every engine (BFS, simulation, Hypothesis, the conformance harness, trace
replay) uses only this module, so a protocol written against it gets all of
them. States must be immutable and hashable: NamedTuples or frozen dataclasses
of tuples, frozensets, ints, strings and None.

A spec reads like its TLA+ original; what the engines need to be fast is asked
for through declared hooks, implemented here once, never by tricks in a model:

* **the next state**: :meth:`Spec.step` ``(state, var=value, ...)`` is TLA+'s
  ``var' = value`` with every other variable UNCHANGED (it builds NamedTuple
  states without ``_replace``'s overhead);
* **history variables**: a conjunct every step carries, computed from the
  pre-state (raft.tla's ``allLogs' = allLogs \\cup {log[i] : i \\in Server}``), is
  declared once with :func:`history`; :meth:`Spec.step` applies it, computing it
  once per pre-state for all of that state's successors;
* **per-state caches**: a summary several actions or properties read on the same
  state (Paxos's message index) is a function decorated with :func:`per_state`,
  computed once per state however often it is asked;
* **stutters**: an action whose step changes nothing may return the very state
  it was given; the breadth-first engine then skips the seen-set lookup (the
  state is already seen). Returning an equal copy instead is also correct (the
  same counts and traces), only slower. With history variables, a step is a
  stutter only if they too are unchanged: build it with :meth:`Spec.step`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from agree.spec.build import compile_step, field_index, no_variable, replace, state_type_of
from agree.spec.enabled import ActionRaised, enumerator
from agree.spec.errors import SpecError
from agree.spec.properties import (
    Property,
    PropertyKind,
    action_property,
    eventually,
    eventually_always,
    invariant,
    leads_to,
    property_of,
    sometimes,
)
from agree.spec.space import StateSpace, one_of, states, subset_of, tuple_of
from agree.spec.witness import Fact, Witness

__all__ = [
    "Action",
    "Domain",
    "Fact",
    "Param",
    "Property",
    "PropertyKind",
    "Spec",
    "SpecError",
    "StateSpace",
    "Transition",
    "Witness",
    "action",
    "action_property",
    "eventually",
    "eventually_always",
    "history",
    "indexed",
    "invariant",
    "leads_to",
    "one_of",
    "per_state",
    "property_of",
    "replace",
    "sometimes",
    "states",
    "subset_of",
    "tuple_of",
]

S = TypeVar("S")
F = TypeVar("F", bound=Callable[..., Any])

#: Where an action parameter ranges: the name of a spec attribute holding a
#: fixed sequence (``"servers"``), or a function ``(spec, state) -> iterable``
#: for domains that depend on the state (the messages in flight).
Domain = str | Callable[[Any, Any], Iterable[Any]]



def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass(frozen=True)
class _ActionDecl:
    label: str
    domains: tuple[tuple[str, Domain], ...]


def action(label: str | None = None, /, **domains: Domain) -> Callable[[F], F]:
    """Declare a method ``(self, state, **params) -> state | None`` an action.

    ``label`` is the name shown in traces (default: the method name in
    CamelCase, ``request_vote`` -> ``RequestVote``); each keyword names a
    parameter and its domain, enumerated in the order given.
    """

    def mark(fn: F) -> F:
        fn._agree_action = _ActionDecl(label or _camel(fn.__name__), tuple(domains.items()))  # type: ignore[attr-defined]
        return fn

    return mark


def history(variable: str) -> Callable[[F], F]:
    """Declare a method ``(self, state) -> value`` the update of a history variable:
    a conjunct ``variable' = f(state)`` that every step of the spec carries, like
    raft.tla's ``allLogs' = allLogs \\cup {log[i] : i \\in Server}`` in every
    disjunct of ``Next``.

    :meth:`Spec.step` sets ``variable`` of every next state it builds to the
    method's value on the pre-state, computed once per pre-state (the engines
    expand one state at a time, so all its successors share one computation). An
    action's own keyword for ``variable`` overrides it. The value must depend on
    the pre-state (and the spec's parameters) only.
    """

    def mark(fn: F) -> F:
        fn._agree_history = variable  # type: ignore[attr-defined]
        return fn

    return mark


def per_state(fn: F) -> F:
    """Cache ``fn(spec, state)`` for the last state it was asked about.

    For a summary of a state that several actions, or several properties, read back
    to back on the same state (the engines enumerate every action of one state, and
    evaluate every property of one state, in a row): it is computed once per state.
    Works on methods of a spec and on plain functions ``(spec, state)``. The memo
    holds one entry, keyed on the identity of the spec and of the state (states are
    immutable, and the entry keeps its state alive, so an identity cannot be reused
    while it is the key). The value is shared: treat it as read-only.
    """
    last: list[Any] = [None, None, None]  # spec, state, value

    @functools.wraps(fn)
    def cached(spec: Any, state: Any) -> Any:
        if state is last[1] and spec is last[0]:
            return last[2]
        value = fn(spec, state)
        last[0], last[1], last[2] = spec, state, value
        return value

    # it reads what fn reads (agree.spec.reads looks through it)
    cached._agree_per_state = True  # type: ignore[attr-defined]
    return cached  # type: ignore[return-value]


@dataclass(frozen=True)
class Param:
    """One spec parameter, read from the constructor's signature."""

    name: str
    type: type
    default: Any
    help: str = ""
    #: Largest value accepted from the command line or a trace file (exploration
    #: is exponential in most parameters; a typo like 10**11 must not hang).
    max: int = 1000

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Action(Generic[S]):
    """An action bound to a spec instance, ready to enumerate."""

    label: str
    fn: Callable[..., S | None]
    domains: tuple[tuple[str, Domain], ...]
    spec: Spec[S] = field(repr=False)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.domains)

    def bindings(self, state: S) -> Iterator[tuple[Any, ...]]:
        """Every parameter tuple in the declared domains, in declared order."""
        lists = [self.spec.domain_values(dom, state) for _, dom in self.domains]
        yield from _product(lists)

    def format(self, args: tuple[Any, ...]) -> str:
        """The trace label, e.g. ``Phase1b(a=a1, m=<1a bal=0>)``."""
        if not args:
            return self.label
        parts = []
        for (pname, dom), arg in zip(self.domains, args, strict=True):
            parts.append(f"{pname}={self.spec.show(dom if isinstance(dom, str) else '', arg)}")
        return f"{self.label}({', '.join(parts)})"


def _product(lists: list[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    if not lists:
        yield ()
        return
    if len(lists) == 1:
        for x in lists[0]:
            yield (x,)
        return
    head, rest = lists[0], lists[1:]
    tails = list(_product(rest))
    for x in head:
        for t in tails:
            yield (x, *t)


@dataclass(frozen=True)
class Transition(Generic[S]):
    """One step: the action, its arguments, and the state it leads to."""

    action: Action[S]
    args: tuple[Any, ...]
    state: S

    @property
    def label(self) -> str:
        return self.action.format(self.args)

    @property
    def params(self) -> dict[str, Any]:
        return dict(zip(self.action.param_names, self.args, strict=True))


class Spec(Generic[S]):
    """Base class of every protocol spec.

    Subclasses set ``name`` and ``description``, take their parameters as
    keyword arguments of ``__init__`` (typed int or bool, with defaults; help
    text in ``param_help``), implement ``init``, and declare actions with
    :func:`action`. Optional: ``constraint`` (TLC's state constraint),
    ``symmetry`` (names of interchangeable id domains) with ``permute``,
    ``names`` (display prefixes of id domains), ``view`` (how a state reads), and
    for ``agree prove FILE.py`` a ``state_space`` with ``inductive`` conjuncts.

    Actions build their next state with :meth:`step`, which also applies the
    history variables declared with :func:`history`. An action that changes nothing
    (a stutter) may return the state it was given: the breadth-first engine
    recognises the very same object and skips the seen-set lookup; an equal copy is
    also correct, only slower (see the module docstring).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    param_help: ClassVar[Mapping[str, str]] = {}
    #: Upper bounds of integer parameters (default 1000), checked on user input.
    param_max: ClassVar[Mapping[str, int]] = {}
    #: Display prefix of each id domain: ``{"servers": "s"}`` shows server 0 as ``s1``.
    names: ClassVar[Mapping[str, str]] = {}
    #: Id domains whose elements are interchangeable (used for symmetry reduction).
    symmetry: ClassVar[tuple[str, ...]] = ()
    #: Action labels under weak fairness, each binding of its parameters separately
    #: (TLA+'s ``\\A p: WF_vars(A(p))``); used only by liveness checking.
    weak_fairness: ClassVar[tuple[str, ...]] = ()
    #: Action labels under strong fairness (TLA+'s ``\\A p: SF_vars(A(p))``): a fair
    #: behaviour that has such an instance enabled infinitely often takes it infinitely
    #: often; used only by liveness checking. In either list, ``"A(p, q)"`` instead of
    #: ``"A"`` groups the bindings by those parameters only (``\\A p, q: SF(\\E r: A(p, q, r))``).
    strong_fairness: ClassVar[tuple[str, ...]] = ()
    #: The conjuncts of an inductive invariant, for ``agree prove FILE.py``
    #: (agree.induction): each the name of an invariant declared on the spec or in
    #: its file's ``PROPERTIES``, or an invariant itself (a decorated function or a
    #: :class:`Property`). Checked against the space :meth:`state_space` declares.
    inductive: ClassVar[tuple[Any, ...]] = ()
    #: The methods declared with @action, in declaration order.
    _action_attrs: ClassVar[tuple[str, ...]] = ()
    #: The history variables declared with @history: (variable, method name).
    _history_attrs: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Step's memo (owned here): the last pre-state and its history values.
    _history_memo: tuple[Any, tuple[Any, ...]] = (None, ())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        attrs = list(getattr(cls, "_action_attrs", ()))
        hist = dict(getattr(cls, "_history_attrs", ()))
        for attr, value in cls.__dict__.items():
            if getattr(value, "_agree_action", None) is not None and attr not in attrs:
                attrs.append(attr)
            variable = getattr(value, "_agree_history", None)
            if variable is not None:
                hist[variable] = attr
        cls._action_attrs = tuple(attrs)
        cls._history_attrs = tuple(hist.items())
        # A NamedTuple state type declared as Spec[S]: step is compiled for it (fast),
        # unless a class of the spec wrote its own step.
        own = next(vars(k)["step"] for k in cls.__mro__ if "step" in vars(k))
        state_type = state_type_of(cls, Spec)
        if state_type is not None and (own is Spec.step or hasattr(own, "_agree_compiled")):
            fast = compile_step(state_type, tuple(v for v, _ in cls._history_attrs), Spec.step)
            if fast is not None:
                fast.__qualname__ = f"{cls.__qualname__}.step"
                fast.__doc__ = Spec.step.__doc__
                cls.step = fast  # type: ignore[method-assign]

    # -- parameters -------------------------------------------------------

    @classmethod
    def parameters(cls) -> tuple[Param, ...]:
        """The spec's parameters, from its constructor's signature."""
        sig = inspect.signature(cls.__init__)
        hints = inspect.get_annotations(cls.__init__, eval_str=True)
        out = []
        for pname, p in sig.parameters.items():
            if pname == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            if p.default is inspect.Parameter.empty:
                raise SpecError(f"spec {cls.name}: parameter {pname} needs a default value")
            typ = hints.get(pname, type(p.default))
            out.append(Param(pname, typ, p.default, cls.param_help.get(pname, ""),
                             cls.param_max.get(pname, 1000)))
        return tuple(out)

    def __new__(cls, *args: Any, **kwargs: Any) -> Spec[S]:
        # Remember the constructor's arguments: they are the parameters, whatever
        # names the spec gives its attributes (``acceptors`` is a domain, say).
        self = super().__new__(cls)
        try:
            bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        except TypeError:  # __init__ will report the bad call itself
            bound = None
        self.__dict__["_given_params"] = dict(bound.arguments) if bound is not None else {}
        return self

    def param_values(self) -> dict[str, Any]:
        """The values this instance was built with (for reports and traces)."""
        given = self.__dict__.get("_given_params", {})
        return {p.name: given.get(p.name, p.default) for p in self.parameters()}

    # -- the transition system ---------------------------------------------

    def init(self) -> Iterable[S]:
        """The initial states."""
        raise NotImplementedError

    def actions(self) -> tuple[Action[S], ...]:
        """The declared actions, bound to this instance, in declaration order."""
        cached: tuple[Action[S], ...] | None = self.__dict__.get("_bound_actions")
        if cached is None:
            out = []
            for attr in self._action_attrs:
                fn = getattr(self, attr)
                decl = _find_decl(type(self), attr)
                out.append(Action(decl.label, fn, decl.domains, self))
            cached = tuple(out)
            self.__dict__["_bound_actions"] = cached
        return cached

    def action(self, label: str) -> Action[S]:
        """The action called ``label``."""
        for act in self.actions():
            if act.label == label:
                return act
        raise SpecError(f"spec {self.name} has no action {label!r}")

    def domain_values(self, dom: Domain, state: S) -> Sequence[Any]:
        """Enumerate a domain (fixed attribute or function of the state)."""
        if isinstance(dom, str):
            return getattr(self, dom)  # type: ignore[no-any-return]
        values = dom(self, state)
        return values if isinstance(values, list | tuple | range) else list(values)

    def step(self, state: S, /, **changes: Any) -> S:
        """The next state: each keyword a variable's new value (TLA+'s ``var' = e``),
        every other variable UNCHANGED, and every history variable declared with
        :func:`history` updated from ``state`` (computed once per pre-state: the last
        one is remembered, by identity). For a spec of NamedTuple states declared as
        ``Spec[State]``, a compiled equivalent replaces this method (spec/build.py)."""
        hist = self._history_attrs
        if not hist:
            return replace(state, **changes)
        memo = self._history_memo
        if memo[0] is not state:
            memo = self._remember_history(state)
        values = {name: value for (name, _), value in zip(hist, memo[1], strict=True)}
        return replace(state, **{**values, **changes})

    def history_memo(self, state: S) -> tuple[Any, ...] | None:
        """The history values :meth:`step` computed from ``state`` (the very object) if
        still remembered, else None: for :meth:`recall_history` on an equal copy."""
        memo = self._history_memo
        return memo[1] if memo[0] is state and self._history_attrs else None

    def recall_history(self, state: S, values: tuple[Any, ...]) -> None:
        """Have :meth:`step` take ``values`` (:meth:`history_memo` of an equal state) as
        ``state``'s history values, sparing their recomputation."""
        self._history_memo = (state, values)

    def _remember_history(self, state: S) -> tuple[S, tuple[Any, ...]]:
        """Compute the history variables' next values from ``state`` and remember them."""
        index = field_index(type(state))
        values = []
        for variable, attr in self._history_attrs:
            if index is not None and variable not in index:
                raise SpecError(no_variable(state, variable))
            value = getattr(self, attr)(state)
            old = getattr(state, variable)
            values.append(old if value == old else value)  # unchanged: share, don't copy
        memo = (state, tuple(values))
        self._history_memo = memo
        return memo

    def successors(self, state: S) -> Iterator[Transition[S]]:
        """Every enabled (action, arguments) with the state it leads to, in declared
        order (the enumeration every engine shares: agree.spec.enabled)."""
        acts = self.actions()
        try:
            steps = enumerator(self)(state)
        except ActionRaised as raised:
            raise raised.exc from None
        for ai, args, nxt in steps:
            yield Transition(acts[ai], args, nxt)

    def state_space(self) -> StateSpace | None:
        """TLA+'s ``TypeOK`` as a finite set (agree.spec.space: :func:`states` of
        :func:`one_of`, :func:`tuple_of`, :func:`subset_of`), for checking that the
        ``inductive`` conjuncts are inductive; None (the default): not declared."""
        return None

    def constraint(self, state: S) -> bool:
        """TLC's state constraint: successors outside it are not explored."""
        return True

    def declared_properties(self) -> tuple[Property, ...]:
        """Properties written as decorated methods of the spec class."""
        seen: dict[str, Property] = {}
        for klass in reversed(type(self).__mro__):
            for value in vars(klass).values():
                prop = getattr(value, "_agree_property", None)
                if isinstance(prop, Property):
                    seen[prop.name] = prop
        return tuple(seen.values())

    # -- symmetry ------------------------------------------------------------

    def permute(self, state: S, perms: Mapping[str, Sequence[int]]) -> S:
        """Rename ids: ``perms[domain][i]`` is the new id of element ``i``."""
        raise SpecError(f"spec {self.name} declares no symmetry")

    # -- how it reads -------------------------------------------------------

    def show(self, domain: str, value: Any) -> str:
        """Display a parameter value; ids of named domains read ``s1``, ``a2``..."""
        prefix = self.names.get(domain)
        if prefix is not None and isinstance(value, int):
            return f"{prefix}{value + 1}"
        return str(value)

    def view(self, state: S) -> dict[str, Any]:
        """How a reviewer reads a state: a flat mapping from a variable (or an
        element of one, ``commit_index[s1]``) to a string, or to a set or bag
        (``dict`` str -> count) of strings for message collections. Diffs and
        renderers work on this."""
        fields = getattr(state, "_fields", None)
        if fields is None:
            return {"state": repr(state)}
        return {f: repr(getattr(state, f)) for f in fields}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.param_values().items())
        return f"{type(self).__name__}({args})"


def _find_decl(cls: type, attr: str) -> _ActionDecl:
    for klass in cls.__mro__:
        value = vars(klass).get(attr)
        decl = getattr(value, "_agree_action", None)
        if decl is not None:
            return decl  # type: ignore[no-any-return]
    raise SpecError(f"{cls.__name__}.{attr} is not an action")  # pragma: no cover


def indexed(name: str, values: Sequence[Any], prefix: str, show: Callable[[Any], str] = str,
            ) -> dict[str, str]:
    """View helper: a per-node variable as ``name[s1]: value`` entries."""
    return {f"{name}[{prefix}{i + 1}]": show(v) for i, v in enumerate(values)}
