"""Liveness on the explicit state graph: dueling proposers livelock, a single proposer
gets a value chosen; lassos are real fair behaviours; unsound reductions are refused;
`agree check --graph` writes the graph."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import networkx as nx
import pytest

from agree.checker.graph import build_graph
from agree.checker.liveness import check_liveness
from agree.checker.run import check_all
from agree.cli.main import main
from agree.models.paxos_liveness import PROPERTIES, LivenessPaxos, LivenessState
from agree.protocols.registry import resolve
from agree.spec import SpecError
from agree.traces.itf import from_itf, to_itf
from agree.traces.trace import Trace, to_json

LASSO = Path(__file__).resolve().parent / "data" / "paxos-liveness.value_chosen.lasso.json"


def _is_fair_lasso(spec: LivenessPaxos, trace: Trace) -> bool:
    """Independently of the checker: the last state closes the loop, and every fair action
    instance enabled in every state of the cycle is taken on it."""
    assert trace.loop is not None
    states = trace.states
    if states[-1] != states[trace.loop]:
        return False
    cycle_states = states[trace.loop:-1] or [states[-1]]
    taken = {s.label for s in trace.steps[trace.loop:]}
    always: set[str] | None = None
    for state in cycle_states:
        enabled = {t.label for t in spec.successors(state)
                   if t.action.label in spec.weak_fairness and t.state != state}
        always = enabled if always is None else always & enabled
    return not (always or set()) - taken


def test_dueling_proposers_livelock() -> None:
    spec = LivenessPaxos(acceptors=2, proposers=2)
    result = check_liveness(spec, PROPERTIES)
    assert result.distinct == 1193
    v = {x.property: x for x in result.violations}
    assert set(v) == {"value_chosen", "proposal_chosen"}
    lasso = v["value_chosen"].trace
    assert lasso.loop is not None and 0 < lasso.loop < len(lasso)
    assert not any(s.chosen for s in lasso.states)  # nothing is ever chosen along it
    assert _is_fair_lasso(spec, lasso)
    # the cycle is two proposers preempting each other, again and again
    cycle = [s.label for s in lasso.steps[lasso.loop:]]
    assert "Prepare(p=p1)" in cycle and "Prepare(p=p2)" in cycle
    leads = v["proposal_chosen"].trace
    assert _is_fair_lasso(spec, leads)
    assert any(any(ph == 2 for ph in s.phase) for s in leads.states[: leads.loop + 1])


def test_single_proposer_with_fair_delivery_chooses_a_value() -> None:
    for acceptors in (1, 2, 3):
        result = check_liveness(LivenessPaxos(acceptors=acceptors, proposers=1), PROPERTIES)
        assert result.verdict == "holds", acceptors
        assert result.properties == ["value_chosen", "proposal_chosen"]


def test_without_fairness_stuttering_violates_eventually() -> None:
    class Lazy(LivenessPaxos):
        weak_fairness: ClassVar[tuple[str, ...]] = ()

    result = check_liveness(Lazy(acceptors=1, proposers=1), PROPERTIES)
    v = next(x for x in result.violations if x.property == "value_chosen")
    assert len(v.trace) == 0 and v.trace.loop == 0  # stays in the initial state forever
    itf = to_itf(v.trace)
    assert itf["loop"] == 0 and len(itf["states"]) == 1


def test_liveness_refuses_symmetry_and_constraints() -> None:
    spec = LivenessPaxos()
    with pytest.raises(SpecError, match="symmetry quotient merges"):
        check_liveness(spec, PROPERTIES, symmetry=True)

    class Bounded(LivenessPaxos):
        def constraint(self, state: LivenessState) -> bool:
            return max(state.bal) < 2

    with pytest.raises(SpecError, match="declares a state constraint, which cuts behaviours"):
        check_liveness(Bounded(), PROPERTIES)


def test_the_stored_lasso_is_what_the_checker_finds() -> None:
    fresh = check_liveness(LivenessPaxos(), PROPERTIES).violations[0].trace
    assert to_json(fresh) == json.loads(LASSO.read_text())
    back = from_itf(json.loads(json.dumps(to_itf(fresh))), resolve)
    assert back.loop == fresh.loop and to_json(back) == to_json(fresh)
    assert to_itf(fresh)["loop"] == fresh.loop


def test_check_command_reports_the_lasso(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lasso.json"
    assert main(["check", "paxos-liveness", "--property", "value_chosen", "--trace-out",
                 str(out)]) == 1
    text = capsys.readouterr().out
    assert "VIOLATED: value_chosen (eventually): a lasso of 10 steps, looping from state 4" \
        in text
    assert "loops back to the state after step 4 forever" in text
    assert json.loads(out.read_text())["loop"] == 4
    assert main(["check", "paxos-liveness", "--proposers", "1"]) == 0
    assert "All liveness properties hold" in capsys.readouterr().out


def test_graph_written_with_the_violating_path(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.graphml"
    assert main(["check", "paxos-article", "--acceptors", "1", "--max-ballot", "1",
                 "--invariant", "agreement", "--graph", str(out), "--trace-out",
                 str(tmp_path / "t.json"), "--quiet"]) == 1
    g = nx.read_graphml(out)
    trace = json.loads((tmp_path / "t.json").read_text())
    marked = [(u, v, d) for u, v, d in g.edges(data=True) if d["violating"]]
    assert len(marked) == len(trace["steps"])
    assert [d["label"] for _, _, d in marked] and all(d["action"] for _, _, d in marked)
    assert "state graph (" in capsys.readouterr().out
    dot = tmp_path / "g.dot"
    assert main(["check", "paxos-liveness", "--proposers", "1", "--graph", str(dot)]) == 0
    text = dot.read_text()
    assert text.startswith('digraph "paxos-liveness"') and "Prepare(p=p1)" in text
    capsys.readouterr()


def test_graph_refused_past_the_limit(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "paxos", "--graph", str(tmp_path / "g.dot"), "--graph-limit", "50",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "more than 50 reachable states" in err
    with pytest.raises(SpecError, match="more than 10"):
        build_graph(LivenessPaxos(), 10)


def test_check_all_checks_safety_then_liveness_as_a_library() -> None:
    spec = LivenessPaxos(acceptors=2, proposers=2)
    seen: list[object] = []
    out = check_all(spec, PROPERTIES, on_safety=seen.append)
    assert out.safety is not None and seen == [out.safety]
    assert out.safety.properties == ["agreement"] and out.safety.verdict == "holds"
    assert out.liveness is not None and out.liveness.distinct == 1193
    assert {v.property for v in out.liveness.violations} == {"value_chosen", "proposal_chosen"}
    assert out.graph is not None and len(out.graph) == 1193  # the graph liveness ran on
    only = check_all(spec, PROPERTIES, only=["value_chosen"])
    assert only.safety is None and only.liveness is not None
    assert only.liveness.properties == ["value_chosen"]
    drawn = check_all(LivenessPaxos(proposers=1), PROPERTIES, only=["agreement"], graph=True)
    assert drawn.liveness is None and drawn.graph is not None
    with pytest.raises(SpecError, match="--graph-limit must be positive"):
        check_all(spec, PROPERTIES, graph_limit=0)


def test_a_safety_check_never_imports_networkx() -> None:
    """The graph machinery (networkx) is loaded only for liveness or --graph."""
    code = ("import sys\n"
            "from agree.cli.main import main\n"
            "assert main(['check', 'paxos', '--max-ballot', '0', '--quiet']) == 0\n"
            "from agree import check\n"
            "from agree.models.paxos import Paxos\n"
            "check(Paxos(max_ballot=0))\n"
            "assert 'networkx' not in sys.modules, 'networkx imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
