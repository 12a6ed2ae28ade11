"""The multi-process workers on Raft (constraint, action property, property skipping):
same figures and shortest counterexamples as one process; the expansion is built once
per worker; the CPU accounting of the barrier rounds (pools.Timed)."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from _results import figures

from agree.checker import core as core_module
from agree.checker.parallel import run_parallel
from agree.checker.pools import InProcessPool, PoolFactory
from agree.checker.run import check
from agree.protocols import registry
from agree.spec import Property, Spec

SMALL_RAFT = {"servers": 2, "max_term": 2, "max_log": 1, "max_messages": 1}


def _raft(name: str = "raft") -> tuple[Spec[Any], list[Property]]:
    spec, props = registry.build(name, SMALL_RAFT)
    chosen = [p for p in (*spec.declared_properties(), *props)
              if p.kind in ("invariant", "action", "sometimes")]
    return spec, list({p.name: p for p in chosen}.values())


def test_raft_figures_are_those_of_one_process() -> None:
    spec, props = _raft()
    serial = check(spec, props)
    assert serial.distinct > 1000  # a real search: several levels, states moving
    assert figures(check(spec, props, workers=2)) == figures(serial)


def _no_leader(_spec: Any, s: Any) -> bool:
    return "Leader" not in s.state


def _no_second_term(_spec: Any, s: Any) -> bool:
    return max(s.current_term) < 2


def test_raft_counterexamples_are_as_short_as_with_one_process() -> None:
    spec, props = _raft()
    props = [p for p in props if p.kind != "sometimes"]
    props += [Property("no_leader", "invariant", _no_leader),
              Property("no_second_term", "invariant", _no_second_term)]
    serial = check(spec, props, stop_at_first=False)
    par = check(spec, props, workers=2, stop_at_first=False)
    assert {v.property for v in serial.violations} == {"no_leader", "no_second_term"}
    assert figures(par) == figures(serial)
    first = check(spec, props, workers=2)
    assert first.stopped == "violation"
    shortest = min(len(v.trace or []) for v in serial.violations)
    assert len(first.violations[0].trace or []) == shortest
    trace = first.violations[0].trace
    assert trace is not None
    prop = next(p for p in props if p.name == first.violations[0].property)
    assert not prop.holds(spec, trace.states[-1])


def _in_process(spec: Spec[Any], props: Sequence[Property], pool: PoolFactory) -> Any:
    """run_parallel with workers in this process (``pool``), whose gc settings (frozen
    heap, rare collections) are undone afterwards."""
    threshold = gc.get_threshold()
    try:
        return run_parallel(spec, props, workers=2, pool_factory=pool)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_each_worker_builds_its_expansion_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A build per level left a reference cycle (the generated code and its namespace)
    holding that level's candidate states until a full collection: the workers' memory
    grew with every state they ever generated."""
    built: list[int] = []
    compiled: list[str] = []
    expander, compile_function = core_module.Core.expander, core_module.compile_function

    def counting_expander(self: Any, *args: Any, **kw: Any) -> Any:
        built.append(id(self))
        return expander(self, *args, **kw)

    def counting_compile(lines: Any, ns: Any, name: str, where: str) -> Any:
        compiled.append(name)
        return compile_function(lines, ns, name, where)

    spec, props = _raft()
    distinct = check(spec, props).distinct
    monkeypatch.setattr(core_module.Core, "expander", counting_expander)
    monkeypatch.setattr(core_module, "compile_function", counting_compile)
    result = _in_process(spec, props, InProcessPool)
    assert result.depth > 10 and result.distinct == distinct
    assert len(built) == 2 and len(set(built)) == 2
    # rebuilt only when what is checked changes (two ``sometimes`` satisfied, per worker)
    assert compiled.count("expand") <= 2 * 3


