"""The witness tests' shared support: real counterexamples (pinned or found), the
witness on a trace's last state, and the tests' own scan for the step that established a
fact. (Test support: tests/test_witnesses*.py use it; the package does not.)"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agree.checker.run import check
from agree.protocols import registry
from agree.spec import Property, Spec, Witness
from agree.traces.explain import Explanation, explain
from agree.traces.trace import Trace, load_trace

__all__ = ["ROOT", "explained", "found", "rise", "stored", "witness_at_end", "zoo"]

ROOT = Path(__file__).resolve().parent.parent / "traces"


def stored(name: str) -> tuple[Spec[Any], Trace, list[Property]]:
    """A pinned counterexample (traces/golden or traces/zoo_deep), replayed, with its spec
    and every property the spec has."""
    path = ROOT / "golden" / name
    trace = load_trace(path if path.exists() else ROOT / "zoo_deep" / name, registry.resolve)
    spec, props = registry.resolve(trace.spec, trace.params)
    return spec, trace, [*spec.declared_properties(), *props]


def found(spec: Spec[Any], props: Sequence[Property], name: str,
          ) -> tuple[Spec[Any], Trace, list[Property]]:
    """A shortest counterexample of property ``name``, found by the checker."""
    result = check(spec, props, only=[name])
    v = result.violation(name)
    assert v is not None and v.trace is not None, f"{name} holds"
    return spec, v.trace, list(props)


def zoo(name: str, prop: str, **params: Any) -> tuple[Spec[Any], Trace, list[Property]]:
    """A shortest counterexample of ``prop`` on a registered spec (a zoo variant)."""
    spec, props = registry.build(name, params)
    return found(spec, [*spec.declared_properties(), *props], prop)


def witness_at_end(spec: Spec[Any], trace: Trace, props: Sequence[Property]) -> Witness:
    """The witness the trace's property gives on its last state (last step): falsy, and
    the property fails there."""
    prop = next(p for p in props if p.name == trace.property)
    last = trace.states[-1]
    w = (prop.witness(spec, trace.states[-2], last) if prop.kind == "action"
         else prop.witness(spec, last))
    assert w is not None, f"{prop.name} gave no witness"
    assert not w and not prop.holds(spec, *((trace.states[-2], last) if prop.kind == "action"
                                             else (last,)))
    return w


def rise(trace: Trace, pred: Callable[[Any], bool], upto: int | None = None) -> int | None:
    """The latest step (no later than ``upto``) into a state where ``pred`` holds from one
    where it does not: the tests' own scan."""
    states = trace.states
    end = len(states) - 1 if upto is None else upto
    for n in range(end, 0, -1):
        if pred(states[n]) and not pred(states[n - 1]):
            return n
    return None


def explained(spec: Spec[Any], trace: Trace, props: Sequence[Property]) -> Explanation:
    expl = explain(spec, trace, props)
    assert expl and expl.summary and expl.key_steps
    for line in expl.summary:  # every fact names the step that established it
        assert "(step " in line
    return expl
