"""ReadIndex reads (impl/raft/reads.py) on the deterministic simulator and in chaos."""

from __future__ import annotations

import random

import pytest

from agree.chaos.schedule import Fault, Schedule, make_schedule
from agree.chaos.sim import run_schedule
from agree.conformance.raft_bugs import READ_WITHOUT_HEARTBEAT
from agree.impl.kv import encode_command
from agree.impl.raft import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Config,
    NotLeader,
    RaftCore,
    RequestVoteResponse,
    Role,
)
from agree.impl.sim import Simulator


def put(value: str, seq: int) -> bytes:
    return encode_command("put", "k", value, client="c", seq=seq)


def commit(sim: Simulator, leader: int, value: str, seq: int) -> int:
    index = sim.propose(leader, put(value, seq))
    assert index is not None
    assert sim.run_until(lambda s: s.core(leader).commit_index >= index, 2000)
    return index


def read(sim: Simulator, k: int, steps: int = 200) -> tuple[int | None, str | None]:
    """A read at k, run until answered: (read index, the value k serves), or (None, None)
    if refused or not answered within ``steps``."""
    rid = sim.read(k)
    assert rid is not None
    node = sim.nodes[k]
    sim.run_until(lambda s: rid in node.reads, steps)
    index = node.reads.get(rid)
    if index is None:
        return None, None
    assert sim.run_until(lambda s: node.kv.last_applied >= index, steps)
    return index, node.kv.data.get("k")


def test_a_read_is_served_without_appending_to_the_log() -> None:
    """The leader confirms its leadership with one heartbeat round and answers at its
    commit index; nobody's log grows."""
    sim = Simulator(3, seed=1)
    leader = sim.elect()
    index = commit(sim, leader, "1", 1)
    sim.run_until(lambda s: False, 100)
    logs = [sim.core(k).last_index for k in range(3)]
    sent = sim.sent
    read_index, value = read(sim, leader)
    assert (read_index, value) == (index, "1")
    assert [sim.core(k).last_index for k in range(3)] == logs
    assert sim.sent - sent <= 4  # the round: one heartbeat and one reply per follower


def test_a_read_waits_for_an_entry_of_the_leaders_term() -> None:
    """Right after its election the leader has not committed its no-op: the read is
    answered only once it has, at an index at least the no-op's (thesis §6.4)."""
    sim = Simulator(3, seed=1)
    sim.timeout(0)
    while sim.core(0).role is not Role.LEADER:
        sim.deliver(0)
    assert sim.core(0).commit_index < sim.core(0).last_index
    noop = sim.core(0).last_index
    rid = sim.read(0)
    assert rid is not None
    assert rid not in sim.nodes[0].reads
    sim.run_until(lambda s: rid in s.nodes[0].reads, 200)
    assert (sim.nodes[0].reads[rid] or 0) >= noop


def test_a_read_needs_a_quorum_of_acknowledgements() -> None:
    """At the core: replies carry the read's id back; one follower's is a quorum of 3
    with the leader; replies to requests sent before the read do not count."""
    c = RaftCore(0, 3, random.Random(0), Config(pre_vote=False))
    c.campaign()
    for j in (1, 2):
        c.step(RequestVoteResponse(2, True, j, 0))
    c.ready()
    c.step(AppendEntriesResponse(2, True, 1, 1, 0))  # the no-op: committed
    c.ready()
    rid = c.read_index()
    out = c.ready()
    assert out.reads == ()
    beats = [m for m in out.messages if isinstance(m, AppendEntriesRequest)]
    assert sorted(m.dest for m in beats) == [1, 2] and all(m.read_ctx == rid for m in beats)
    c.step(AppendEntriesResponse(2, True, 1, 2, 0, read_ctx=rid - 1))  # an older round
    assert c.ready().reads == ()
    c.step(AppendEntriesResponse(2, True, 1, 2, 0, read_ctx=rid))
    assert c.ready().reads == ((rid, 1),)


def test_a_single_server_answers_at_once() -> None:
    sim = Simulator(1, seed=0)
    sim.elect()
    index, value = read(sim, 0)
    assert index == 1 and value is None


