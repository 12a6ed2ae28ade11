"""The Ray swarm gives the same walks and counterexample as local simulation.
Needs the optional `ray` extra; skipped without it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from agree.checker import registry  # noqa: E402
from agree.checker.ray_backend import simulate_on_ray  # noqa: E402
from agree.checker.simulate import simulate  # noqa: E402
from agree.models.paxos import Paxos  # noqa: E402
from agree.properties.paxos import PROPERTIES  # noqa: E402
from agree.traces.trace import to_json  # noqa: E402


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
