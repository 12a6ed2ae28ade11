"""Unit tests of the sans-IO Raft core, one rule of the Raft paper (Ongaro & Ousterhout,
"In Search of an Understandable Consensus Algorithm", extended version) per test."""

from __future__ import annotations

import random

import pytest

from agree.impl.raft import (
    NOOP,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Config,
    Entry,
    HardState,
    Message,
    NotLeader,
    RaftCore,
    RequestVoteRequest,
    RequestVoteResponse,
    Role,
)


def core(i: int = 0, n: int = 3, term: int = 1, voted_for: int | None = None,
         log: tuple[Entry, ...] = (), config: Config | None = None) -> RaftCore:
    return RaftCore(i, n, random.Random(i), config, HardState(term, voted_for), log)


def leader_of(n: int = 3, log: tuple[Entry, ...] = (), term: int = 1,
              config: Config | None = None) -> RaftCore:
    """Node 0 elected in term+1 with the votes of all others."""
    c = core(0, n, term, log=log, config=config)
    c.campaign()
    c.ready()
    for j in range(1, n):
        c.step(RequestVoteResponse(c.current_term, True, j, 0))
    assert c.role is Role.LEADER
    c.ready()
    return c


def granted(msgs: tuple[Message, ...]) -> list[bool]:
    return [m.vote_granted for m in msgs if isinstance(m, RequestVoteResponse)]


def E(*terms: int) -> tuple[Entry, ...]:
    return tuple(Entry(t, f"v{k}".encode()) for k, t in enumerate(terms, 1))


def test_follower_times_out_within_t_to_2t_and_campaigns() -> None:
    """§5.2: a follower that hears nothing for an election timeout, drawn at random from
    [T, 2T], becomes a candidate, increments its term, votes for itself and asks the
    others for their votes; the term and vote are persisted in the same Ready."""
    for seed in range(20):
        c = RaftCore(1, 3, random.Random(seed), Config(election_ticks=10, pre_vote=False))
        ticks = 0
        while c.role is Role.FOLLOWER:
            c.tick()
            ticks += 1
            assert ticks <= 20
        assert 10 <= ticks <= 20
        assert (c.current_term, c.voted_for, c.votes_granted) == (2, 1, frozenset({1}))
        r = c.ready()
        assert r.hard_state == HardState(2, 1)
        assert sorted(m.dest for m in r.messages) == [0, 2]
        assert all(isinstance(m, RequestVoteRequest) and m.term == 2 for m in r.messages)


def test_timeouts_differ_between_seeds() -> None:
    """§5.2: randomized election timeouts, drawn from the injected source, split votes rarely."""
    drawn = {RaftCore(0, 3, random.Random(s)).election_timeout for s in range(30)}
    assert len(drawn) > 3 and min(drawn) >= 15 and max(drawn) <= 30


def test_vote_granted_once_per_term() -> None:
    """§5.2: each server votes for at most one candidate in a given term, first come first
    served; a repeated request from the same candidate is granted again."""
    c = core(2)
    c.step(RequestVoteRequest(1, 0, 0, 0, 2))
    c.step(RequestVoteRequest(1, 0, 0, 1, 2))
    c.step(RequestVoteRequest(1, 0, 0, 0, 2))
    assert granted(c.ready().messages) == [True, False, True]
    assert c.voted_for == 0


def test_vote_denied_to_candidate_with_older_log() -> None:
    """§5.4.1: the voter denies its vote if its own log is more up-to-date: a later last
    term wins, and with equal last terms the longer log wins."""
    c = core(2, term=3, log=E(1, 2, 2))
    c.step(RequestVoteRequest(3, 1, 5, 0, 2))   # older last term, longer log
    c.step(RequestVoteRequest(3, 2, 2, 1, 2))   # same last term, shorter
    assert granted(c.ready().messages) == [False, False]
    c.step(RequestVoteRequest(3, 2, 3, 1, 2))   # same last term, same length
    assert granted(c.ready().messages) == [True]


def test_higher_term_turns_leader_into_follower() -> None:
    """§5.1: a server seeing a larger term updates its current term, and a leader or
    candidate reverts to follower; the new term is persisted with voted_for cleared."""
    c = leader_of()
    c.step(AppendEntriesResponse(7, False, 0, 1, 0))
    assert (c.role, c.current_term, c.voted_for) == (Role.FOLLOWER, 7, None)
    assert c.ready().hard_state == HardState(7, None)


