"""`agree trace replay FILE --impl`: spec traces driven through the implementation."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from agree.cli.main import main
from agree.conformance.bugs import seeded
from agree.conformance.paxos_adapter import PaxosCluster
from agree.conformance.paxos_replay import replay_paxos
from agree.conformance.raft_driver import RaftConformance
from agree.conformance.raft_replay import replay_raft
from agree.conformance.replay_impl import ReplayResult, replay_config
from agree.models.zoo.paxos import AcceptBelowPromisePaxos
from agree.models.zoo.raft import CommitOldTermRaft
from agree.protocols import registry
from agree.spec import SpecError, Transition
from agree.traces.trace import Trace, load_trace, save_trace

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "traces" / "golden"
#: every bug-zoo trace of the Raft and Paxos families (paxos-article and
#: paxos-pid-timestamp are other specs, not replayable on impl/)
ZOO = sorted([*GOLDEN.glob("raft-*.json"), *GOLDEN.glob("paxos-*.json"),
              *(ROOT / "traces" / "zoo_deep").glob("*.json")])
ZOO = [p for p in ZOO if not p.name.startswith(("paxos-article", "paxos-pid-timestamp"))]
#: impl/raft has no membership changes: the raft-reconfig zoo has no implementation side
ZOO = [p for p in ZOO if registry.get(p.name.split(".")[0]).protocol.name != "raft-reconfig"]


def first_step_the_correct_spec_refuses(trace: Trace) -> int:
    """The 1-based number of the first step of the trace that the correct spec
    (models/raft.py or models/paxos.py) does not take to the same state: computed from
    the specs alone, independently of the replay."""
    family = trace.spec.split("-", 1)[0]
    spec, _ = registry.build(family, trace.params)
    states = trace.states
    for n, step in enumerate(trace.steps):
        try:
            act = spec.action(step.action)
        except SpecError:  # an action only the buggy variant has (Restart in paxos-amnesia)
            return n + 1
        if act.fn(states[n], *step.args) != step.state:
            return n + 1
    raise AssertionError(f"{trace.spec}: every step is one of the correct spec's")


def replay(trace: Trace) -> ReplayResult:
    """The replay of the trace's bundle (raft_replay or paxos_replay)."""
    result: ReplayResult = registry.get(trace.spec).impl_replay()(trace)
    return result


@pytest.mark.parametrize("path", ZOO, ids=[p.name.split(".")[0] for p in ZOO])
def test_a_zoo_trace_is_refused_exactly_at_its_buggy_step(path: Path) -> None:
    trace = load_trace(path, registry.resolve)
    buggy = first_step_the_correct_spec_refuses(trace)
    result = replay(trace)
    assert result.diverged
    assert result.followed + 1 == buggy, (result.text(), buggy)
    assert result.label == trace.steps[buggy - 1].label
    assert result.text().startswith(
        f"the implementation follows steps 1-{buggy - 1} of {len(trace.steps)}, then "
        f"refuses step {buggy} ({result.label}):\n  it ")
    assert " where the trace " in result.reason


def test_the_zoo_is_all_there() -> None:
    names = {p.name.split(".")[0] for p in ZOO}
    assert {"raft-leader-ignores-term", "raft-stale-votes", "raft-commit-old-term",
            "raft-forget-vote", "paxos-amnesia", "paxos-2b-keeps-promise"} <= names
    assert len(ZOO) == 12


def own_vote_first_walk(seed: int, depth: int, **params: Any) -> Trace:
    """A seeded random walk of the correct raft.tla (as `agree simulate raft` takes,
    inside the state constraint), except that a candidate votes for itself as it times
    out: the schedules impl/raft can make (raft.tla also lets a candidate grant another
    candidate first, which the implementation never does)."""
    spec, _ = registry.build("raft", params)
    rng = random.Random(seed)
    init = next(iter(spec.init()))
    state, steps = init, []

    def take(label: str, *args: Any) -> None:
        nonlocal state
        nxt = spec.action(label).fn(state, *args)
        assert nxt is not None
        steps.append(Transition(spec.action(label), args, nxt))
        state = nxt

    while len(steps) < depth:
        succ = [t for t in spec.successors(state) if spec.constraint(t.state)]
        if not succ:
            break
        t = succ[rng.randrange(len(succ))]
        steps.append(t)
        state = t.state
        if t.action.label == "Timeout":
            i = t.args[0]
            take("RequestVote", i, i)
            for kind, label in (("RequestVoteRequest", "HandleRequestVoteRequest"),
                                ("RequestVoteResponse", "HandleRequestVoteResponse")):
                m = next(m for m in state.messages if m.mtype == kind and m.msource == i
                         and m.mdest == i and m.mterm == state.current_term[i])
                take(label, m)
    return Trace.from_transitions(spec, init, steps)


