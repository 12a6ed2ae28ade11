"""Shrinking a failing chaos schedule to the least that still breaks the same claim.

A schedule is data, and replaying it is deterministic, so shrinking is a search
over smaller schedules: drop faults (in halving chunks, then one at a time),
shorten the run, use fewer clients and keys, and calm the network. A candidate
is kept when it still violates one of the claims the original violated (not
just any claim, so shrinking cannot wander off to a different failure).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from agree.chaos.schedule import Schedule
from agree.chaos.sim import Outcome, run_schedule

__all__ = ["shrink"]


def _smaller(s: Schedule) -> Iterator[Schedule]:
    """Candidate simplifications of ``s``, most aggressive first."""
    faults = list(s.faults)
    chunk = max(1, len(faults) // 2)
    while chunk >= 1:
        for i in range(0, len(faults), chunk):
            yield replace(s, faults=tuple(faults[:i] + faults[i + chunk:]))
        if chunk == 1:
            break
        chunk //= 2
    last = max((f.at for f in s.faults), default=0)
    for ticks in (s.ticks // 4, s.ticks // 2, (3 * s.ticks) // 4):
        if ticks > last and ticks >= 10:
            yield replace(s, ticks=ticks)
    for clients in range(1, s.clients):
        yield replace(s, clients=clients)
    if s.keys > 1:
        yield replace(s, keys=1)
    if s.p_drop > 0:
        yield replace(s, p_drop=0.0)
    if s.p_duplicate > 0:
        yield replace(s, p_duplicate=0.0)
    if s.p_delay > 0:
        yield replace(s, p_delay=0.0)


def shrink(schedule: Schedule, outcome: Outcome, time_limit: float = 60.0,
           run: Callable[[Schedule], Outcome] = run_schedule) -> tuple[Schedule, Outcome, int]:
    """The smallest failing schedule found within ``time_limit`` seconds, its outcome,
    and how many candidate runs it took."""
    claims = set(outcome.claims)
    deadline = time.monotonic() + time_limit
    best, best_outcome = schedule, outcome
    runs = 0
    progress = True
    while progress and time.monotonic() < deadline:
        progress = False
        for candidate in _smaller(best):
            if time.monotonic() >= deadline:
                break
            runs += 1
            result = run(candidate)
            if result.failed and claims & set(result.claims):
                best, best_outcome, progress = candidate, result, True
                break
    return best, best_outcome, runs
