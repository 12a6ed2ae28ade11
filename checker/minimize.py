"""Smaller counterexamples: drop steps that do not matter, then try smaller configurations.

Step removal is delta debugging over the steps: remove a chunk of steps,
replay the rest leniently (each action re-matched by its label and
arguments; a step no longer enabled rejects the candidate), keep the
candidate if the property still fails at its end, and go down to single
steps. A BFS trace is already shortest for its configuration, so this pays
off on traces from simulation, Hypothesis, or the implementation; for BFS
traces, the configuration search does: every smaller assignment of the
integer parameters (fewer servers, values, ballots), smallest total first,
is checked exhaustively for the same property within a state budget, and
the first that still fails gives the new trace.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agree.checker.run import check
from agree.spec import Property, Spec, SpecError
from agree.traces.trace import Resolver, Step, Trace, TraceError, encode_value

__all__ = ["ConfigSearch", "Shrunk", "minimize_config", "minimize_steps"]


@dataclass
class Shrunk:
    """A smaller trace and what was taken away to get it."""

    trace: Trace
    removed: list[str] = field(default_factory=list)  # labels of the removed steps
    params_before: dict[str, Any] = field(default_factory=dict)
    tried: int = 0
    inconclusive: int = 0  # configurations whose check ran out of its state budget


@dataclass
class ConfigSearch:
    """What the configuration search tried, and the smallest failing one (if any)."""

    best: Shrunk | None
    tried: int = 0
    inconclusive: int = 0


def _replay_lenient(spec: Spec[Any], init: Any, steps: Sequence[Step]) -> list[Step] | None:
    out: list[Step] = []
    state = init
    for st in steps:
        try:
            act = spec.action(st.action)
        except SpecError:
            return None
        values = []
        for (_, dom), arg in zip(act.domains, st.args, strict=True):
            enc = encode_value(arg)
            match = [x for x in spec.domain_values(dom, state) if encode_value(x) == enc]
            if not match:
                return None
            values.append(match[0])
        nxt = act.fn(state, *values)
        if nxt is None:
            return None
        out.append(Step(act.format(tuple(values)), act.label, tuple(values), nxt))
        state = nxt
    return out


def _fails(spec: Spec[Any], prop: Property, init: Any, steps: list[Step]) -> int | None:
    """The number of steps after which ``prop`` first fails, or None if it holds throughout."""
    states = [init, *(s.state for s in steps)]
    for i, s in enumerate(states):
        if prop.kind == "invariant" and not prop.holds(spec, s):
            return i
        if prop.kind == "action" and i > 0 and not prop.holds(spec, states[i - 1], s):
            return i
    return None


def _property(trace: Trace, properties: Sequence[Property]) -> Property:
    for p in properties:
        if p.name == trace.property:
            if p.kind not in ("invariant", "action"):
                raise TraceError(f"minimize: {p.name} is a {p.kind} property; only invariant "
                                 "and action-property traces can be shrunk")
            return p
    raise TraceError(f"minimize: the trace's property {trace.property!r} is not a property of "
                     f"{trace.spec}")


def minimize_steps(spec: Spec[Any], trace: Trace, properties: Sequence[Property], *,
                   within_constraint: bool = False) -> Shrunk:
    """Remove every step (chunk) whose removal keeps the property failing. With
    ``within_constraint`` a candidate counts only if every state before the failing one
    lies inside the spec's state constraint (as on a trace the checker reports)."""
    if trace.loop is not None:
        raise TraceError("minimize: lassos (liveness traces) are not shrunk")
    prop = _property(trace, properties)
    steps = list(trace.steps)
    end = _fails(spec, prop, trace.init, steps)
    if end is None:
        raise TraceError(f"minimize: {prop.name} does not fail along this trace")
    steps = steps[:end]
    tried = 0
    chunk = max(1, len(steps) // 2)
    while chunk >= 1:
        i = 0
        while i < len(steps):
            candidate = steps[:i] + steps[i + chunk:]
            tried += 1
            replayed = _replay_lenient(spec, trace.init, candidate)
            if replayed is not None:
                at = _fails(spec, prop, trace.init, replayed)
                if at is not None and (not within_constraint or all(
                        spec.constraint(st.state) for st in replayed[:at - 1])):
                    steps = replayed[:at]
                    continue
            i += chunk
        chunk //= 2
    remaining = [s.label for s in steps]
    removed = _removed([s.label for s in trace.steps], remaining)
    out = Trace(trace.spec, trace.params, trace.init, steps, trace.property, trace.kind)
    return Shrunk(out, removed, dict(trace.params), tried)


def _removed(before: list[str], after: list[str]) -> list[str]:
    """Labels of ``before`` not matched, in order, by ``after`` (a subsequence)."""
    out, j = [], 0
    for label in before:
        if j < len(after) and after[j] == label:
            j += 1
        else:
            out.append(label)
    return out


def minimize_config(trace: Trace, resolve: Resolver, *, max_states: int = 200_000,
                    ) -> ConfigSearch:
    """The smallest configuration (integer parameters each no larger than the trace's) where
    the property still fails, with its shortest trace (``best`` is None if none is smaller;
    ``inconclusive`` counts configurations the state budget cut short)."""
    spec0, props0 = resolve(trace.spec, trace.params)
    _property(trace, (*spec0.declared_properties(), *props0))
    ints = {k: v for k, v in trace.params.items() if isinstance(v, int)
            and not isinstance(v, bool)}
    names = sorted(ints)
    # a negative value means "no bound" (e.g. --max-restarts -1): kept as it is
    ranges = [range(0, ints[k] + 1) if ints[k] >= 0 else [ints[k]] for k in names]
    candidates = sorted(itertools.product(*ranges), key=lambda c: (sum(c), c))
    current = tuple(ints[k] for k in names)
    tried = inconclusive = 0
    for combo in candidates:
        if combo == current:
            break
        params = {**trace.params, **dict(zip(names, combo, strict=True))}
        try:
            spec, props = resolve(trace.spec, params)
        except (SpecError, TraceError, TypeError, ValueError):
            continue
        tried += 1
        result = check(spec, (*spec.declared_properties(), *props), only=[trace.property or ""],
                       max_states=max_states)
        v = result.violation(trace.property or "")
        if v is not None and v.trace is not None:
            changed = [f"{k} {trace.params[k]} -> {params[k]}" for k in names
                       if params[k] != trace.params[k]]
            return ConfigSearch(Shrunk(v.trace, changed, dict(trace.params), tried, inconclusive),
                                tried, inconclusive)
        inconclusive += not result.complete
    return ConfigSearch(None, tried, inconclusive)
