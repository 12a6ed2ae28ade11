"""Raft conformance: the implementation, step by step, against models/raft.py."""

from __future__ import annotations

import pytest

from agree.conformance.bugs import SeededBug, seeded
from agree.conformance.harness import ConformanceFailure
from agree.conformance.power import measure, run_machine
from agree.conformance.raft_driver import RaftConformance, harness_config
from agree.conformance.raft_machine import raft_machine
from agree.impl.raft import Role
from agree.protocols import registry

# The fixed example budget within which every seeded bug must be caught (CI profile:
# derandomized, so the same examples every run).
BUDGET = 150


def _elect(c: RaftConformance, i: int) -> None:
    c.timeout(i)
    while c.bag_size:
        c.deliver(0)


def test_an_election_is_named_spec_step_by_spec_step() -> None:
    c = RaftConformance()
    labels = c.timeout(0).labels
    assert labels == [
        "Timeout(i=s1)", "RequestVote(i=s1, j=s1)",
        "HandleRequestVoteRequest(m=<s1->s1 RequestVoteRequest term=2 last=0/0>)",
        "HandleRequestVoteResponse(m=<s1->s1 RequestVoteResponse term=2 granted log=[]>)",
        "RequestVote(i=s1, j=s2)", "RequestVote(i=s1, j=s3)"]
    c.deliver(0)
    labels = c.deliver(c.sim.bag.index(next(m for m in c.sim.bag if m.dest == 0))).labels
    assert labels[:2] == [
        "HandleRequestVoteResponse(m=<s2->s1 RequestVoteResponse term=2 granted log=[]>)",
        "BecomeLeader(i=s1)"]
    assert c.sim.core(0).role is Role.LEADER


def test_replication_commit_crash_and_restart_conform() -> None:
    c = RaftConformance()
    _elect(c, 0)
    assert c.propose(0, 1).labels[0] == "ClientRequest(i=s1, v=v2)"
    while c.bag_size:
        c.deliver(0)
    assert c.sim.core(0).commit_index == 2  # the leader's no-op, then v2
    assert c.crash(1).labels == ["Restart(i=s2)"]
    assert c.restart(1).labels == []  # mapped as restarted already: a stutter
    assert c.recorder.state.log[1] == c.recorder.state.log[0]
    cov = c.recorder.summary()
    assert cov["AdvanceCommitIndex"] == 2 and cov["Restart"] == 1  # no-op, v2


def test_messages_lost_across_a_partition_are_drop_steps() -> None:
    c = RaftConformance()
    c.partition([0])
    c.timeout(0)
    assert c.deliver(0).labels[0].startswith("DropMessage(")
    c.heal()
    assert c.duplicate(0).labels[0].startswith("DuplicateMessage(")


def test_follower_keeps_commit_index_on_an_old_request_a_documented_deviation() -> None:
    c = RaftConformance()
    _elect(c, 0)
    c.propose(0, 0)
    stale = next(m for m in c.sim.bag if m.dest == 1)
    c.duplicate(c.sim.bag.index(stale))  # an old copy of the first AppendEntries to s2

    def deliver_all_but_stale() -> None:
        while any(m != stale for m in c.sim.bag):
            c.deliver(next(k for k, m in enumerate(c.sim.bag) if m != stale))

    deliver_all_but_stale()
    for _ in range(6):  # the batch in flight presumed lost: sent again, with commit 2
        c.tick(0)
        deliver_all_but_stale()
    assert c.sim.core(1).commit_index == 2 and stale.commit_index == 1
    labels = c.deliver(c.sim.bag.index(stale)).labels
    assert labels == [labels[0]] and "[commit_index kept]" in labels[0]
    assert c.sim.core(1).commit_index == 2


def test_a_step_the_spec_does_not_allow_is_reported_with_the_mapped_trace() -> None:
    c = RaftConformance()
    _elect(c, 0)
    core = c.sim.core(2)
    core._current_term += 3  # a term jump with no message behind it
    with pytest.raises(ConformanceFailure) as info:
        c.tick(2)
    text = info.value.text
    assert info.value.kind == "step"
    assert "current_term[s3]: spec 2, implementation 5" in text
    assert "IMPLEMENTATION STATE after choice" in text
    assert "Step 1: Timeout(i=s1)" in text  # the spec behaviour so far, rendered