@pytest.mark.parametrize("restarts", [-1, 0])
def test_correct_raft_walks_replay_to_the_end(restarts: int) -> None:
    for seed in range(12):
        trace = own_vote_first_walk(seed, 80, servers=3, values=2, max_term=3, max_log=2,
                                    max_messages=3, max_restarts=restarts)
        result = replay_raft(trace)
        if (restarts, seed) == (0, 8):
            # the one walk of these the implementation cannot follow: s2 learns term 3
            # from s1's vote request (UpdateTerm) and every copy of it is then lost; the
            # implementation handles a request whole, so it reaches term 3 only by voting
            assert result.reason == "it has voted_for[s2] = s1 where the trace has Nil"
            continue
        assert not result.diverged, (seed, result.text())
        assert result.followed == len(trace.steps) > 40


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
    assert f"then refuses step {buggy + 1} (AdvanceCommitIndex(i=s2)):" in out
    assert "it keeps commit_index[s2] = 0 where the trace advances it to 1" in out
    # the generated regression test runs green on the correct implementation
    namespace: dict[str, object] = {}
    exec(compile(out_test.read_text(), str(out_test), "exec"), namespace)
    test = namespace["test_replay_raft_commit_old_term"]
    assert callable(test)
    test()
    # and fails once the implementation has the bug
    with seeded("commit-old-term"), pytest.raises(AssertionError):
        test()


def test_a_candidate_granting_another_before_its_own_vote_is_refused() -> None:
    """raft.tla lets a candidate that has asked for votes grant another candidate of its
    term (its own request not handled yet); impl/raft's candidate has voted for itself
    as it timed out. The replay says so, at that step."""
    spec, _ = registry.build("raft", {"servers": 3, "values": 1})
    state = init = next(iter(spec.init()))
    steps: list[Transition[Any]] = []
    for label, args in (("Timeout", (0,)), ("Timeout", (1,)), ("RequestVote", (0, 1)),
                        ("RequestVote", (1, 2)), ("HandleRequestVoteRequest", None)):
        if args is None:
            args = (next(m for m in state.messages if m.msource == 0 and m.mdest == 1),)
        nxt = spec.action(label).fn(state, *args)
        assert nxt is not None
        steps.append(Transition(spec.action(label), args, nxt))
        state = nxt
    result = replay_raft(Trace.from_transitions(spec, init, steps))
    assert (result.followed, result.label) == (4, steps[4].label)
    assert result.reason == "it has voted_for[s2] = s2 where the trace has s1"


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
    assert "refuses step 9 (Phase2b(a=a3, m=<2a bal=0 val=v1>)):" in out
    assert "it has a3 refuse (it has promised ballot 4) where the trace has it vote for v1" in out
    namespace: dict[str, object] = {}
    exec(compile(out_test.read_text(), str(out_test), "exec"), namespace)
    test = namespace["test_replay_paxos_accept_below_promise"]
    assert callable(test)
    test()
    with seeded("accept-below-promise"), pytest.raises(AssertionError):
        test()


def test_recorded_runs_of_the_implementation_replay_to_the_end(tmp_path: Path) -> None:
    """What the conformance harness recorded of seeded random runs (drops, duplicates,
    crashes, proposals: the implementation's own schedules, Paxos without loopback) is a
    correct-spec trace that the replay follows to the end."""
    for seed in range(4):
        rng = random.Random(seed)
        c = RaftConformance(3, 2, config=replay_config(1))
        for _ in range(60):
            r, i = rng.random(), rng.randrange(3)
            if c.bag_size and r < 0.6:
                k = rng.randrange(c.bag_size)
                (c.deliver if r < 0.5 else c.drop if r < 0.55 else c.duplicate)(k)
            elif r < 0.7:
                c.timeout(i)
            elif r < 0.8:
                c.tick(i)
            elif r < 0.9:
                c.propose(i, rng.randrange(2))
            else:
                c.crash(i)
                c.restart(i)
        # (not through a file: the harness labels its documented deviation, a follower
        # keeping its commit index, as a step raft.tla does not have)
        result = replay_raft(c.recorder.trace())
        assert not result.diverged and result.steps > 40, (seed, result.text())
        p = PaxosCluster(3, 2, max_round=3)
        for _ in range(40):
            r = rng.random()
            if p.bag and r < 0.8:
                p.deliver(rng.randrange(len(p.bag)))
            elif r < 0.9 or not p.bag:
                p.propose(rng.randrange(3), rng.randrange(2))
            else:
                p.drop(rng.randrange(len(p.bag)))
        save_trace(p.recorder.trace(), tmp_path / "paxos.json")
        result = replay_paxos(load_trace(tmp_path / "paxos.json", registry.resolve))
        assert not result.diverged and result.steps > 10, (seed, result.text())


def test_replay_impl_refuses_other_specs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "replay", str(GOLDEN / "paxos-article.agreement.json"),
                 "--impl"]) == 2
    assert "this one is of paxos-article" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["raft-leader-ignores-term.one_leader_per_term",
                                  "paxos-wrong-value.agreement"])
def test_a_golden_zoo_replay_saved_as_a_regression_test_runs_green(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_test = tmp_path / "test_regression.py"
    path = GOLDEN / f"{name}.json"
    assert main(["trace", "replay", str(path), "--impl", "--save-test", str(out_test)]) == 1
    assert f"wrote {out_test}" in capsys.readouterr().out
    source = out_test.read_text()
    assert "The implementation refuses step" in source
    namespace: dict[str, object] = {}
    exec(compile(source, str(out_test), "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_replay_")]
    assert len(tests) == 1 and callable(tests[0])
    tests[0]()