def test_stats_give_the_critical_path_and_the_waits() -> None:
    spec, props = _raft()
    stats: dict[str, Any] = {}
    check(spec, props, workers=2, stats=stats)
    cpu, wait, critical = stats["worker_cpu"], stats["wait_cpu"], stats["critical_cpu"]
    assert len(cpu) == len(wait) == 2 and all(w >= 0 for w in wait)
    # every round's busiest worker: at least each worker's own requests, at most all
    # of the workers' CPU together
    assert 0 < critical <= sum(cpu)
    assert min(wait) < critical
    counts = stats["worker_counts"]
    assert sum(c["kept"] for c in counts) <= sum(c["candidates"] for c in counts)
    assert all(c["sent_bytes"] == 16 * c["candidates"] for c in counts)


class _Inspecting(InProcessPool):
    """After each expansion, what the workers hold for the level's candidates."""

    levels: ClassVar[list[tuple[int, int, int, bool]]] = []

    def ask(self, requests: Sequence[tuple[str, Any] | None]) -> list[Any]:
        out = super().ask(requests)
        if requests[0] is not None and requests[0][0] == "expand":
            for w in self.workers:
                cands = [c for o, c in enumerate(w.cand) if o != w.wid]
                items = [x for c in cands for x in c]
                places = {x for c in cands for x in c[2::5]}
                held = sum(p is not None for p in w.expanded)
                states = any(type(x).__name__ == "RaftState" for x in items)
                self.levels.append((len(items) // 5, len(places), held, states))
        return out


def test_candidates_hold_no_states() -> None:
    """A level of candidate states kept alive (most of them duplicates) cost the workers
    a fifth more CPU than one process: a candidate is its fingerprints, its parent's
    place in the frontier and its step; only the packed parents of candidates stay,
    and a kept candidate is rebuilt from its parent (the figures, as one process's)."""
    spec, props = _raft()
    serial = check(spec, props)
    _Inspecting.levels = []
    result = _in_process(spec, props, _Inspecting)
    assert figures(result) == figures(serial)
    levels = _Inspecting.levels
    assert sum(n for n, *_ in levels) > 1000
    assert not any(states for *_, states in levels)
    # exactly the parents of candidates are held, each once
    assert all(places == held for _, places, held, _ in levels)
    assert any(held < n for n, _, held, _ in levels)


class _Sending(InProcessPool):
    """After each expansion, the fingerprints each worker sends its owners."""

    sent: ClassVar[list[list[set[int]]]] = []
    pools: ClassVar[list[InProcessPool]] = []

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.pools.append(self)

    def ask(self, requests: Sequence[tuple[str, Any] | None]) -> list[Any]:
        out = super().ask(requests)
        if requests[0] is not None and requests[0][0] == "expand":
            self.sent.append([{fp for o, c in enumerate(w.cand) if o != w.wid
                               for fp in c[0::5]} for w in self.workers])
        return out


def test_fingerprints_sent_the_level_before_are_not_sent_again() -> None:
    """A level's successors are mostly states of the level before, met again: their
    fingerprints, sent then, are in their owners' shards, so they are known seen."""
    spec, props = _raft()
    serial = check(spec, props)
    _Sending.sent, _Sending.pools = [], []
    assert figures(_in_process(spec, props, _Sending)) == figures(serial)
    sent = _Sending.sent
    assert sum(len(s) for level in sent for s in level) > 1000
    for before, now in itertools.pairwise(sent):
        assert all(not (a & b) for a, b in zip(before, now, strict=True))
    known = sum(w.counts["known"] for w in _Sending.pools[0].workers)
    assert known > 100  # (and the figures are as with one process)


def test_a_rebuild_does_not_compute_the_history_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kept candidate is rebuilt from its parent with the parent's history values as
    its expansion computed them: the history is computed once per state expanded, as
    with one process."""
    spec, props = _raft()
    calls: list[int] = []
    remember = type(spec)._remember_history

    def counting(self: Any, state: Any) -> Any:
        calls.append(1)
        return remember(self, state)

    monkeypatch.setattr(type(spec), "_remember_history", counting)
    serial = check(spec, props)
    once = len(calls)
    assert once > 1000
    calls.clear()
    assert figures(_in_process(spec, props, InProcessPool)) == figures(serial)
    assert len(calls) == once
