"""Random simulation: reproducible by seed, same properties, replayable traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _golden import GOLDEN_DIR as GOLDEN

from agree.checker.simulate import simulate
from agree.cli.main import main
from agree.models.paxos import Paxos
from agree.properties.paxos import PROPERTIES
from agree.protocols import registry
from agree.traces.trace import decode_trace, load_trace, to_json


def test_the_same_seed_gives_the_same_walks_and_trace() -> None:
    spec, props = registry.build("paxos-article", {})
    a = simulate(spec, props, depth=30, runs=400, seed=5)
    b = simulate(spec, props, depth=30, runs=400, seed=5)
    assert a.violations, "the article's bug is within reach of 400 walks"
    assert a.to_json()["violations"] == b.to_json()["violations"]
    assert (a.runs, a.steps, a.coverage) == (b.runs, b.steps, b.coverage)
    c = simulate(spec, props, depth=30, runs=400, seed=6)
    assert (c.runs, c.steps, c.coverage) != (a.runs, a.steps, a.coverage)


def test_a_found_trace_is_a_real_run_no_shorter_than_the_shortest() -> None:
    spec, props = registry.build("paxos-article", {})
    sim = simulate(spec, props, depth=40, runs=400, seed=1)
    v = sim.violation("agreement")
    assert v is not None and v.trace is not None
    again = decode_trace(to_json(v.trace), registry.resolve)
    agreement = next(p for p in props if p.name == "agreement")
    assert not agreement.holds(spec, again.states[-1])
    assert all(agreement.holds(spec, s) for s in again.states[:-1])
    # the golden counterexample is the checker's shortest (tests/test_golden_traces.py)
    shortest = load_trace(GOLDEN / "paxos-article.agreement.json", registry.resolve)
    assert len(shortest) <= len(v.trace) <= 40
    assert len(set(again.states)) == len(again.states)  # cycles were cut


def test_a_correct_spec_shows_no_violation_and_reaches_its_sometimes() -> None:
    sim = simulate(Paxos(max_ballot=1), PROPERTIES, depth=25, runs=60, seed=0)
    assert sim.exit_code == 0 and sim.verdict == "none found"
    assert "value_chosen" in sim.satisfied
    assert sim.steps > 0 and sum(sim.coverage.values()) == sim.steps


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.json"
    argv = ["simulate", "paxos-article", "--depth", "40", "--runs", "400", "--seed", "1",
            "--invariant", "agreement", "--trace-out", str(out)]
    assert main(argv) == 1
    text = capsys.readouterr().out
    assert "VIOLATED: agreement" in text and "Prepare" in text
    trace = load_trace(out, registry.resolve)
    assert trace.property == "agreement"
    assert main([*argv, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "violated" and doc["seed"] == 1
    assert main(["simulate", "paxos", "--max-ballot", "0", "--runs", "5", "--depth", "5"]) == 0
    assert "No violation found in 5 walks" in capsys.readouterr().out
    assert main(["simulate", "paxos", "--depth", "0"]) == 2
    assert main(["simulate", "paxos", "--bogus", "1"]) == 2
    assert "--depth" in capsys.readouterr().err


@pytest.mark.parametrize("ray,address", [(True, None), ("ray://head:10001", "ray://head:10001")])
def test_simulate_with_ray_runs_the_swarm(monkeypatch: pytest.MonkeyPatch, ray: bool | str,
                                          address: str | None) -> None:
    """simulate(ray=...) hands the same walks to the Ray swarm (tests/test_ray.py runs it)."""
    from agree.checker import ray_backend

    calls: list[dict[str, object]] = []

    def swarm(spec: Paxos, properties: object, **kw: object) -> str:
        calls.append({"properties": properties, **kw})
        return "swarm"

    monkeypatch.setattr(ray_backend, "simulate_on_ray", swarm)
    assert simulate(Paxos(), PROPERTIES, depth=7, runs=3, seed=5, ray=ray) == "swarm"
    assert calls == [{"properties": PROPERTIES, "depth": 7, "runs": 3, "seed": 5, "only": None,
                      "stop_at_first": True, "deadlock": False, "tasks": None,
                      "address": address}]
