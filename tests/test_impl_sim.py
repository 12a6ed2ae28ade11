"""Scenarios on the deterministic simulator: elections, crashes, log repair, partitions."""

from __future__ import annotations

import pytest

from agree.impl.kv import encode_command
from agree.impl.raft import AppendEntriesResponse, Config, Role
from agree.impl.sim import Simulator


def put(key: str, value: str, seq: int = 1) -> bytes:
    return encode_command("put", key, value, client="c", seq=seq)


def settle(sim: Simulator, steps: int = 2000) -> None:
    """Deliver everything and let heartbeats spread the commit index."""
    sim.run_until(lambda s: False, steps)


def commit(sim: Simulator, leader: int, value: bytes) -> int:
    index = sim.propose(leader, value)
    assert index is not None
    assert sim.run_until(lambda s: s.core(leader).commit_index >= index, 2000)
    return index


def test_first_election() -> None:
    """Raft §5.2: from a cold start one leader is elected and everyone learns of it."""
    sim = Simulator(3, seed=3)
    leader = sim.elect()
    settle(sim, 200)
    assert sim.leaders() == [leader]
    term = sim.core(leader).current_term
    assert all(sim.core(k).current_term == term for k in range(3))
    assert all(sim.core(k).leader_hint == leader for k in range(3))


def test_reelection_after_leader_crash_keeps_committed_entries() -> None:
    """§5.2, §5.4: when the leader crashes, another is elected in a later term, and its log
    holds every committed entry (Leader Completeness)."""
    sim = Simulator(3, seed=5)
    old = sim.elect()
    old_term = sim.core(old).current_term
    index = commit(sim, old, put("a", "1"))
    sim.crash(old)
    new = sim.elect()
    assert new != old and sim.core(new).current_term > old_term
    assert sim.core(new).log[index - 1].value == put("a", "1")
    commit(sim, new, put("b", "2", seq=2))
    settle(sim, 300)
    assert sim.nodes[new].kv.data == {"a": "1", "b": "2"}


@pytest.mark.parametrize("spec_exact", [True, False])
def test_log_repair_walks_next_index_back(spec_exact: bool) -> None:
    """§5.3: a new leader starts next_index at the end of its log; a follower that missed
    entries fails the consistency check until next_index walks back to where they match:
    one entry per rejection under spec_exact (raft.tla), at once with the hint."""
    sim = Simulator(3, seed=11, config=Config(spec_exact=spec_exact))
    leader = sim.elect()
    lagging = next(k for k in range(3) if k != leader)
    sim.crash(lagging)
    for seq in range(1, 6):
        commit(sim, leader, put("k", str(seq), seq))
    sim.crash(leader)
    sim.restart(leader)           # re-elected leaders reset next_index to last + 1
    new = sim.elect()
    assert sim.core(new).last_index >= 5
    sim.restart(lagging)
    failures = 0
    for _ in range(3000):
        if sim.bag:
            m = sim.bag[0]
            failures += isinstance(m, AppendEntriesResponse) and not m.success \
                and m.source == lagging
            sim.deliver(0)
        else:
            sim.advance()
        if sim.core(lagging).log == sim.core(new).log and failures:
            break
    assert failures >= 5 if spec_exact else 1 <= failures <= 2
    assert sim.core(lagging).log == sim.core(new).log
    sim.check_applied_agree()


def test_restart_keeps_term_vote_and_log() -> None:
    """§5 (fig. 2, 'persistent state on all servers'): current_term, voted_for and log
    survive a crash; commit_index and the leader state do not."""
    sim = Simulator(3, seed=2)
    leader = sim.elect()
    commit(sim, leader, put("x", "1"))
    settle(sim, 100)
    k = next(j for j in range(3) if j != leader)
    before = (sim.core(k).current_term, sim.core(k).voted_for, sim.core(k).log)
    assert before[2]
    sim.crash(k)
    sim.restart(k)
    c = sim.core(k)
    assert (c.current_term, c.voted_for, c.log) == before
    assert c.commit_index == 0 and c.role is Role.FOLLOWER


def test_minority_leader_cannot_commit_and_heal_repairs() -> None:
    """§5.3/§5.4: a leader cut off with a minority cannot commit; the majority elects a new
    leader and commits; after healing the old leader steps down and its uncommitted entry
    is overwritten (§5.3 conflict truncation)."""
    sim = Simulator(5, seed=9)
    old = sim.elect()
    others = [k for k in range(5) if k != old]
    minority, majority = [old, others[0]], others[1:]
    sim.partition(minority, majority)
    index = sim.propose(old, put("lost", "1"))
    assert index is not None
    for _ in range(400):
        if sim.bag:
            sim.deliver(0)
        else:
            sim.advance()
    assert sim.core(old).commit_index < index
    assert sim.core(old).role is Role.FOLLOWER  # CheckQuorum: it stepped down, same term
    new = max(majority, key=lambda k: (sim.core(k).role is Role.LEADER,
                                       sim.core(k).current_term))
    assert sim.core(new).role is Role.LEADER
    commit(sim, new, put("kept", "2", seq=2))
    sim.heal()
    settle(sim, 800)
    assert sim.leaders() == [new]
    logs = {sim.core(k).log for k in range(5)}
    assert len(logs) == 1
    assert put("lost", "1") not in [e.value for e in next(iter(logs))]
    assert all(sim.nodes[k].kv.data == {"kept": "2"} for k in range(5))


@pytest.mark.parametrize("seed", range(10))
def test_random_schedules_keep_safety(seed: int) -> None:
    """§5.2 Election Safety and §5.4.3 State Machine Safety under drops, duplicates,
    reordering, crashes and partitions, with small batches to exercise repair."""
    chaos(seed, 3000)


@pytest.mark.reference
@pytest.mark.parametrize("seed", range(10, 210))
def test_many_random_schedules_keep_safety(seed: int) -> None:
    """The same claims over 200 longer schedules (pytest -m reference)."""
    chaos(seed, 10_000)


def chaos(seed: int, steps: int) -> None:
    sim = Simulator(3, seed=seed, config=Config(election_ticks=5, heartbeat_ticks=2,
                                                max_batch=2))
    leaders: dict[int, int] = {}
    seq = 0
    for step in range(steps):
        r = sim.rng.random()
        if r < 0.01:
            sim.crash(sim.rng.randrange(3))
        elif r < 0.03:
            sim.restart(sim.rng.randrange(3))
        elif r < 0.035:
            a = sim.rng.randrange(3)
            sim.partition([a])
        elif r < 0.045:
            sim.heal()
        elif r < 0.12:
            seq += 1
            sim.propose(sim.rng.randrange(3), put("k", str(step), seq))
        else:
            sim.random_step(p_drop=0.05, p_duplicate=0.05)
        for k in sim.leaders():
            term = sim.core(k).current_term
            assert leaders.setdefault(term, k) == k, f"two leaders in term {term}"
    sim.check_applied_agree()
    assert len(sim.applied_at) > 0
