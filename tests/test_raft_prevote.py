"""raft.tla with etcd's PreVote and CheckQuorum (models/raft_prevote.py): with both options
off it is raft exactly; with them it keeps Raft's safety properties (pinned counts on small
configurations); a pre-vote never changes the voter's term or vote; and the mistake etcd's
stepCandidate guards against (a candidate counting pre-votes) breaks election safety."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from agree.checker.run import check
from agree.checker.stateful import state_machine
from agree.cli.main import main
from agree.models.raft import Raft
from agree.models.raft_prevote import PRECANDIDATE, RaftPreVote
from agree.models.raft_types import LEADER, RaftState
from agree.models.zoo.raft_prevote import CountPreVotesRaft
from agree.properties.raft import SAFETY
from agree.spec import Spec

SMALL = {"servers": 2, "max_term": 2, "max_log": 1, "max_messages": 1}

#: (prevote, check_quorum) -> distinct states on SMALL; (False, False) is raft's own count.
PINNED = {(False, False): 1760, (False, True): 2014, (True, False): 12144,
          (True, True): 13756}


@pytest.mark.parametrize(("prevote", "check_quorum"), sorted(PINNED))
def test_safety_holds_with_pinned_counts(prevote: bool, check_quorum: bool) -> None:
    spec = RaftPreVote(**SMALL, prevote=prevote, check_quorum=check_quorum)
    result = check(spec, SAFETY, stop_at_first=False)
    assert result.complete and result.violations == []
    assert result.distinct == PINNED[prevote, check_quorum]


def test_with_the_options_off_it_is_raft() -> None:
    assert check(Raft(**SMALL), SAFETY).distinct == PINNED[False, False]
    off = RaftPreVote(**SMALL, prevote=False, check_quorum=False)
    raft = Raft(**SMALL)
    for s in _reachable(raft, limit=400):
        assert {(t.label, t.state) for t in off.successors(s)} == \
            {(t.label, t.state) for t in raft.successors(s)}


def _reachable(spec: Spec[RaftState], limit: int | None = None) -> Iterator[RaftState]:
    """Breadth-first, within the spec's state constraint (at most ``limit`` states)."""
    seen: set[RaftState] = set()
    queue = deque(spec.init())
    while queue and (limit is None or len(seen) < limit):
        s = queue.popleft()
        if s in seen or not spec.constraint(s):
            continue
        seen.add(s)
        yield s
        queue.extend(t.state for t in spec.successors(s))


def test_a_pre_vote_changes_neither_term_nor_vote_and_pre_candidates_keep_their_term() -> None:
    spec = RaftPreVote(servers=2, max_term=2, max_log=0, max_messages=1)
    seen = {"HandlePreVoteRequest": 0, "Timeout": 0, "HandlePreVoteResponse": 0}
    for s in _reachable(spec):
        for t in spec.successors(s):
            kind = t.action.label
            if kind in ("HandlePreVoteRequest", "Timeout", "HandlePreVoteResponse"):
                seen[kind] += 1
                assert t.state.current_term == s.current_term, t.label
                assert t.state.voted_for == s.voted_for, t.label
            if kind == "BecomeCandidate":  # raft.tla's Timeout, after a quorum of pre-votes
                i = t.params["i"]
                assert s.state[i] == PRECANDIDATE and len(s.votes_granted[i]) == 2
                assert t.state.current_term[i] == s.current_term[i] + 1
    assert all(seen.values()), seen