def test_the_correct_implementation_conforms_under_hypothesis() -> None:
    machine = raft_machine()
    run_machine(machine, examples=40, steps=40)
    cov = machine.coverage
    for label in ("BecomeLeader", "ClientRequest", "AdvanceCommitIndex", "Restart",
                  "UpdateTerm", "DropStaleResponse", "DuplicateMessage", "DropMessage"):
        assert cov.get(label, 0) > 0, f"{label} never exercised: {cov}"


@pytest.mark.parametrize("bug", [b.name for b in registry.get("raft").protocol.seeded_bugs()])
def test_each_seeded_bug_is_caught_within_the_budget(bug: str) -> None:
    catch = measure(raft_machine(), bug, BUDGET)
    assert catch.caught, f"{bug} survived {catch.examples} examples"
    assert catch.kind == "step"


@pytest.mark.parametrize("bug", registry.get("raft").protocol.seeded_bugs(),
                         ids=lambda b: b.name)
def test_seeded_patches_are_undone(bug: SeededBug) -> None:
    """Inside the block the patch is in place; after it (even after an exception) the
    original method is back."""
    original = bug.target.__dict__[bug.attr]
    with seeded(bug.name):
        assert bug.target.__dict__[bug.attr] is bug.replacement is not original
    assert bug.target.__dict__[bug.attr] is original
    with pytest.raises(RuntimeError), seeded(bug.name):
        raise RuntimeError
    assert bug.target.__dict__[bug.attr] is original
    # and the implementation behaves: a proposal is committed
    c = RaftConformance()
    _elect(c, 0)
    c.propose(0, 0)
    while c.bag_size:
        c.deliver(0)
    assert c.sim.core(0).commit_index == 2  # the leader's no-op, then the proposal


def test_prevote_and_checkquorum_conform_under_hypothesis() -> None:
    """With PreVote and CheckQuorum on (the server's default), every step is still one of
    raft.tla's or a declared deviation: pre-votes are stutters (or start the election,
    or a refusal's term is taken: pre_vote_term), a CheckQuorum step-down is the
    leader's Restart keeping its commit index."""
    machine = raft_machine(elections=True)
    run_machine(machine, examples=40, steps=40)
    cov = machine.coverage
    for label in ("BecomeLeader", "AdvanceCommitIndex", "UpdateTerm",
                  "CheckQuorumStepDown[check_quorum_step_down]", "PreVoteTerm[pre_vote_term]"):
        assert cov.get(label, 0) > 0, f"{label} never exercised: {cov}"


def test_the_prevote_deadlock_and_its_way_out_conform() -> None:
    """The PreVote/CheckQuorum deadlock of chaos seed 9422 (tests/test_election.py),
    every step checked: s3 led and holds an entry alone, s1 and s2 are candidates of
    higher terms with shorter logs. Taking a refused pre-vote's term is the declared
    pre_vote_term (the refuser holds it), and the cluster elects a leader."""
    c = RaftConformance(config=harness_config(elections=True))

    def drain() -> None:
        while c.bag_size:
            c.deliver(0)
    _elect(c, 2)
    assert c.sim.leader() == 2
    c.propose(2, 0)
    drain()
    c.partition([1])  # s1 gets the next entry, s2 does not
    c.propose(2, 1)
    drain()
    c.partition([2])  # the last reaches nobody
    c.propose(2, 0)
    drain()
    c.sim.partition([0], [1], [2])  # nothing the spec sees changes
    for _ in range(4 * c.config.election_ticks):
        for k in range(3):
            c.tick(k)
        drain()
    c.timeout(0)
    c.timeout(1)
    c.timeout(1)
    drain()
    assert [c.sim.core(k).current_term for k in range(3)] == [3, 4, 2]
    c.heal()
    for _ in range(12 * c.config.election_ticks):
        if c.sim.leader() is not None:
            break
        for k in range(3):
            c.tick(k)
        drain()
    assert c.sim.leader() is not None
    assert c.recorder.summary().get("PreVoteTerm[pre_vote_term]", 0) >= 1
