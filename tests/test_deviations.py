"""The deviation catalogue, each deviation both ways: a run that makes it is refused
without it and accepted with it declared; a real bug is still refused with it on.

The runs are hand-driven (tests/_eventlogs.py): three servers, s1..s3 = nodes 0..2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _eventlogs import A, B, Run, ae, aer, refused, rv, rvr

from agree.conformance import deviations as dv

# -- self_vote_at_timeout -----------------------------------------------------------

def _timeout_votes_at_once(r: Run, leader_without_quorum: bool = False) -> None:
    r.batch(0, ("timeout",), ("send", rv(2, 0, 0, 0, 1)), ("send", rv(2, 0, 0, 0, 2)),
            term=2, role="Candidate", voted=0, vr=[0], vg=[0])
    if leader_without_quorum:
        r.batch(0, ("become_leader",), role="Leader", next=[1, 1, 1], match=[0, 0, 0])
        return
    m = rv(2, 0, 0, 0, 1)
    r.batch(1, ("receive", "UpdateTerm", m), ("receive", "HandleRequestVoteRequest", m),
            term=2, voted=0)
    r.batch(0, ("receive", "HandleRequestVoteResponse", rvr(2, True, 1, 0)),
            ("become_leader",), role="Leader", vr=[0, 1], vg=[0, 1],
            next=[1, 1, 1], match=[0, 0, 0])


def test_self_vote_at_timeout(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _timeout_votes_at_once(r)
    refused((rep := r.validate("none")).text, rep.ok)
    ok = r.validate(dv.SELF_VOTE_AT_TIMEOUT)
    assert ok.ok, ok.text
    assert ok.coverage["Timeout[self_vote_at_timeout]"] == 1


def test_self_vote_at_timeout_still_refuses_a_leader_without_a_quorum(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _timeout_votes_at_once(r, leader_without_quorum=True)
    report = r.validate(dv.SELF_VOTE_AT_TIMEOUT)
    refused(report.text, report.ok)
    assert "no spec step takes BecomeLeader there" in report.text


# -- persisted_commit_index ---------------------------------------------------------

def _commit_one(r: Run) -> None:
    """s1 leads term 2 and commits entry 1 (a) with s2."""
    r.elect()
    r.batch(0, ("client_request", b"a"), ("send", ae(2, 0, 0, [A], 0, 0, 1)), log=[A])
    m = ae(2, 0, 0, [A], 0, 0, 1)
    r.batch(1, ("receive", "NoConflictAppendEntriesRequest", m),
            ("receive", "AcceptAppendEntriesRequest", m), log=[A])
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 1, 1, 0)),
            ("advance_commit_index",), commit=1, next=[1, 2, 1], match=[0, 1, 0])


#: agree's default without persisted_commit_index (which it declares for its snapshots)
_NOT_PERSISTED = tuple(d for d in dv.DEFAULT if d != dv.PERSISTED_COMMIT_INDEX)


def test_persisted_commit_index(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _commit_one(r)
    r.batch(0, ("restart",), role="Follower", vr=[], vg=[], next=[1, 1, 1], match=[0, 0, 0])
    refusal = r.validate(*_NOT_PERSISTED)
    refused(refusal.text, refusal.ok)
    assert ("s1 restarted with commit_index 1 where raft.tla's Restart sets 0 (declare "
            "persisted_commit_index if it restores it from storage)") in refusal.text
    ok = r.validate(dv.PERSISTED_COMMIT_INDEX)
    assert ok.ok, ok.text
    assert ok.coverage["Restart[persisted_commit_index]"] == 1


def test_persisted_commit_index_takes_an_older_lazily_persisted_one(tmp_path: Path) -> None:
    """s1 committed entries 1 and 2 but had persisted only 1 (PySyncObj writes it once a
    second): it comes back with commit_index 1, older than its 2 but committed."""
    r = Run(tmp_path)
    _commit_two(r)
    r.batch(0, ("restart",), role="Follower", vr=[], vg=[], next=[1, 1, 1],
            match=[0, 0, 0], commit=1)
    refusal = r.validate(*_NOT_PERSISTED)
    refused(refusal.text, refusal.ok)
    ok = r.validate(dv.PERSISTED_COMMIT_INDEX)
    assert ok.ok, ok.text
    assert ok.coverage["Restart[persisted_commit_index]"] == 1


def test_persisted_commit_index_still_refuses_a_higher_commit_index(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _commit_one(r)
    r.batch(1, ("restart",), commit=1)  # s2 had commit_index 0: it invents one
    report = r.validate(dv.PERSISTED_COMMIT_INDEX)
    refused(report.text, report.ok)
    assert "commit_index[s2]: spec 0, log 1" in report.text


def test_persisted_commit_index_still_refuses_a_term_that_went_back(tmp_path: Path) -> None:
    """The refusal text is pinned: what went wrong, the inferred Restart, where."""
    r = Run(tmp_path)
    _commit_one(r)
    r.batch(1, term=1, voted=None)  # restarted without its term (not persisted)
    report = r.validate(dv.PERSISTED_COMMIT_INDEX)
    log0, log1 = r.paths[0], r.paths[1]
    assert not report.ok
    assert report.text == (
        "NOT a behaviour of the spec: s2 restarted with current_term 1, lower than the 2 it "
        "had before (current_term must survive a restart: is it persisted?)\n"
        f"  refused: {log1}:7, s2's batch (events: none), after a Restart the merge "
        "inferred\n"
        "  closest attempt: Restart(i=s2)\n"
        "  where it ends, the spec and the log differ:\n"
        "    current_term[s2]: spec 2, log 1\n"
        "    voted_for[s2]: spec s1, log Nil\n"
        f"  last batch that matched: {log0}:16 (s1); s2's last: {log1}:6 (s2)\n"
        "(6 batches merged before it; deviations declared: persisted_commit_index)\n")


# -- check_quorum_step_down ---------------------------------------------------------

def test_check_quorum_step_down(tmp_path: Path) -> None:
    """s1, leader with commit index 1, steps down in its term keeping its commit index:
    refused as raft.tla's Restart (which sets it to 0), accepted declared."""
    r = Run(tmp_path)
    _commit_one(r)
    r.batch(0, ("check_quorum_step_down",), role="Follower", vr=[], vg=[],
            next=[1, 1, 1], match=[0, 0, 0])
    refused((rep := r.validate("none")).text, rep.ok)
    ok = r.validate(dv.CHECK_QUORUM_STEP_DOWN)
    assert ok.ok, ok.text
    assert ok.coverage["CheckQuorumStepDown[check_quorum_step_down]"] == 1
    assert r.validate().ok  # agree's own server declares it by default


