"""Beyond one machine: exhaustive BFS and swarm simulation on a Ray cluster (optional
extra ``agree[ray]``).

**Distributed BFS** (``check(spec, ray=...)``, ``agree check SPEC --ray [ADDRESS]``): the
multi-process engine of parallel.py with Ray actors in place of forked processes.
Each actor owns the fingerprints ``fp % N == its number`` (with their parent links)
and a share of the frontier; the coordinator runs the same level-synchronous
exchanges, so the distinct/generated/depth figures are the single process's and
counterexamples are shortest. Actors are separate interpreters, so states are
fingerprinted by :func:`agree.checker.limits.stable_fingerprint`, not ``hash``.

**Swarm simulation** (:func:`simulate_on_ray`):
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from agree.checker.explore import select_properties
from agree.checker.parallel_worker import Fingerprint, Worker, answer
from agree.checker.pools import PoolFactory
from agree.checker.result import SpecRuntimeError
from agree.checker.simulate import SAFETY_KINDS, SimulationResult, simulate_runs
from agree.spec import Property, Spec, SpecError

__all__ = ["on_ray", "simulate_on_ray"]


def _ray() -> Any:
    try:
        import ray  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise SpecError("the Ray backend needs Ray: pip install 'agree[ray]'") from None
    return ray


@contextmanager
def _session(address: str | None) -> Iterator[Any]:
    """Ray, connected to ``address`` (or a new local Ray) unless already initialised;
    a session started here is shut down at the end."""
    ray = _ray()
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise SpecError(f"cannot reach the Ray cluster at {address}: {exc}") from None
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


# -- distributed BFS ------------------------------------------------------------------


class _Actor:
    """A Ray actor holding one worker of the multi-process BFS (parallel_worker.py)."""

    def __init__(self, wid: int, n: int, spec: Spec[Any], props: Sequence[Property],
                 fingerprint: Fingerprint, opts: dict[str, Any]) -> None:
        self.worker = Worker(wid, n, spec, props, fingerprint, None, opts)

    def handle(self, cmd: str, arg: Any) -> tuple[str, Any]:
        return self.worker.handle(cmd, arg)


class _RayPool:
    """The BFS workers as Ray actors: the coordinator's side (see pools.Pool)."""

    def __init__(self, n: int, spec: Spec[Any], props: Sequence[Property],
                 fingerprint: Fingerprint, opts: dict[str, Any]) -> None:
        ray = self.ray = _ray()
        cpus = float(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call,unused-ignore]
        # an actor per CPU at most; more actors than CPUs share them (else they would
        # wait for a free CPU forever)
        actor = ray.remote(num_cpus=min(1.0, cpus / n))(_Actor)
        spec_ref = ray.put(spec)
        self.size = n
        self.actors = [actor.remote(w, n, spec_ref, props, fingerprint, opts)
                       for w in range(n)]

    def ask(self, requests: Sequence[tuple[str, Any] | None]) -> list[Any]:
        refs = {w: a.handle.remote(*req) for w, (a, req) in enumerate(
            zip(self.actors, requests, strict=True)) if req is not None}
        try:
            answers = dict(zip(refs, self.ray.get(list(refs.values())), strict=True))
        except self.ray.exceptions.RayActorError as exc:
            raise SpecRuntimeError(f"a Ray actor died (out of memory?): {exc}") from None
        out: list[Any] = []
        for w in range(self.size):
            if w not in answers:
                out.append(None)
                continue
            out.append(answer(answers[w], "a Ray actor"))
        return out

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []


@contextmanager
def on_ray(address: str | None, workers: int | None) -> Iterator[tuple[int, PoolFactory]]:
    """Within a Ray session (connected to ``address``, or a local Ray, unless Ray is
    already initialised): the number of BFS workers (``workers``, default one per CPU
    of the cluster) and the factory of their actors, for the multi-process engine
    (reached through :func:`agree.checker.run.check` with ``ray``)."""
    if workers is not None and workers < 1:
        raise SpecError("--workers must be at least 1")
    with _session(address) as ray:
        if workers is None:
            resources = ray.cluster_resources()  # type: ignore[no-untyped-call,unused-ignore]
            workers = max(1, int(resources.get("CPU", 1)))
        yield workers, _RayPool


# -- swarm simulation -----------------------------------------------------------------


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
    if depth < 1 or runs < 1:
        raise SpecError("--depth and --runs must be at least 1")
    props = [p for p in select_properties(
        properties if properties is not None else spec.declared_properties(), only)
        if p.kind in SAFETY_KINDS]
    with _session(address) as ray:
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
    result = SimulationResult(spec.name, spec.param_values(), [p.name for p in props], seed,
                              depth)
    result.coverage = {a.label: 0 for a in spec.actions()}
    for part in parts:  # in run order: the first violating run's trace wins
        result.merge(part)
    result.seconds = time.monotonic() - start
    return result
