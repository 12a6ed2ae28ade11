"""The entry points of exhaustive checking: :func:`check` configures symmetry,
worker processes, Ray, a memory limit, checkpoints and a start from a trace's state
(``start``), and runs the engine that fits; :func:`check_all` adds what needs the
explicit state graph (liveness, and the graph itself), imported only when asked for.

Every engine expands states with the same core (core.py), so the figures, coverage and
shortest counterexamples are the same whichever runs: the one-process BFS
(explore.py) unless workers, Ray or checkpoints are asked for; then the
level-synchronous multi-process BFS (parallel.py), with forked workers or Ray actors
(ray_backend.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agree.checker.explore import (
    SAFETY_KINDS,
    Fingerprint,
    explore,
    safety_properties,
    select_properties,
)
from agree.checker.limits import rss_bytes
from agree.checker.result import CheckResult, Progress
from agree.checker.start_from import FROM_REFUSED, StartPoint, prepare, search_from, splice
from agree.spec import Property, Spec, SpecError

if TYPE_CHECKING:
    from agree.checker.graph import StateGraph
    from agree.checker.liveness import LivenessResult

__all__ = ["Outcome", "check", "check_all", "split_properties"]


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
    symmetry: bool = False,
    verify_symmetry: bool = True,
    workers: int | None = None,
    ray: bool | str = False,
    memory_limit: int | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 60.0,
    resume: str | Path | None = None,
    stats: dict[str, Any] | None = None,
    start: StartPoint | str | None = None,
) -> CheckResult:
    """Explore every reachable state of ``spec`` and check its safety properties
    (``properties``, default the spec's declared ones; ``only`` names a subset).

    Budgets (``max_states``, ``time_limit``, ``memory_limit`` in bytes) end the run with
    a partial report. ``symmetry``: one state per orbit of the spec's declared symmetry,
    refused unless the spec and properties pass the symmetry test (skipped with
    ``verify_symmetry=False``). ``workers``: that many forked processes; ``ray``: Ray
    actors instead (True: a local Ray, or a cluster's address; one actor per CPU unless
    ``workers``). ``checkpoint`` (a directory written between levels, at most every
    ``checkpoint_every`` seconds) and ``resume`` run the multi-process engine, with one
    worker unless ``workers``. ``stats`` receives the workers' CPU seconds and memory.
    ``progress`` is called every ``progress_every`` seconds (one process) or level.
    ``start`` (a :class:`StartPoint`, or ``"TRACE.json[:K]"``, whose first K steps are
    replayed on ``spec``) searches from the state a trace reaches instead of Init; the
    result's traces are the replayed prefix then the suffix found (``result.start``,
    ``result.found_steps``); not with Ray or checkpoints.
    Never prints; raises SpecError on bad options, SpecRuntimeError when the spec raises.
    """
    if workers is not None and workers < 1:
        raise SpecError("--workers must be at least 1")
    point: StartPoint | None = None
    if start is not None:
        if ray or checkpoint is not None or resume is not None:
            raise SpecError(FROM_REFUSED)
        point, spec = search_from(spec, start, symmetry)  # from here on: the start state
    props = safety_properties(spec, properties, only)
    budgets: dict[str, Any] = {"stop_at_first": stop_at_first, "deadlock": deadlock,
                               "max_states": max_states, "time_limit": time_limit,
                               "check_pruned": check_pruned, "progress": progress}
    if ray or workers is not None or checkpoint is not None or resume is not None:
        from agree.checker.parallel import run_parallel

        with contextlib.ExitStack() as stack:
            pool_factory = None
            if ray:
                from agree.checker.ray_backend import on_ray

                workers, pool_factory = stack.enter_context(
                    on_ray(None if ray is True else ray, workers))
            result = run_parallel(spec, props, workers=workers or 1, symmetry=symmetry,
                                  verify_symmetry=verify_symmetry,
                                  memory_limit=memory_limit, checkpoint=checkpoint,
                                  checkpoint_every=checkpoint_every, resume=resume,
                                  stats=stats, pool_factory=pool_factory, **budgets)
    else:
        fingerprint: Fingerprint = hash
        if symmetry:
            from agree.checker.symmetry import check_symmetric, orbit_fingerprint

            if verify_symmetry:
                check_symmetric(spec, props)
            fingerprint = orbit_fingerprint(spec)
        should_stop = _memory_guard(memory_limit) if memory_limit is not None else None
        result = explore(spec, props, progress_every=progress_every, fingerprint=fingerprint,
                         should_stop=should_stop, **budgets)
        result.symmetry = symmetry
    if point is not None:
        splice(result, point)  # the traces read from Init: the replayed prefix, then these
    return result


@dataclass
class Outcome:
    """What :func:`check_all` found: the safety check's result (None when only liveness
    properties were selected), the liveness check's (None without liveness properties),
    and the explicit state graph (with ``graph=True``, or the one liveness was checked on)."""

    safety: CheckResult | None
    liveness: LivenessResult | None = None
    graph: StateGraph | None = None


def split_properties(props: Sequence[Property], only: Sequence[str] | None,
                     ) -> tuple[list[Property], list[Property], list[str] | None]:
    """(liveness properties selected, safety properties, names of the safety ones
    selected: None for all of them). Unknown names in ``only`` are an error."""
    chosen = select_properties(props, only)
    live = [p for p in chosen if p.kind not in SAFETY_KINDS]
    safe = [p for p in props if p.kind in SAFETY_KINDS]
    safe_only = None if not only else [p.name for p in chosen if p.kind in SAFETY_KINDS]
    return live, safe if (safe_only is None or safe_only) else [], safe_only


def check_all(
    spec: Spec[Any],
    properties: Sequence[Property] | None = None,
    *,
    only: Sequence[str] | None = None,
    graph: bool = False,
    graph_limit: int | None = None,
    start: StartPoint | str | None = None,
    symmetry: bool = False,
    on_safety: Callable[[CheckResult], None] | None = None,
    **options: Any,
) -> Outcome:
    """Check every property of ``properties`` (default the spec's declared ones; ``only``
    names a subset): safety ones with :func:`check` (``options`` are its own), then
    liveness ones on the explicit state graph (at most ``graph_limit`` states, default
    50,000). ``graph``: also build the graph (before the check, so an oversize model fails
    fast) and return it. ``on_safety`` is called with the safety result before liveness
    is checked. With ``start`` (see :func:`check`) liveness properties are left out, and
    ``graph`` is refused. networkx is imported only when the graph is needed."""
    props = properties if properties is not None else spec.declared_properties()
    live, safety, safe_only = split_properties(props, only)
    if start is not None:
        if (only and live) or graph or options.get("resume") or options.get("checkpoint") \
                or options.get("ray"):
            raise SpecError(FROM_REFUSED)
        live = []
        if isinstance(start, str):
            start = prepare(spec, start)  # load and replay the trace before anything runs
    if live and not safety:
        return Outcome(None, *_liveness(spec, live, graph_limit, symmetry))
    sg: StateGraph | None = None
    if graph and not live:
        from agree.checker.graph import build_graph

        sg = build_graph(spec, _graph_limit(graph_limit))
    result = check(spec, safety, only=safe_only, symmetry=symmetry, start=start, **options)
    if on_safety is not None:
        on_safety(result)
    if live:
        return Outcome(result, *_liveness(spec, live, graph_limit, symmetry))
    return Outcome(result, None, sg)


def _graph_limit(limit: int | None) -> int:
    from agree.checker.graph import DEFAULT_LIMIT

    if limit is not None and limit <= 0:
        raise SpecError("--graph-limit must be positive")
    return limit or DEFAULT_LIMIT


def _liveness(spec: Spec[Any], live: Sequence[Property], limit: int | None, symmetry: bool,
              ) -> tuple[LivenessResult, StateGraph]:
    from agree.checker.graph import build_graph
    from agree.checker.liveness import check_liveness

    sg = build_graph(spec, _graph_limit(limit), what="liveness")
    return check_liveness(spec, live, symmetry=symmetry, graph=sg), sg


def _memory_guard(limit: int) -> Callable[[], str | None]:
    """The one-process engine's ``should_stop``: "memory" a little below ``limit``
    bytes (memory grows between two polls, a few times a second), so the run ends
    cleanly with its partial figures rather than being killed."""
    margin = limit - min(limit // 10, 8 * 2**20)
    if rss_bytes() >= margin:
        raise SpecError(f"--memory {limit:,} bytes is below what agree already uses "
                        f"({rss_bytes():,} bytes)")
    last_poll = [0.0]

    def over() -> str | None:
        now = time.perf_counter()
        if now - last_poll[0] < 0.05:
            return None
        last_poll[0] = now
        return "memory" if rss_bytes() >= margin else None

    return over