def test_request_with_stale_term_is_rejected() -> None:
    """§5.1: a request with a stale term is rejected, and the reply carries the newer term."""
    c = core(1, term=5)
    c.step(AppendEntriesRequest(4, 0, 0, E(4), 0, 0, 1))
    c.step(RequestVoteRequest(4, 9, 9, 2, 1))
    replies = c.ready().messages
    assert [(m.term, type(m).__name__) for m in replies] == [
        (5, "AppendEntriesResponse"), (5, "RequestVoteResponse")]
    assert not any(getattr(m, "success", False) or getattr(m, "vote_granted", False)
                   for m in replies)
    assert c.log == ()


def test_candidate_with_majority_becomes_leader_and_sends_heartbeats() -> None:
    """§5.2: a candidate wins with votes from a majority, then sends empty AppendEntries
    to everyone; next_index starts just after its last entry (§5.3), match_index at 0.
    (raft.tla's leader, spec_exact: without the no-op of tests/test_impl_raft_recovery.py.)"""
    c = core(0, n=5, log=E(1, 1), config=Config(spec_exact=True))
    c.campaign()
    c.ready()
    c.step(RequestVoteResponse(2, False, 1, 0))
    c.step(RequestVoteResponse(2, True, 2, 0))
    assert c.role.value == "Candidate" and c.votes_responded == frozenset({0, 1, 2})
    c.step(RequestVoteResponse(2, True, 3, 0))
    assert c.role is Role.LEADER
    assert c.next_index == (3,) * 5 and c.match_index == (0,) * 5
    msgs = c.ready().messages
    assert sorted(m.dest for m in msgs) == [1, 2, 3, 4]
    assert all(isinstance(m, AppendEntriesRequest) and m.entries == () and m.prev_log_index == 2
               for m in msgs)


def test_candidate_steps_down_for_leader_of_same_term() -> None:
    """§5.2: a candidate receiving AppendEntries from a leader of its own term returns to
    follower and accepts it."""
    c = core(1)
    c.campaign()
    c.ready()
    c.step(AppendEntriesRequest(2, 0, 0, E(2), 0, 0, 1))
    assert c.role is Role.FOLLOWER and c.leader_hint == 0 and c.log == E(2)


def test_leader_heartbeats_every_heartbeat_interval() -> None:
    """§5.2: leaders send periodic heartbeats (empty AppendEntries) to keep their authority."""
    c = leader_of(config=Config(heartbeat_ticks=4))
    counts = []
    for _ in range(8):
        c.tick()
        counts.append(len(c.ready().messages))
    assert counts == [0, 0, 0, 2, 0, 0, 0, 2]


def test_follower_rejects_mismatch_and_leader_walks_next_index_back() -> None:
    """§5.3: the consistency check fails when the follower has no entry at prev_log_index
    with prev_log_term; the leader then decrements next_index by one and retries
    (raft.tla's leader, spec_exact; the hint's one round trip per term:
    tests/test_impl_raft_recovery.py)."""
    leader = leader_of(log=E(1, 1, 1), term=1, config=Config(spec_exact=True))
    follower = core(1, term=2, log=E(1))
    hb = AppendEntriesRequest(2, 3, 1, (), 0, 0, 1)
    follower.step(hb)
    [resp] = follower.ready().messages
    assert isinstance(resp, AppendEntriesResponse) and not resp.success
    leader.step(resp)
    assert leader.next_index[1] == 3
    [retry] = leader.ready().messages
    assert isinstance(retry, AppendEntriesRequest) and retry.prev_log_index == 2
    follower.step(retry)
    [resp] = follower.ready().messages
    leader.step(resp)
    assert leader.next_index[1] == 2
    [retry] = leader.ready().messages
    follower.step(retry)
    [resp] = follower.ready().messages
    assert isinstance(resp, AppendEntriesResponse) and resp.success and resp.match_index == 3
    leader.step(resp)
    assert (leader.next_index[1], leader.match_index[1]) == (4, 3)
    assert follower.log == leader.log


def test_conflicting_entries_are_truncated() -> None:
    """§5.3: if an existing entry conflicts with a new one (same index, different terms),
    delete it and all that follow; the Ready says to rewrite the log from that index."""
    c = core(1, term=3, log=E(1, 2, 2, 2))
    c.step(AppendEntriesRequest(3, 1, 1, (Entry(3, b"x"),), 0, 0, 1))
    assert c.log == (*E(1), Entry(3, b"x"))
    r = c.ready()
    assert r.first_index == 2 and r.entries == (Entry(3, b"x"),)
    assert r.messages[0].match_index == 2  # type: ignore[union-attr]


