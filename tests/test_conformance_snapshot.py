"""Snapshots held to the Raft spec: a compacted log maps onto the whole log, an
InstallSnapshot onto the AppendEntries of the prefix it replaces (the declared
deviation snapshot_prefix), a restart from a snapshot onto Restart keeping its commit
index (persisted_commit_index)."""

from __future__ import annotations

from agree.conformance.power import run_machine
from agree.conformance.raft_driver import RaftConformance
from agree.conformance.raft_machine import raft_machine
from agree.impl.raft import InstallSnapshotRequest


def _settle(c: RaftConformance) -> None:
    while c.bag_size:
        c.deliver(0)


def test_a_lagging_follower_caught_up_by_snapshot_conforms_step_by_step() -> None:
    c = RaftConformance(values=4, snapshot_every=2)
    c.timeout(0)
    _settle(c)
    c.partition([2])
    for v in range(4):
        c.propose(0, v)
        _settle(c)
    leader = c.sim.core(0)
    assert leader.snapshot is not None and leader.snapshot.index == 4
    # compaction is a stutter: the mapped log is still the whole log
    assert len(c.recorder.state.log[0]) == 5 and len(leader.log) == 1
    c.heal()
    healed = len(c.recorder.records)
    sent = []
    for _ in range(10):
        c.tick(0)
        sent += [m for m in c.sim.bag if isinstance(m, InstallSnapshotRequest)]
        _settle(c)
    assert [m.dest for m in sent] == [2]
    follower = c.sim.core(2)
    assert follower.snapshot is not None and follower.snapshot.index == 4
    assert c.recorder.state.log[2] == c.recorder.state.log[0]
    labels = [t.action.label for rec in c.recorder.records for t in rec.steps]
    assert "AppendEntries[snapshot_prefix]" in labels
    # the follower appended the prefix one entry per raft.tla step
    install = next(rec for rec in c.recorder.records[healed:]
                   if rec.rule.startswith("deliver s1->s3") and "prev=0/0" in rec.rule)
    # 3 entries appended (it had the first), then the reply
    assert [t.action.label for t in install.steps] == ["HandleAppendEntriesRequest"] * 4


def test_a_restart_from_a_snapshot_keeps_its_commit_index() -> None:
    c = RaftConformance(values=3, snapshot_every=2)
    c.timeout(0)
    _settle(c)
    for v in range(3):
        c.propose(0, v)
        _settle(c)
    for _ in range(3):
        c.tick(0)
        _settle(c)
    snap = c.sim.core(1).snapshot
    assert snap is not None
    c.crash(1)
    c.restart(1)
    assert c.sim.core(1).commit_index == snap.index
    assert c.recorder.records[-2].steps[0].action.label == "Restart[persisted_commit_index]"


def test_random_schedules_with_snapshots_conform() -> None:
    machine = raft_machine()
    run_machine(machine, examples=60, steps=40)
    assert machine.snapshots_sent > 0  # real InstallSnapshots, not only heartbeats
    assert machine.coverage.get("AppendEntries[snapshot_prefix]", 0) > 0, machine.coverage
