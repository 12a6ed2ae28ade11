"""The vote lemmas in the --part complete invariant (symbolic/raft/votes.py over the
``votes_cast`` ghost): they are conjuncts of the invariant ``agree prove raft --part
complete`` checks, their own obligations are proved, and with them obligations the
invariant left unknown are proved; without the lemma they need, they are not. Each
Z3 verdict is asked in a fresh process (tests/_fresh.py): Z3's answers move with the
fresh names earlier queries used.
"""

from __future__ import annotations

import pytest
import z3
from _fresh import in_fresh_process

from agree.symbolic.prove import by_cases
from agree.symbolic.raft.driver import raft_encoding_for
from agree.symbolic.raft.history import RaftHistoryZ3
from agree.symbolic.raft.votes import VOTE_CONJUNCTS


def _encoding() -> RaftHistoryZ3:
    enc = raft_encoding_for("raft", servers=3, values=None, proof=True,
                            params={"max_restarts": -1}, part="complete")
    assert isinstance(enc, RaftHistoryZ3)
    return enc


def _proves(label: str, conjunct: str, timeout: float, drop: str | None = None) -> bool:
    """Ask one obligation as `agree prove` does (by cases where cases.py splits it, else
    whole), optionally without one conjunct of the invariant."""
    enc = _encoding()
    s = enc.fresh_state("s")
    inv = [c for c in enc.invariants(s) if c.name != drop]
    guard, t = enc.update(label, s, "p")
    goal = next(c.formula for c in enc.invariants(t) if c.name == conjunct)
    cases = enc.cases(label, conjunct, s, t, "p", goal)
    base = [*enc.axioms(), guard]
    if cases and by_cases(base, inv, goal, cases, timeout):
        return True
    sv = z3.Solver()
    sv.set(timeout=int(timeout * 1000))
    sv.add(*base, *(c.formula for c in inv), z3.Not(goal))
    return bool(sv.check() == z3.unsat)


def test_the_vote_lemmas_are_conjuncts_of_the_complete_invariant() -> None:
    enc = _encoding()
    names = [c.name for c in enc.invariants(enc.fresh_state("s"))]
    assert [n for n in names if n in VOTE_CONJUNCTS] == list(VOTE_CONJUNCTS)
    assert names[-2:] == ["leader_completeness", "state_machine_safety"]


def _vote_up_to_date_on_a_vote() -> None:
    assert _proves("HandleRequestVoteRequest", "vote_up_to_date", 60)
    # Without the request's log lemma the vote could be for a less up-to-date log.
    assert not _proves("HandleRequestVoteRequest", "vote_up_to_date", 5, drop="request_log")


def test_a_vote_keeps_vote_up_to_date_only_with_request_log() -> None:
    in_fresh_process("test_z3_raft_votes", "_vote_up_to_date_on_a_vote")


def _committed_kept_on_a_commit() -> None:
    assert _proves("AdvanceCommitIndex", "committed_kept", 60)
    assert not _proves("AdvanceCommitIndex", "committed_kept", 5, drop="acked_kept")


def test_a_commit_keeps_committed_kept_only_with_acked_kept() -> None:
    in_fresh_process("test_z3_raft_votes", "_committed_kept_on_a_commit")


#: Obligations symbolic/raft/cases_commit.py proves by instantiated facts (unknown, or
#: proved only in a fresh process, when asked whole): each a few seconds at most.
INSTANTIATED = (("BecomeLeader", "commit_in_later"), ("BecomeLeader", "leader_completeness"),
                ("BecomeLeader", "acked_in_later"), ("AdvanceCommitIndex", "leader_completeness"),
                ("ClientRequest", "acked_in_later"), ("BecomeLeader", "ack_msg_later"),
                ("HandleAppendEntriesRequest", "acked_kept"))


def _instantiated_splits() -> None:
    for label, conjunct in INSTANTIATED:
        assert _proves(label, conjunct, 30), (label, conjunct)
    # Each rests on the vote lemmas: without the one it instantiates, not proved.
    assert not _proves("BecomeLeader", "commit_in_later", 5, drop="committed_kept")
    assert not _proves("BecomeLeader", "acked_in_later", 5, drop="acked_kept")
    assert not _proves("AdvanceCommitIndex", "leader_completeness", 5, drop="acked_in_later")


