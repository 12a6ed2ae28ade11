"""Reachable states by plain breadth-first search: the tests' own oracle, deliberately
independent of the checker's engines (no fingerprints, no compact structures)."""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

Constraint = Literal["ignore", "tlc", "inside"]


def reachable(spec: Any, limit: int | None = None, *,
              constraint: Constraint = "ignore") -> list[Any]:
    """The states reachable from ``spec.init()``, in breadth-first order (the first
    ``limit`` of them).

    ``constraint`` says what the state constraint does: ``"ignore"`` expands every state;
    ``"tlc"`` keeps a state outside the constraint but does not expand it (as TLC and the
    explicit checker do); ``"inside"`` drops such states altogether."""
    inside = spec.constraint if constraint != "ignore" else None
    seen = dict.fromkeys(s for s in spec.init() if constraint != "inside" or inside(s))
    queue = deque(seen)
    while queue and (limit is None or len(seen) < limit):
        s = queue.popleft()
        if constraint == "tlc" and not inside(s):
            continue
        for t in spec.successors(s):
            if t.state in seen or (constraint == "inside" and not inside(t.state)):
                continue
            seen[t.state] = None
            queue.append(t.state)
    states = list(seen)
    return states if limit is None else states[:limit]
