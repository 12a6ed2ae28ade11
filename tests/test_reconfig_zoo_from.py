"""The membership-change zoo, searched from a correct prefix: on the very start and
parameters where a variant's search finds its bug, the correct raft-reconfig explores
every continuation and keeps every property (the fix holds where the bug was found).

The default run does it at the latest start the correct spec shares with a scenario
(seconds); ``pytest -m reference`` does it from the stored prefixes that
benchmarks/zoo_from.py searches from (minutes each; docs/benchmarks/zoo-from.md).

A clean run says something about the 2015 fix only where the fix is at work: the correct
spec must itself change the configuration there. From the stored prefix of
raft-reconfig-no-own-term-commit, with the catalog's max_log 2, it cannot (no log has
room for an entry of the new leader's term and a change after it). From step 51 of it,
with room for one change (EXERCISED: max_log 3, two client entries per log) and one
campaign per term (max_contenders 1), the variant is found and the correct spec's whole
space is explored (minutes: ``pytest -m reference``); the default run searches the first
states of that space (seconds) and checks the correct spec elects a leader, commits an
entry of the new term and removes a server there, every property holding.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _golden import GOLDEN_DIR, benchmark_module, zoo_scenarios

from agree.checker.run import check
from agree.checker.start_from import common_prefix, prefix_trace
from agree.models.raft_reconfig import CONFIG, ConfigEntry, RaftReconfig, contenders
from agree.models.raft_types import CANDIDATE, FOLLOWER, LEADER, Entry
from agree.protocols import registry
from agree.spec import SpecError, Transition
from agree.traces.trace import Trace, load_trace, save_trace

PREFIX_DIR = GOLDEN_DIR.parent / "zoo_deep" / "prefix"
RECONFIG_ZOO = [v.name for v in registry.get("raft-reconfig").protocol.zoo]


def _both(name: str, start: Path) -> None:
    """The variant finds a lost committed entry from ``start``; the correct spec, with the
    same parameters, explores everything from there and no property fails."""
    params = load_trace(start, registry.resolve).params
    breaks = registry.get(name).breaks
    variant, props = registry.build(name, params)
    found = check(variant, props, only=[breaks], symmetry=True, start=str(start))
    assert [v.property for v in found.violations] == [breaks]
    correct, every = registry.build("raft-reconfig", params)
    clean = check(correct, (*correct.declared_properties(), *every), symmetry=True,
                  start=str(start))
    assert clean.complete and clean.violations == [], [v.property for v in clean.violations]
    assert clean.distinct > found.distinct  # the correct spec goes on where the bug stops


def test_two_at_once_is_found_where_the_correct_spec_is_clean(tmp_path: Path) -> None:
    """From the last state the correct spec shares with the two-at-once scenario (s2 holds
    the votes of term 3, s1 leads term 2 alone): RemoveTwo is the only way to the bug."""
    name = "raft-reconfig-two-at-once"
    scenario = zoo_scenarios().build(name)
    correct = RaftReconfig(**scenario.params)
    start = tmp_path / "prefix.json"
    save_trace(prefix_trace(scenario, common_prefix(scenario, correct), correct), start)
    _both(name, start)


@pytest.mark.reference
@pytest.mark.parametrize("name", RECONFIG_ZOO)
def test_the_correct_spec_is_clean_from_each_stored_prefix(name: str) -> None:
    """The full-size runs of docs/benchmarks/zoo-from.md: the stored prefix, the catalog's
    parameters (1-3 minutes each for the correct spec here)."""
    _both(name, PREFIX_DIR / f"{name}.json")


#: Room for a new leader's own entry and a change after it (docs/raft-reconfig.md).
ROOMY = dict(servers=4, members=4, max_term=4, max_log=3, max_messages=1,
             max_client_entries=2)


def _own_term_first(tmp_path: Path) -> tuple[RaftReconfig, list[Transition], Path]:
    """zoo_scenarios.OWN_TERM_FIRST on the correct spec, saved as a start for --from."""
    spec = RaftReconfig(**ROOMY)
    taken = zoo_scenarios().replay(spec, zoo_scenarios().OWN_TERM_FIRST, "own-term-first")
    start = tmp_path / "own-term-first.json"
    save_trace(Trace.from_transitions(spec, next(iter(spec.init())), taken, None, None),
               start)
    return spec, taken, start


def test_a_new_leader_changes_membership_only_after_committing_its_term(
        tmp_path: Path) -> None:
    """Where the 2015 bug happens (s3 leads term 3, s1 has voted for itself in term 4,
    s1's uncommitted {s1,s2,s4} in its log), the correct s3 has replicated 3:v1 to s2 and
    s4: no change is enabled until it commits it; the search from there takes
    AdvanceCommitIndex and then RemoveServer to new states, every property holding."""
    spec, taken, start = _own_term_first(tmp_path)
    state = taken[-1].state
    s3 = 2
    assert state.state[s3] == LEADER
    assert not spec.own_term_committed(state, s3) and not spec.may_change(state, s3)
    assert not [t for t in spec.successors(state)
                if t.action.label in ("AddServer", "RemoveServer")]
    committed = next(t.state for t in spec.successors(state)
                     if t.action.label == "AdvanceCommitIndex" and t.args == (s3,))
    assert spec.may_change(committed, s3)
    result = check(spec, (*spec.declared_properties(), *registry.build("raft-reconfig",
                                                                       ROOMY)[1]),
                   symmetry=True, start=str(start), max_states=1000)
    assert result.violations == []
    assert result.coverage["RemoveServer"].distinct > 0
    assert result.coverage["AdvanceCommitIndex"].distinct > 0


def test_client_entries_bound_is_a_plain_constraint() -> None:
    """--max-client-entries prunes logs with more client entries, configuration entries
    not counted; -1 (the default) bounds nothing."""
    spec = RaftReconfig(servers=2, members=1, max_log=2, max_client_entries=1)
    free = RaftReconfig(servers=2, members=1, max_log=2)
    state = next(iter(spec.init()))
    two = state._replace(log=((Entry(1, 0), Entry(1, 0)), ()))
    assert free.constraint(two) and not spec.constraint(two)
    one_and_config = state._replace(log=((Entry(1, 0), ConfigEntry(1, CONFIG, (0, 1))), ()))
    assert spec.constraint(one_and_config)
    assert check(spec).distinct < check(free).distinct


NO_OWN_TERM = "raft-reconfig-no-own-term-commit"


#: Where the 2015 fix is exercised and the correct spec's search still ends
#: (benchmarks/zoo_from.py EXERCISED): step 51 of the stored prefix (s3 leads term 3 with
#: no entry of its term, s1 asks s2 for its vote in term 4), room for one change after a
#: new entry, one campaign per term.
EXERCISED_STEP, _CHANGED = benchmark_module("zoo_from").EXERCISED[NO_OWN_TERM]
EXERCISED = {**dict(registry.get(NO_OWN_TERM).defaults), **_CHANGED}


def _exercised_start() -> str:
    return f"{PREFIX_DIR / f'{NO_OWN_TERM}.json'}:{EXERCISED_STEP}"


def test_where_the_fix_is_exercised_the_correct_spec_elects_commits_and_changes() -> None:
    """The first states of the correct spec's search from the EXERCISED start: a leader
    elected (s1, term 4), entries of a leader's own term committed, and RemoveServer
    taken to new states, with every property holding; the variant breaks
    leader_completeness from the very same start and parameters."""
    spec, props = registry.build("raft-reconfig", EXERCISED)
    result = check(spec, (*spec.declared_properties(), *props), symmetry=True,
                   start=_exercised_start(), max_states=8_000)
    assert result.violations == []
    for label in ("BecomeLeader", "AdvanceCommitIndex", "RemoveServer"):
        assert result.coverage[label].distinct > 0, label
    variant, vprops = registry.build(NO_OWN_TERM, EXERCISED)
    found = check(variant, vprops, only=["leader_completeness"], symmetry=True,
                  start=_exercised_start())
    assert [v.property for v in found.violations] == ["leader_completeness"]


@pytest.mark.reference
def test_where_the_fix_is_exercised_the_correct_spec_is_clean_exhaustively() -> None:
    """The full run of docs/benchmarks/zoo-from.md ("Where the fix is exercised"): the
    correct spec's whole space from the EXERCISED start, every property (minutes)."""
    spec, props = registry.build("raft-reconfig", EXERCISED)
    result = check(spec, (*spec.declared_properties(), *props), symmetry=True,
                   start=_exercised_start())
    assert result.complete and result.violations == []
    for label in ("BecomeLeader", "AdvanceCommitIndex", "RemoveServer"):
        assert result.coverage[label].distinct > 0, label


def test_contenders_bound_is_a_plain_constraint() -> None:
    """--max-contenders N prunes states in which more than N servers are candidates or
    leaders of one term (of different terms they do not count together); -1 (the
    default) bounds nothing, and 0 is refused."""
    spec = RaftReconfig(servers=3, members=3, max_term=3, max_contenders=1)
    free = RaftReconfig(servers=3, members=3, max_term=3)
    state = next(iter(spec.init()))
    split = state._replace(current_term=(2, 2, 1), state=(CANDIDATE, CANDIDATE, FOLLOWER))
    stale = state._replace(current_term=(2, 3, 1), state=(LEADER, CANDIDATE, FOLLOWER))
    assert contenders(split.current_term, split.state) == 2
    assert free.constraint(split) and not spec.constraint(split)
    assert spec.constraint(stale)
    two = dict(servers=2, members=2, max_log=1)
    assert (check(RaftReconfig(**two, max_contenders=1)).distinct
            < check(RaftReconfig(**two)).distinct)
    with pytest.raises(SpecError, match="--max-contenders"):
        RaftReconfig(max_contenders=0)
