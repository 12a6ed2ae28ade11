"""`agree trace replay FILE --impl`: spec traces driven through the implementation."""

from __future__ import annotations

from pathlib import Path

import pytest

from agree.checker import registry
from agree.checker.cli import main
from agree.checker.conformance.paxos_adapter import PaxosCluster
from agree.checker.conformance.paxos_replay import replay_paxos
from agree.checker.conformance.raft_bugs import seeded
from agree.checker.conformance.raft_driver import RaftConformance
from agree.checker.conformance.replay_impl import replay_config, replay_raft
from agree.models.zoo_paxos import AcceptBelowPromisePaxos
from agree.models.zoo_raft import CommitOldTermRaft
from agree.traces.trace import load_trace, save_trace

GOLDEN = Path(__file__).resolve().parent.parent / "traces" / "golden"


def _commit_old_term_trace(path: Path) -> Path:
    """A raft-commit-old-term behaviour, recorded from the implementation with that very
    bug seeded (judged by the zoo spec, which allows it): figure 8's first half."""
    with seeded("commit-old-term"):
        c = RaftConformance(3, 1, config=replay_config(1), spec_class=CommitOldTermRaft)
        c.timeout(0)
        while c.bag_size:
            c.deliver(0)
        c.propose(0, 0)
        c.deliver(0)  # the entry reaches s2 only
        while c.bag_size:
            c.drop(0)
        c.timeout(1)  # s2 leads term 3 and commits the term-2 entry by counting
        while c.bag_size:
            c.deliver(0)
    assert c.sim.core(1).commit_index == 1
    save_trace(c.recorder.trace(), path)
    return path


def test_a_correct_trace_is_followed_to_the_end(tmp_path: Path) -> None:
    c = RaftConformance(3, 1, config=replay_config(1))
    c.timeout(0)
    while c.bag_size:
        c.deliver(0)
    c.propose(0, 0)
    while c.bag_size:
        c.deliver(0)
    save_trace(c.recorder.trace(), tmp_path / "ok.json")
    result = replay_raft(load_trace(tmp_path / "ok.json", registry.resolve))
    assert not result.diverged and result.followed == result.steps > 20


def test_the_implementation_refuses_the_zoo_step(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = _commit_old_term_trace(tmp_path / "raft-commit-old-term.json")
    trace = load_trace(path, registry.resolve)
    buggy = next(n for n, s in enumerate(trace.steps)
                 if s.action == "AdvanceCommitIndex" and s.state.commit_index[1] == 1)
    out_test = tmp_path / "test_regression.py"
    assert main(["trace", "replay", str(path), "--impl", "--save-test", str(out_test)]) == 1
    out = capsys.readouterr().out
    assert f"then refuses step {buggy + 1}: AdvanceCommitIndex(i=s2)" in out
    # the generated regression test runs green on the correct implementation
    namespace: dict[str, object] = {}
    exec(compile(out_test.read_text(), str(out_test), "exec"), namespace)
    test = namespace["test_replay_raft_commit_old_term"]
    assert callable(test)
    test()
    # and fails once the implementation has the bug
    with seeded("commit-old-term"), pytest.raises(AssertionError):
        test()


def test_a_bfs_zoo_trace_is_refused_where_the_candidate_votes_for_itself(
        capsys: pytest.CaptureFixture[str]) -> None:
    path = GOLDEN / "raft-stale-votes.election_safety.json"
    assert main(["trace", "replay", str(path), "--impl"]) == 1
    assert "votes for itself as part of timing out" in capsys.readouterr().out


def _accept_below_promise_trace(path: Path) -> Path:
    """A paxos-accept-below-promise behaviour recorded from impl/paxos with that bug seeded."""
    with seeded("accept-below-promise"):
        c = PaxosCluster(3, 2, max_round=2, spec_class=AcceptBelowPromisePaxos)
        c.propose(0, 0)
        c.deliver_key("Prepare", (1, 0), 0, 1)
        c.deliver_key("Promise", (1, 0), 1, 0)  # a quorum: Accepts of ballot 0 in flight
        c.propose(1, 1)  # n2 starts round 2
        c.deliver_key("Prepare", (2, 1), 1, 2)  # n3 promises ballot 4 ...
        c.deliver_key("Accept", (1, 0), 0, 2)  # ... and still votes in ballot 0
    save_trace(c.recorder.trace(), path)
    return path


def test_paxos_the_implementation_refuses_the_vote_below_the_promise(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _accept_below_promise_trace(tmp_path / "paxos-accept-below-promise.json")
    out_test = tmp_path / "test_regression.py"
    assert main(["trace", "replay", str(path), "--impl", "--save-test", str(out_test)]) == 1
    out = capsys.readouterr().out
    assert "refuses step 9: Phase2b(a=a3, m=<2a bal=0 val=v1>)" in out
    assert "a3 has promised ballot 4 already" in out
    namespace: dict[str, object] = {}
    exec(compile(out_test.read_text(), str(out_test), "exec"), namespace)
    test = namespace["test_replay_paxos_accept_below_promise"]
    assert callable(test)
    test()
    with seeded("accept-below-promise"), pytest.raises(AssertionError):
        test()


def test_paxos_golden_zoo_traces_are_refused_with_a_reason() -> None:
    for name in ("paxos-accept-below-promise", "paxos-amnesia", "paxos-wrong-value"):
        trace = load_trace(GOLDEN / f"{name}.agreement.json", registry.resolve)
        result = replay_paxos(trace)
        assert result.diverged and result.reason, name


def test_replay_impl_refuses_other_specs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "replay", str(GOLDEN / "paxos-article.agreement.json"),
                 "--impl"]) == 2
    assert "this one is of paxos-article" in capsys.readouterr().err
