"""Breadth-first exploration with several worker processes on one machine.

Each worker owns a shard of the seen-set (the fingerprints ``fp`` with
``fp % workers`` equal to its number, each with its parent's fingerprint) and
expands a share of the frontier. The search is level-synchronous, so every
state is first reached at its BFS depth and counterexamples stay *shortest*,
exactly as in the single-process engine. Per level, a coordinator (the
calling process) runs two exchanges between workers:

1. every worker expands its frontier; successors whose fingerprint it owns are
   deduplicated on the spot; the others are deduplicated within the level, and
   against the fingerprints it sent the level before (in their owner's shard
   since: a level's successors are mostly states of the level before, met
   again), and their fingerprints and parents' go to their owners (as two
   arrays of 64-bit ints);
2. each owner keeps the fingerprints it has never seen (first claim wins, in
   worker order) and answers which; the worker that generated a kept state
   rebuilds it (the step again, from the packed parent it kept, with the
   parent's history values as the expansion computed them), checks that it has
   the fingerprint sent (else the spec is not deterministic: an error naming the
   action), checks the properties on it as the expansion checks a successor
   (skipping what the step left alone) and queues it for its next level. A
   candidate is held as its fingerprints, its parent's place in the frontier and
   its step, not as a state: a level of candidate states alive (most of them
   duplicates) cost the workers about a fifth more CPU than one process
   (allocation, garbage collection).

States themselves never travel, except to even out the frontiers when they
drift apart by more than half a percent (at the start, every state is at one
worker; later a few percent a level): duplicates cost 16 bytes each, and
pickling is rare. A worker builds its expansion (core.py) once,
and every worker runs the same generated code as the one-process engine.
With ``stats``, ``pools.Timed`` adds up the critical path (per round, the busiest
worker's CPU) and each worker's wait at the barriers, the figures that decide
the speed-up on an idle machine (benchmarks/bench_scale.py prints them).

Hashing across processes: workers are *forked* from the coordinator, so they
share its string-hash key and its object addresses and Python's ``hash`` gives
every process the same fingerprint for the same state (``PYTHONHASHSEED`` need
not be fixed). Where ``fork`` is unavailable, ``--workers`` is refused. With a
checkpoint, fingerprints must also survive the process, so
:func:`agree.checker.limits.stable_fingerprint` is used instead; so it is with
workers that are Ray actors (``pool_factory``, see ray_backend.py), which are
separate interpreters, possibly on other machines.

Checkpoints are taken between levels: each worker pickles its shard and
frontier, then the coordinator writes ``meta.json`` last, so a checkpoint is
either complete or ignored. ``resume`` continues from one with the same spec,
parameters, properties, symmetry and number of workers.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agree.checker.core import initial_states
from agree.checker.explore import follow
from agree.checker.limits import rss_bytes, stable_fingerprint
from agree.checker.parallel_worker import Fingerprint, Report
from agree.checker.pools import ForkPool, Pool, PoolFactory, Timed, ask_all
from agree.checker.result import (
    ActionStats,
    CheckResult,
    Progress,
    SpecRuntimeError,
    Violation,
    ViolationKind,
)
from agree.checker.symmetry import check_symmetric, orbit_fingerprint
from agree.spec import Property, Spec, SpecError, Transition
from agree.traces.trace import Trace

__all__ = ["make_fingerprint", "run_parallel"]

def make_fingerprint(spec: Spec[Any], symmetry: bool, stable: bool) -> Fingerprint:
    """The fingerprint function: ``hash`` or the stable one, through orbits with symmetry."""
    base: Fingerprint = stable_fingerprint if stable else hash
    return orbit_fingerprint(spec, base) if symmetry else base


# -- the coordinator ----------------------------------------------------------------


#: The frontiers are evened out when they differ by more than 1/_EVEN of a worker's
#: share: the level-synchronous workers wait at each barrier for the busiest, so a
#: worker with 5% more states than the other costs 2.5% of the level on the critical
#: path, while moving a state (pickled, unpickled) costs a few microseconds.
_EVEN = 200


def _balance(pool: Pool, rep: list[dict[str, Any]]) -> None:
    """Even out the next level's frontiers when they differ by more than 1/_EVEN of a
    worker's share (at the start every state is at one worker; later they drift apart
    by a few percent a level: the successors of a state and the candidates kept vary)."""
    sizes = [r["queue"] for r in rep]
    n, total = len(sizes), sum(sizes)
    target = -(-total // n)
    if n < 2 or max(sizes) - min(sizes) <= max(16, total // (_EVEN * n)):
        return
    need = {w: target - q for w, q in enumerate(sizes) if q < target}
    gives: list[dict[int, int]] = [{} for _ in range(n)]
    for w, q in enumerate(sizes):
        extra = q - target
        for dst in sorted(need):
            if extra <= 0:
                break
            moved = min(extra, need[dst])
            if moved > 0:
                gives[w][dst] = moved
                need[dst] -= moved
                extra -= moved
    given = pool.ask([("give", g) if g else None for g in gives])
    boxes = _route([g or {} for g in given], n)
    queues = pool.ask([("take", box) if box else None for box in boxes])
    for w, q in enumerate(queues):
        if q is not None:
            rep[w]["queue"] = q
    for w, g in enumerate(gives):
        rep[w]["queue"] -= sum(g.values())


def _route(outboxes: list[dict[int, bytes]], n: int) -> list[dict[int, bytes]]:
    """Per-sender {receiver: data} -> per-receiver {sender: data}."""
    inboxes: list[dict[int, bytes]] = [{} for _ in range(n)]
    for src, box in enumerate(outboxes):
        for dst, data in box.items():
            inboxes[dst][src] = data
    return inboxes


def run_parallel(
    spec: Spec[Any],
    props: Sequence[Property],
    *,
    workers: int = 2,
    stop_at_first: bool = True,
    deadlock: bool = False,
    max_states: int | None = None,
    time_limit: float | None = None,
    check_pruned: bool = True,
    progress: Callable[[Progress], None] | None = None,
    symmetry: bool = False,
    verify_symmetry: bool = True,
    memory_limit: int | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 60.0,
    resume: str | Path | None = None,
    stats: dict[str, Any] | None = None,
    pool_factory: PoolFactory | None = None,
) -> CheckResult:
    """Exhaustive check of ``props`` (safety properties) with ``workers`` processes;
    same figures and verdicts as the one-process engine, counterexamples just as short.
    Reached through :func:`agree.checker.run.check`.

    ``memory_limit`` (bytes, all processes together) and ``time_limit`` end the
    run cleanly with a partial report; ``checkpoint`` names a directory written
    between levels (at most every ``checkpoint_every`` seconds, and at the end of
    an unfinished run); ``resume`` continues from such a directory. ``stats``, if
    given, receives each worker's CPU seconds and memory growth (for benchmarks).
    ``pool_factory`` starts the workers some other way than forking (Ray actors);
    they are separate interpreters, so fingerprints are then the stable ones.
    """
    if workers < 1:
        raise SpecError("--workers must be at least 1")
    if symmetry and verify_symmetry:
        check_symmetric(spec, props)
    stable = checkpoint is not None or resume is not None or pool_factory is not None
    fingerprint = make_fingerprint(spec, symmetry, stable)
    start = time.monotonic()
    meta = _meta(spec, props, workers, symmetry)
    resumed = None
    if resume is not None:
        resumed = _read_meta(Path(resume), meta)
        resumed["dir"] = str(resume)
    share = (memory_limit - rss_bytes()) // workers if memory_limit else None
    opts: dict[str, Any] = {"check_pruned": check_pruned, "deadlock": deadlock,
                            "stop_at_first": stop_at_first, "memory_share": share,
                            "time_left": time_limit}
    if share is not None and share <= 0:
        raise SpecError(f"--memory {memory_limit:,} bytes is below what agree already uses")
    if checkpoint is not None:  # before the search, so a bad directory fails fast
        _checkpoint_dir(Path(checkpoint))
    result = CheckResult(spec.name, spec.param_values(), [p.name for p in props])
    result.symmetry = symmetry
    pool: Pool = (pool_factory or ForkPool)(workers, spec, props, fingerprint, opts)
    timed = None
    if stats is not None:
        pool = timed = Timed(pool)
    try:
        return _run(spec, props, pool, fingerprint, result, resumed, meta, start,
                    stop_at_first=stop_at_first, max_states=max_states, progress=progress,
                    memory_limit=memory_limit, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every,
                    deadline=start + time_limit if time_limit else None,
                    stats=stats)
    finally:
        if timed is not None and stats is not None:
            with contextlib.suppress(SpecRuntimeError):
                stats.update(timed.figures())
        pool.close()


def _meta(spec: Spec[Any], props: Sequence[Property], workers: int, symmetry: bool,
          ) -> dict[str, Any]:
    return {"format": "agree-checkpoint", "version": 2, "spec": spec.name,
            "params": spec.param_values(), "properties": [p.name for p in props],
            "workers": workers, "symmetry": symmetry}


def _read_meta(path: Path, expect: dict[str, Any]) -> dict[str, Any]:
    try:
        meta: dict[str, Any] = json.loads((path / "meta.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"--resume {path}: no complete checkpoint there ({exc})") from None
    for key in ("format", "version", "spec", "params", "properties", "workers", "symmetry"):
        if meta.get(key) != expect[key]:
            raise SpecError(f"--resume {path}: the checkpoint was taken with {key} = "
                            f"{meta.get(key)!r}, this run has {expect[key]!r}")
    return meta


def _run(spec: Spec[Any], props: Sequence[Property], pool: Pool, fingerprint: Fingerprint,
         result: CheckResult, resumed: dict[str, Any] | None, meta: dict[str, Any],
         start: float, *, stop_at_first: bool, max_states: int | None,
         progress: Callable[[Progress], None] | None, memory_limit: int | None,
         checkpoint: str | Path | None, checkpoint_every: float, deadline: float | None,
         stats: dict[str, Any] | None) -> CheckResult:
    n = pool.size
    reports: list[Report] = []
    satisfied: set[str] = set()
    init_generated = 0
    if resumed is not None:
        where = Path(resumed["dir"]).resolve()
        pool.ask([("load", str(where / f"worker-{w}.pkl")) for w in range(n)])
        depth = int(resumed["depth"])
        init_generated = int(resumed["init_generated"])
        satisfied = set(resumed["satisfied"])
    else:
        boxes: list[list[Any]] = [[] for _ in range(n)]
        for s in initial_states(spec):
            init_generated += 1
            boxes[fingerprint(s) % n].append(s)  # its owner admits or prunes it
        pool.ask([("init", box) for box in boxes])
        depth = 0
    last_save = time.monotonic()
    stopped: str | None = None
    rep: list[dict[str, Any]] = ask_all(pool, "report")
    for r in rep:
        reports += r["reports"]
        satisfied.update(r["satisfied"])
    if resumed is None and any(r["queue"] for r in rep):
        depth = 1
    while any(r["queue"] for r in rep) and not (reports and stop_at_first):
        failed = sorted({x[0] for x in reports})
        outboxes = ask_all(pool, "expand", failed)
        kept = pool.ask([("claim", box) for box in _route(outboxes, n)])
        rep = pool.ask([("keep", box) for box in _route(kept, n)])
        _balance(pool, rep)
        for r in rep:
            reports += r["reports"]
            satisfied.update(r["satisfied"])
        if any(r["queue"] for r in rep):
            depth += 1
        distinct = sum(r["distinct"] for r in rep)
        generated = init_generated + sum(r["generated"] for r in rep)
        now = time.monotonic()
        stopped = next((r["stopped"] for r in rep if r["stopped"]), None)
        if memory_limit is not None and rss_bytes() + sum(r["rss"] for r in rep) > memory_limit:
            stopped = "memory"
        if deadline is not None and now > deadline:
            stopped = stopped or "time-limit"
        if max_states is not None and distinct >= max_states:
            stopped = stopped or "max-states"
        if progress is not None:
            progress(Progress(distinct, generated, depth, sum(r["queue"] for r in rep),
                              now - start))
        if checkpoint is not None and (stopped or now - last_save >= checkpoint_every):
            _save(pool, Path(checkpoint), meta, depth, init_generated, satisfied)
            last_save = now
        if stopped:
            break
    if checkpoint is not None and stopped is None and not reports:
        _save(pool, Path(checkpoint), meta, depth, init_generated, satisfied)
    result.distinct = sum(r["distinct"] for r in rep)
    result.generated = init_generated + sum(r["generated"] for r in rep)
    result.depth = depth
    if stats is not None:
        stats["worker_cpu"] = [r["cpu"] for r in rep]
        stats["worker_rss_growth"] = [r["rss"] for r in rep]
        stats["worker_phase_cpu"] = [r["phase_cpu"] for r in rep]
        stats["worker_counts"] = [r["counts"] for r in rep]
    result.coverage = {a.label: ActionStats(sum(r["cov_gen"][i] for r in rep),
                                            sum(r["cov_new"][i] for r in rep))
                       for i, a in enumerate(spec.actions())}
    result.seconds = time.monotonic() - start
    g, d = result.generated, result.distinct
    result.collision_probability = d * max(g - d, 0) / 2.0**64
    result.stopped = stopped or ("violation" if reports and stop_at_first else None)
    result.complete = result.stopped is None
    by_prop: dict[str, Report] = {}
    for r_ in reports:
        by_prop.setdefault(r_[0], r_)
    docs = {p.name: p.doc for p in props}
    for name, (_, kind, parent, label, args, state) in by_prop.items():
        trace = _trace(spec, pool, fingerprint, parent, label, args, state, name, kind)
        vkind: ViolationKind = kind  # type: ignore[assignment]
        result.violations.append(Violation(name, vkind, trace, docs.get(
            name, "some action is enabled in every reachable state")))
    if result.complete:
        for p in props:
            if p.kind == "sometimes" and p.name not in satisfied:
                result.violations.append(Violation(
                    p.name, "sometimes", None, f"no reachable state satisfies {p.name}"))
    return result


def _checkpoint_dir(path: Path) -> None:
    """Create the checkpoint directory; one it cannot be is bad input (SpecError)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"--checkpoint {path}: cannot write a checkpoint there ({exc})") \
            from None


