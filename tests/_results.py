"""Comparing check results across engines (one process, workers, Ray)."""

from __future__ import annotations

from typing import Any


def figures(r: Any) -> tuple[Any, ...]:
    """Verdict, counts, depth, per-action generated and the violations' trace lengths:
    everything but per-action "new distinct" (which action finds a state first depends on
    the order workers report in; their sum does not)."""
    return (r.verdict, r.distinct, r.generated, r.depth,
            {k: v.generated for k, v in r.coverage.items()},
            sum(v.distinct for v in r.coverage.values()),
            sorted((v.property, v.kind, len(v.trace) if v.trace else None)
                   for v in r.violations))