#: The shortest counterexample `agree check` finds for CountPreVotesRaft (2 servers, terms
#: <= 2, no entries, 2 messages in flight, no restarts), as step labels.
COUNTS_PREVOTES = """\
Timeout(i=s1)
Timeout(i=s2)
RequestPreVote(i=s1, j=s1)
RequestPreVote(i=s1, j=s2)
HandlePreVoteRequest(m=<s1->s1 PreVoteRequest term=2 last=0/0>)
HandlePreVoteRequest(m=<s1->s2 PreVoteRequest term=2 last=0/0>)
HandlePreVoteResponse(m=<s1->s1 PreVoteResponse term=2 granted>)
DuplicateMessage(m=<s2->s1 PreVoteResponse term=2 granted>)
HandlePreVoteResponse(m=<s2->s1 PreVoteResponse term=2 granted>)
RequestPreVote(i=s2, j=s1)
BecomeCandidate(i=s1)
HandlePreVoteRequest(m=<s2->s1 PreVoteRequest term=2 last=0/0>)
HandlePreVoteResponse(m=<s2->s1 PreVoteResponse term=2 granted>)
RequestVote(i=s1, j=s1)
HandleRequestVoteRequest(m=<s1->s1 RequestVoteRequest term=2 last=0/0>)
HandleRequestVoteResponse(m=<s1->s1 RequestVoteResponse term=2 granted log=[]>)
BecomeLeader(i=s1)
DuplicateMessage(m=<s1->s2 PreVoteResponse term=2 granted>)
HandlePreVoteResponse(m=<s1->s2 PreVoteResponse term=2 granted>)
RequestPreVote(i=s2, j=s2)
HandlePreVoteRequest(m=<s2->s2 PreVoteRequest term=2 last=0/0>)
HandlePreVoteResponse(m=<s2->s2 PreVoteResponse term=2 granted>)
BecomeCandidate(i=s2)
RequestVote(i=s2, j=s2)
HandleRequestVoteRequest(m=<s2->s2 RequestVoteRequest term=2 last=0/0>)
HandleRequestVoteResponse(m=<s2->s2 RequestVoteResponse term=2 granted log=[]>)
HandlePreVoteResponse(m=<s1->s2 PreVoteResponse term=2 granted>)
BecomeLeader(i=s2)""".splitlines()


def _walk(spec: Spec[RaftState], labels: list[str]) -> list[RaftState]:
    """The states the steps named ``labels`` reach, as far as the spec takes them."""
    states = list(spec.init())
    for label in labels:
        nxt = [t.state for t in spec.successors(states[-1]) if t.label == label]
        if not nxt:
            break
        assert len(nxt) == 1, label
        states.append(nxt[0])
    return states


def test_a_candidate_that_counts_pre_votes_elects_two_leaders() -> None:
    cfg = {"servers": 2, "max_term": 2, "max_log": 0, "max_messages": 2, "max_restarts": 0}
    bad = CountPreVotesRaft(**cfg)
    states = _walk(bad, COUNTS_PREVOTES)
    assert len(states) == len(COUNTS_PREVOTES) + 1 and all(map(bad.constraint, states))
    last = states[-1]
    assert last.state == (LEADER, LEADER) and last.current_term == (2, 2)
    election_safety = next(p for p in SAFETY if p.name == "election_safety")
    assert not election_safety.holds(bad, last)
    assert all(election_safety.holds(bad, s) for s in states[:-1])
    # etcd's rule: the same steps in the correct spec discard the late pre-vote, so s1,
    # with its own vote only, cannot lead (step 17)
    good = _walk(RaftPreVote(**cfg), COUNTS_PREVOTES)
    assert len(good) == 17 and good[-1].votes_granted[0] == frozenset({0})


def test_check_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "raft-prevote", "--max-log", "0"]) == 0
    out = capsys.readouterr().out
    assert "All properties hold." in out and "prevote=True check_quorum=True" in out
    assert main(["check", "raft-prevote", "--prevote", "maybe"]) == 2


def test_symmetry_and_the_hypothesis_machine() -> None:
    """Servers stay interchangeable with the pre-vote messages (the checker verifies the
    renaming), and the spec runs as a Hypothesis state machine."""
    reduced = check(RaftPreVote(**SMALL), SAFETY, symmetry=True)
    assert reduced.complete and reduced.violations == []
    assert reduced.distinct == 6895  # of 13,756 without: about half (2 servers)
    machine = state_machine(RaftPreVote(**SMALL), SAFETY)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=10, stateful_step_count=25, deadline=None, derandomize=True,
        database=None))
