"""Beyond one machine: swarm simulation on a Ray cluster (optional extra ``agree[ray]``).

The runs of a simulation are split into contiguous chunks, one Ray task each.
Run ``r`` of seed ``S`` draws from its own generator (see simulate.py), so a
chunk's walks are exactly the walks the same run numbers take locally; the
chunks' results are merged in run order, and the violation reported is the one
of the lowest-numbered violating run. So a swarm reports the same counterexample
as ``agree simulate`` on one machine with the same seed, however many nodes the
cluster has (it may walk more runs, since chunks do not stop each other).

Specs must be importable on the cluster's nodes (registered specs are; a spec
loaded from a local file is not, unless the file is shipped with Ray's
``runtime_env``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from agree.checker.explore import select_properties
from agree.checker.simulate import SAFETY_KINDS, SimulationResult, simulate_runs
from agree.checker.spec import Property, Spec, SpecError

__all__ = ["simulate_on_ray"]


def _chunk(spec: Spec[Any], props: Sequence[Property], seed: int, depth: int, first: int,
           last: int, stop_at_first: bool, deadlock: bool) -> SimulationResult:
    """One task: runs ``first..last-1`` of the simulation."""
    result = SimulationResult(spec.name, spec.param_values(), [p.name for p in props], seed,
                              depth)
    result.coverage = {a.label: 0 for a in spec.actions()}
    simulate_runs(spec, props, result, range(first, last), stop_at_first=stop_at_first,
                  deadlock=deadlock)
    return result


def simulate_on_ray(spec: Spec[Any], properties: Sequence[Property] | None = None, *,
                    depth: int = 100, runs: int = 1000, seed: int = 0,
                    only: Sequence[str] | None = None, stop_at_first: bool = True,
                    deadlock: bool = False, tasks: int | None = None,
                    address: str | None = None) -> SimulationResult:
    """Run a simulation as a swarm of Ray tasks; connects to ``address`` (or starts a
    local Ray) unless Ray is already initialised."""
    try:
        import ray  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise SpecError("the Ray backend needs Ray: pip install 'agree[ray]'") from None
    if depth < 1 or runs < 1:
        raise SpecError("--depth and --runs must be at least 1")
    props = [p for p in select_properties(
        properties if properties is not None else spec.declared_properties(), only)
        if p.kind in SAFETY_KINDS]
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise SpecError(f"cannot reach the Ray cluster at {address}: {exc}") from None
        started = True
    try:
        start = time.monotonic()
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call,unused-ignore]
        cpus = int(resources.get("CPU", 1))
        n = max(1, min(runs, tasks or cpus * 4))
        bounds = [runs * k // n for k in range(n + 1)]
        remote = ray.remote(_chunk)
        spec_ref = ray.put(spec)
        refs = [remote.remote(spec_ref, props, seed, depth, bounds[k], bounds[k + 1],
                              stop_at_first, deadlock) for k in range(n)]
        parts: list[SimulationResult] = ray.get(refs)
    finally:
        if started:
            ray.shutdown()
    result = SimulationResult(spec.name, spec.param_values(), [p.name for p in props], seed,
                              depth)
    result.coverage = {a.label: 0 for a in spec.actions()}
    for part in parts:  # in run order: the first violating run's trace wins
        result.merge(part)
    result.seconds = time.monotonic() - start
    return result
