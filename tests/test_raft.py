"""The Raft spec is raft.tla: TLC's counts, Raft's properties, and each property can fail."""

from __future__ import annotations

import pytest

from agree.checker.run import check
from agree.models.raft import Raft
from agree.models.raft_types import (
    AEREQ,
    CANDIDATE,
    LEADER,
    RVRESP,
    AppendEntriesRequest,
    Committed,
    Election,
    Entry,
    RaftState,
    RequestVoteResponse,
    put,
    with_message,
)
from agree.properties.raft import PROPERTIES, SAFETY
from agree.protocols import registry

# (servers, max_log, max_messages) -> TLC's (distinct, generated, depth);
# values 1, max_term 2 (shared/reference/tlc-counts.md).
TWO_SERVERS = dict(servers=2, values=1, max_term=2, max_log=1, max_messages=2)
THREE_SERVERS_LOG0 = dict(servers=3, values=1, max_term=2, max_log=0, max_messages=1)
THREE_SERVERS_LOG1 = dict(servers=3, values=1, max_term=2, max_log=1, max_messages=1)


def _check_reference(params: dict[str, int], distinct: int, generated: int, depth: int,
                     ) -> None:
    spec = Raft(**params)
    result = check(spec, PROPERTIES)
    assert (result.distinct, result.generated, result.depth) == (distinct, generated, depth)
    assert result.complete
    assert result.violations == [], [v.property for v in result.violations]


def test_two_servers_matches_tlc_and_every_property_holds() -> None:
    _check_reference(TWO_SERVERS, 25_164, 239_037, 33)


def test_three_servers_log_0_matches_tlc_and_every_property_holds() -> None:
    _check_reference(THREE_SERVERS_LOG0, 705_532, 8_683_474, 39)


@pytest.mark.reference
def test_three_servers_log_1_matches_tlc_and_every_property_holds() -> None:
    _check_reference(THREE_SERVERS_LOG1, 2_379_781, 28_169_044, 53)


def test_registered_with_its_properties() -> None:
    spec, props = registry.build("raft", {"servers": 2})
    assert isinstance(spec, Raft)
    assert {p.name for p in props} >= {"election_safety", "one_leader_per_term",
                                       "log_matching", "leader_completeness",
                                       "state_machine_safety", "leader_append_only",
                                       "leader_elected", "entry_committed"}


def test_max_restarts_zero_removes_restart_and_bounds_shrink_the_space() -> None:
    small = dict(servers=2, values=1, max_term=2, max_log=0, max_messages=1)
    free = check(Raft(**small), [])
    none = check(Raft(**small, max_restarts=0), [])
    one = check(Raft(**small, max_restarts=1), [])
    assert none.coverage["Restart"].generated == 0
    assert free.coverage["Restart"].generated > 0
    assert none.distinct < one.distinct
    # one restart at most, but with a counter in the state: not the unbounded space
    assert one.distinct != free.distinct


def test_history_and_batched_appends_keep_every_property() -> None:
    params = dict(servers=2, values=1, max_term=2, max_log=2, max_messages=1)
    for extra in ({"history": True}, {"entries_per_append": 2}):
        result = check(Raft(**params, max_restarts=1, **extra), PROPERTIES)  # type: ignore[arg-type]
        assert result.violations == [], (extra, [v.property for v in result.violations])
    # history is only extra bookkeeping: the same behaviours, more distinct states
    plain = check(Raft(**params, max_restarts=1), [])
    hist = check(Raft(**params, max_restarts=1, history=True), [])
    assert hist.distinct >= plain.distinct


def test_messages_read_like_the_style_guide() -> None:
    e = Entry(2, 0)
    m = AppendEntriesRequest(AEREQ, 2, 1, 1, (e,), (Entry(1, 0), e), 1, 0, 1)
    assert str(m).startswith("s1->s2 AppendEntriesRequest term=2 prev=1/1 commit=1 "
                             "entries=[2:v1]")
    r = RequestVoteResponse(RVRESP, 2, True, (), 1, 0)
    assert str(r) == "s2->s1 RequestVoteResponse term=2 granted log=[]"


def test_view_names_per_server_variables() -> None:
    spec = Raft(servers=2)
    view = spec.view(next(iter(spec.init())))
    assert view["current_term[s1]"] == "1"
    assert view["voted_for[s2]"] == "Nil"
    assert view["messages"] == {}


# -- every property can fail: hand-built bad states ----------------------------------


def _spec() -> Raft:
    return Raft(servers=3, values=2, max_term=4, max_log=3, max_messages=2, history=True)


def _init(spec: Raft) -> RaftState:
    return next(iter(spec.init()))


