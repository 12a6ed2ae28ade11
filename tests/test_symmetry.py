"""Symmetry reduction: exact orbit counts, same verdicts, refusal when unsound."""

from __future__ import annotations

from typing import Any

import pytest
from _golden import GOLDEN_DIR
from _search import reachable

from agree.checker.run import check
from agree.checker.symmetry import (
    SymmetryError,
    check_symmetric,
    group,
    sample_states,
)
from agree.cli.main import main
from agree.models.paxos import Paxos, PaxosState
from agree.models.raft import Raft
from agree.models.raft_reconfig import RaftReconfig
from agree.models.raft_types import RaftState
from agree.properties.paxos import PROPERTIES
from agree.properties.raft import PROPERTIES as RAFT_PROPERTIES
from agree.protocols import registry
from agree.spec import Property, Spec
from agree.traces.trace import decode_trace, load_trace, to_json


def orbits(spec: Spec[Any], states: set[Any]) -> int:
    """The number of orbits, computed from the images themselves (no fingerprints)."""
    return len({frozenset(spec.permute(s, g) for g in group(spec)) for s in states})


RAFT_NAMES = [e.name for e in registry.entries() if issubclass(e.spec_class(), Raft)]


def safety(spec: Spec[Any], props: tuple[Property, ...]) -> list[Property]:
    return [p for p in (*spec.declared_properties(), *props)
            if p.kind in ("invariant", "action", "sometimes")]


@pytest.mark.parametrize(("acceptors", "values", "max_ballot"), [
    pytest.param(3, 2, 1, marks=pytest.mark.reference), (2, 2, 1), (3, 1, 1)])
def test_symmetric_count_is_the_exact_number_of_orbits(acceptors: int, values: int,
                                                        max_ballot: int) -> None:
    spec = Paxos(acceptors=acceptors, values=values, max_ballot=max_ballot)
    states = reachable(spec, constraint="inside")
    plain = check(spec, PROPERTIES)
    assert plain.distinct == len(states)
    sym = check(spec, PROPERTIES, symmetry=True)
    assert sym.symmetry and sym.complete
    assert sym.distinct == orbits(spec, states)
    assert sym.distinct < plain.distinct
    assert sym.depth == plain.depth
    assert sym.generated <= plain.generated


class ReliableRaft(Raft):
    """Raft over a network that neither drops nor duplicates: a smaller three-server
    state space, small enough to count its orbits by brute force."""

    def duplicate_message(self, s: RaftState, m: Any) -> RaftState | None:
        return None

    def drop_message(self, s: RaftState, m: Any) -> RaftState | None:
        return None


@pytest.mark.parametrize(("cls", "params"), [
    (Raft, {"servers": 2, "max_term": 2, "max_log": 1, "max_messages": 1}),
    (Raft, {"servers": 2, "values": 2, "max_term": 2, "max_log": 1, "max_messages": 1}),
    # three servers: a renaming that confuses a permutation with its inverse shows here
    pytest.param(ReliableRaft, {"servers": 3, "max_term": 2, "max_log": 0, "max_messages": 1,
                                "max_restarts": 0}, marks=pytest.mark.reference)])
def test_raft_orbit_count_is_exact(cls: type[Raft], params: dict[str, Any]) -> None:
    spec = cls(**params)
    states = reachable(spec, constraint="inside")
    plain = check(spec, RAFT_PROPERTIES)
    sym = check(spec, RAFT_PROPERTIES, symmetry=True)
    assert plain.distinct == len(states) and plain.verdict == sym.verdict == "holds"
    assert sym.complete and sym.distinct == orbits(spec, states) < plain.distinct
    assert sym.depth == plain.depth


_RAFT_3 = {"servers": 3, "max_term": 5, "max_log": 2, "max_messages": 2, "max_restarts": 1,
           "history": True}


