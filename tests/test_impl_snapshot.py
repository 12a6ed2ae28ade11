"""Snapshots and log compaction in the simulator (deterministic): taken every N applied
entries, the log truncated behind them in memory and in storage, a lagging follower
caught up by InstallSnapshot, a restart from a snapshot, and safety under random
schedules with crashes."""

from __future__ import annotations

import random

import pytest

from agree.impl.kv import KVStateMachine, encode_command
from agree.impl.raft import (
    AppendEntriesRequest,
    Config,
    Entry,
    InstallSnapshotRequest,
    Snapshot,
)
from agree.impl.raft.snapshot import CompactedError, RaftLog
from agree.impl.sim import Simulator

CONFIG = Config(election_ticks=5, heartbeat_ticks=2, max_batch=4)


def _put(sim: Simulator, leader: int, i: int) -> int:
    index = sim.propose(leader, encode_command("put", f"k{i % 7}", f"v{i}", "c", i + 1))
    assert index is not None
    return index


def _settle(sim: Simulator, index: int, nodes: list[int] | None = None) -> None:
    """Run until every listed live node applied up to `index` and the bag is empty."""
    nodes = list(range(sim.n)) if nodes is None else nodes

    def done(s: Simulator) -> bool:
        return not s.bag and all(s.nodes[k].kv.last_applied >= index for k in nodes)

    assert sim.run_until(done, 20_000), [sim.nodes[k].kv.last_applied for k in nodes]


def _expected(count: int) -> dict[str, str]:
    kv = KVStateMachine()
    for i in range(count):
        kv.apply(i + 1, encode_command("put", f"k{i % 7}", f"v{i}", "c", i + 1))
    return kv.data


def test_a_snapshot_is_taken_every_n_entries_and_the_log_truncated() -> None:
    sim = Simulator(3, seed=1, config=CONFIG, snapshot_every=5)
    leader = sim.elect()
    last = 0
    for i in range(23):
        last = _put(sim, leader, i)
    _settle(sim, last)
    for node in sim.nodes:
        core = node.core
        assert core is not None and core.snapshot is not None
        assert core.snapshot.index >= last - 5  # at most N - 1 entries behind the last
        assert core.first_index == core.snapshot.index + 1
        assert len(core.log) == last - core.snapshot.index < 5
        assert core.last_index == last
        # storage holds the snapshot and only the entries after it
        assert node.storage.load_snapshot() == core.snapshot
        assert node.storage.load()[1] == core.log
        assert node.kv.data == _expected(23)
    assert {k for k, _ in sim.snapshots_taken} == {0, 1, 2}
    assert sim.snapshots_installed == []  # nobody lagged
    sim.check_applied_agree()


def test_a_follower_behind_the_truncation_point_is_caught_up_by_install_snapshot() -> None:
    sim = Simulator(3, seed=2, config=CONFIG, snapshot_every=4)
    leader = sim.elect()
    lagging = (leader + 1) % 3
    sim.partition([lagging])
    last = 0
    for i in range(17):
        last = _put(sim, leader, i)
    _settle(sim, last, [k for k in range(3) if k != lagging])
    snap = sim.core(leader).snapshot
    assert snap is not None and snap.index > sim.core(lagging).last_index + 1
    sim.heal()
    installs = []
    for _ in range(200):
        installs += [m for m in sim.bag if isinstance(m, InstallSnapshotRequest)]
        if sim.nodes[lagging].kv.last_applied >= last and not sim.bag:
            break
        if sim.bag:
            sim.deliver(0)
        else:
            sim.advance()
    assert sim.nodes[lagging].kv.last_applied == last
    assert any(m.dest == lagging for m in installs)
    assert [k for k, _ in sim.snapshots_installed] == [lagging]
    assert sim.nodes[lagging].kv.data == _expected(17)
    core = sim.core(lagging)
    assert core.snapshot is not None and core.commit_index == last
    sim.check_applied_agree()


