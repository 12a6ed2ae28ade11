"""The one entry point of exhaustive checking: :func:`check` configures symmetry,
worker processes, Ray, a memory limit and checkpoints, and runs the engine that fits.

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
from pathlib import Path
from typing import Any

from agree.checker.explore import Fingerprint, explore, safety_properties
from agree.checker.limits import rss_bytes
from agree.checker.result import CheckResult, Progress
from agree.spec import Property, Spec, SpecError

__all__ = ["check"]


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
    Never prints; raises SpecError on bad options, SpecRuntimeError when the spec raises.
    """
    if workers is not None and workers < 1:
        raise SpecError("--workers must be at least 1")
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
            return run_parallel(spec, props, workers=workers or 1, symmetry=symmetry,
                                memory_limit=memory_limit, checkpoint=checkpoint,
                                checkpoint_every=checkpoint_every, resume=resume,
                                stats=stats, pool_factory=pool_factory, **budgets)
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
    return result


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
