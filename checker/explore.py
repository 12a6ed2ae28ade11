"""Exhaustive breadth-first exploration with TLC's semantics.

A seen-set of fingerprints with a parent link each (as TLC keeps; compact
arrays, see seen.py), so every violation comes with a *shortest* trace, rebuilt
at the end by re-running the spec along the chain of fingerprints. Frontier
states are kept packed (compact.py) and dropped as soon as they are expanded, so
little more than one level of states is in memory. Successors outside the state
constraint are generated and have their invariants checked (they are reachable,
so a violation there is real) but are neither counted as distinct nor expanded;
``check_pruned=False`` skips checking them too.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from agree.checker.compact import Compactor
from agree.checker.result import (
    ActionStats,
    CheckResult,
    Progress,
    SpecRuntimeError,
    Violation,
    ViolationKind,
)
from agree.checker.seen import SeenSet
from agree.spec import Action, Property, Spec, SpecError, Transition
from agree.traces.trace import Trace

__all__ = ["check", "select_properties", "trace_to"]

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


def check(
    spec: Spec[Any],
    properties: Sequence[Property] | None = None,
    *,
    only: Sequence[str] | None = None,
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
    """Explore every reachable state of ``spec`` breadth-first and check properties.

    Returns a :class:`CheckResult`; never prints. Raises
    :class:`SpecRuntimeError` if the spec raises while being explored.
    ``should_stop`` is polled a few times a second; a reason it returns (say
    ``"memory"``) ends the run with a partial report, like the other budgets.
    """
    # The run allocates millions of small tuples that live until its end: collecting
    # the young generation every 700 allocations would only rescan them.
    threshold = gc.get_threshold()
    gc.set_threshold(200_000, 20, 1_000)
    try:
        return _check(spec, properties, only, stop_at_first, deadlock, max_states, time_limit,
                      check_pruned, progress, progress_every, fingerprint, should_stop)
    finally:
        gc.set_threshold(*threshold)


def _check(
    spec: Spec[Any],
    properties: Sequence[Property] | None,
    only: Sequence[str] | None,
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
    props = select_properties(
        properties if properties is not None else spec.declared_properties(), only)
    live = [p.name for p in props if p.kind in ("eventually", "leads_to")]
    if live:
        raise SpecError(f"{live[0]} is a liveness property: BFS checks safety only; check "
                        "it on the state graph (agree.checker.liveness, or `agree check`)")
    invs = [p for p in props if p.kind == "invariant"]
    act_props = [p for p in props if p.kind == "action"]
    somes = [p for p in props if p.kind == "sometimes"]
    actions = spec.actions()
    result = CheckResult(spec.name, spec.param_values(), [p.name for p in props])
    result.coverage = {a.label: ActionStats() for a in actions}
    constrained = type(spec).constraint is not Spec.constraint
    constraint = spec.constraint

    seen = SeenSet()
    start = time.perf_counter()
    last_report = start
    initial_generated = 0  # successors are counted per action, in result.coverage
    # (property, parent's ordinal in seen (-1: none), step, state)
    pending: list[tuple[Property, int, Any, Any]] = []

    def failed(prop: Property, parent: int, step: Transition[Any] | None,
               state: Any) -> None:
        pending.append((prop, parent, step, state))
        if prop in invs:
            invs.remove(prop)
        if prop in act_props:
            act_props.remove(prop)

    def check_state(state: Any, parent: int, step: Transition[Any] | None,
                    act: Action[Any] | None = None, args: tuple[Any, ...] = ()) -> None:
        broken: list[Property] = []
        reached: list[Property] = []
        p: Property | None = None
        try:
            for p in invs:
                if not p.fn(spec, state):
                    broken.append(p)
            for p in somes:
                if p.fn(spec, state):
                    reached.append(p)
        except Exception as exc:
            if step is None and act is not None:
                step = Transition(act, args, state)
            name = p.name if p is not None else "?"
            raise _raised(spec, seen, parent, step, state, f"property {name}", exc,
                          fingerprint) from exc
        for p in reached:
            somes.remove(p)
        if broken and step is None and act is not None:
            step = Transition(act, args, state)
        for p in broken:
            failed(p, parent, step, state)

    # frontier states are kept packed (shared field values, frozensets as tuples)
    compactor = Compactor()
    pack, unpack = compactor.pack, compactor.unpack
    frontier: list[Any] = []
    for s in spec.init():
        initial_generated += 1
        inside = not constrained or constraint(s)
        if inside or check_pruned:
            check_state(s, -1, None)
        if inside and seen.add(fingerprint(s), -1):
            frontier.append(pack(s))
    depth = 1 if frontier else 0
    stop = bool(pending) and stop_at_first

    # Per action: its function, coverage counters, and how to enumerate its
    # arguments (one parameter, the common case, is called without packing).
    plans = []
    for a in actions:
        doms = [getattr(spec, d) if isinstance(d, str) else d for _, d in a.domains]
        plans.append((a, a.fn, result.coverage[a.label], doms))
    expanded = 0
    while frontier and not stop:
        level: list[Any] = []
        base = len(seen) - len(frontier)  # the frontier's first ordinal
        for k in range(len(frontier)):
            s = unpack(frontier[k])
            frontier[k] = None  # expanded: its memory can go
            sord = base + k  # its ordinal in seen (its successors' parent link)
            succ: list[tuple[Any, Action[Any], Any, ActionStats]] = []
            for act, fn, stats, doms in plans:
                args: Any = ()
                try:
                    # one and two parameters, the common cases, are called without packing
                    if len(doms) == 1:
                        d0 = doms[0]
                        for x in (d0(spec, s) if callable(d0) else d0):
                            t = fn(s, x)
                            if t is not None:
                                succ.append((t, act, (x,), stats))
                    elif len(doms) == 2:
                        d0, d1 = doms
                        ys = list(d1(spec, s)) if callable(d1) else d1
                        for x in (d0(spec, s) if callable(d0) else d0):
                            for y in ys:
                                t = fn(s, x, y)
                                if t is not None:
                                    succ.append((t, act, (x, y), stats))
                    else:
                        for args in act.bindings(s):
                            t = fn(s, *args)
                            if t is not None:
                                succ.append((t, act, args, stats))
                except Exception as exc:
                    raise _raised(spec, seen, sord, None, s, act.label, exc, fingerprint) from exc
            enabled = bool(succ)
            for t, act, args, stats in succ:
                stats.generated += 1
                step: Transition[Any] | None = None
                for p in act_props:
                    if not p.fn(spec, s, t):
                        step = Transition(act, args, t)
                        failed(p, sord, step, t)
                        break
                if t is s:  # a stutter returning the very state: seen, nothing to do
                    continue
                if not constrained or constraint(t):
                    if not seen.add(fingerprint(t), sord):
                        continue
                    stats.distinct += 1
                    level.append(pack(t))
                    if invs or somes:
                        check_state(t, sord, step, act, args)
                elif check_pruned and (invs or somes):
                    check_state(t, sord, step, act, args)
                if pending and stop_at_first:
                    break
            if deadlock and not enabled and not (pending and stop_at_first):
                pending.append((_DEADLOCK, sord, None, s))
                deadlock = False  # report the first (shallowest) deadlock only
            if pending and stop_at_first:
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
                    gen = initial_generated + sum(c.generated for c in result.coverage.values())
                    progress(Progress(len(seen), gen, depth, len(level), now - start))
        if level and not stop:
            depth += 1
        frontier = level

    result.distinct = len(seen)
    result.generated = initial_generated + sum(c.generated for c in result.coverage.values())
    result.depth = depth
    result.seconds = time.perf_counter() - start
    n, g = result.distinct, result.generated
    result.collision_probability = n * max(g - n, 0) / 2.0**64
    if stop and result.stopped is None:
        result.stopped = "violation"
    result.complete = result.stopped is None
    for prop, parent, step, state in pending:
        kind = cast(ViolationKind, "deadlock" if prop is _DEADLOCK else prop.kind)
        trace = _build_trace(spec, seen, parent, step, state, prop.name, kind, fingerprint,
                             is_deadlock=kind == "deadlock")
        result.violations.append(Violation(prop.name, kind, trace, prop.doc))
    if result.complete:
        for p in somes:
            result.violations.append(Violation(
                p.name, "sometimes", None, f"no reachable state satisfies {p.name}"))
    return result


def trace_to(spec: Spec[Any], seen: SeenSet, ordinal: int,
             fingerprint: Fingerprint = hash) -> tuple[Any, list[Transition[Any]]]:
    """Rebuild a shortest path to the state ``ordinal`` of ``seen`` from the parent links,
    re-running the spec (as TLC does) to recover actions and full states."""
    chain = seen.chain(ordinal)
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