@pytest.fixture(scope="module")
def rich_raft_states() -> list[RaftState]:
    """States of the three-server zoo counterexamples: leaders, entries, commits, votes
    and elections, which short random walks seldom reach."""
    states: list[RaftState] = []
    for path in sorted((GOLDEN_DIR.parent / "zoo_deep").glob("raft-*.json")):
        trace = load_trace(path, registry.resolve)
        if trace.params["servers"] == 3:
            states += trace.states
    unique = list(dict.fromkeys(states))
    assert len(unique) > 100 and sum(any(s.commit_index) for s in unique) > 10
    return unique


@pytest.mark.parametrize("name", RAFT_NAMES)
def test_raft_and_its_zoo_are_symmetric_with_three_servers(
        name: str, rich_raft_states: list[RaftState]) -> None:
    # raft-reconfig: all three servers members (its default keeps a spare apart)
    members = {"members": 3} if issubclass(registry.get(name).spec_class(), RaftReconfig) else {}
    spec, props = registry.build(name, {**_RAFT_3, **members})
    assert len(group(spec)) == 6
    assert check_symmetric(spec, safety(spec, props), rich_raft_states) == len(rich_raft_states)


def test_raft_renames_values_too(rich_raft_states: list[RaftState]) -> None:
    spec, props = registry.build("raft", {**_RAFT_3, "values": 2})
    assert spec.symmetry == ("servers", "values") and len(group(spec)) == 12
    sample = [*rich_raft_states, *sample_states(spec, prefix=20, walks=8)]
    assert check_symmetric(spec, safety(spec, props), sample) == len(sample)


def test_a_raft_permute_that_forgets_the_votes_is_refused(
        rich_raft_states: list[RaftState]) -> None:
    class Forgetful(Raft):
        def permute(self, state: RaftState, perms: Any) -> RaftState:
            return super().permute(state, perms)._replace(voted_for=state.voted_for)

    with pytest.raises(SymmetryError, match="not symmetric"):
        check_symmetric(Forgetful(**_RAFT_3), list(RAFT_PROPERTIES), rich_raft_states)


def test_orbit_count_of_a_violating_spec_explored_completely() -> None:
    spec, props = registry.build("paxos-pid-timestamp", {})
    plain = check(spec, safety(spec, props), stop_at_first=False)
    sym = check(spec, safety(spec, props), stop_at_first=False, symmetry=True)
    assert plain.complete and sym.complete
    assert sym.distinct == orbits(spec, reachable(spec, constraint="inside"))


#: Small configurations for the default run: the protocols' (a test's choice), and the zoo
#: variants' whose defaults are large (ZooVariant.small); the other variants keep their
#: defaults (raft-leader-ignores-term and raft-stale-votes fail there after 18 steps).
SMALL: dict[str, dict[str, Any]] = {
    "paxos": {"max_ballot": 1}, "raft": {"servers": 2, "max_term": 2, "max_log": 1,
                                         "max_messages": 1},
    "multipaxos": {"slots": 1, "max_ballot": 1},
    **{e.name: dict(e.variant.small) for e in registry.entries()
       if e.variant is not None and e.variant.small}}
SYMMETRIC = [e.name for e in registry.entries() if e.spec_class().symmetry]
#: Entries whose default configuration is too large to explore completely twice (three
#: servers, Raft's deep zoo variants: see traces/zoo_deep): their small one covers them.
FULL_SIZE_TOO_LARGE = set(SMALL) - {p.name for p in registry.protocols()}

#: The most states the default suite explores per entry below (today every entry's run
#: ends sooner: the largest, paxos-2b-keeps-promise, finds its violation at 90,115).
DEFAULT_SUITE_STATES = 100_000


