"""The steps that matter: from a property's witness to the steps and messages behind it.

:func:`explain` asks the trace's property for its witness on the last state (the last
step, for an action property), finds for each fact the witness names the step that
established it (the latest step into a state where the fact holds from one where it
did not, see :class:`~agree.spec.witness.Fact`), and collects the messages those steps
sent and consumed (as :mod:`agree.traces.events` sees them, with the sends of the
consumed messages). Every renderer marks the same steps: the text before the trace,
the HTML viewer, the chart exports. Steps are numbered 1.. as the text renderer
numbers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agree.spec import Fact, Property, Spec, Witness
from agree.traces.events import Event, StepEvents, trace_events
from agree.traces.trace import Trace

__all__ = ["Explanation", "explain", "fact_steps", "witness_of"]


@dataclass(frozen=True)
class Explanation:
    """What a trace's witness says: ``summary`` lines (facts with their steps), the
    ``key_steps`` (sorted step numbers), and ``key_messages``, pairs (step number,
    :class:`~agree.traces.events.Event`) of the arrows that matter. Empty when the
    property gives no witness (a plain False, a liveness property, a deadlock)."""

    property: str | None = None
    witness: Witness | None = None
    reason: str = ""
    summary: tuple[str, ...] = ()
    key_steps: tuple[int, ...] = ()
    key_messages: frozenset[tuple[int, Event]] = field(default_factory=frozenset)
    facts: tuple[tuple[str, int | None], ...] = ()

    def __bool__(self) -> bool:
        return self.witness is not None

    def is_key(self, step: int) -> bool:
        """Whether step ``step`` (1-based) established a fact of the witness."""
        return step in self.key_steps

    def marks(self, step: int, event: Event) -> bool:
        """Whether ``event`` of step ``step`` is an arrow that matters."""
        return (step, event) in self.key_messages


def witness_of(spec: Spec[Any], trace: Trace, properties: Sequence[Property],
               ) -> Witness | None:
    """The witness the trace's (safety) property gives on the trace's last state, or None
    (no such property, it holds there, it returns a plain False, or it raises)."""
    if trace.property is None or trace.loop is not None or trace.kind not in (
            None, "invariant", "action"):
        return None
    prop = next((p for p in properties if p.name == trace.property
                 and p.kind in ("invariant", "action")), None)
    if prop is None:
        return None
    states = trace.states
    try:
        if prop.kind == "action":
            if len(states) < 2:
                return None
            return prop.witness(spec, states[-2], states[-1])
        return prop.witness(spec, states[-1])
    except Exception:  # a spec's bug: the trace still renders, unexplained
        return None


def _holds(fact: Fact, state: Any) -> bool:
    try:
        return bool(fact.holds(state))
    except Exception:
        return False


def fact_steps(trace: Trace, facts: Sequence[Fact]) -> dict[int, int | None]:
    """Per fact (by ``id``), the step that established it: the latest step ``n`` (no
    later than its ``before`` fact's step) with the fact false before and true after;
    None when it held from the initial state or never rose."""
    states = trace.states
    out: dict[int, int | None] = {}

    def step_of(f: Fact) -> int | None:
        if id(f) in out:
            return out[id(f)]
        bound = len(states) - 1
        if f.before is not None:
            b = step_of(f.before)
            bound = b if b is not None else bound
        truth = [_holds(f, s) for s in states[:bound + 1]]
        found = next((n for n in range(bound, 0, -1) if truth[n] and not truth[n - 1]), None)
        out[id(f)] = found
        return found

    for f in facts:
        step_of(f)
    return out


def _render(line: Sequence[str | Fact], steps: dict[int, int | None]) -> str:
    parts = []
    for part in line:
        if isinstance(part, Fact):
            n = steps.get(id(part))
            parts.append(f"{part.text} ({'initially' if n is None else f'step {n}'})")
        else:
            parts.append(part)
    return "".join(parts)


def _messages(events: list[StepEvents], keys: set[int]) -> frozenset[tuple[int, Event]]:
    """Every arrow of a key step, and the send of each message a key step consumed."""
    out: set[tuple[int, Event]] = set()
    for se in events:
        if se.n not in keys:
            continue
        for ev in se.events:
            out.add((se.n, ev))
            if ev.kind != "deliver":
                continue
            sender = next(((p.n, e) for p in reversed(events[:se.n - 1]) for e in p.events
                           if e.kind == "send" and e.message == ev.message), None)
            if sender is not None:
                out.add(sender)
    return frozenset(out)


def explain(spec: Spec[Any], trace: Trace, properties: Sequence[Property]) -> Explanation:
    """The explanation of a counterexample: its property's witness on the last state, the
    steps that established the facts it names, and the messages of those steps.

    ``properties`` are the spec's (declared and registered); the trace's property is
    looked up there by name. Never raises on a spec's bug: the result is then empty.
    """
    w = witness_of(spec, trace, properties)
    if w is None:
        return Explanation(property=trace.property)
    facts = w.facts()
    steps = fact_steps(trace, facts)
    keys = {n for n in steps.values() if n is not None}
    if trace.kind == "action" and trace.steps:
        keys.add(len(trace))  # the step that breaks an action property always matters
    try:
        _, events = trace_events(spec, trace)
        messages = _messages(events, keys)
    except Exception:  # a view the chart cannot read: no arrows, still the steps
        messages = frozenset()
    return Explanation(
        property=trace.property, witness=w, reason=w.reason,
        summary=tuple(_render(line, steps) for line in w.lines),
        key_steps=tuple(sorted(keys)), key_messages=messages,
        facts=tuple((f.text, steps[id(f)]) for f in facts))