def _save(pool: Pool, path: Path, meta: dict[str, Any], depth: int, init_generated: int,
          satisfied: set[str]) -> None:
    _checkpoint_dir(path)
    try:
        (path / "meta.json").unlink(missing_ok=True)
        pool.ask([("save", str(path.resolve() / f"worker-{w}.pkl")) for w in range(pool.size)])
        doc = {**meta, "dir": str(path.resolve()), "depth": depth,
               "init_generated": init_generated, "satisfied": sorted(satisfied)}
        tmp = path / "meta.json.tmp"
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        os.replace(tmp, path / "meta.json")
    except OSError as exc:
        raise SpecError(f"--checkpoint {path}: cannot write a checkpoint there ({exc})") \
            from None


def _trace(spec: Spec[Any], pool: Pool, fingerprint: Fingerprint, parent: int | None,
           label: str | None, args: tuple[Any, ...], state: Any, prop: str, kind: str) -> Trace:
    """A shortest trace: the parent chain through the shards, re-run through the spec."""
    n = pool.size
    chain: list[int] = []
    cur = parent
    while cur is not None:
        chain.append(cur)
        found, up = pool.ask([("parent", cur) if w == cur % n else None for w in range(n)])[cur % n]
        if not found:  # pragma: no cover - a broken shard
            raise SpecRuntimeError("cannot rebuild the trace: a fingerprint has no parent link")
        cur = up
    chain.reverse()
    if not chain:
        return Trace.from_transitions(spec, state, [], prop, kind)
    init, steps = follow(spec, chain, fingerprint)
    s = steps[-1].state if steps else init
    if label is not None:
        steps.append(Transition(spec.action(label), args, state))
    elif kind != "deadlock":
        steps.append(next(tr for tr in spec.successors(s) if tr.state == state))
    return Trace.from_transitions(spec, init, steps, prop, kind)