def test_a_follower_refuses_reads() -> None:
    sim = Simulator(3, seed=1)
    leader = sim.elect()
    follower = next(k for k in range(3) if k != leader)
    assert sim.read(follower) is None
    with pytest.raises(NotLeader):
        sim.core(follower).read_index()


@pytest.mark.parametrize("check_quorum", [True, False])
def test_a_read_during_a_partition_is_refused_not_stale(check_quorum: bool) -> None:
    """A leader cut off from the others cannot confirm a read: it is never answered
    (and refused once CheckQuorum deposes it), while the others commit a new value."""
    sim = Simulator(3, seed=2, config=Config(check_quorum=check_quorum,
                                             pre_vote=check_quorum))
    old = sim.elect()
    commit(sim, old, "1", 1)
    sim.partition([old])
    rid = sim.read(old)
    assert rid is not None
    sim.run_until(lambda s: any(k != old and s.nodes[k].core is not None
                                and s.core(k).role is Role.LEADER for k in range(3)), 3000)
    new = next(k for k in range(3) if k != old and sim.core(k).role is Role.LEADER)
    commit(sim, new, "2", 2)
    sim.run_until(lambda s: False, 300)
    if check_quorum:
        assert sim.nodes[old].reads.get(rid, 0) is None  # refused when it stepped down
    else:
        assert rid not in sim.nodes[old].reads  # still waiting
    assert sim.nodes[old].kv.data.get("k") == "1"  # what a stale read would have said


def test_a_read_without_the_heartbeat_round_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seeded bug read-without-heartbeat: the cut-off leader answers from its own
    state, the old value, after the new leader committed a new one."""
    monkeypatch.setattr(READ_WITHOUT_HEARTBEAT.target, READ_WITHOUT_HEARTBEAT.attr,
                        READ_WITHOUT_HEARTBEAT.replacement)
    sim = Simulator(3, seed=2, config=Config(check_quorum=False, pre_vote=False))
    old = sim.elect()
    commit(sim, old, "1", 1)
    sim.partition([old])
    sim.run_until(lambda s: any(k != old and s.core(k).role is Role.LEADER
                                for k in range(3)), 3000)
    new = next(k for k in range(3) if k != old and sim.core(k).role is Role.LEADER)
    commit(sim, new, "2", 2)
    assert read(sim, old) == (2, "1")  # stale


def _partitioned_leader(seed: int) -> Schedule:
    """The leader is cut off at t=40, whoever leads then at t=100, healed at t=160."""
    return Schedule(seed, nodes=3, clients=4, keys=1, ticks=200, p_drop=0, p_duplicate=0,
                    p_delay=0, faults=(Fault(40, "partition"), Fault(100, "partition"),
                                       Fault(160, "heal")))


def test_linearizability_chaos_catches_reads_without_the_heartbeat_round(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CheckQuorum (which deposes a cut-off leader before most new ones are
    elected, and so hides the bug in these schedules), a cut-off leader answering reads
    from its own state is caught by the linearizability checker; with the round, the same
    schedules are linearizable."""
    classic = Config(check_quorum=False, pre_vote=False)
    schedules = [_partitioned_leader(seed) for seed in range(4)]
    assert not any(run_schedule(s, 5, classic).failed for s in schedules)
    monkeypatch.setattr(READ_WITHOUT_HEARTBEAT.target, READ_WITHOUT_HEARTBEAT.attr,
                        READ_WITHOUT_HEARTBEAT.replacement)
    outcomes = [run_schedule(s, 5, classic) for s in schedules]
    assert any("linearizability: key k0 is not linearizable" in o.violations
               for o in outcomes)


def test_chaos_reads_by_read_index_stay_linearizable() -> None:
    """The default chaos clients read by ReadIndex; with reads through the log too."""
    for seed in range(3):
        for reads in ("index", "log"):
            o = run_schedule(make_schedule(seed), 10, reads=reads)
            assert not o.failed, (reads, o.violations)
            assert any(op.kind == "get" and not op.indeterminate for op in o.operations)