def test_stale_append_does_not_truncate_matching_log() -> None:
    """§5.3 (fig. 2, AppendEntries rule 3): only a conflict deletes entries; a delayed
    request whose entries already match leaves the longer log alone."""
    c = core(1, term=2, log=E(1, 2, 2))
    c.step(AppendEntriesRequest(2, 1, 1, E(1, 2)[1:], 0, 0, 1))
    assert c.log == E(1, 2, 2)
    assert c.ready().first_index is None


def test_leader_does_not_commit_older_term_by_counting_replicas() -> None:
    """§5.4.2: a leader never commits entries from previous terms by counting replicas;
    only once an entry of its current term is on a majority are all before it committed."""
    c = leader_of(log=E(1), term=1)       # leader in term 2 with an entry of term 1
    c.step(AppendEntriesResponse(2, True, 1, 1, 0))
    assert c.commit_index == 0
    c.propose(b"new")
    c.ready()
    c.step(AppendEntriesResponse(2, True, 2, 1, 0))
    assert c.commit_index == 2
    assert [i for i, _ in c.ready().committed] == [1, 2]


def test_follower_commit_capped_by_last_new_entry() -> None:
    """§5.3 (fig. 2, AppendEntries rule 5): commit_index = min(leaderCommit, index of last
    new entry); it never moves backwards."""
    c = core(1, term=2)
    c.step(AppendEntriesRequest(2, 0, 0, E(1, 2), 5, 0, 1))
    assert c.commit_index == 2
    c.step(AppendEntriesRequest(2, 0, 0, (), 0, 0, 1))
    assert c.commit_index == 2


def test_batching_sends_at_most_max_batch_entries() -> None:
    """§5.3 (fig. 2: 'may send more than one for efficiency'): one AppendEntries carries up
    to max_batch entries; the rest follow when the response arrives."""
    c = leader_of(log=E(*[1] * 10), term=1, config=Config(max_batch=4, spec_exact=True))
    for _ in range(10):  # follower 1 has nothing: next_index walks back to 1
        c.step(AppendEntriesResponse(2, False, 0, 1, 0))
    assert c.next_index[1] == 1
    c.ready()
    c.step(AppendEntriesResponse(2, True, 0, 1, 0))
    [m] = [m for m in c.ready().messages if m.dest == 1]
    assert isinstance(m, AppendEntriesRequest) and len(m.entries) == 4 and m.prev_log_index == 0


def test_proposal_on_follower_names_the_leader() -> None:
    """§8: clients that contact a follower are redirected to the leader it last heard from."""
    c = core(1, term=2)
    c.step(AppendEntriesRequest(2, 0, 0, (), 0, 2, 1))
    with pytest.raises(NotLeader) as info:
        c.propose(b"x")
    assert info.value.leader_hint == 2


def test_stale_response_dropped() -> None:
    """§5.1: responses from older terms are ignored (raft.tla DropStaleResponse)."""
    c = leader_of()
    c.step(AppendEntriesResponse(1, True, 5, 1, 0))
    assert c.match_index[1] == 0


def test_single_node_cluster_commits_alone() -> None:
    """§5.2/§5.3: with one server the candidate's own vote is a majority, and so is its log."""
    c = RaftCore(0, 1, random.Random(0))
    c.campaign()
    assert c.role is Role.LEADER
    c.propose(b"x")
    assert [e.value for _, e in c.ready().committed] == [NOOP, b"x"]


def test_trace_events_name_spec_actions() -> None:
    """raft.tla's action names: a campaign is Timeout, the self-vote, then RequestVote."""
    c = core(0, config=Config(trace=True))
    c.campaign()
    assert [e.action for e in c.ready().events] == [
        "Timeout", "RequestVote", "HandleRequestVoteRequest", "HandleRequestVoteResponse",
        "RequestVote", "RequestVote"]
    c.step(RequestVoteResponse(2, True, 1, 0))
    assert [e.action for e in c.ready().events] == [
        "HandleRequestVoteResponse", "BecomeLeader", "ClientRequest", "AppendEntries",
        "AppendEntries"]
