"""Lamport's Paxos.tla port: TLC-equal counts, every property holds, every property can fail."""

from __future__ import annotations

import pytest

from agree.checker.run import check
from agree.models.paxos import M1a, M1b, M2a, M2b, Paxos, PaxosState
from agree.properties import paxos as props

# ../shared/reference/tlc-counts.md: Acceptor = {a1,a2,a3}, Value = {v1,v2}.
TLC = {1: (3_921, 17), 2: (185_369, 25)}


@pytest.mark.parametrize("max_ballot", [1, 2])
def test_distinct_states_and_depth_equal_tlc(max_ballot: int) -> None:
    result = check(Paxos(acceptors=3, values=2, max_ballot=max_ballot), props.PROPERTIES)
    assert (result.distinct, result.depth) == TLC[max_ballot]
    assert result.verdict == "holds", [v.property for v in result.violations]
    assert result.complete


def test_every_action_is_covered() -> None:
    result = check(Paxos(3, 2, 1), props.PROPERTIES)
    assert set(result.coverage) == {"Phase1a", "Phase2a", "Phase1b", "Phase2b"}
    assert all(c.distinct > 0 for c in result.coverage.values())


def test_value_chosen_is_reachable_and_fails_when_it_is_not() -> None:
    # with one acceptor out of three able to act nothing can ever be chosen;
    # emulate that by checking a model whose only ballot never gets a quorum of 1b
    result = check(Paxos(3, 1, 0), props.PROPERTIES, only=["value_chosen"])
    assert result.verdict == "holds"

    class Mute(Paxos):
        def phase2b(self, s: PaxosState, a: int, m: M2a) -> PaxosState | None:
            return None

    result = check(Mute(3, 1, 0), props.PROPERTIES, only=["value_chosen"])
    assert result.verdict == "violated"
    violation = result.violation("value_chosen")
    assert violation is not None and violation.kind == "sometimes"


def _state(msgs: list[object], max_bal: tuple[int, ...] = (-1, -1, -1),
           max_vbal: tuple[int, ...] = (-1, -1, -1),
           max_val: tuple[int | None, ...] = (None, None, None)) -> PaxosState:
    return PaxosState(max_bal, max_vbal, max_val, frozenset(msgs))


SPEC = Paxos(3, 2, 2)


def test_agreement_fails_on_two_chosen_values() -> None:
    s = _state([M2b(0, 0, 0), M2b(1, 0, 0), M2b(1, 1, 1), M2b(2, 1, 1)], (1, 1, 1),
               (0, 1, 1), (0, 1, 1))
    assert props.chosen(SPEC, s) == {0, 1}
    assert not props.agreement(SPEC, s)
    assert props.agreement(SPEC, _state([M2b(0, 0, 0), M2b(1, 0, 0)]))


def test_validity_fails_on_a_value_nobody_proposed() -> None:
    s = _state([M2b(0, 0, 1), M2b(1, 0, 1)])
    assert not props.validity(SPEC, s)
    assert props.validity(SPEC, _state([M2a(0, 1), M2b(0, 0, 1), M2b(1, 0, 1)]))


def test_type_ok_rejects_an_out_of_range_ballot() -> None:
    assert props.type_ok(SPEC, _state([M1a(2)]))
    assert not props.type_ok(SPEC, _state([M1a(3)]))
    assert not props.type_ok(SPEC, _state([], max_bal=(5, -1, -1)))


def test_inductive_conjuncts_each_catch_their_own_breach() -> None:
    assert not props.inv_latest_vote(SPEC, _state([], (0, -1, -1), (0, -1, -1), (0, None, None)))
    assert not props.inv_1b(SPEC, _state([M1b(0, 1, -1, None)]))  # max_bal below the 1b
    assert not props.inv_1b(SPEC, _state([M1b(0, 1, 0, 0)], (1, -1, -1)))  # unrecorded vote
    assert not props.inv_2a_unique(SPEC, _state([M2a(0, 0), M2a(0, 1)]))
    # a 2a for ballot 1 that no quorum's 1b messages show safe
    assert not props.inv_2a_safe(SPEC, _state([M2a(1, 0)]))
    assert props.inv_2a_safe(SPEC, _state([M2a(1, 0)], (1, 1, -1)))
    # a vote for v2 in ballot 1 while v1 was chosen in ballot 0
    s = _state([M2b(0, 0, 0), M2b(1, 0, 0), M2b(2, 1, 1)], (0, 0, 1), (0, 0, 1), (0, 0, 1))
    assert not props.votes_safe(SPEC, s)
    assert not props.one_value_per_ballot(SPEC, _state([M2b(0, 0, 0), M2b(1, 0, 1)]))


def test_bad_parameters_are_refused() -> None:
    from agree.spec import SpecError

    with pytest.raises(SpecError):
        Paxos(acceptors=0)
    with pytest.raises(SpecError):
        Paxos(max_ballot=-1)
