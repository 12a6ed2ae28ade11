"""Exhaustive breadth-first exploration with TLC's semantics.

A seen-set of fingerprints with a parent link each (as TLC keeps; compact
arrays, see seen.py), so every violation comes with a *shortest* trace, rebuilt
at the end by re-running the spec along the chain of fingerprints. Frontier
states are kept packed (compact.py) and dropped as soon as they are expanded, so
little more than one level of states is in memory. Successors outside the state
constraint are generated and have their invariants checked (they are reachable,
so a violation there is real) but are neither counted as distinct nor expanded;
``check_pruned=False`` skips checking them too. A state is expanded by the core every
engine shares (core.py); this module keeps the seen-set, the levels and the budgets.
The entry point is agree.checker.run.check.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from agree.checker.compact import Compactor
from agree.checker.core import Core, Raised, initial_states
from agree.checker.result import (
    CheckResult,
    Progress,
    SpecRuntimeError,
    Violation,
    ViolationKind,
)
from agree.checker.seen import SeenSet
from agree.spec import Property, Spec, SpecError, Transition
from agree.traces.trace import Trace

__all__ = ["SAFETY_KINDS", "explore", "follow", "safety_properties", "select_properties",
           "trace_to"]

#: What breadth-first search (and a walk) can check; liveness (``eventually``,
#: ``leads_to``) needs the state graph.
SAFETY_KINDS = ("invariant", "action", "sometimes")

#: A state's 64-bit fingerprint (``hash`` by default).
Fingerprint = Callable[[Any], int]

_DEADLOCK = Property("deadlock", "invariant", lambda _spec, _s: False,
                     "some action is enabled in every reachable state")


def select_properties(props: Sequence[Property], only: Sequence[str] | None) -> list[Property]:
    """Keep the properties named in ``only`` (all when None); unknown names are an error."""
    if not only:
        return list(props)
    by_name = {p.name: p for p in props}
    unknown = [n for n in only if n not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise SpecError(f"unknown property {unknown[0]!r} (known: {known})")
    return [by_name[n] for n in dict.fromkeys(only)]


def safety_properties(spec: Spec[Any], properties: Sequence[Property] | None,
                      only: Sequence[str] | None) -> list[Property]:
    """The properties to check (the spec's declared ones when None, those named in
    ``only``); a liveness property is refused: BFS checks safety only."""
    props = select_properties(
        properties if properties is not None else spec.declared_properties(), only)
    live = [p.name for p in props if p.kind not in SAFETY_KINDS]
    if live:
        raise SpecError(f"{live[0]} is a liveness property: BFS checks safety only; check "
                        "it on the state graph (agree.checker.run.check_all)")
    return props


def explore(
    spec: Spec[Any],
    props: Sequence[Property],
    *,
    stop_at_first: bool = True,
    deadlock: bool = False,
    max_states: int | None = None,
    time_limit: float | None = None,
    check_pruned: bool = True,
    progress: Callable[[Progress], None] | None = None,
    progress_every: float = 2.0,
    fingerprint: Fingerprint = hash,
    should_stop: Callable[[], str | None] | None = None,
) -> CheckResult:
    """Explore every reachable state of ``spec`` breadth-first in this process and check
    ``props`` (safety properties; see agree.checker.run.check, the entry point).

    Returns a :class:`CheckResult`; never prints. Raises
    :class:`SpecRuntimeError` if the spec raises while being explored.
    ``should_stop`` is polled a few times a second; a reason it returns (say
    ``"memory"``) ends the run with a partial report, like the other budgets.
    """
    # The run allocates millions of small tuples that live until its end: collecting
    # the young generation every 700 allocations would only rescan them.
    threshold = gc.get_threshold()
    gc.set_threshold(200_000, 20, 1_000)
    seen = SeenSet()
    try:
        return _explore(spec, props, seen, stop_at_first, deadlock, max_states, time_limit,
                        check_pruned, progress, progress_every, fingerprint, should_stop)
    except Raised as raised:
        step = (Transition(spec.actions()[raised.index], raised.args, raised.state)
                if raised.index >= 0 else None)
        raise _raised(spec, seen, raised.parent, step, raised.state, raised.where,
                      raised.exc, fingerprint) from raised.exc
    finally:
        gc.set_threshold(*threshold)


def _explore(
    spec: Spec[Any],
    props: Sequence[Property],
    seen: SeenSet,
    stop_at_first: bool,
    deadlock: bool,
    max_states: int | None,
    time_limit: float | None,
    check_pruned: bool,
    progress: Callable[[Progress], None] | None,
    progress_every: float,
    fingerprint: Fingerprint,
    should_stop: Callable[[], str | None] | None,
) -> CheckResult:
    core = Core(spec, props, check_pruned=check_pruned, deadlock=deadlock)
    result = CheckResult(spec.name, spec.param_values(), [p.name for p in props])
    result.coverage = {a.label: st for a, st in zip(core.actions, core.stats, strict=True)}
    found = core.found

    start = time.perf_counter()
    last_report = start
    initial_generated = 0  # successors are counted per action, in result.coverage

    # frontier states are kept packed (shared field values, frozensets as tuples)
    compactor = Compactor()
    pack, unpack = compactor.pack, compactor.unpack
    level: list[Any] = []
    seen_add = seen.add

    expanding: list[Any] = [None]  # the state being expanded, parent of those admitted

    def admit(t: Any, parent: int, _ai: int, _args: tuple[Any, ...]) -> bool:
        if seen_add(fingerprint(t), parent):
            level.append(pack(t, expanding[0]))
            return True
        return False

    for s in initial_states(spec):
        initial_generated += 1
        core.initial(s, admit, -1)  # -1: no parent
    frontier: list[Any] = level
    depth = 1 if frontier else 0
    stop = bool(found) and stop_at_first

    expand = core.expander(admit, stop_at_first)
    expanded = 0
    while frontier and not stop:
        level = []
        base = len(seen) - len(frontier)  # the frontier's first ordinal
        for k in range(len(frontier)):
            s = expanding[0] = unpack(frontier[k])
            frontier[k] = None  # expanded: its memory can go
            expand(s, base + k)  # its ordinal in seen: its successors' parent link
            if found and stop_at_first:
                stop = True
                break
            expanded += 1
            if max_states is not None and len(seen) >= max_states:
                result.stopped, stop = "max-states", True
                break
            if expanded & 255 == 0 and (progress is not None or time_limit is not None
                                        or should_stop is not None):
                now = time.perf_counter()
                if time_limit is not None and now - start >= time_limit:
                    result.stopped, stop = "time-limit", True
                    break
                reason = should_stop() if should_stop is not None else None
                if reason:
                    result.stopped, stop = reason, True
                    break
                if progress is not None and now - last_report >= progress_every:
                    last_report = now
                    gen = initial_generated + core.generated
                    progress(Progress(len(seen), gen, depth, len(level), now - start))
        if level and not stop:
            depth += 1
        frontier = level

    result.distinct = len(seen)
    result.generated = initial_generated + core.generated
    result.depth = depth
    result.seconds = time.perf_counter() - start
    n, g = result.distinct, result.generated
    result.collision_probability = n * max(g - n, 0) / 2.0**64
    if stop and result.stopped is None:
        result.stopped = "violation"
    result.complete = result.stopped is None
    actions = core.actions
    for prop, parent, index, args, state in found:
        step = Transition(actions[index], args, state) if index >= 0 else None
        kind = cast(ViolationKind, "deadlock" if prop is None else prop.kind)
        name = prop.name if prop is not None else _DEADLOCK.name
        trace = _build_trace(spec, seen, parent, step, state, name, kind, fingerprint,
                             is_deadlock=kind == "deadlock")
        result.violations.append(Violation(name, kind, trace, (prop or _DEADLOCK).doc))
    if result.complete:
        for p in core.somes:
            result.violations.append(Violation(
                p.name, "sometimes", None, f"no reachable state satisfies {p.name}"))
    return result


def trace_to(spec: Spec[Any], seen: SeenSet, ordinal: int,
             fingerprint: Fingerprint = hash) -> tuple[Any, list[Transition[Any]]]:
    """Rebuild a shortest path to the state ``ordinal`` of ``seen`` from the parent links,
    re-running the spec (as TLC does) to recover actions and full states."""
    return follow(spec, seen.chain(ordinal), fingerprint)


def follow(spec: Spec[Any], chain: Sequence[int],
           fingerprint: Fingerprint = hash) -> tuple[Any, list[Transition[Any]]]:
    """The initial state and the steps through the states whose fingerprints are
    ``chain`` (from an initial state on), found by re-running the spec."""
    init = next(s for s in spec.init() if fingerprint(s) == chain[0])
    steps: list[Transition[Any]] = []
    state = init
    for target in chain[1:]:
        for tr in spec.successors(state):
            if fingerprint(tr.state) == target and spec.constraint(tr.state):
                steps.append(tr)
                state = tr.state
                break
        else:  # pragma: no cover - only on a fingerprint collision or impure spec
            raise SpecError("cannot rebuild the trace: the spec is not deterministic "
                            "(an action gives different results for the same state)")
    return init, steps


def _build_trace(spec: Spec[Any], seen: SeenSet, parent: int,
                 step: Transition[Any] | None, state: Any, prop: str, kind: str,
                 fingerprint: Fingerprint, is_deadlock: bool = False) -> Trace:
    if parent < 0:  # an initial state
        return Trace(spec.name, spec.param_values(), state, [], prop, kind)
    init, steps = trace_to(spec, seen, parent, fingerprint)
    if step is not None:
        steps.append(step)
    elif not is_deadlock:
        last = steps[-1].state if steps else init
        for tr in spec.successors(last):
            if tr.state == state:
                steps.append(tr)
                break
    return Trace.from_transitions(spec, init, steps, prop, kind)


def _raised(spec: Spec[Any], seen: SeenSet, parent: int,
            step: Transition[Any] | None, state: Any, where: str, exc: Exception,
            fingerprint: Fingerprint) -> SpecRuntimeError:
    trace: Trace | None
    try:
        trace = _build_trace(spec, seen, parent, step, state, where, "error", fingerprint,
                             is_deadlock=True)
    except Exception:  # the spec is broken enough that no trace can be rebuilt
        trace = None
    depth = f" after {len(trace)} steps" if trace is not None else ""
    return SpecRuntimeError(f"the spec raised in {where}{depth}: {type(exc).__name__}: {exc}",
                            trace)