def test_check_quorum_step_down_is_not_a_restart_keeping_its_commit_index(
        tmp_path: Path) -> None:
    """Declared, a logged Restart of the leader still resets its commit index: only the
    step-down event keeps it."""
    r = Run(tmp_path)
    _commit_one(r)
    r.batch(0, ("restart",), role="Follower", vr=[], vg=[], next=[1, 1, 1], match=[0, 0, 0])
    refused((rep := r.validate(dv.CHECK_QUORUM_STEP_DOWN)).text, rep.ok)


def test_check_quorum_step_down_still_refuses_a_term_change(tmp_path: Path) -> None:
    """A step-down that also lowers the term (or a follower's) is refused."""
    r = Run(tmp_path)
    _commit_one(r)
    r.batch(1, ("check_quorum_step_down",), term=1)
    refused((rep := r.validate(dv.CHECK_QUORUM_STEP_DOWN)).text, rep.ok)


# -- pre_vote_term -------------------------------------------------------------------

def test_pre_vote_term(tmp_path: Path) -> None:
    """s3 (term 1) is refused a pre-vote by s1, leader of term 2, and takes term 2 as a
    follower without a vote (etcd): no raft.tla step (pre-votes are not its messages),
    accepted declared, as UpdateTerm to s1's term."""
    r = Run(tmp_path)
    r.elect()
    r.batch(2, ("pre_vote_term", 0, 2), term=2, voted=None)
    refused((rep := r.validate("none")).text, rep.ok)
    ok = r.validate(dv.PRE_VOTE_TERM)
    assert ok.ok, ok.text
    assert ok.coverage["PreVoteTerm[pre_vote_term]"] == 1
    assert r.validate().ok  # agree's own server declares it by default


def test_pre_vote_term_still_refuses_a_term_its_refuser_never_held(tmp_path: Path) -> None:
    """Declared, a pre-vote refusal from s1 cannot carry term 3: s1 holds 2."""
    r = Run(tmp_path)
    r.elect()
    r.batch(2, ("pre_vote_term", 0, 3), term=3, voted=None)
    refused((rep := r.validate(dv.PRE_VOTE_TERM)).text, rep.ok)
    assert "current_term[s3]: spec 1, log 3" in rep.text