def _prop(name: str):  # type: ignore[no-untyped-def]
    return next(p for p in PROPERTIES if p.name == name)


def test_one_leader_per_term_can_fail() -> None:
    spec = _spec()
    s = _init(spec)._replace(state=(LEADER, LEADER, CANDIDATE), current_term=(2, 2, 2))
    assert not _prop("one_leader_per_term").holds(spec, s)
    assert _prop("one_leader_per_term").holds(spec, s._replace(current_term=(2, 3, 2)))


def test_election_safety_can_fail() -> None:
    spec = _spec()
    e1 = Election(2, 0, (), frozenset({0, 1}), ())
    e2 = Election(2, 2, (), frozenset({1, 2}), ())
    s = _init(spec)._replace(elections=frozenset({e1, e2}))
    assert not _prop("election_safety").holds(spec, s)
    assert _prop("election_safety").holds(spec, s._replace(elections=frozenset({e1})))


def test_log_matching_can_fail() -> None:
    spec = _spec()
    a = (Entry(1, 0), Entry(2, 0))
    b = (Entry(1, 1), Entry(2, 0))
    s = _init(spec)._replace(log=(a, b, ()))
    assert not _prop("log_matching").holds(spec, s)
    assert _prop("log_matching").holds(spec, s._replace(log=(a, a[:1], ())))


def test_leader_completeness_can_fail_on_the_state_and_on_history() -> None:
    spec = _spec()
    x = Entry(2, 0)
    s = _init(spec)._replace(state=("Follower", LEADER, "Follower"), current_term=(2, 3, 3),
                             log=((x,), (), ()), commit_index=(1, 0, 0))
    assert not _prop("leader_completeness").holds(spec, s)
    assert _prop("leader_completeness").holds(spec, s._replace(log=((x,), (x,), ())))
    # history: committed in term 2, a later election's log lacks it (state form blind)
    h = _init(spec)._replace(committed=frozenset({Committed(1, x, 2)}),
                             elections=frozenset({Election(3, 2, (), frozenset({1, 2}), ())}))
    assert not _prop("leader_completeness").holds(spec, h)


def test_state_machine_safety_can_fail_on_the_state_and_on_history() -> None:
    spec = _spec()
    s = _init(spec)._replace(log=((Entry(2, 0),), (Entry(2, 1),), ()), commit_index=(1, 1, 0))
    assert not _prop("state_machine_safety").holds(spec, s)
    assert _prop("state_machine_safety").holds(spec, s._replace(commit_index=(1, 0, 0)))
    h = _init(spec)._replace(committed=frozenset({Committed(1, Entry(2, 0), 2),
                                                  Committed(1, Entry(3, 1), 3)}))
    assert not _prop("state_machine_safety").holds(spec, h)


def test_leader_append_only_can_fail() -> None:
    spec = _spec()
    s = _init(spec)._replace(state=(LEADER, "Follower", "Follower"), current_term=(2, 2, 2),
                             log=((Entry(2, 0),), (), ()))
    t = s._replace(log=((), (), ()))
    assert not _prop("leader_append_only").holds(spec, s, t)
    assert _prop("leader_append_only").holds(spec, s, s._replace(
        log=((Entry(2, 0), Entry(2, 1)), (), ())))


def test_sometimes_properties_fail_when_nothing_happens() -> None:
    # one server of three can never win an election without messages
    result = check(Raft(servers=3, max_messages=0, max_log=1), PROPERTIES)
    failed = {v.property for v in result.violations if v.kind == "sometimes"}
    assert failed == {"leader_elected", "entry_committed"}
    assert {p.name for p in SAFETY}.isdisjoint(v.property for v in result.violations)


def test_commit_index_in_log_can_fail() -> None:
    spec = _spec()
    s = _init(spec)._replace(log=((Entry(2, 0),), (), ()), commit_index=(2, 0, 0))
    assert not _prop("commit_index_in_log").holds(spec, s)
    assert _prop("commit_index_in_log").holds(spec, s._replace(commit_index=(1, 0, 0)))


def test_put_and_with_message_build_the_same_values_and_keep_what_is_unchanged() -> None:
    t = (1, (2, 3), None)
    assert put(t, 1, (2, 3)) is t  # the value it holds: the very tuple
    assert put(t, 1, (2, 4)) == (1, (2, 4), None)
    assert put(t, 2, 0) == (1, (2, 3), 0)
    m = RequestVoteResponse(RVRESP, 2, True, (), 0, 1)
    assert with_message(m, ()) == (m,)
    later = m._replace(mterm=3)
    assert with_message(m, (later,)) == (m, later) == tuple(sorted((later, m)))
