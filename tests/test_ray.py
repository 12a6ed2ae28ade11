"""The Ray backend: the swarm gives the same walks and counterexample as local
simulation; the distributed BFS the same figures and shortest traces as one process.
Needs the optional `ray` extra; skipped without it. One local Ray for the module (its
start-up takes seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from _results import figures

ray = pytest.importorskip("ray")

from agree.checker.ray_backend import simulate_on_ray  # noqa: E402
from agree.checker.run import check  # noqa: E402
from agree.checker.simulate import simulate  # noqa: E402
from agree.cli.main import main  # noqa: E402
from agree.models.paxos import Paxos  # noqa: E402
from agree.properties.paxos import PROPERTIES  # noqa: E402
from agree.protocols import registry  # noqa: E402
from agree.traces.trace import decode_trace, to_json  # noqa: E402


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_swarm_finds_the_same_counterexample_as_one_machine(local_ray: Any) -> None:
    spec, props = registry.build("paxos-article", {})
    here = simulate(spec, props, depth=30, runs=300, seed=4)
    there = simulate_on_ray(spec, props, depth=30, runs=300, seed=4, tasks=5)
    assert here.violations and there.violations
    assert [to_json(v.trace) for v in there.violations if v.trace] == [
        to_json(v.trace) for v in here.violations if v.trace]


def test_swarm_walks_are_the_local_walks(local_ray: Any) -> None:
    spec = Paxos(max_ballot=1)
    here = simulate(spec, PROPERTIES, depth=20, runs=24, seed=9)
    there = simulate_on_ray(spec, PROPERTIES, depth=20, runs=24, seed=9, tasks=3)
    assert not there.violations
    assert (there.runs, there.steps, there.generated, there.coverage) == (
        here.runs, here.steps, here.generated, here.coverage)
    assert there.satisfied == here.satisfied


# -- distributed BFS on Ray actors ------------------------------------------------------


def test_bfs_on_ray_counts_raft_two_servers_as_one_process(local_ray: Any) -> None:
    spec, props = registry.build("raft", {"servers": 2, "max_log": 0, "max_messages": 1})
    serial = check(spec, props)
    assert serial.distinct > 1000 and not serial.violations
    assert figures(check(spec, props, workers=3, ray=True)) == figures(serial)


def test_bfs_on_ray_finds_a_zoo_bug_with_a_shortest_trace(local_ray: Any) -> None:
    spec, props = registry.build("raft-leader-ignores-term", {})
    serial = check(spec, props)
    there = check(spec, props, workers=2, ray=True)
    assert there.stopped == "violation" and serial.stopped == "violation"
    assert [v.property for v in there.violations] == [v.property for v in serial.violations]
    trace = there.violations[0].trace
    assert trace is not None and len(trace) == len(serial.violations[0].trace or [])
    again = decode_trace(to_json(trace), registry.resolve)  # it replays through the spec
    prop = next(p for p in props if p.name == there.violations[0].property)
    assert not prop.holds(spec, again.states[-1])


def test_agree_check_ray_counts_paxos_as_one_process(
        local_ray: Any, capsys: pytest.CaptureFixture[str]) -> None:
    serial = check(Paxos(max_ballot=1), PROPERTIES)
    capsys.readouterr()
    assert main(["check", "paxos", "--max-ballot", "1", "--ray", "--workers", "2",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["verdict"], doc["distinct"], doc["generated"], doc["depth"]) == (
        serial.verdict, serial.distinct, serial.generated, serial.depth)
    assert {k: v["generated"] for k, v in doc["coverage"].items()} == {
        k: v.generated for k, v in serial.coverage.items()}
    assert main(["check", "paxos", "--max-ballot", "0", "--ray", "--workers", "0"]) == 2