def test_pre_vote_term_still_refuses_keeping_a_vote(tmp_path: Path) -> None:
    """Declared, s3 taking term 2 from a pre-vote refusal takes no vote with it."""
    r = Run(tmp_path)
    r.elect()
    r.batch(2, ("pre_vote_term", 0, 2), term=2, voted=0)
    refused((rep := r.validate(dv.PRE_VOTE_TERM)).text, rep.ok)
    assert "voted_for[s3]: spec Nil, log s1" in rep.text


def _commit_two(r: Run) -> None:
    """s1 leads term 2 and commits entries 1 (a) and 2 (b) with s2."""
    _commit_one(r)
    r.batch(0, ("client_request", b"b"), ("send", ae(2, 1, 2, [B], 1, 0, 1)), log=[A, B])
    m = ae(2, 1, 2, [B], 1, 0, 1)
    r.batch(1, ("receive", "NoConflictAppendEntriesRequest", m),
            ("receive", "AcceptAppendEntriesRequest", m), log=[A, B], commit=1)
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 2, 1, 0)),
            ("advance_commit_index",), commit=2, next=[1, 3, 1], match=[0, 2, 0])


def test_refusal_shows_the_closest_restart_variant(tmp_path: Path) -> None:
    """Of the Restart variants that get as far (commit_index 2, 1, or raft.tla's 0), the
    refusal shows the one closest to the log: s1 kept its commit index 2 but lost its
    term, so the term is the difference shown, not a commit_index it did keep."""
    r = Run(tmp_path)
    _commit_two(r)
    r.batch(0, term=1, voted=None, role="Follower", vr=[], vg=[], next=[1, 1, 1],
            match=[0, 0, 0])
    report = r.validate(dv.PERSISTED_COMMIT_INDEX)
    assert not report.ok
    assert "closest attempt: Restart[persisted_commit_index](i=s1)" in report.text
    assert "current_term[s1]: spec 2, log 1" in report.text
    assert "commit_index[s1]" not in report.text



def test_every_deviation_of_the_catalogue_is_tested() -> None:
    import sys

    import test_deviations_replication
    names = {n for m in (sys.modules[__name__], test_deviations_replication)
             for n in dir(m) if n.startswith("test_")}
    for name in dv.CATALOGUE:
        assert any(n.startswith(f"test_{name}") for n in names), name
        assert dv.CATALOGUE[name].doc, name  # documented (the docs page renders it)


def test_an_unknown_deviation_is_named() -> None:
    with pytest.raises(ValueError, match="unknown deviation 'nosuch'"):
        dv.resolve(["nosuch"])


def test_the_command_line_declares_deviations(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from agree.cli.main import main

    r = Run(tmp_path)
    _commit_one(r)
    r.batch(0, ("restart",), role="Follower", vr=[], vg=[], next=[1, 1, 1], match=[0, 0, 0])
    r.validate()  # closes the files
    logs = [str(p) for p in r.paths[:2]]
    assert main(["validate", "--deviation", "monotonic_commit_index", *logs]) == 1
    assert main(["validate", "--deviation", "persisted_commit_index",
                 "--deviation", "monotonic_commit_index", *logs]) == 0
    out = capsys.readouterr().out
    assert "deviations declared: monotonic_commit_index, persisted_commit_index" in out
    assert main(["validate", "--deviation", "nosuch", *logs]) == 2
    assert "unknown deviation 'nosuch'" in capsys.readouterr().err


def test_snapshot_prefix_maps_install_snapshot_and_still_refuses_a_dropped_entry() -> None:
    """snapshot_prefix (the conformance harness declares it, with the simulator): a
    follower caught up by InstallSnapshot conforms; a compaction that also drops the
    entry after the snapshot is refused."""
    from agree.conformance.bugs import seeded
    from agree.conformance.harness import ConformanceFailure
    from agree.conformance.raft_driver import RaftConformance

    def run() -> RaftConformance:
        c = RaftConformance(values=4, snapshot_every=2)
        c.timeout(0)
        while c.bag_size:
            c.deliver(0)
        c.partition([2])
        for v in range(4):
            c.propose(0, v)
            while c.bag_size:
                c.deliver(0)
        c.heal()
        for _ in range(10):
            c.tick(0)
            while c.bag_size:
                c.deliver(0)
        return c

    c = run()
    assert c.recorder.summary().get("AppendEntries[snapshot_prefix]", 0) >= 1
    assert c.sim.snapshots_installed and c.sim.snapshots_installed[0][0] == 2
    with pytest.raises(ConformanceFailure), seeded("snapshot-drops-an-entry"):
        run()