@pytest.mark.parametrize("name", SYMMETRIC)
def test_same_verdicts_and_trace_lengths_with_and_without_symmetry(name: str) -> None:
    spec, props = registry.build(name, SMALL.get(name, {}))
    chosen = safety(spec, props)
    plain = check(spec, chosen, max_states=DEFAULT_SUITE_STATES)
    if plain.verdict == "incomplete":  # a count, not a time: the same on any machine
        pytest.skip(f"{name}: too big for the default suite (pytest -m reference checks it)")
    sym = check(spec, chosen, symmetry=True)
    assert sym.verdict == plain.verdict
    shortest = {v.property: len(v.trace) for v in plain.violations if v.trace is not None}
    for v in sym.violations:
        if v.trace is None:
            continue
        # with stop-at-first, a violation is found at the same (shortest) depth either way
        assert len(v.trace) == min(shortest.values())
        assert v.trace.steps[-1].state is not None
        again = decode_trace(to_json(v.trace), registry.resolve)  # a real, replayable run
        assert len(again) == len(v.trace)
        prop = next(p for p in chosen if p.name == v.property)
        last = again.states[-2:] if prop.kind == "action" else again.states[-1:]  # its step
        assert not prop.holds(spec, *last)


@pytest.mark.reference
@pytest.mark.parametrize("name", [n for n in SYMMETRIC if n not in FULL_SIZE_TOO_LARGE])
def test_same_verdicts_with_and_without_symmetry_full_size(name: str) -> None:
    spec, props = registry.build(name, {})
    chosen = safety(spec, props)
    plain = check(spec, chosen, stop_at_first=False)
    sym = check(spec, chosen, stop_at_first=False, symmetry=True)
    assert sym.verdict == plain.verdict
    assert ({v.property: len(v.trace or []) for v in sym.violations}
            == {v.property: len(v.trace or []) for v in plain.violations})


def test_a_property_naming_an_id_is_refused() -> None:
    spec = Paxos(max_ballot=1)
    first_leads = Property("a1_never_behind", "invariant",
                           lambda _spec, s: s.max_bal[0] >= s.max_bal[1])
    with pytest.raises(SymmetryError, match="a1_never_behind is not symmetric"):
        check(spec, [*PROPERTIES, first_leads], symmetry=True)


@pytest.mark.parametrize("engine", ["one process", "workers", "checkpoint"])
def test_verify_symmetry_false_is_honoured_by_every_engine(engine: str, tmp_path: Any) -> None:
    """The caller vouches for the symmetry: no engine runs the test, all count the orbits."""
    spec = Paxos(values=1, max_ballot=1)
    first_leads = Property("a1_never_behind", "invariant",
                           lambda _spec, s: s.max_bal[0] >= s.max_bal[1])
    props = [*PROPERTIES, first_leads]
    opts: dict[str, Any] = {"one process": {}, "workers": {"workers": 2},
                            "checkpoint": {"checkpoint": tmp_path / "cp"}}[engine]
    with pytest.raises(SymmetryError, match="a1_never_behind is not symmetric"):
        check(spec, props, symmetry=True, **opts)
    ref = check(spec, props, symmetry=True, verify_symmetry=False, stop_at_first=False)
    r = check(spec, props, symmetry=True, verify_symmetry=False, stop_at_first=False, **opts)
    # the orbit count; not the verdict: an asymmetric property's holds on an orbit's
    # representative, which engines may choose differently
    assert r.symmetry and r.distinct == ref.distinct


def test_a_permute_that_forgets_a_field_is_refused() -> None:
    class Forgetful(Paxos):
        def permute(self, state: PaxosState, perms: Any) -> PaxosState:
            return super().permute(state, perms)._replace(msgs=state.msgs)

    with pytest.raises(SymmetryError, match="not symmetric"):
        check_symmetric(Forgetful(max_ballot=1), list(PROPERTIES))


def test_a_spec_without_symmetry_is_refused() -> None:
    spec, props = registry.build("paxos-article", {})
    with pytest.raises(SymmetryError, match="declares no symmetry"):
        check(spec, props, symmetry=True)


def test_cli_symmetry(capsys: pytest.CaptureFixture[str]) -> None:
    spec = Paxos(values=1, max_ballot=1)
    assert main(["check", "paxos", "--values", "1", "--max-ballot", "1", "--symmetry",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"distinct states   {orbits(spec, reachable(spec, constraint='inside')):,}" in out
    assert "symmetry          on" in out
    assert main(["check", "paxos-article", "--symmetry"]) == 2
    assert "declares no symmetry" in capsys.readouterr().err
