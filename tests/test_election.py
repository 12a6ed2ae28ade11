"""PreVote and CheckQuorum (impl/raft/election.py) on the deterministic simulator."""

from __future__ import annotations

import random

import pytest
from _prevote_deadlock import build_deadlock

from agree.conformance.raft_bugs import PRE_VOTE_ANY_LOG
from agree.impl.kv import encode_command
from agree.impl.raft import (
    AppendEntriesRequest,
    Config,
    PreVoteRequest,
    PreVoteResponse,
    RaftCore,
    RequestVoteRequest,
    Role,
)
from agree.impl.sim import Simulator

CLASSIC = Config(pre_vote=False, check_quorum=False)


def put(key: str, value: str, seq: int) -> bytes:
    return encode_command("put", key, value, client="c", seq=seq)


def run(sim: Simulator, ticks: int) -> None:
    """``ticks`` of the clock, everything in flight delivered between them."""
    for _ in range(ticks):
        while sim.bag:
            sim.deliver(0)
        sim.advance()


def commit(sim: Simulator, leader: int, seq: int) -> int:
    index = sim.propose(leader, put("k", str(seq), seq))
    assert index is not None
    assert sim.run_until(lambda s: s.core(leader).commit_index >= index, 2000)
    return index


def _rejoin(config: Config) -> tuple[int, int, int, int, int]:
    """A follower is cut off for 3 s (300 ticks), then rejoins: (leader before, its term,
    leader after, its term, the rejoining server's term while cut off)."""
    sim = Simulator(3, seed=4, config=config)
    leader = sim.elect()
    term = sim.core(leader).current_term
    lonely = next(k for k in range(3) if k != leader)
    sim.partition([lonely])
    run(sim, 300)
    cut_off_term = sim.core(lonely).current_term
    sim.heal()
    run(sim, 100)
    after = sim.leader()
    assert after is not None
    return leader, term, after, sim.core(after).current_term, cut_off_term


def test_a_rejoining_server_does_not_depose_the_leader_with_prevote() -> None:
    """Cut off, it asks for pre-votes, gets none, and its term stays where it was; back,
    it follows the leader, whose term did not change."""
    leader, term, after, after_term, cut_off_term = _rejoin(Config())
    assert (after, after_term) == (leader, term)
    assert cut_off_term == term


def test_without_prevote_the_rejoining_server_deposes_the_leader() -> None:
    """raft.tla's elections: its term grows while cut off, and back, it forces a new
    election (the disruption PreVote prevents)."""
    _, term, _, after_term, cut_off_term = _rejoin(CLASSIC)
    assert cut_off_term > term + 5
    assert after_term > cut_off_term


def _stale_prevote(sim: Simulator) -> tuple[int, int]:
    """A follower misses two writes, rejoins and its timer fires at once (no lease: the
    leader's and the others' CheckQuorum is off): (leader's term before, after)."""
    leader = sim.elect()
    term = sim.core(leader).current_term
    lonely = next(k for k in range(3) if k != leader)
    sim.partition([lonely])
    commit(sim, leader, 1)
    commit(sim, leader, 2)
    sim.bag.clear()
    sim.heal()
    sim.timer_fires(lonely)
    assert sim.core(lonely).pre_candidate and sim.core(lonely).current_term == term
    while sim.bag:
        sim.deliver(0)
    return term, max(sim.core(k).current_term for k in range(3))


def test_a_prevote_with_a_stale_log_is_refused() -> None:
    sim = Simulator(3, seed=4, config=Config(check_quorum=False))
    term, after = _stale_prevote(sim)
    assert after == term
    assert sim.leader() is not None and sim.core(sim.leader()).current_term == term


def test_a_prevote_granted_despite_a_stale_log_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The seeded bug pre-vote-any-log: the stale server gets its pre-votes, campaigns,
    and its RequestVote's higher term deposes the leader (the test above fails)."""
    monkeypatch.setattr(PRE_VOTE_ANY_LOG.target, PRE_VOTE_ANY_LOG.attr,
                        PRE_VOTE_ANY_LOG.replacement)
    sim = Simulator(3, seed=4, config=Config(check_quorum=False))
    term, after = _stale_prevote(sim)
    assert after > term


