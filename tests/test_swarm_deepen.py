"""Iterative deepening in the swarm search (checker/swarm.py, `agree simulate --swarm
--deepen N`): the cap on paths from Init holds, grows with the walks, and a zoo bug is
still found, from Init, with a replayable trace."""

from __future__ import annotations

import pytest
from _cli import assert_refused, run
from _counting import Counter

from agree.checker.swarm import DEEPEN_START, swarm
from agree.protocols import registry


def test_the_cap_holds_and_grows() -> None:
    spec = Counter()
    assert swarm(spec, seed=1, walks=5).violation("below_fifteen") is not None  # 40 steps
    # a cap that never grows within the walks: 10 steps from Init, so 15 is out of reach
    held = swarm(spec, seed=1, walks=300, deepen=10**6)
    assert not held.violations and held.path_cap == DEEPEN_START and held.runs == 300
    # one step more every 3 walks: 15 is reached once the cap gets there, not before
    grown = swarm(spec, seed=1, walks=300, deepen=3)
    v = grown.violation("below_fifteen")
    assert v is not None and v.trace is not None and len(v.trace) == 15
    assert grown.runs >= 3 * (15 - DEEPEN_START) and grown.path_cap == 15


def test_a_zoo_bug_is_found_from_init_with_deepening() -> None:
    spec, props = registry.build("raft-leader-ignores-term")
    r = swarm(spec, props, seed=0, walks=400, deepen=10)
    v = r.violation("one_leader_per_term")
    assert v is not None and v.trace is not None, r.to_json()
    assert r.path_cap is not None and r.found_steps <= r.path_cap
    states = [v.trace.init, *(st.state for st in v.trace.steps)]
    prop = next(p for p in props if p.name == "one_leader_per_term")
    assert not prop.holds(spec, states[-1]) and all(prop.holds(spec, s) for s in states[:-1])


def test_cli_reports_the_cap(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "simulate", "raft", "--swarm", "--deepen", "1000000", "--runs",
                       "60", "--seed", "0")
    assert code == 0, out
    assert "No violation found in 60 walks" in out
    assert f"deepening         paths from Init capped at {DEEPEN_START} steps" in out


@pytest.mark.parametrize("argv", [
    ["--swarm", "--deepen", "0"],
    ["--swarm", "--deepen", "-3"],
    ["--deepen", "10"],
])
def test_bad_deepen_flags_are_one_line_errors(capsys: pytest.CaptureFixture[str],
                                              argv: list[str]) -> None:
    code, _, err = run(capsys, "simulate", "raft", *argv)
    assert_refused(code, err)


@pytest.mark.reference  # ~35 s of CPU: beyond the default budget
def test_figure_8_is_found_from_init() -> None:
    # raft-commit-old-term (Raft's figure 8): four elections in terms 2-5, 54 steps in the
    # shortest trace known, never found from Init without deepening
    # (docs/benchmarks/swarm.md); seed 1 finds it after 16,349 walks (a walk budget, so
    # the same on any machine)
    spec, props = registry.build("raft-commit-old-term")
    r = swarm(spec, props, seed=1, walks=17_000, deepen=300)
    v = r.violation("leader_completeness")
    assert v is not None and v.trace is not None, "not found within 17,000 walks"
    assert r.path_cap is not None and r.found_steps <= r.path_cap
    states = [v.trace.init, *(st.state for st in v.trace.steps)]
    prop = next(p for p in props if p.name == "leader_completeness")
    assert not prop.holds(spec, states[-1]) and all(prop.holds(spec, s) for s in states[:-1])
    assert all(spec.constraint(s) for s in states[:-1])
