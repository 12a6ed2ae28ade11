"""The finite Raft BMC encoding (symbolic/raft/bmc.py) held to the explicit model, and
`agree bmc` on the Raft zoo.

* successors: from sampled reachable states (2 servers; 3 servers with logs of 1), the
  encoding's successor set, decoded, is exactly the explicit spec's (projected): per
  disjunct (guards and updates evaluated on constants) and, for some states, by
  enumerating every model of the whole ``next`` formula; for each zoo variant on every
  state of its explicit counterexample (where its changed step is taken);
* safety: each formula evaluates like its Python twin on every reachable state of a small
  configuration, on mutants and on the zoo traces' states;
* a drifted encoding fails both;
* end to end: `agree bmc` finds zoo bugs, the trace replays on the explicit spec and its
  predicate fails; bad input is a one-line error (exit 2).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import z3
from _search import reachable

from agree.cli.main import main
from agree.models.raft_types import (
    AEREQ,
    CANDIDATE,
    LEADER,
    RVRESP,
    AppendEntriesRequest,
    Election,
    Entry,
    RaftState,
    RequestVoteResponse,
    put,
    with_message,
)
from agree.protocols import registry
from agree.spec import Spec
from agree.symbolic.raft.bmc import Msg, RaftBmc, State, leaves
from agree.symbolic.raft.bmc_safety import safety
from agree.symbolic.raft.driver import raft_twins
from agree.symbolic.raft.encoding import project
from agree.traces.trace import Trace, load_trace

ROOT = Path(__file__).resolve().parent.parent
TWINS = raft_twins()
KEYS = ("servers", "values", "max_term", "max_log", "max_messages", "max_restarts")
SMALL = {"servers": 2, "values": 1, "max_term": 2, "max_log": 1, "max_messages": 1,
         "max_restarts": 1}
THREE = {"servers": 3, "values": 1, "max_term": 2, "max_log": 1, "max_messages": 1,
         "max_restarts": 0}
#: variant -> its explicit counterexample (the smallest configuration showing the bug);
#: raft's zoo only (raft-reconfig has no BMC encoding).
TRACES = {p.name.split(".")[0]: p for p in sorted(
    [*(ROOT / "traces" / "golden").glob("raft-*.json"),
     *(ROOT / "traces" / "zoo_deep").glob("raft-*.json")])
    if registry.get(p.name.split(".")[0]).protocol.name == "raft"}


def enc_for(name: str, params: dict[str, Any], cls: type[RaftBmc] | None = None) -> RaftBmc:
    return (cls or registry.get(name).bmc_encoding())(**{k: params[k] for k in KEYS})


def trace_of(name: str) -> Trace:
    return load_trace(TRACES[name], registry.resolve)


def successors_by_choice(enc: RaftBmc, st: RaftState) -> set[RaftState]:
    """The encoding's successors of an explicit state: each disjunct's guard and update
    evaluated on constants, decoded."""
    s = enc.concrete(st)
    out = set()
    for c in enc.choices(s):
        g = z3.simplify(c.guard)
        assert z3.is_true(g) or z3.is_false(g), f"{c.label}: guard not decided: {g}"
        if z3.is_true(g):
            out.add(enc.read(z3.simplify, c.new))
    return out


def successors_by_solver(enc: RaftBmc, st: RaftState) -> set[RaftState]:
    """Every model of the whole ``next(s, t)`` (constraint and frame included), decoded."""
    t = enc.fresh_state("t")
    sv = z3.SolverFor("QF_BV") if enc.bits else z3.Solver()
    sv.add(enc.next(enc.concrete(st), t, "x"))
    out = set()
    while sv.check() == z3.sat:
        model = sv.model()
        out.add(enc.decode(model, t))
        sv.add(z3.Not(z3.And([x == model.eval(x, model_completion=True) for x in leaves(t)])))
    return out


def mismatches(enc: RaftBmc, spec: Spec[Any], states: Iterable[RaftState],
               solver: bool = False) -> list[str]:
    out = []
    for st in states:
        if not spec.constraint(st):
            continue
        want = {project(tr.state) for tr in spec.successors(st)}
        got = successors_by_solver(enc, st) if solver else successors_by_choice(enc, st)
        if got != want:
            out.append(f"from {st}: extra {got - want}, missing {want - got}")
    return out


def test_successors_match_the_explicit_spec_two_servers() -> None:
    spec, _ = registry.build("raft", SMALL)
    states = random.Random(1).sample(reachable(spec, constraint="tlc"), 150)
    enc = enc_for("raft", SMALL)
    assert mismatches(enc, spec, states) == []
    assert mismatches(enc, spec, states[:15], solver=True) == []


def test_successors_match_the_explicit_spec_three_servers() -> None:
    spec, _ = registry.build("raft", THREE)
    states = random.Random(2).sample(reachable(spec, 6000, constraint="tlc"), 80)
    enc = enc_for("raft", THREE)
    assert mismatches(enc, spec, states) == []
    assert mismatches(enc, spec, states[:5], solver=True) == []


@pytest.mark.parametrize("name", sorted(TRACES))
def test_zoo_successors_match_along_the_counterexample(name: str) -> None:
    """Every state of the variant's explicit counterexample, where its changed step is
    taken; the Int encoding too on a few."""
    tr = trace_of(name)
    spec, _ = registry.build(name, tr.params)
    states = [tr.init, *(s.state for s in tr.steps)]
    assert mismatches(enc_for(name, tr.params), spec, states) == []
    ints = registry.get(name).bmc_encoding()(**{k: tr.params[k] for k in KEYS}, bits=0)
    assert mismatches(ints, spec, states[-4:]) == []


class DriftedBmc(RaftBmc):
    """Tallies stale votes (raft-stale-votes' step) while claiming to be Raft."""

    def tally_ok(self, s: State, i: int, m: Msg) -> Any:
        return m.term <= s.term[i]


def test_a_drifted_encoding_fails_the_successor_check() -> None:
    tr = trace_of("raft-stale-votes")
    spec, _ = registry.build("raft", tr.params)
    enc = enc_for("raft", tr.params, DriftedBmc)
    states = [tr.init, *(s.state for s in tr.steps)]
    # The stale-votes trace is Raft's until the stale tally (its explicit successors
    # are defined on every state); the drifted encoding admits that tally.
    assert mismatches(enc, spec, states) != []


def evaluations(enc: RaftBmc, spec: Spec[Any], st: RaftState) -> dict[str, tuple[bool, bool]]:
    """Per property: (Z3 on the constants of st, the Python twin)."""
    out = {}
    for c in safety(enc, enc.concrete(st)):
        v = z3.simplify(c.formula)
        assert z3.is_true(v) or z3.is_false(v), c.name
        out[c.name] = (bool(z3.is_true(v)), TWINS[c.name].holds(spec, st))
    return out


def mutants(states: list[RaftState], n: int, servers: int, seed: int = 3) -> list[RaftState]:
    """Unreachable states near reachable ones, aimed at the safety properties."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        st = rng.choice(states)
        i, j = rng.randrange(servers), rng.randrange(servers)
        t = rng.randint(1, 2)
        k = rng.randrange(7)
        if k == 0:
            st = st._replace(state=put(st.state, i, rng.choice([CANDIDATE, LEADER])),
                             current_term=put(st.current_term, i, t))
        elif k == 1:
            lg = tuple(Entry(rng.randint(1, 2), 0) for _ in range(rng.randint(0, 2)))
            st = st._replace(log=put(st.log, i, lg))
        elif k == 2:
            st = st._replace(commit_index=put(st.commit_index, i, rng.randint(0, 2)))
        elif k == 3:
            st = st._replace(elections=st.elections | {Election(t, i, (), frozenset(), ())})
        elif k == 4:
            m = RequestVoteResponse(RVRESP, t, True, (), i, j)
            st = st._replace(messages=with_message(m, st.messages))
        elif k == 6:  # two logs of up to 2 entries, both partly committed
            for x in (i, (i + 1) % servers):
                lg = tuple(Entry(rng.randint(1, 2), rng.randint(0, 1))
                           for _ in range(rng.randint(1, 2)))
                st = st._replace(log=put(st.log, x, lg),
                                 commit_index=put(st.commit_index, x, rng.randint(0, 2)))
        else:
            m = AppendEntriesRequest(AEREQ, t, 0, 0, (Entry(t, 0),), (), 1, i, j)
            st = st._replace(messages=with_message(m, st.messages),
                             log=put(st.log, j, (Entry(t, 0),)),
                             commit_index=put(st.commit_index, j, 1))
        out.append(st)
    return out


def test_safety_formulas_evaluate_like_their_python_twins() -> None:
    spec, _ = registry.build("raft", SMALL)
    states = reachable(spec, constraint="tlc")
    sample = [*random.Random(4).sample(states, 250), *mutants(states, 450, 2)]
    enc = enc_for("raft", {**SMALL, "max_log": 2, "max_messages": 2})
    encoded = [c.name for c in safety(enc, enc.fresh_state("x"))]
    falses = dict.fromkeys(encoded, 0)
    bad = []
    for st in sample:
        for name, (z, py) in evaluations(enc, spec, st).items():
            falses[name] += not py
            if z != py:
                bad.append(f"{name}: z3={z} python={py} on {st}")
    assert bad == []
    # Not vacuous: every property was False somewhere.
    assert len(encoded) == 6 and all(falses[n] > 0 for n in encoded), falses


def test_safety_formulas_on_the_zoo_counterexamples() -> None:
    failed = set()
    for name in sorted(TRACES):
        tr = trace_of(name)
        spec, _ = registry.build(name, tr.params)
        enc = enc_for(name, tr.params)
        for st in (tr.init, *(s.state for s in tr.steps)):
            for prop, (z, py) in evaluations(enc, spec, st).items():
                assert z == py, f"{name}: {prop} z3={z} python={py} on {st}"
                if not py:
                    failed.add(prop)
    assert {"election_safety", "one_leader_per_term", "leader_completeness",
            "commit_index_in_log"} <= failed


class DriftedSafety(RaftBmc):
    def safety(self, s: State) -> Any:
        from agree.symbolic.raft.bmc_safety import Conjunct
        out = safety(self, s)
        return [c if c.name != "commit_index_in_log" else
                Conjunct(c.name, z3.And([x <= y + 1 for x, y in zip(s.commit, s.llen,
                                                                     strict=True)]))
                for c in out]


def test_a_drifted_safety_formula_disagrees() -> None:
    tr = trace_of("raft-commit-past-entries")
    spec, _ = registry.build(tr.spec, tr.params)
    enc = enc_for(tr.spec, tr.params, DriftedSafety)
    last = tr.steps[-1].state
    c = next(c for c in enc.safety(enc.concrete(last)) if c.name == "commit_index_in_log")
    assert z3.is_true(z3.simplify(c.formula)) != TWINS[c.name].holds(spec, last)


# -- end to end ---------------------------------------------------------------------


def bmc_argv(name: str, depth: int, *more: str) -> list[str]:
    params = trace_of(name).params
    argv = ["bmc", name, "--depth", str(depth), "--json"]
    for k in KEYS:
        argv += [f"--{k.replace('_', '-')}", str(params[k])]
    return [*argv, *more]


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def check_refuted(name: str, code: int, out: Any, tmp_path: Path) -> None:
    """Exit 1; the trace (from Init) replays on the explicit spec and its property fails."""
    assert code == 1 and out["verdict"] == "violated", out["verdict"]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(out["trace"]))
    tr = load_trace(path, registry.resolve)  # loading replays every step
    spec, _ = registry.build(name, tr.params)
    assert tr.spec == name and out["property"] == tr.property
    assert not TWINS[tr.property or ""].holds(spec, tr.steps[-1].state)
    assert out["reached"] > 0


def test_cli_bmc_finds_leader_ignores_term(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    code, out = run_json(bmc_argv("raft-leader-ignores-term", 18), capsys)
    check_refuted("raft-leader-ignores-term", code, out, tmp_path)
    assert out["reached"] == 18 and out["property"] == "one_leader_per_term"


def test_cli_bmc_from_a_prefix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--from: the symbolic search starts after a replayed prefix of a Raft trace; the
    reported trace is prefix + suffix, from Init."""
    tr = trace_of("raft-stale-votes")
    prefix = tmp_path / "prefix.json"
    from agree.checker.start_from import common_prefix, prefix_trace
    from agree.traces.trace import save_trace
    raft, _ = registry.build("raft", tr.params)
    k = common_prefix(tr, raft)  # the steps correct Raft shares with the scenario
    assert 0 < k < len(tr)
    save_trace(prefix_trace(tr, k, raft), prefix)
    rest = len(tr) - k
    code, out = run_json(bmc_argv("raft-stale-votes", rest, "--from", f"{prefix}:{k}"),
                         capsys)
    check_refuted("raft-stale-votes", code, out, tmp_path)
    # The trace is shortest from Init, so no suffix from step k is shorter than its rest.
    assert out["from"]["replayed_steps"] == k and len(out["trace"]["steps"]) == len(tr)


def test_cli_bmc_no_violation_below_the_bug(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(bmc_argv("raft-leader-ignores-term", 8), capsys)
    assert code == 0 and out["verdict"] == "holds-to-depth" and out["trace"] is None


def test_cli_bmc_incremental_finds_a_shortest_violation(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Asked depth by depth, to a bound past the bug: the violation is at the depth of
    the explicit checker's shortest trace, each shallower depth shown clean."""
    code, out = run_json(bmc_argv("raft-stale-votes", 22, "--incremental"), capsys)
    check_refuted("raft-stale-votes", code, out, tmp_path)
    assert out["reached"] == len(trace_of("raft-stale-votes"))
    assert len(out["per_depth_seconds"]) == out["reached"] + 1


def own_prefix(name: str, k: int, folder: Path) -> Path:
    """The variant's explicit trace's first k steps, replayed on correct Raft, as a file."""
    from agree.checker.start_from import prefix_trace
    from agree.traces.trace import save_trace
    tr = trace_of(name)
    raft, _ = registry.build("raft", tr.params)
    path = folder / "prefix.json"
    save_trace(prefix_trace(tr, k, raft), path)
    return path


@pytest.mark.reference
@pytest.mark.parametrize(("name", "k"), [
    ("raft-stale-votes", 0), ("raft-forget-vote", 0), ("raft-forget-term", 0),
    ("raft-commit-past-entries", 0),
    # From Init these two did not finish in 15 minutes: searched after a correct-Raft
    # prefix of k steps (as benchmarks/bmc_zoo.py does).
    ("raft-vote-any-log", 12), ("raft-truncate-on-stale-append", 14)])
def test_cli_bmc_refutes_zoo_variant(name: str, k: int, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    depth = len(trace_of(name).steps) - k
    more = ["--from", f"{own_prefix(name, k, tmp_path)}:{k}"] if k else []
    code, out = run_json(bmc_argv(name, depth, *more), capsys)
    check_refuted(name, code, out, tmp_path)


@pytest.mark.reference
def test_cli_bmc_refutes_figure_8_from_a_correct_raft_prefix(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    prefix = ROOT / "traces" / "zoo_deep" / "prefix" / "raft-commit-old-term.json"
    code, out = run_json(bmc_argv("raft-commit-old-term", 23, "--from", f"{prefix}:31"),
                         capsys)
    check_refuted("raft-commit-old-term", code, out, tmp_path)


@pytest.mark.parametrize("argv", [
    ["bmc", "raft-stale-votes", "--depth", "-1"],
    ["bmc", "raft-stale-votes", "--depth", "3", "--servers", "0"],
    ["bmc", "raft-stale-votes", "--depth", "3", "--max-term", "x"],
    ["bmc", "raft-stale-votes", "--depth", "3", "--timeout", "0"],
    ["bmc", "raft-stale-votes", "--depth", "3", "--from", "/nonexistent.json"],
    ["bmc", "raft-stale-votes", "--depth", "3", "--from"],
    ["bmc", "raft-stale-votes", "--depth", "3", "--entries-per-append", "2"],
])
def test_bad_input_is_a_one_line_error(argv: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err, err


def test_from_a_file_that_is_not_a_trace(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["bmc", "raft-stale-votes", "--depth", "3", "--from", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err, err