def test_commit_and_ack_obligations_are_proved_by_instantiated_splits() -> None:
    in_fresh_process("test_z3_raft_votes", "_instantiated_splits")


def _in_flight_acknowledgements() -> None:
    # An acknowledgement in flight is as good as a recorded one (ack_msg_later): the
    # leader counting it, and a conflict truncating a log, keep the ack lemmas.
    assert _proves("HandleAppendEntriesResponse", "acked_in_later", 30)
    assert _proves("HandleAppendEntriesRequest", "ack_msg_kept", 30)
    assert _proves("HandleAppendEntriesRequest", "ack_msg_later", 30)
    assert not _proves("HandleAppendEntriesResponse", "acked_in_later", 5,
                       drop="ack_msg_later")
    assert not _proves("HandleAppendEntriesRequest", "ack_msg_later", 5, drop="leader_kept")


def test_in_flight_acknowledgements_keep_the_ack_lemmas() -> None:
    in_fresh_process("test_z3_raft_votes", "_in_flight_acknowledgements")


def _append_request_leader_completeness() -> None:
    assert _proves("HandleAppendEntriesRequest", "leader_completeness", 60)


# Reference tier: about 15 s of CPU (60 queries, one per branch and part).
@pytest.mark.reference
def test_append_request_keeps_leader_completeness() -> None:
    in_fresh_process("test_z3_raft_votes", "_append_request_leader_completeness")


def _vote_any_log_fails_with_a_reachable_cti() -> None:
    import contextlib
    import io
    import json

    from agree.cli.main import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["prove", "raft-vote-any-log", "--part", "complete", "--action",
                     "HandleRequestVoteRequest", "--first", "--timeout", "10",
                     "--reach-budget", "60", "--json"])
    doc = json.loads(out.getvalue())
    assert code == 1, doc["verdict"]
    bad = [o for o in doc["obligations"] if o["verdict"] == "counterexample"]
    assert [(o["action"], o["conjunct"]) for o in bad] == [
        ("HandleRequestVoteRequest", "vote_up_to_date")]
    assert bad[0]["counterexample"]["reachable"] == "reachable"
    assert bad[0]["counterexample"]["trace"] is not None


# Reference tier: about 40 s of CPU (Z3 gives up on the obligation, then the explicit
# search finds the CTI).
@pytest.mark.reference
def test_vote_any_log_fails_with_a_reachable_cti() -> None:
    """The zoo variant that grants votes to any log fails --part complete with a CTI the
    explicit model reaches (Z3 finds no model: the prover's explicit search does)."""
    in_fresh_process("test_z3_raft_votes", "_vote_any_log_fails_with_a_reachable_cti")


def _commit_old_term_fails_with_a_reachable_cti() -> None:
    import contextlib
    import io
    import json

    from agree.cli.main import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["prove", "raft-commit-old-term", "--part", "complete", "--action",
                     "AdvanceCommitIndex", "--first", "--timeout", "10",
                     "--reach-budget", "60", "--json"])
    doc = json.loads(out.getvalue())
    assert code == 1, doc["verdict"]
    bad = [o for o in doc["obligations"] if o["verdict"] == "counterexample"]
    assert [(o["action"], o["conjunct"]) for o in bad] == [
        ("AdvanceCommitIndex", "commit_in_grown")]
    assert bad[0]["counterexample"]["reachable"] == "reachable"
    assert bad[0]["counterexample"]["params"]["servers"] == 2


# Reference tier: about 2 min on a loaded machine (Z3 gives up on the obligation, then
# the explicit search finds the CTI in the 2-server configuration).
@pytest.mark.reference
def test_commit_old_term_fails_with_a_reachable_cti() -> None:
    """Figure 8's bug fails --part complete where the leader commits an earlier term's
    entry (commit_in_grown'), with a CTI the explicit model reaches: with 2 servers
    (the search's smaller configuration) in 25 steps; with the default 3 the
    breadth-first search does not get that deep in its budget."""
    in_fresh_process("test_z3_raft_votes", "_commit_old_term_fails_with_a_reachable_cti")