def test_an_isolated_leader_steps_down_with_check_quorum() -> None:
    """Cut off alone, a leader becomes a follower of the same term within two election
    timeouts and refuses proposals; the others elect a leader that can commit."""
    sim = Simulator(3, seed=2)
    old = sim.elect()
    term = sim.core(old).current_term
    sim.partition([old])
    ticks = 0
    while sim.core(old).role is Role.LEADER:
        run(sim, 1)
        ticks += 1
        assert ticks <= 2 * sim.config.election_ticks + 1
    assert sim.core(old).current_term == term and sim.core(old).leader_hint is None
    assert sim.propose(old, put("k", "lost", 1)) is None
    run(sim, 100)
    new = sim.leader()
    assert new is not None and new != old
    commit(sim, new, 1)


def test_without_check_quorum_an_isolated_leader_lingers() -> None:
    sim = Simulator(3, seed=2, config=CLASSIC)
    old = sim.elect()
    sim.partition([old])
    run(sim, 300)
    assert sim.core(old).role is Role.LEADER
    assert sim.propose(old, put("k", "never", 1)) is not None  # accepted, never committed


def test_a_server_in_a_leaders_lease_ignores_a_higher_term() -> None:
    """CheckQuorum's lease (etcd's inLease): a follower that heard from its leader within
    an election timeout neither takes the term of a RequestVote or PreVote nor replies."""
    c = RaftCore(1, 3, random.Random(0))
    c.step(AppendEntriesRequest(2, 0, 0, (), 0, 0, 1))
    c.ready()
    for m in (RequestVoteRequest(9, 0, 0, 2, 1), PreVoteRequest(9, 5, 5, 2, 1)):
        c.step(m)
        assert c.current_term == 2 and c.ready().messages == ()
    for _ in range(c.config.election_ticks):  # the lease runs out; the timer has not
        c._elapsed += 1
    c.step(PreVoteRequest(9, 5, 5, 2, 1))
    (reply,) = c.ready().messages
    assert reply.vote_granted and reply.term == 9 and c.current_term == 2  # term kept


@pytest.mark.parametrize("config", [Config(), CLASSIC], ids=["prevote", "classic"])
def test_elections_from_cold_start(config: Config) -> None:
    """Every configuration elects one leader from a cold start and commits."""
    sim = Simulator(5, seed=1, config=config)
    leader = sim.elect()
    commit(sim, leader, 1)
    run(sim, 50)
    assert sim.leaders() == [leader]


def test_a_refused_prevote_of_a_higher_term_is_taken_and_ends_the_deadlock() -> None:
    """Each refuses the others' pre-votes: node 2's for term 3 (nodes 0 and 1 hold terms
    3 and 4), theirs for its longer log, and node 0's for node 1's vote. Taking the term
    of a refusal (etcd) lets the next pre-vote through: a leader within a few election
    timeouts, which commits. Without it no leader ever (the chaos liveness failure)."""
    sim = Simulator(3, seed=7)
    build_deadlock(sim)
    ticks = 0
    while sim.leader() is None:
        run(sim, 1)
        ticks += 1
        assert ticks <= 6 * sim.config.election_ticks, [
            (sim.core(k).role, sim.core(k).current_term) for k in range(3)]
    assert sim.core(sim.leader()).current_term >= 5  # above every term held
    commit(sim, sim.leader(), 9)
    sim.check_applied_agree()


def test_a_prevote_refusal_carries_the_term_and_a_lower_term_is_answered() -> None:
    """The two halves of etcd's rule, on one core: a pre-vote of a lower term gets a
    refusal carrying ours (not silence), and a refusal of a higher term makes the
    pre-candidate a follower of that term with no vote."""
    c = RaftCore(1, 3, random.Random(0), Config(trace=True))
    c.step(AppendEntriesRequest(4, 0, 0, (), 0, 0, 1))  # term 4, from leader 0
    c.ready()
    c._elapsed = c.config.election_ticks  # the lease has run out
    c.step(PreVoteRequest(3, 0, 0, 2, 1))  # node 2's pre-vote for term 3 < 4
    (reply,) = c.ready().messages
    assert (reply.vote_granted, reply.term) == (False, 4)
    c.election_timer_fired()  # node 1 asks for term 5
    assert c.pre_candidate and c.ready().messages
    c.step(PreVoteResponse(7, False, 2, 1))
    assert (c.current_term, c.role, c.voted_for, c.pre_candidate) == (7, Role.FOLLOWER,
                                                                      None, False)
    (event,) = c.ready().events
    assert (event.action, event.args) == ("PreVoteTerm", (("i", 1), ("j", 2), ("term", 7)))
