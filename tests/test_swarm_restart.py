"""Restarts in the swarm search (checker/swarm.py, `agree simulate --swarm --restart N`):
the search starts over every N walks (a new corpus, the deepening cap back at its start),
a zoo bug is still found from Init, and the memory of expanded states leaves the walks
unchanged."""

from __future__ import annotations

import pytest
from _cli import assert_refused, run
from _counting import Counter

from agree.checker import swarm as swarm_module
from agree.checker.swarm import DEEPEN_START, swarm
from agree.protocols import registry


def test_a_restart_puts_the_cap_back() -> None:
    spec = Counter()
    # one step more every 3 walks, but back to the start every 10 walks: the cap never
    # passes DEEPEN_START + 3, so 15 is never reached
    short = swarm(spec, seed=1, walks=300, deepen=3, restart=10)
    assert not short.violations and short.restarts == 29
    assert short.path_cap == DEEPEN_START + 9 // 3
    # every 30 walks: the cap reaches 19 before each restart, and 15 is found
    long = swarm(spec, seed=1, walks=300, deepen=3, restart=30)
    v = long.violation("below_fifteen")
    assert v is not None and v.trace is not None and len(v.trace) == 15
    assert long.restarts == 0 and long.runs == 3 * (15 - DEEPEN_START) + 1


def test_a_zoo_bug_is_found_from_init_with_restarts() -> None:
    spec, props = registry.build("raft-leader-ignores-term")
    r = swarm(spec, props, seed=1, walks=1000, deepen=5, restart=80)
    v = r.violation("one_leader_per_term")
    assert v is not None and v.trace is not None, r.to_json()
    assert r.restarts >= 1 and r.to_json()["swarm"]["restarts"] == r.restarts
    states = [v.trace.init, *(st.state for st in v.trace.steps)]
    prop = next(p for p in props if p.name == "one_leader_per_term")
    assert not prop.holds(spec, states[-1]) and all(prop.holds(spec, s) for s in states[:-1])


def test_remembered_expansions_leave_the_walks_unchanged(monkeypatch: pytest.MonkeyPatch,
                                                         ) -> None:
    spec, props = registry.build("raft-leader-ignores-term")

    def figures() -> tuple[object, ...]:
        r = swarm(spec, props, seed=3, walks=120, deepen=5, shorten=False)
        v = r.violations[0].trace if r.violations else None
        return (r.runs, r.steps, r.generated, r.corpus, r.features, r.coverage,
                None if v is None else [st.label for st in v.steps])

    remembered = figures()
    monkeypatch.setattr(swarm_module, "CACHE", 1)  # forgets all but the last state
    assert figures() == remembered


def test_cli_reports_the_restarts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "simulate", "raft", "--swarm", "--restart", "20", "--runs",
                       "60", "--seed", "0")
    assert code == 0, out
    assert "No violation found in 60 walks" in out
    assert "restarts          2 (the search started over with a new corpus)" in out


@pytest.mark.parametrize("argv", [
    ["--swarm", "--restart", "0"],
    ["--swarm", "--restart", "-3"],
    ["--restart", "10"],
])
def test_bad_restart_flags_are_one_line_errors(capsys: pytest.CaptureFixture[str],
                                               argv: list[str]) -> None:
    code, _, err = run(capsys, "simulate", "raft", *argv)
    assert_refused(code, err)
