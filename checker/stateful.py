"""Any spec as a Hypothesis ``RuleBasedStateMachine``, for users' own pytest suites.

    from agree.checker.stateful import state_machine
    TestRaft = state_machine(Raft(servers=3), PROPERTIES).TestCase

One rule per action. Its parameters are drawn from their declared domains, in
declared order, through ``data.draw`` (so state-dependent domains, such as
the messages in flight, work the same as fixed ones), each draw restricted to
the values for which the action can still be enabled; a rule whose action is
enabled for no binding has a false precondition. Invariants are checked after
every step (Hypothesis ``@invariant``), action properties on every step taken.
A successor outside the state constraint has its invariants checked (it is
reachable, as in the exhaustive checker) but the machine stays where it was.
``sometimes`` and liveness properties are not checked here.

A failure raises ``AssertionError`` naming the property, with the steps as a
readable trace; Hypothesis shrinks it first, so the trace is short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from agree.checker.explore import select_properties
from agree.spec import Action, Property, Spec, SpecError, Transition
from agree.traces.explain import explain
from agree.traces.text import render_text
from agree.traces.trace import Trace

__all__ = ["SpecMachine", "state_machine"]


class SpecMachine(RuleBasedStateMachine):
    """Base of the generated machines: the spec's current state and the steps so far."""

    spec: Spec[Any]
    properties: Sequence[Property] = ()

    def __init__(self) -> None:
        super().__init__()
        self.state: Any = None
        self.init: Any = None
        self.steps: list[Transition[Any]] = []
        self._enabled: dict[str, list[tuple[Any, ...]]] = {}

    def enabled(self, act: Action[Any]) -> list[tuple[Any, ...]]:
        """The bindings for which ``act`` is enabled in the current state."""
        if self.state is None:
            return []
        found = self._enabled.get(act.label)
        if found is None:
            found = [args for args in act.bindings(self.state)
                     if act.fn(self.state, *args) is not None]
            self._enabled[act.label] = found
        return found

    def fail(self, prop: Property, steps: list[Transition[Any]]) -> None:
        trace = Trace.from_transitions(self.spec, self.init, steps, prop.name, prop.kind)
        raise AssertionError(f"{prop.name} violated after {len(steps)} steps "
                             f"({prop.doc or prop.kind}):\n"
                             + render_text(self.spec, trace,
                                           explanation=explain(self.spec, trace, [prop])))

    def take(self, act: Action[Any], data: st.DataObject) -> None:
        """Draw an enabled binding parameter by parameter, then take the step."""
        options = self.enabled(act)
        args: tuple[Any, ...] = ()
        for i, (pname, _) in enumerate(act.domains):
            values = tuple(dict.fromkeys(b[i] for b in options))
            value = data.draw(_choice(values), label=pname)
            args = (*args, value)
            options = [b for b in options if b[i] == value]
        nxt = act.fn(self.state, *args)
        if nxt is None:  # pragma: no cover - only with an impure spec
            raise SpecError(f"{act.format(args)} was enabled and then was not")
        step = Transition(act, args, nxt)
        for p in self.properties:
            if p.kind == "action" and not p.holds(self.spec, self.state, nxt):
                self.fail(p, [*self.steps, step])
        if not self.spec.constraint(nxt):
            for p in self.properties:
                if p.kind == "invariant" and not p.holds(self.spec, nxt):
                    self.fail(p, [*self.steps, step])
            return
        self.steps.append(step)
        self.state = nxt
        self._enabled = {}

    @invariant()
    def properties_hold(self) -> None:
        if self.state is None:
            return
        for p in self.properties:
            if p.kind == "invariant" and not p.holds(self.spec, self.state):
                self.fail(p, self.steps)


@lru_cache(maxsize=4096)
def _choice(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """One strategy per set of options (building strategies dominates the cost)."""
    return st.sampled_from(values)


def _start(inits: list[Any]) -> Callable[..., None]:
    def start(self: SpecMachine, data: st.DataObject) -> None:
        self.init = self.state = data.draw(st.sampled_from(inits), label="init")

    return start


def _action_rule(act: Action[Any]) -> Callable[..., None]:
    def step(self: SpecMachine, data: st.DataObject) -> None:
        self.take(act, data)

    step.__name__ = act.label
    return precondition(lambda self: bool(self.enabled(act)))(rule(data=st.data())(step))


def state_machine(spec: Spec[Any], properties: Sequence[Property] | None = None, *,
                  only: Sequence[str] | None = None) -> type[SpecMachine]:
    """A ``RuleBasedStateMachine`` class walking ``spec`` and checking ``properties``
    (default: the spec's own). Use its ``TestCase`` in pytest, or
    ``hypothesis.stateful.run_state_machine_as_test``."""
    props = select_properties(
        properties if properties is not None else spec.declared_properties(), only)
    inits = [s for s in spec.init()]
    if not inits:
        raise SpecError(f"spec {spec.name} has no initial state")
    namespace: dict[str, Any] = {
        "spec": spec, "properties": tuple(props),
        "start": initialize(data=st.data())(_start(inits)),
        "__doc__": f"Hypothesis state machine of spec {spec.name}.",
    }
    for act in spec.actions():
        namespace[f"rule_{act.label}"] = _action_rule(act)
    name = "".join(part.capitalize() for part in spec.name.replace("-", "_").split("_"))
    return type(f"{name or 'Spec'}Machine", (SpecMachine,), namespace)
