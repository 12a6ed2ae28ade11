"""`agree chaos` in the simulator: a small run holds, and broken Raft variants are caught."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agree.chaos.schedule import (
    Fault,
    Schedule,
    make_schedule,
    schedule_from_json,
    schedule_to_json,
)
from agree.chaos.sim import Totals, run_schedule
from agree.cli.main import main
from agree.impl.kv import KVStateMachine, decode_command
from agree.impl.raft import Config
from agree.impl.raft import core as raft_core
from agree.impl.sim import Simulator

# -- the real implementation holds ---------------------------------------------------------


def test_a_small_chaos_run_holds(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["chaos", "--schedules", "25", "--seed", "100", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "schedules run        25" in out
    assert "violations           0" in out
    assert "lost writes          0" in out
    assert "Every history was linearizable" in out


def test_every_kind_of_fault_fires_and_histories_are_not_trivial() -> None:
    totals = Totals()
    for seed in range(30):
        totals.add(run_schedule(make_schedule(seed)))
    assert totals.failed == 0
    for kind in ("crashes", "partitions", "crash-after-persist", "torn-write", "skews",
                 "elections", "dropped", "duplicated"):
        assert totals.faults[kind] > 0, kind
    assert totals.operations > 1000
    assert totals.indeterminate > 0  # some calls timed out: the checker saw unknown outcomes
    assert totals.acknowledged > 0.9 * totals.operations


def test_a_schedule_replays_exactly() -> None:
    s = make_schedule(5)
    a, b = run_schedule(s), run_schedule(s)
    assert a.operations == b.operations
    assert a.stats == b.stats


def test_schedules_round_trip_through_json(tmp_path: Path) -> None:
    s = make_schedule(3)
    assert schedule_from_json(json.loads(json.dumps(schedule_to_json(s)))) == s


def test_a_crash_between_persist_and_send_keeps_the_write_and_sends_nothing() -> None:
    sim = Simulator(3, seed=0)
    sim.faults.crash_after_persist(1)
    sim.timeout(1)
    assert not sim.nodes[1].up
    assert sim.bag == []  # no RequestVote left the node
    assert sim.nodes[1].storage.hard_state.current_term == 2  # but the new term is on disk
    assert sim.nodes[1].storage.hard_state.voted_for == 1


def test_a_torn_write_leaves_the_disk_as_it_was() -> None:
    sim = Simulator(3, seed=0)
    sim.faults.torn_write(1)
    sim.timeout(1)
    assert not sim.nodes[1].up
    assert sim.bag == []
    assert sim.nodes[1].storage.hard_state.current_term == 1
    sim.restart(1)
    assert sim.core(1).current_term == 1


def test_clock_skew_changes_how_often_a_node_ticks() -> None:
    sim = Simulator(3, seed=0)
    sim.skew(0, 2)
    sim.skew(2, 0.5)
    sim.advance(4)
    # elapsed counts ticks since the last reset; nobody can have timed out in 8 ticks
    assert [sim.core(k).election_elapsed for k in range(3)] == [8, 4, 2]


# -- broken variants are caught ----------------------------------------------------------------


@pytest.fixture
def commit_without_quorum(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A leader that counts an entry committed (and acknowledges it) as soon as it has it."""

    def advance(self: raft_core.RaftCore) -> None:
        if self.last_index > self._commit_index and \
                self.term_at(self.last_index) == self._current_term:
            self._commit_index = self.last_index

    monkeypatch.setattr(raft_core.RaftCore, "_advance_commit_index", advance)
    yield


@pytest.mark.usefixtures("commit_without_quorum")
def test_acknowledging_before_commit_is_caught_and_shrunk(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "shrunk.json"
    code = main(["chaos", "--schedules", "10", "--seed", "0", "--quiet", "--shrink-time", "20",
                 "--out", str(out_file)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FAILED: schedule seed" in out
    assert "violated:" in out
    assert "NOT linearizable" in out or "lost write" in out
    shrunk = schedule_from_json(json.loads(out_file.read_text()))
    original = make_schedule(int(out.split("FAILED: schedule seed ")[1].split()[0]))
    assert len(shrunk.faults) <= len(original.faults)
    assert shrunk.ticks <= original.ticks
    # the shrunk schedule still fails when replayed
    assert main(["chaos", "--replay", str(out_file), "--quiet", "--no-shrink"]) == 1


def test_a_schedule_file_replays_on_the_real_implementation(tmp_path: Path) -> None:
    s = Schedule(seed=0, ticks=80, clients=2, keys=1, p_drop=0.15, p_delay=0.5)
    f = tmp_path / "s.json"
    f.write_text(json.dumps(schedule_to_json(s)))
    assert main(["chaos", "--replay", str(f), "--quiet"]) == 0


def test_voting_without_checking_the_log_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def handle(self: raft_core.RaftCore, m: raft_core.RequestVoteRequest) -> None:
        grant = m.term == self._current_term and self._voted_for in (None, m.source)
        if grant:
            self._voted_for = m.source
            self._reset_timer()
        self._out.append(raft_core.RequestVoteResponse(self._current_term, grant, self._id,
                                                       m.source))

    monkeypatch.setattr(raft_core.RaftCore, "_handle_request_vote_request", handle)
    # PreVote checks the log too (and so hides this bug): raft.tla's elections here
    classic = Config(pre_vote=False, check_quorum=False)
    outcomes = [run_schedule(make_schedule(seed), config=classic) for seed in range(20)]
    assert any(o.failed for o in outcomes)


def test_applying_retries_twice_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """No deduplication: a write retried after a lost answer takes effect twice."""

    def apply(self: KVStateMachine, index: int, command: bytes) -> dict[str, object]:
        self.last_applied = index
        cmd = decode_command(command)
        if cmd is None:  # a leader's no-op
            return {"ok": False, "error": "not a command"}
        return self._execute(cmd)

    monkeypatch.setattr(KVStateMachine, "apply", apply)
    outcomes = [run_schedule(make_schedule(seed)) for seed in range(30)]
    failed = [o for o in outcomes if o.failed]
    assert failed
    assert all(o.claims == ["linearizability"] for o in failed)


def test_a_fault_list_describes_itself() -> None:
    s = Schedule(1, faults=(Fault(5, "crash", -1, down=10), Fault(9, "partition",
                                                                  groups=((0,), (1, 2)))))
    text = s.describe()
    assert "t=5: crash the leader, restart 10 ticks later" in text
    assert "t=9: partition [0] | [1, 2]" in text
