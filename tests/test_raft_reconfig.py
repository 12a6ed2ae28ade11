"""Raft with membership changes (models/raft_reconfig.py): pinned counts, raft.tla where no
configuration entry fits, symmetry, the configurations' overlap property and its witness,
and the zoo's counterexamples (found from a correct prefix; tests/test_zoo.py replays them).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from _golden import GOLDEN_DIR
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from agree.checker.run import check
from agree.checker.stateful import state_machine
from agree.checker.symmetry import check_symmetric, group, sample_states
from agree.cli.main import main
from agree.models.raft_reconfig import (
    CONFIG,
    ConfigEntry,
    RaftReconfig,
    config_of,
    overlap_in_majority,
)
from agree.models.raft_symmetry import RaftPermuter
from agree.models.raft_types import LEADER, Election, Entry, put
from agree.properties.raft_reconfig import PROPERTIES, configurations_overlap_in_term
from agree.protocols import registry
from agree.spec import SpecError, Witness
from agree.traces.trace import load_trace

DEEP = GOLDEN_DIR.parent / "zoo_deep"
RECONFIG_ZOO = [v.name for v in registry.get("raft-reconfig").protocol.zoo]


def _counts(spec: Any, symmetry: bool = False) -> tuple[int, int, int]:
    result = check(spec, PROPERTIES, symmetry=symmetry)
    assert result.complete and result.violations == [], [v.property for v in result.violations]
    return result.distinct, result.generated, result.depth


@pytest.mark.parametrize(("params", "plain", "orbits"), [
    # one member, one spare: s1 alone elects itself, adds s2, commits with it
    (dict(servers=2, members=1, max_term=2, max_log=2), (38, 185, 23), (38, 185, 23)),
    # one member, two spares (interchangeable): adds and removes reach every server
    (dict(servers=3, members=1, max_term=2, max_log=3), (1_231, 9_719, 42), (624, 4_887, 42)),
    # the spec's defaults: two members and a spare
    (dict(servers=3, members=2, max_term=2, max_log=2), (4_054, 33_611, 42), (2_032, 16_826, 42)),
])
def test_pinned_counts_with_and_without_symmetry(params: dict[str, int],
                                                 plain: tuple[int, int, int],
                                                 orbits: tuple[int, int, int]) -> None:
    assert _counts(RaftReconfig(**params)) == plain
    assert _counts(RaftReconfig(**params), symmetry=True) == orbits


def test_where_no_configuration_entry_fits_it_is_raft_tla() -> None:
    """With every server a member and no room in a log for an entry of one's term and a
    configuration after it, the state graph is raft.tla's: TLC's counts of raft.tla (two
    servers, tests/test_raft.py), plus only RemoveServer's successors outside the
    constraint in the generated count."""
    params = dict(servers=2, values=1, max_term=2, max_log=1, max_messages=2, max_restarts=-1)
    reconfig = check(RaftReconfig(members=2, **params), ())
    assert reconfig.complete
    removes = reconfig.coverage["RemoveServer"]
    # RemoveServer is taken (after an entry of the term commits; with every server a
    # member there is none to add) but its states lie outside the constraint: generated,
    # checked, explored no further
    assert reconfig.coverage["AddServer"].generated == 0
    assert removes.generated > 0 and removes.distinct == 0
    assert (reconfig.distinct, reconfig.generated - removes.generated, reconfig.depth) == (
        25_164, 239_037, 33)


def test_changes_follow_the_rules() -> None:
    spec = RaftReconfig(servers=3, members=1, max_term=2, max_log=3)
    result = check(spec, PROPERTIES)
    assert result.coverage["AddServer"].distinct > 0
    assert result.coverage["RemoveServer"].distinct > 0
    # a leader of a fresh term may not change before committing an entry of its term
    s = next(iter(spec.init()))
    s = s._replace(state=put(s.state, 0, LEADER), current_term=put(s.current_term, 0, 2),
                   log=put(s.log, 0, (Entry(2, 0),)))
    assert spec.add_server(s, 0, 1) is None
    committed = s._replace(commit_index=put(s.commit_index, 0, 1))
    added = spec.add_server(committed, 0, 1)
    assert added is not None and spec.config(added, 0) == {0, 1}
    # ... nor start a second change before the first is committed
    assert spec.add_server(added, 0, 2) is None
    assert spec.remove_server(added, 0, 1) is None


def test_bad_parameters_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="--members"):
        RaftReconfig(servers=2, members=3)
    with pytest.raises(SpecError, match="--members"):
        RaftReconfig(servers=2, members=0)


def _majorities(c: frozenset[int]) -> list[frozenset[int]]:
    return [frozenset(q) for k in range(len(c) + 1) for q in itertools.combinations(sorted(c), k)
            if 2 * k > len(c)]


def test_overlap_in_majority_is_every_pair_of_majorities_meeting() -> None:
    configs = [frozenset(c) for k in range(1, 6) for c in itertools.combinations(range(6), k)]
    for a in configs:
        for b in configs:
            brute = all(qa & qb for qa in _majorities(a) for qb in _majorities(b))
            assert overlap_in_majority(a, b) == brute, (sorted(a), sorted(b))


def _election(term: int, leader: int, members: tuple[int, ...], votes: set[int]) -> Election:
    lg = (ConfigEntry(term=1, value=CONFIG, members=members),)
    return Election(eterm=term, eleader=leader, elog=lg,  # type: ignore[arg-type]
                    evotes=frozenset(votes), evoter_log=())


def test_disjoint_configurations_in_one_term_fail_with_a_witness() -> None:
    spec = RaftReconfig(servers=4, members=4)
    s = next(iter(spec.init()))
    a = _election(3, 0, (0, 1, 3), {0, 1})
    b = _election(3, 2, (1, 2, 3), {2, 3})
    verdict = configurations_overlap_in_term(spec, s._replace(elections=frozenset({a, b})))
    assert isinstance(verdict, Witness)
    assert verdict.data["term"] == 3 and set(verdict.data["servers"]) == {0, 2}
    assert set(verdict.data["configs"]) == {(0, 1, 3), (1, 2, 3)}
    assert "disjoint majorities" in verdict.reason
    # the same configurations in two terms, or overlapping ones in one term: fine
    later = b._replace(eterm=4)
    assert configurations_overlap_in_term(spec, s._replace(elections=frozenset({a, later})))
    c = _election(3, 2, (0, 1, 2, 3), {1, 2, 3})
    assert configurations_overlap_in_term(spec, s._replace(elections=frozenset({a, c})))
    assert config_of(a.elog, spec.initial) == {0, 1, 3}


#: One member and two spares: s1 elects itself at once, so most of the first states in
#: breadth-first order hold a configuration entry naming a spare (random walks from two
#: members seldom reach one).
_SAMPLED = dict(servers=3, members=1, values=2, max_term=2, max_log=3)


def test_symmetry_renames_the_members_of_configuration_entries() -> None:
    # members among members, spares among spares, values: 2! * 2! * 2!
    assert len(group(RaftReconfig(servers=4, members=2, values=2))) == 2 * 2 * 2
    spec = RaftReconfig(**_SAMPLED)
    sample = sample_states(spec, prefix=600, walks=0)
    assert sum(any(config_of(lg, spec.initial) != spec.initial for lg in s.log)
               for s in sample) > 400
    assert check_symmetric(spec, PROPERTIES, sample) == len(sample)


def test_a_permute_that_forgets_configurations_is_refused() -> None:
    class Forgetful(RaftReconfig):
        def __init__(self, **params: Any) -> None:
            super().__init__(**params)
            self._permuter = RaftPermuter(self.n)  # configuration entries keep their members

    spec = Forgetful(**_SAMPLED)
    sample = sample_states(spec, prefix=600, walks=0)
    with pytest.raises(SpecError, match="not symmetric"):
        check_symmetric(spec, PROPERTIES, sample)


def test_the_hypothesis_machine_runs_the_spec() -> None:
    spec = RaftReconfig(servers=3, members=1, max_term=2, max_log=3)
    machine = state_machine(spec, PROPERTIES)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=15, stateful_step_count=30, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck)))


def test_simulate_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("raft-reconfig", *RECONFIG_ZOO))
    assert main(["simulate", "raft-reconfig", "--servers", "3", "--members", "1",
                 "--max-log", "3", "--seed", "1", "--runs", "30", "--depth", "60"]) == 0
    assert "AddServer" in capsys.readouterr().out
    assert main(["check", "raft-reconfig", "--members", "5"]) == 2


def _refused(spec: RaftReconfig, label: str, state: Any, args: tuple[Any, ...]) -> bool:
    try:
        return spec.action(label).fn(state, *args) is None
    except SpecError:  # the correct spec has no such action
        return True


@pytest.mark.parametrize("name", RECONFIG_ZOO)
def test_each_counterexample_loses_a_committed_entry(name: str) -> None:
    path = DEEP / f"{name}.leader_completeness.json"
    trace = load_trace(path, registry.resolve)
    spec, props = registry.build(name, trace.params)
    prop = next(p for p in props if p.name == "leader_completeness")
    assert not prop.holds(spec, trace.states[-1])
    verdict = prop.witness(spec, trace.states[-1])
    assert isinstance(verdict, Witness) and "is missing from the log of" in verdict.reason
    # the configuration change it hinges on is a step the correct spec refuses
    correct = RaftReconfig(**trace.params)
    assert any(st.action in ("AddServer", "RemoveServer", "RemoveTwo")
               and _refused(correct, st.action, before, st.args)
               for st, before in zip(trace.steps, trace.states, strict=False)), name
    prefix = json.loads((DEEP / "prefix" / f"{name}.json").read_text())
    assert prefix["spec"] == "raft-reconfig" and len(prefix["steps"]) < len(trace)


@pytest.mark.parametrize("name", RECONFIG_ZOO)
def test_small_configuration_of_each_variant_is_clean_for_the_correct_spec(name: str) -> None:
    entry = registry.get(name)
    assert entry.variant is not None
    spec = RaftReconfig(**{**dict(entry.defaults), **dict(entry.variant.small)})
    result = check(spec, PROPERTIES)
    assert result.complete and result.violations == []


def test_a_counterexample_shows_and_renders_its_configurations(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = DEEP / "raft-reconfig-no-own-term-commit.leader_completeness.json"
    assert main(["trace", "show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "RemoveServer(i=s3, j=s1)" in shown and "3:{s2,s3,s4}" in shown
    out = tmp_path / "trace.html"
    assert main(["trace", "html", str(path), "-o", str(out)]) == 0
    assert "2:{s1,s2,s4}" in out.read_text()
