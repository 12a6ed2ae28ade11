"""Random simulation: seeded random walks for configurations beyond exhaustive reach.

A walk starts in an initial state and takes up to ``depth`` steps, each a
successor chosen uniformly among the enabled (action, arguments) pairs whose
state satisfies the state constraint. The same properties as the exhaustive
checker are evaluated with TLC's semantics: invariants on every state visited
and on every successor generated outside the constraint (it is reachable),
action properties on every step generated.

Reproducible: run ``r`` of seed ``S`` draws from ``random.Random(f"{S}/{r}")``
(string seeds are hashed with SHA-512, not with Python's per-process string
hash), and successors come in the spec's declared, deterministic order. So
the same seed gives the same walks in any process, on any machine, and runs
can be split among workers (the Ray swarm does) without changing them.

A counterexample is a :class:`~agree.traces.trace.Trace` like the checker's,
with any cycle (a state visited twice) cut out, so it is never longer than
the walk that found it. Simulation proves nothing when it finds nothing, and
liveness properties are left out (they need the state graph).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agree.checker.core import initial_states
from agree.checker.explore import SAFETY_KINDS, select_properties
from agree.checker.result import SpecRuntimeError, Violation, ViolationKind
from agree.spec import Property, Spec, SpecError, Transition
from agree.traces.trace import Trace, to_json

__all__ = ["SAFETY_KINDS", "SimulationResult", "random_states", "simulate", "simulate_runs"]



@dataclass
class SimulationResult:
    """What a simulation found: figures, per-action steps taken, any violations."""

    spec: str
    params: dict[str, Any]
    properties: list[str]
    seed: int
    depth: int
    runs: int = 0
    steps: int = 0
    generated: int = 0
    seconds: float = 0.0
    coverage: dict[str, int] = field(default_factory=dict)
    satisfied: list[str] = field(default_factory=list)  # ``sometimes`` properties seen true
    violations: list[Violation] = field(default_factory=list)
    stopped: str | None = None

    @property
    def verdict(self) -> Literal["violated", "none found"]:
        return "violated" if self.violations else "none found"

    @property
    def exit_code(self) -> int:
        """1 when a property is violated, else 0 (simulation cannot prove anything)."""
        return 1 if self.violations else 0

    def violation(self, name: str) -> Violation | None:
        """The violation of property ``name``, if any."""
        return next((v for v in self.violations if v.property == name), None)

    def merge(self, other: SimulationResult) -> None:
        """Add another batch of runs of the same simulation (runs in order)."""
        self.runs += other.runs
        self.steps += other.steps
        self.generated += other.generated
        for label, n in other.coverage.items():
            self.coverage[label] = self.coverage.get(label, 0) + n
        self.satisfied = sorted({*self.satisfied, *other.satisfied})
        known = {v.property for v in self.violations}
        self.violations += [v for v in other.violations if v.property not in known]

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec, "params": self.params, "properties": self.properties,
            "seed": self.seed, "depth": self.depth, "runs": self.runs, "steps": self.steps,
            "generated": self.generated, "seconds": round(self.seconds, 3),
            "verdict": self.verdict, "stopped": self.stopped,
            "coverage": self.coverage, "sometimes_satisfied": self.satisfied,
            "violations": [
                {"property": v.property, "kind": v.kind, "message": v.message,
                 "trace": to_json(v.trace) if v.trace is not None else None}
                for v in self.violations],
        }


def run_rng(seed: int, run: int) -> random.Random:
    """The generator of run ``run``: independent of the process and of other runs."""
    return random.Random(f"{seed}/{run}")


def _cut_cycles(init: Any, steps: list[Transition[Any]]) -> list[Transition[Any]]:
    """Drop every loop of the walk: when a state recurs, forget the steps between."""
    out: list[Transition[Any]] = []
    index = {init: 0}
    for t in steps:
        seen_at = index.get(t.state)
        if seen_at is not None:
            for dropped in out[seen_at:]:
                index.pop(dropped.state, None)
            del out[seen_at:]
            continue
        out.append(t)
        index[t.state] = len(out)
    return out


def simulate_runs(spec: Spec[Any], props: Sequence[Property], result: SimulationResult,
                  runs: Sequence[int], *, stop_at_first: bool = True, deadlock: bool = False,
                  deadline: float | None = None) -> None:
    """Perform the given runs (by number) of ``result``'s seed, adding to ``result``."""
    invs = [p for p in props if p.kind == "invariant"]
    act_props = [p for p in props if p.kind == "action"]
    somes = [p for p in props if p.kind == "sometimes" and p.name not in result.satisfied]
    constrained = type(spec).constraint is not Spec.constraint
    inits = list(initial_states(spec))
    if not inits:
        raise SpecError(f"spec {spec.name} has no initial state")

    def fail(prop: Property | None, kind: ViolationKind, init: Any,
             steps: list[Transition[Any]]) -> None:
        name = prop.name if prop is not None else "deadlock"
        trace = Trace.from_transitions(spec, init, _cut_cycles(init, steps), name, kind)
        result.violations.append(Violation(name, kind, trace, prop.doc if prop else
                                           "some action is enabled in every reachable state"))
        if prop in invs:
            invs.remove(prop)
        if prop in act_props:
            act_props.remove(prop)

    def check_state(state: Any, init: Any, steps: list[Transition[Any]]) -> None:
        for p in tuple(invs):
            if not _holds(spec, p, steps, init, state):
                fail(p, "invariant", init, steps)
        for p in tuple(somes):
            if _holds(spec, p, steps, init, state):
                somes.remove(p)
                result.satisfied = sorted({*result.satisfied, p.name})

    for run in runs:
        if (result.violations and stop_at_first) or (deadline and time.monotonic() > deadline):
            if not result.violations:
                result.stopped = "time-limit"
            return
        rng = run_rng(result.seed, run)
        init = inits[rng.randrange(len(inits))]
        steps: list[Transition[Any]] = []
        result.runs += 1
        check_state(init, init, steps)
        state = init
        for _ in range(result.depth):
            if result.violations and stop_at_first:
                break
            inside: list[Transition[Any]] = []
            try:
                succ = list(spec.successors(state))
            except Exception as exc:
                raise _raised(spec, init, steps, exc) from exc
            result.generated += len(succ)
            for t in succ:
                for p in tuple(act_props):
                    if not _holds(spec, p, steps, init, state, t.state):
                        fail(p, "action", init, [*steps, t])
                if not constrained or spec.constraint(t.state):
                    inside.append(t)
                elif invs:
                    check_state(t.state, init, [*steps, t])
            if not inside:
                if deadlock and not succ:
                    fail(None, "deadlock", init, steps)
                break
            t = inside[rng.randrange(len(inside))]
            steps.append(t)
            result.steps += 1
            result.coverage[t.action.label] = result.coverage.get(t.action.label, 0) + 1
            state = t.state
            check_state(state, init, steps)


