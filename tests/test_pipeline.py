"""Pipelined AppendEntries (Config.inflight_entries): a matched follower gets new entries
at once, after those in flight; a probed one still gets one message at a time; a lost
pipelined message is sent again once presumed lost; safety holds on a hostile network."""

from __future__ import annotations

import pytest
from test_impl_raft_core import leader_of
from test_impl_sim import put

from agree.impl.raft import AppendEntriesRequest, AppendEntriesResponse, Config, RaftCore
from agree.impl.sim import Simulator

PIPE = Config(inflight_entries=8, pre_vote=False)


def requests_to(c: RaftCore, j: int) -> list[AppendEntriesRequest]:
    return [m for m in c.ready().messages if isinstance(m, AppendEntriesRequest)
            and m.dest == j]


def matched_leader(config: Config) -> RaftCore:
    """A leader whose followers both acknowledged its no-op (so neither is probed)."""
    c = leader_of(config=config)
    for j in (1, 2):
        c.step(AppendEntriesResponse(c.current_term, True, c.last_index, j, 0))
    c.ready()
    return c


def test_a_matched_follower_gets_new_entries_while_others_are_in_flight() -> None:
    c = matched_leader(PIPE)
    first = c.propose(b"a")
    [m1] = requests_to(c, 1)
    assert (m1.prev_log_index, len(m1.entries)) == (first - 1, 1)
    second = c.propose(b"b")
    [m2] = requests_to(c, 1)  # not waiting for m1's reply
    assert (m2.prev_log_index, len(m2.entries)) == (first, 1) and second == first + 1


def test_without_pipelining_one_message_with_entries_is_in_flight() -> None:
    c = matched_leader(Config(pre_vote=False))
    c.propose(b"a")
    assert len(requests_to(c, 1)) == 1
    c.propose(b"b")
    assert requests_to(c, 1) == []


def test_the_window_bounds_the_entries_in_flight() -> None:
    c = matched_leader(PIPE)
    sent = 0
    for k in range(20):
        c.propose(f"v{k}".encode())
        sent += sum(len(m.entries) for m in requests_to(c, 1))
    assert sent == PIPE.inflight_entries
    c.step(AppendEntriesResponse(c.current_term, True, c.match_index[1] + sent, 1, 0))
    rest = requests_to(c, 1)  # the reply frees the window: the rest goes out
    assert sum(len(m.entries) for m in rest) == 20 - PIPE.inflight_entries


def test_a_lost_pipelined_message_is_sent_again_from_next_index() -> None:
    config = Config(inflight_entries=8, pre_vote=False, election_ticks=10, heartbeat_ticks=2)
    c = matched_leader(config)
    first = c.propose(b"a")
    c.propose(b"b")
    c.ready()  # both messages lost
    resent: list[AppendEntriesRequest] = []
    for _ in range(config.election_ticks + config.heartbeat_ticks):
        c.tick()
        resent += [m for m in requests_to(c, 1) if m.entries]
    assert resent and resent[0].prev_log_index == first - 1
    assert len(resent[0].entries) == 2


def run_chaos(seed: int, steps: int) -> Simulator:
    sim = Simulator(3, seed=seed, config=Config(election_ticks=5, heartbeat_ticks=2,
                                                max_batch=2, inflight_entries=6))
    seq = 0
    for step in range(steps):
        r = sim.rng.random()
        if r < 0.01:
            sim.crash(sim.rng.randrange(3))
        elif r < 0.03:
            sim.restart(sim.rng.randrange(3))
        elif r < 0.035:
            sim.partition([sim.rng.randrange(3)])
        elif r < 0.045:
            sim.heal()
        elif r < 0.2:
            seq += 1
            sim.propose(sim.rng.randrange(3), put("k", str(step), seq))
        else:
            sim.random_step(p_drop=0.05, p_duplicate=0.05)
    sim.check_applied_agree()
    return sim


@pytest.mark.parametrize("seed", range(6))
def test_pipelining_keeps_safety_and_converges_on_a_hostile_network(seed: int) -> None:
    sim = run_chaos(seed, 3000)
    for k in range(3):
        if sim.nodes[k].core is None:
            sim.restart(k)
    sim.heal()
    lead = sim.elect()
    sim.propose(lead, put("k", "last", 10_000))
    target = sim.core(lead).last_index
    assert sim.run_until(lambda s: all(s.core(k).commit_index >= target for k in range(3)),
                         20_000)
    logs = {tuple(sim.core(k).log[-5:]) for k in range(3)}
    assert len(logs) == 1
    sim.check_applied_agree()
