"""The finite Paxos BMC encodings (symbolic/paxos/bmc.py, article_bmc.py) held
to the explicit model, and `agree bmc` on the Paxos zoo.

* successors: from every reachable state of a small configuration (or the first states
  of a breadth-first search, when the space is large) and from every state of each
  variant's explicit counterexample (where its changed step is taken), each explicit
  successor satisfies ``next(s, t)``, and ``next(s, t)`` with t none of them is unsat;
* safety: each formula evaluates like its Python twin on the same states (the
  counterexamples' last states break agreement, so both answers are seen);
* a drifted encoding fails both checks;
* end to end: `agree bmc` refutes every Paxos zoo variant and the article's Paxos, the
  trace replays on the explicit spec and its predicate fails at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import z3
from _search import reachable

from agree.cli.main import main
from agree.models.paxos import M1a, M2b
from agree.protocols import registry
from agree.spec import Property, Spec
from agree.symbolic.finite_z3 import Act, FiniteEncoding, FinState
from agree.symbolic.paxos.bmc import PaxosBmc
from agree.symbolic.paxos.driver import finite_encoding_for
from agree.symbolic.z3base import solver
from agree.traces.trace import load_trace

ROOT = Path(__file__).resolve().parent.parent
TRACES = ROOT / "traces"

#: name -> (small configuration, at most this many of its states, counterexample file)
CASES: dict[str, tuple[dict[str, int], int, str]] = {
    "paxos": ({"acceptors": 2, "values": 2, "max_ballot": 1}, 10_000, ""),
    "paxos-accept-below-promise": ({"acceptors": 1, "values": 2, "max_ballot": 1}, 10_000,
                                   "golden/paxos-accept-below-promise.agreement.json"),
    "paxos-amnesia": ({"acceptors": 1, "values": 2, "max_ballot": 1}, 10_000,
                      "golden/paxos-amnesia.agreement.json"),
    "paxos-wrong-value": ({"acceptors": 2, "values": 2, "max_ballot": 2}, 150,
                          "golden/paxos-wrong-value.agreement.json"),
    "paxos-2b-keeps-promise": ({"acceptors": 2, "values": 2, "max_ballot": 2}, 150,
                               "zoo_deep/paxos-2b-keeps-promise.agreement.json"),
    "paxos-pid-timestamp": ({"acceptors": 2, "values": 2, "max_ballot": 0, "proposers": 2},
                            10_000, "golden/paxos-pid-timestamp.agreement.json"),
    "paxos-article": ({"acceptors": 2, "values": 2, "max_ballot": 0}, 10_000,
                      "golden/paxos-article.agreement.json"),
}


def configurations(name: str) -> Iterable[tuple[FiniteEncoding[Any], Spec[Any],
                                                 dict[str, Property], list[Any]]]:
    """The small configuration's states, then the counterexample's, each with its
    encoding, spec and twins."""
    params, limit, trace = CASES[name]
    spec = registry.build(name, params)[0]
    enc, twins = finite_encoding_for(name, params)
    yield enc, spec, twins, reachable(spec, limit)
    if trace:
        tr = load_trace(TRACES / trace, registry.resolve)
        spec = registry.build(name, tr.params)[0]
        enc, twins = finite_encoding_for(name, tr.params)
        yield enc, spec, twins, tr.states


def successor_mismatches(enc: FiniteEncoding[Any], spec: Spec[Any],
                         states: list[Any], label: str | None = None) -> list[str]:
    """Where ``next`` (or one action's relation, ``label``) and the explicit successor
    function disagree."""
    s, t = enc.fresh_state("s"), enc.fresh_state("t")
    sv = solver(None)
    sv.add(enc.next(s, t, "n") if label is None else enc.step(label, s, t, "n"))
    out: list[str] = []
    for st in states:
        succ = sorted({tr.state for tr in spec.successors(st)
                       if label is None or tr.action.label == label}, key=repr)
        sv.push()
        sv.add(enc.holds(s, st))
        for nxt in succ:
            if sv.check(*enc.state_literals(t, nxt)) != z3.sat:
                out.append(f"missing {st} -> {nxt}")
        sv.add(z3.Not(z3.Or([enc.holds(t, nxt) for nxt in succ])))
        if sv.check() == z3.sat:
            out.append(f"extra {st} -> {enc.decode(sv.model(), t, 0)}")
        sv.pop()
        if len(out) > 3:
            break
    return out


def safety_values(enc: FiniteEncoding[Any], spec: Spec[Any], twins: dict[str, Property],
                  states: list[Any]) -> tuple[list[str], set[tuple[str, bool]]]:
    """Where a safety formula and its Python twin disagree, and the values seen."""
    s = enc.fresh_state("s")
    formulas = enc.safety(s)
    sv = solver(None)
    out: list[str] = []
    seen: set[tuple[str, bool]] = set()
    for st in states:
        assert sv.check(*enc.state_literals(s, st)) == z3.sat
        model = sv.model()
        for c in formulas:
            z = bool(z3.is_true(model.eval(c.formula, model_completion=True)))
            py = twins[c.name].holds(spec, st)
            seen.add((c.name, py))
            if z != py:
                out.append(f"{c.name}: z3 {z}, python {py} on {st}")
    return out, seen


@pytest.mark.parametrize("name", list(CASES))
def test_next_admits_exactly_the_explicit_successors(name: str) -> None:
    for enc, spec, _, states in configurations(name):
        assert len(states) > 5
        assert successor_mismatches(enc, spec, states) == [], spec.param_values()


@pytest.mark.parametrize("name", list(CASES))
def test_safety_formulas_evaluate_like_their_python_twins(name: str) -> None:
    seen: set[tuple[str, bool]] = set()
    for enc, spec, twins, states in configurations(name):
        wrong, values = safety_values(enc, spec, twins, states)
        assert wrong == []
        seen |= values
    assert ("agreement", True) in seen
    if name != "paxos":  # the counterexample's last state breaks agreement
        assert ("agreement", False) in seen


#: The action each variant changes (its explicit twin's override).
CHANGED = {"paxos-accept-below-promise": "Phase2b", "paxos-amnesia": "Restart",
           "paxos-wrong-value": "Phase2a", "paxos-2b-keeps-promise": "Phase2b",
           "paxos-pid-timestamp": "Phase2a"}


@pytest.mark.parametrize("name", list(CHANGED))
def test_the_changed_action_alone_along_the_counterexample(name: str) -> None:
    tr = load_trace(TRACES / CASES[name][2], registry.resolve)
    spec = registry.build(name, tr.params)[0]
    enc, _ = finite_encoding_for(name, tr.params)
    assert any(st.label.startswith(CHANGED[name]) for st in tr.steps)
    assert successor_mismatches(enc, spec, tr.states, CHANGED[name]) == []


def test_the_variants_differ_from_paxos_where_their_explicit_twins_do() -> None:
    """Each zoo encoding checked against correct Paxos along its counterexample fails:
    the checks see the changed step (so a drifted encoding cannot pass)."""
    paxos = registry.build("paxos", {"acceptors": 3, "values": 2, "max_ballot": 2})[0]
    for name in ("paxos-wrong-value", "paxos-2b-keeps-promise"):
        tr = load_trace(TRACES / CASES[name][2], registry.resolve)
        enc, _ = finite_encoding_for(name, tr.params)
        assert successor_mismatches(enc, paxos, tr.states[:-1]) != [], name


class _NoPromiseCheck(PaxosBmc):
    """A drifted encoding: Phase1b forgets that b must be above max_bal[a]."""

    def phase1b(self, s: FinState, a: int, b: int) -> Act:
        act = super().phase1b(s, a, b)
        act.guard = s.msgs[M1a(b)]
        return act


class _OneVoteChooses(PaxosBmc):
    """A drifted safety formula: one vote chooses a value."""

    def chosen(self, s: FinState, v: int) -> Any:
        return z3.Or([s.msgs[M2b(a, b, v)] for a in self.accs for b in self.bals])


def test_a_drifted_encoding_fails() -> None:
    params = CASES["paxos"][0]
    spec = registry.build("paxos", params)[0]
    states = reachable(spec, 10_000)
    assert successor_mismatches(_NoPromiseCheck(**params), spec, states) != []
    # (two values voted, none chosen: along the wrong-value counterexample)
    tr = load_trace(TRACES / CASES["paxos-wrong-value"][2], registry.resolve)
    spec = registry.build("paxos", tr.params)[0]
    twins = finite_encoding_for("paxos", tr.params)[1]
    wrong, _ = safety_values(_OneVoteChooses(**tr.params), spec, twins, tr.states)
    assert wrong != []


def test_every_variant_has_an_encoding() -> None:
    paxos_like = [e.name for e in registry.entries()
                  if e.name.startswith("paxos") and e.name != "paxos-liveness"]
    encoded = [e.name for e in registry.entries() if e.bmc_encoding() is not None]
    assert sorted(paxos_like) == sorted(n for n in encoded if n.startswith("paxos"))


def _bmc_cli(name: str, depth: int, capsys: pytest.CaptureFixture[str],
             tmp_path: Path, *flags: str) -> dict[str, Any]:
    code = main(["bmc", name, "--depth", str(depth), "--json", *flags])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["verdict"] == "violated" and out["property"] == "agreement"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(out["trace"]))
    trace = load_trace(path, registry.resolve)  # replays through the explicit spec
    spec, props = registry.resolve(trace.spec, trace.params)
    agreement = next(p for p in props if p.name == "agreement")
    assert all(agreement.holds(spec, st) for st in trace.states[:-1])
    assert not agreement.holds(spec, trace.states[-1])
    return out


def _depth(name: str) -> int:
    doc = json.loads((TRACES / CASES[name][2]).read_text())
    return len(doc["steps"])


@pytest.mark.parametrize("name", ["paxos-accept-below-promise", "paxos-amnesia",
                                  "paxos-pid-timestamp", "paxos-article"])
def test_bmc_refutes_the_shallow_variants(name: str, capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    out = _bmc_cli(name, _depth(name), capsys, tmp_path)
    assert out["reached"] <= _depth(name)


@pytest.mark.parametrize("name", ["paxos-wrong-value", "paxos-2b-keeps-promise"])
def test_bmc_refutes_the_deep_variants(name: str, capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    out = _bmc_cli(name, _depth(name), capsys, tmp_path)
    assert out["reached"] == _depth(name)  # the explicit search's shortest is 17


def test_incremental_bmc_finds_a_shortest_violation(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    name = "paxos-accept-below-promise"
    out = _bmc_cli(name, _depth(name) + 2, capsys, tmp_path, "--incremental")
    assert out["reached"] == _depth(name)  # the golden trace is a shortest one


def test_correct_paxos_holds_to_the_depth(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bmc", "paxos", "--acceptors", "2", "--max-ballot", "1", "--depth", "8",
                 "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "no violation up to depth 8" in out


def test_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bmc", "paxos-liveness", "--depth", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert main(["bmc", "paxos", "--depth", "3", "--encoding", "bits"]) == 2
    capsys.readouterr()
