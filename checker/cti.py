"""Counterexamples to induction, classified by explicit search (no solver involved).

A counterexample to induction (CTI) is a state satisfying an invariant's conjuncts
with a step to a state that breaks one. Whoever found it (Z3 in agree.symbolic, or
the explicit induction checker agree.induction), two questions decide what it means,
and both are answered here by the breadth-first checker:

* is its pre-state reachable (:func:`reachable_states`)? Then the protocol is wrong;
* if not, does *some* reachable state break the invariant anyway
  (:func:`reachable_cti`)? A solver or a sampler picks an arbitrary pre-state, so an
  unreachable one does not clear the protocol. If every reachable state satisfies
  the invariant, it is too weak, not the protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agree.checker.run import check
from agree.spec import Property, Spec
from agree.traces.trace import Trace

__all__ = ["ReachableCTI", "Reached", "obligation_title", "reachable_cti", "reachable_states"]


def obligation_title(kind: str, action: str | None, conjunct: str) -> str:
    """How an induction obligation reads, for Z3's and the explicit checker's alike:
    ``Init => C``, ``Inv => C`` (safety), ``Inv /\\ Action => C'`` or, for an action
    property, ``Inv /\\ Action => P(s, s')``."""
    if kind == "init":
        return f"Init => {conjunct}"
    if kind == "safety":
        return f"Inv => {conjunct}"
    if kind == "action":
        return f"Inv /\\ {action} => {conjunct}(s, s')"
    return f"Inv /\\ {action} => {conjunct}'"


@dataclass
class Reached:
    """Which targets a breadth-first search reached: per key, a shortest trace to the
    first of its states met; ``complete`` when every reachable state was explored."""

    traces: dict[Hashable, Trace] = field(default_factory=dict)
    complete: bool = False
    stopped: str | None = None
    distinct: int = 0

    def status(self, key: Hashable) -> str:
        """"reachable", "unreachable" (every state explored), or "unknown (...)"."""
        if key in self.traces:
            return "reachable"
        if self.complete:
            return "unreachable"
        return f"unknown (explicit search stopped: {self.stopped}, {self.distinct:,} states)"


def reachable_states(spec: Spec[Any], targets: Mapping[Any, Collection[Any]],
                     budget: float) -> Reached:
    """One breadth-first search of ``spec`` (``budget`` seconds) for every target set:
    for each key, a shortest trace to a state of its set, if one is reachable."""
    props = []
    names: dict[str, Hashable] = {}
    for i, (key, states) in enumerate(targets.items()):
        wanted = frozenset(states)
        name = f"cti_pre_state_{i}"
        names[name] = key
        props.append(Property(name, "invariant",
                              lambda _spec, st, wanted=wanted: st not in wanted))
    if not props:
        return Reached(complete=True)
    res = check(spec, props, stop_at_first=False, time_limit=budget)
    out = Reached(complete=res.complete, stopped=res.stopped, distinct=res.distinct)
    for v in res.violations:
        if v.trace is not None:  # a path to the state, not a violation of anything
            v.trace.property, v.trace.kind = None, None
            out.traces[names[v.property]] = v.trace
    return out


@dataclass
class ReachableCTI:
    """The outcome of :func:`reachable_cti`. ``status``: "found" (``trace``, of
    ``spec``, reaches a state breaking ``conjunct`` from one satisfying every
    conjunct, so its last step is a reachable CTI), "holds" (every reachable state
    of the configurations searched satisfies them all), or "unknown (...)"."""

    status: str
    trace: Trace | None = None
    conjunct: str | None = None
    spec: Spec[Any] | None = None


def reachable_cti(specs: Sequence[Spec[Any]], conjuncts: Sequence[Property],
                  budget: float) -> ReachableCTI:
    """Breadth-first search (each spec in turn, ``budget`` seconds each) for the
    shortest path to a state breaking any conjunct: the state before it satisfies
    them all, so the last step is a reachable CTI."""
    stopped: list[str] = []
    for spec in specs:
        res = check(spec, list(conjuncts), time_limit=budget)
        if res.violations:
            v = res.violations[0]
            states = v.trace.states if v.trace is not None else []
            if len(states) < 2 or not all(p.holds(spec, states[-2]) for p in conjuncts):
                # Init breaks it, or (TLC semantics) a pruned state was reached
                # through a broken one: not a CTI; say what was seen.
                stopped.append(f"{v.property} fails after {len(states) - 1} steps, but "
                               "not from a state satisfying the invariant")
                continue
            return ReachableCTI("found", v.trace, v.property, spec)
        if not res.complete:
            stopped.append(f"explicit search stopped: {res.stopped} after "
                           f"{res.distinct:,} states")
    return ReachableCTI("holds" if not stopped else "unknown (" + "; ".join(stopped) + ")")
