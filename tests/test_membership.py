"""Membership changes (impl/raft/membership.py) in the deterministic simulator: a new
voter is caught up as a learner first, the rules of raft-reconfig refuse a second change
and a change before an entry of the term commits, a removed leader steps down once the
change commits, configurations survive snapshots and restarts, and the chaos schedules
with changes stay linearizable while catching the seeded bug counts-before-catch-up."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
from _cli import assert_refused, run

from agree.chaos.schedule import make_schedule, schedule_from_json, schedule_to_json
from agree.chaos.sim import run_schedule
from agree.conformance.harness import ConformanceFailure
from agree.conformance.raft_bugs import COUNTS_BEFORE_CATCH_UP
from agree.conformance.raft_driver import RaftConformance
from agree.impl.kv import encode_command
from agree.impl.raft import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Config,
    InstallSnapshotRequest,
    MembershipError,
    NotLeader,
    RaftCore,
    Role,
    Snapshot,
    decode_config,
    encode_config,
)
from agree.impl.raft.membership import MAX_ROUNDS
from agree.impl.sim import Simulator
from agree.impl.storage import SQLiteStorage, StorageError
from agree.impl.wire import CodecError, decode_payload, encode_message, message_to_json


def _put(i: int) -> bytes:
    return encode_command("put", f"k{i % 3}", str(i), client="c", seq=i + 1)


def _cluster(n: int = 4, voters: tuple[int, ...] = (0, 1, 2), writes: int = 0,
             snapshot_every: int = 0) -> tuple[Simulator, int]:
    sim = Simulator(n, seed=1, config=Config(voters=voters), snapshot_every=snapshot_every)
    leader = sim.elect()
    for i in range(writes):
        sim.propose(leader, _put(i))
    sim.run_until(lambda s: not s.bag)
    return sim, leader


def _settle(sim: Simulator, steps: int = 5000) -> None:
    """Until the bag is empty with a leader, then a heartbeat round (followers learn the
    commit index)."""
    assert sim.run_until(lambda s: not s.bag and s.leader() is not None, steps)
    sim.advance(sim.config.heartbeat_ticks)
    assert sim.run_until(lambda s: not s.bag and s.leader() is not None, steps)


def test_config_entries_encode_and_are_no_kv_command() -> None:
    value = encode_config({2, 0, 1})
    assert decode_config(value) == frozenset({0, 1, 2})
    assert decode_config(_put(1)) is None and decode_config(b"") is None
    from agree.impl.kv import decode_command
    assert decode_command(value) is None  # the state machine skips it


def test_a_new_voter_is_caught_up_as_a_learner_before_the_configuration() -> None:
    sim, leader = _cluster(writes=20)
    core = sim.core(leader)
    target, term = core.last_index, core.current_term
    assert sim.core(3).last_index == 0  # a spare gets nothing
    cid = sim.add_server(leader, 3)
    assert cid is not None
    assert core.learners == {3} and core.voters == {0, 1, 2}
    assert core.config_index == 0
    assert sim.run_until(lambda s: cid in s.nodes[leader].changes, 2000)
    index, why = sim.nodes[leader].changes[cid]
    assert why is None and index == target + 1
    # when the leader appended the configuration, node 3 already stored its whole log
    assert sim.stores(3, target, term)
    _settle(sim)
    assert all(sim.core(k).voters == {0, 1, 2, 3} for k in range(4))
    assert all(sim.core(k).commit_index >= index for k in range(4))
    assert not sim.false_commits and not sim.conflicts


def test_a_spare_or_removed_server_never_starts_an_election() -> None:
    sim, _ = _cluster()
    sim.partition([3])
    sim.advance(200)
    sim.timeout(3)
    assert sim.core(3).current_term == 1 and sim.core(3).role is Role.FOLLOWER


def test_the_rules_refuse_with_a_reason() -> None:
    sim, leader = _cluster(writes=2)
    follower = next(k for k in (0, 1, 2) if k != leader)
    with pytest.raises(NotLeader):
        sim.core(follower).add_server(3)
    with pytest.raises(MembershipError, match="no node 7"):
        sim.add_server(leader, 7)
    with pytest.raises(MembershipError, match="already a voter"):
        sim.add_server(leader, follower)
    with pytest.raises(MembershipError, match="not a voter"):
        sim.remove_server(leader, 3)
    sim.add_server(leader, 3)
    with pytest.raises(MembershipError, match=r"in progress \(catching up node 3"):
        sim.remove_server(leader, follower)
    _settle(sim)
    sim.remove_server(leader, follower)  # appended, not committed yet
    with pytest.raises(MembershipError, match="not committed yet"):
        sim.add_server(leader, follower)


def test_no_change_before_an_entry_of_the_term_commits() -> None:
    sim = Simulator(3, seed=2)
    sim.timeout(0)
    while sim.leader() is None:  # deliver only the election
        i = next(k for k, m in enumerate(sim.bag) if not isinstance(
            m, AppendEntriesRequest | AppendEntriesResponse))
        sim.deliver(i)
    with pytest.raises(MembershipError, match="not committed an entry of its term"):
        sim.remove_server(0, 2)
    _settle(sim)
    assert sim.remove_server(0, 2) is not None


def test_the_last_voter_cannot_be_removed() -> None:
    sim, leader = _cluster(n=2, voters=(0,))
    with pytest.raises(MembershipError, match="last voter"):
        sim.remove_server(leader, leader)


def test_a_removed_leader_leads_until_the_change_commits_then_steps_down() -> None:
    sim, leader = _cluster(n=3, voters=(0, 1, 2), writes=3)
    cid = sim.remove_server(leader, leader)
    assert cid is not None
    core = sim.core(leader)
    assert core.voters == {0, 1, 2} - {leader} and core.role is Role.LEADER
    assert sim.run_until(lambda s: s.nodes[leader].core is not None
                         and s.core(leader).role is not Role.LEADER, 2000)
    index = sim.nodes[leader].changes[cid][0]
    assert index is not None and core.commit_index >= index
    sim.run_until(lambda s: s.leader() is not None and not s.bag, 5000)
    new = sim.leader()
    assert new is not None and new != leader
    term = sim.core(leader).current_term
    sim.partition([leader])
    sim.advance(300)  # the removed server's timer fires: it starts no election
    assert sim.core(leader).current_term == term


def test_a_learner_that_is_down_is_given_up() -> None:
    sim, leader = _cluster(writes=2)
    sim.crash(3)
    cid = sim.add_server(leader, 3)
    start = sim.clock
    assert sim.run_until(lambda s: cid in s.nodes[leader].changes, 50_000)
    assert sim.clock - start > MAX_ROUNDS * sim.config.election_ticks
    index, why = sim.nodes[leader].changes[cid]
    assert index is None and why is not None and "did not catch up" in why
    assert sim.core(leader).voters == {0, 1, 2} and not sim.core(leader).learners


def test_a_leader_that_loses_its_leadership_gives_its_learner_up() -> None:
    sim, leader = _cluster(writes=2)
    sim.crash(3)
    cid = sim.add_server(leader, 3)
    sim.partition([leader])  # CheckQuorum makes it step down
    sim.advance(3 * sim.config.election_ticks)
    index, why = sim.nodes[leader].changes[cid]
    assert index is None and why is not None and "leadership lost" in why


def test_snapshots_carry_the_configuration_across_restarts() -> None:
    sim, leader = _cluster(writes=12, snapshot_every=5)
    cid = sim.add_server(leader, 3)
    assert sim.run_until(lambda s: cid in s.nodes[leader].changes, 2000)
    _settle(sim)
    assert any(k == 3 for k, _ in sim.snapshots_installed)  # caught up by InstallSnapshot
    config_at = sim.nodes[leader].changes[cid][0]
    assert config_at is not None
    for i in range(12, 24):  # compact past the configuration entry
        sim.propose(sim.leader() or 0, _put(i))
    _settle(sim)
    for k in range(4):
        snap = sim.nodes[k].storage.snapshot
        assert snap is not None and snap.index > config_at and snap.voters == (0, 1, 2, 3)
        sim.crash(k)
        sim.restart(k)
        assert sim.core(k).voters == {0, 1, 2, 3} and sim.core(k).config_index == 0
    sim.elect()
    assert not sim.false_commits


def test_sqlite_keeps_the_snapshot_configuration_under_its_checksum(tmp_path: Path) -> None:
    path = str(tmp_path / "n.db")
    st = SQLiteStorage(path, 0, 4)
    st.compact(Snapshot(3, 1, b"{}", (0, 2, 3)))
    st.close()
    st = SQLiteStorage(path, 0, 4)
    assert st.load_snapshot() == Snapshot(3, 1, b"{}", (0, 2, 3))
    st.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '0,2' WHERE key = 'snapshot_voters'")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="checksum mismatch in the snapshot"):
        SQLiteStorage(path, 0, 4)


def test_install_snapshot_carries_the_configuration_on_the_wire() -> None:
    def wire(m: InstallSnapshotRequest) -> object:
        return decode_payload(json.loads(json.dumps(message_to_json(m))))

    m = InstallSnapshotRequest(2, 5, 1, b"{}", 0, 3, (0, 1, 3))
    assert wire(m) == m
    assert wire(m._replace(voters=None)) == m._replace(voters=None)
    assert encode_message(m)
    bad = {**json.loads(json.dumps(message_to_json(m))), "voters": ["x"]}
    with pytest.raises(CodecError, match="voters"):
        decode_payload(bad)


def test_the_initial_voters_must_be_servers() -> None:
    with pytest.raises(ValueError, match=r"not all in 0\.\.2"):
        RaftCore(0, 3, random.Random(1), Config(voters=(0, 5)))
    with pytest.raises(ValueError, match="at least one voter"):
        Config(voters=())


def test_chaos_schedules_with_membership_changes_stay_linearizable() -> None:
    committed = 0
    for seed in range(8):
        outcome = run_schedule(make_schedule(seed, spares=1))
        assert not outcome.failed, (seed, outcome.violations)
        committed += outcome.stats["configurations committed"]
    assert committed >= 8  # the schedules did change the membership


def test_the_seeded_bug_counts_before_catch_up_is_caught_by_chaos(
        monkeypatch: pytest.MonkeyPatch) -> None:
    bug = COUNTS_BEFORE_CATCH_UP
    monkeypatch.setattr(bug.target, bug.attr, bug.replacement)
    for seed in range(30):
        outcome = run_schedule(make_schedule(seed, spares=1))
        if outcome.failed:
            assert "commit quorum" in outcome.claims, outcome.violations
            return
    pytest.fail("counts-before-catch-up went unnoticed in 30 schedules")


def test_membership_schedules_round_trip_as_json() -> None:
    s = make_schedule(5, spares=2)
    assert any(f.kind in ("add", "remove") for f in s.faults)
    assert schedule_from_json(schedule_to_json(s)) == s
    plain = schedule_to_json(make_schedule(5))
    assert "spares" not in plain  # schedules without spares are written as before
    plain["faults"].append({"at": 3, "kind": "add", "node": -1, "down": 0, "groups": [],
                            "rate": 4})
    with pytest.raises(ValueError, match="'kind' must be one of"):
        schedule_from_json(plain)


@pytest.mark.parametrize("argv", [
    ["cluster", "add", "9", "--to", "127.0.0.1:1"],
    ["cluster", "remove", "-1", "--to", "127.0.0.1:1,127.0.0.1:2"],
    ["serve", "--id", "0", "--peers", "127.0.0.1:1,127.0.0.1:2", "--data", "d",
     "--voters", "0,5"],
    ["serve", "--id", "0", "--peers", "127.0.0.1:1", "--data", "d", "--voters", "a"],
    ["chaos", "--spares", "7"],
])
def test_bad_membership_input_is_one_line_exit_2(argv: list[str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert_refused(code, err)


def _walk(seed: int, steps: int = 500) -> RaftConformance:
    """A seeded random run of 3 voters and a spare, every step judged against
    raft-reconfig; membership changes asked of the leader."""
    rng = random.Random(seed)
    c = RaftConformance(n=4, values=2, seed=seed, voters=3)
    for _ in range(steps):
        r = rng.random()
        if c.bag_size and r < 0.55:
            c.deliver(rng.randrange(c.bag_size))
        elif c.bag_size and r < 0.6:
            c.drop(rng.randrange(c.bag_size))
        elif r < 0.8:
            c.tick(rng.randrange(4))
        elif r < 0.86:
            c.propose(rng.randrange(4), rng.randrange(2))
        elif r < 0.92:
            lead = c.sim.leader()
            i = lead if lead is not None else rng.randrange(4)
            voters = c.sim.core(i).voters if c.up(i) else frozenset()
            spares = [k for k in range(4) if k not in voters]
            if spares and rng.random() < 0.5:
                c.add_server(i, rng.choice(spares))
            else:
                c.remove_server(i, rng.choice(sorted(voters) or [0]))
        elif r < 0.95:
            k = rng.randrange(4)
            c.crash(k) if c.up(k) else c.restart(k)
        else:
            c.timeout(rng.randrange(4))
    return c


def test_membership_changes_conform_to_raft_reconfig() -> None:
    """Configuration entries map onto raft-reconfig's ConfigEntry, the change onto
    AddServer/RemoveServer, the learner's catch-up onto AppendEntries[learner_catch_up]."""
    changes = 0
    for seed in range(12):
        c = _walk(seed)
        changes += sum(1 for e in c.sim.applied_at.values() if decode_config(e.value))
    assert changes >= 8


def test_counts_before_catch_up_is_caught_by_conformance(
        monkeypatch: pytest.MonkeyPatch) -> None:
    bug = COUNTS_BEFORE_CATCH_UP
    monkeypatch.setattr(bug.target, bug.attr, bug.replacement)
    for seed in range(30):
        try:
            _walk(seed)
        except ConformanceFailure as exc:
            assert "match_index" in str(exc)
            return
    pytest.fail("counts-before-catch-up conformed in 30 runs")