def _holds(spec: Spec[Any], p: Property, steps: list[Transition[Any]], init: Any, state: Any,
           nxt: Any = None) -> bool:
    try:
        return p.holds(spec, state, nxt)
    except Exception as exc:
        raise _raised(spec, init, steps, exc, f"property {p.name}") from exc


def _raised(spec: Spec[Any], init: Any, steps: list[Transition[Any]], exc: Exception,
            where: str = "an action") -> SpecRuntimeError:
    trace = Trace.from_transitions(spec, init, steps, where, "error")
    return SpecRuntimeError(f"the spec raised in {where} after {len(steps)} steps: "
                            f"{type(exc).__name__}: {exc}", trace)


def simulate(spec: Spec[Any], properties: Sequence[Property] | None = None, *,
             depth: int = 100, runs: int = 1000, seed: int = 0,
             only: Sequence[str] | None = None, stop_at_first: bool = True,
             deadlock: bool = False, time_limit: float | None = None,
             ray: bool | str = False, tasks: int | None = None) -> SimulationResult:
    """Walk ``runs`` random paths of up to ``depth`` steps and check the properties.

    ``ray``: run the walks as a swarm of Ray tasks instead (True: a local Ray, or a
    cluster's address; ``tasks`` of them, default four per CPU); the same seed gives the
    same walks, so the same result. ``time_limit`` bounds the one-process run only."""
    if depth < 1 or runs < 1:
        raise SpecError("--depth and --runs must be at least 1")
    if ray:
        from agree.checker.ray_backend import simulate_on_ray

        return simulate_on_ray(spec, properties, depth=depth, runs=runs, seed=seed,
                               only=only, stop_at_first=stop_at_first, deadlock=deadlock,
                               tasks=tasks, address=None if ray is True else ray)
    props = [p for p in select_properties(
        properties if properties is not None else spec.declared_properties(), only)
        if p.kind in SAFETY_KINDS]
    result = SimulationResult(spec.name, spec.param_values(), [p.name for p in props],
                              seed, depth)
    result.coverage = {a.label: 0 for a in spec.actions()}
    start = time.monotonic()
    deadline = start + time_limit if time_limit else None
    simulate_runs(spec, props, result, range(runs), stop_at_first=stop_at_first,
                  deadlock=deadlock, deadline=deadline)
    result.seconds = time.monotonic() - start
    return result


def random_states(spec: Spec[Any], count: int, *, depth: int = 40, seed: int = 0,
                  keep: Callable[[Any], bool] | None = None) -> Iterator[Any]:
    """Up to ``count`` states met on seeded random walks (inside the constraint),
    for sampling-based checks such as symmetry's."""
    inits = list(initial_states(spec))
    produced = 0
    run = 0
    while produced < count and inits and run < count:
        rng = run_rng(seed, run)
        run += 1
        state = inits[rng.randrange(len(inits))]
        for _ in range(depth):
            if keep is None or keep(state):
                yield state
                produced += 1
                if produced >= count:
                    return
            nxt = [t.state for t in spec.successors(state) if spec.constraint(t.state)]
            if not nxt:
                break
            state = nxt[rng.randrange(len(nxt))]