def test_a_node_restarts_from_its_snapshot() -> None:
    sim = Simulator(3, seed=3, config=CONFIG, snapshot_every=3)
    leader = sim.elect()
    last = 0
    for i in range(11):
        last = _put(sim, leader, i)
    _settle(sim, last)
    follower = (leader + 1) % 3
    snap = sim.core(follower).snapshot
    assert snap is not None
    sim.crash(follower)
    sim.restart(follower)
    core = sim.core(follower)
    assert core.snapshot == snap
    assert core.commit_index == snap.index  # the snapshot's entries count as committed
    assert sim.nodes[follower].kv.last_applied == snap.index
    for i in range(11, 15):
        last = _put(sim, leader, i)
    _settle(sim, last)
    assert sim.nodes[follower].kv.data == _expected(15)
    # the whole cluster restarts: each node from its own snapshot and log
    for k in range(3):
        sim.crash(k)
    for k in range(3):
        sim.restart(k)
    leader = sim.elect()
    last = _put(sim, leader, 15)
    _settle(sim, last)
    assert all(node.kv.data == _expected(16) for node in sim.nodes)
    sim.check_applied_agree()


@pytest.mark.parametrize("seed", range(6))
def test_random_schedules_with_crashes_and_snapshots_stay_safe(seed: int) -> None:
    sim = Simulator(3, seed=seed, config=CONFIG, snapshot_every=3)
    rng = random.Random(seed)
    proposed = 0
    for step in range(1500):
        r = rng.random()
        if r < 0.02:
            sim.crash(rng.randrange(3))
        elif r < 0.06:
            for k in range(3):
                sim.restart(k)
        elif r < 0.08:
            sim.partition([rng.randrange(3)])
        elif r < 0.1:
            sim.heal()
        elif r < 0.2:
            leader = sim.leader()
            if leader is not None:
                sim.propose(leader, encode_command("put", f"k{step % 5}", str(step), "c",
                                                   step + 1))
                proposed += 1
        else:
            sim.random_step()
        sim.check_applied_agree()
    for k in range(3):
        sim.restart(k)
    sim.heal()
    leader = sim.elect()
    last = sim.propose(leader, encode_command("put", "end", "x"))
    assert last is not None
    _settle(sim, last)
    datas = [node.kv.data for node in sim.nodes]
    assert datas[0] == datas[1] == datas[2] and datas[0]["end"] == "x"
    assert proposed > 10 and sim.snapshots_taken
    sim.check_applied_agree()


def test_the_compacted_log_reads_by_absolute_index() -> None:
    log = RaftLog([Entry(1, b"a"), Entry(2, b"b"), Entry(2, b"c")])
    log.compact(Snapshot(2, 2, b"S"))
    assert len(log) == 3 and list(log) == [Entry(2, b"c")]
    assert log[2] == Entry(2, b"c") and log[2:] == [Entry(2, b"c")]
    assert log.term_at(2) == 2 and log.term_at(0) == 0
    with pytest.raises(CompactedError):
        log.term_at(1)
    with pytest.raises(CompactedError):
        log[1]
    assert log.has(1, 99)  # compacted: committed, so it matches the current leader's
    assert log.has(2, 2) and not log.has(2, 1) and not log.has(4, 2)
    # a leader's snapshot that agrees with the log keeps what follows it
    assert log.install(Snapshot(2, 2, b"S")) is True and list(log) == [Entry(2, b"c")]
    # one that does not agree drops everything
    other = RaftLog([Entry(1, b"a"), Entry(1, b"x")])
    assert other.install(Snapshot(2, 2, b"S")) is False
    assert list(other) == [] and len(other) == 2 and other.term_at(2) == 2


def test_compact_refuses_what_is_not_applied() -> None:
    sim = Simulator(1, seed=0, config=CONFIG)
    sim.elect()
    index = sim.propose(0, b"x")
    assert index is not None
    core = sim.core(0)
    with pytest.raises(ValueError, match="applied up to"):
        core.compact(index + 1, b"")
    core.compact(index, b"")
    with pytest.raises(ValueError, match="compacted up to"):
        core.compact(index, b"")


def test_append_entries_below_the_snapshot_is_answered_from_it() -> None:
    """A late AppendEntries whose entries the follower already compacted is acknowledged
    (they are committed), never taken as a conflict."""
    sim = Simulator(3, seed=4, config=CONFIG, snapshot_every=2)
    leader = sim.elect()
    last = 0
    for i in range(6):
        last = _put(sim, leader, i)
    _settle(sim, last)
    follower = (leader + 1) % 3
    core = sim.core(follower)
    assert core.snapshot is not None and core.snapshot.index >= 2
    old = AppendEntriesRequest(core.current_term, 0, 0, (Entry(core.current_term, b"zz"),),
                               0, leader, follower)
    before = core.log
    core.step(old)
    ready = core.ready()
    assert core.log == before and ready.first_index is None
    [reply] = ready.messages
    assert reply.success and reply.match_index == 1  # type: ignore[union-attr]
