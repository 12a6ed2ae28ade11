"""The deviation catalogue's replication deviations (pipelining, fast backup, batching,
late and reordered replies, commit index), each both ways, as in test_deviations.py: a
run that makes it is refused without it and accepted with it declared; a real bug is
still refused with it on."""

from __future__ import annotations

from pathlib import Path

import pytest
from _eventlogs import A, B, C, Run, ae, aer, refused, rv, rvr

from agree.conformance import deviations as dv
from agree.traces.trace import TraceError

# -- pipelined_next_index -------------------------------------------------------------

def _pipeline(r: Run, commit_on_send: bool = False) -> None:
    r.elect()
    r.batch(0, ("client_request", b"a"), ("send", ae(2, 0, 0, [A], 0, 0, 1)),
            log=[A], next=[1, 2, 1])
    if commit_on_send:  # counts next_index as if it were match_index
        r.batch(0, ("advance_commit_index",), commit=1)
        return
    r.batch(0, ("client_request", b"b"), ("send", ae(2, 1, 2, [B], 0, 0, 1)),
            log=[A, B], next=[1, 3, 1])
    for prev, entries, log in ((0, [A], [A]), (1, [B], [A, B])):
        m = ae(2, prev, 2 if prev else 0, entries, 0, 0, 1)
        r.batch(1, ("receive", "NoConflictAppendEntriesRequest", m),
                ("receive", "AcceptAppendEntriesRequest", m), log=log)
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 1, 1, 0)),
            ("advance_commit_index",), commit=1, match=[0, 1, 0])
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 2, 1, 0)),
            ("advance_commit_index",), commit=2, match=[0, 2, 0])


def test_pipelined_next_index(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _pipeline(r)
    refusal = r.validate()
    refused(refusal.text, refusal.ok)
    assert "next_index[s1]: spec [1, 1, 1], log [1, 2, 1]" in refusal.text
    ok = r.validate(dv.PIPELINED_NEXT_INDEX)
    assert ok.ok, ok.text
    assert ok.coverage["AppendEntries[pipelined_next_index]"] == 2
    assert ok.coverage["HandleAppendEntriesResponse[pipelined_next_index]"] == 1


def test_pipelined_next_index_still_refuses_a_commit_before_any_ack(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _pipeline(r, commit_on_send=True)
    report = r.validate(dv.PIPELINED_NEXT_INDEX)
    refused(report.text, report.ok)
    assert "commit_index[s1]: spec 0, log 1" in report.text


# -- fast_backup ------------------------------------------------------------------------

def _backup(r: Run, match_from_hint: bool = False, hint: int = 1) -> None:
    """s1 replicates a, b to s2 in term 2; s2 leads term 3 with s3's vote, its
    heartbeat to s3 fails, and s3's hint sends it back to index 1 at once."""
    r.elect()
    m = ae(2, 0, 0, [A, B], 0, 0, 1)
    r.batch(0, ("client_request", b"a"), ("client_request", b"b"), ("send", m), log=[A, B])
    r.batch(1, ("receive", "NoConflictAppendEntriesRequest", m),
            ("receive", "NoConflictAppendEntriesRequest", m),
            ("receive", "AcceptAppendEntriesRequest", m), log=[A, B])
    r.batch(1, ("timeout",), ("vote_for_self", 3, 2, 2), ("send", rv(3, 2, 2, 1, 2)),
            term=3, role="Candidate", voted=1, vr=[1], vg=[1], next=[1, 1, 1],
            match=[0, 0, 0])
    m = rv(3, 2, 2, 1, 2)
    r.batch(2, ("receive", "UpdateTerm", m), ("receive", "HandleRequestVoteRequest", m),
            term=3, voted=1)
    hb = ae(3, 2, 2, [], 0, 1, 2)
    r.batch(1, ("receive", "HandleRequestVoteResponse", rvr(3, True, 2, 1)),
            ("become_leader",), ("send", hb), role="Leader", vr=[1, 2], vg=[1, 2],
            next=[3, 3, 3])
    r.batch(2, ("receive", "RejectAppendEntriesRequest", hb))
    r.batch(1, ("receive", "HandleAppendEntriesResponse", aer(3, False, 0, 2, 1, hint=hint)),
            next=[3, 3, 1], match=[0, 0, 2] if match_from_hint else [0, 0, 0])


def test_fast_backup(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _backup(r)
    refusal = r.validate("none")
    refused(refusal.text, refusal.ok)
    assert "next_index[s2]: spec [3, 3, 2], log [3, 3, 1]" in refusal.text
    ok = r.validate(dv.FAST_BACKUP)
    assert ok.ok, ok.text
    assert ok.coverage["HandleAppendEntriesResponse[fast_backup]"] == 1


def test_fast_backup_takes_the_next_index_the_hint_names(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _backup(r, hint=2)  # the reply says 2, the leader's State says it took 1
    report = r.validate(dv.FAST_BACKUP)
    refused(report.text, report.ok)
    assert "next_index[s2]: spec [3, 3, 2], log [3, 3, 1]" in report.text


def test_fast_backup_still_refuses_a_match_taken_from_a_failure(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _backup(r, match_from_hint=True)
    report = r.validate(dv.FAST_BACKUP)
    refused(report.text, report.ok)
    assert "match_index[s2]: spec [0, 0, 0], log [0, 0, 2]" in report.text


# -- no_denial_replies ----------------------------------------------------------------

def _denied(r: Run, grant_twice: bool = False) -> None:
    """s3 stands in term 2 after s2 voted for s1: s2 denies, without replying."""
    r.elect()
    r.batch(2, ("timeout",), ("vote_for_self", 2, 0, 0), ("send", rv(2, 0, 0, 2, 1)),
            term=2, role="Candidate", voted=2, vr=[2], vg=[2])
    r.batch(1, ("receive", "HandleRequestVoteRequest", rv(2, 0, 0, 2, 1)),
            voted=2 if grant_twice else 0)


def test_no_denial_replies(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _denied(r)
    ok = r.validate(dv.NO_DENIAL_REPLIES)
    assert ok.ok, ok.text
    # raft.tla's network may lose the denial anyway, and a reply never received is
    # never looked for: the run validates without the deviation too (the catalogue says so)
    assert r.validate().ok
    assert ok.coverage["HandleRequestVoteRequest"] == 4  # two self-votes, a grant, the denial


def test_no_denial_replies_still_refuses_a_second_vote_in_a_term(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _denied(r, grant_twice=True)
    report = r.validate(dv.NO_DENIAL_REPLIES)
    refused(report.text, report.ok)
    assert "s2 voted for s3 in term 2, where it had voted for s1 in that term" in report.text
    assert "voted_for[s2]: spec s1, log s3" in report.text


# -- batched_entries ---------------------------------------------------------------------

def _batched(r: Run, invented: bool = False) -> None:
    r.elect()
    entries = [A, (2, b"x") if invented else B]
    two = ae(2, 0, 0, entries, 0, 0, 1)
    r.batch(0, ("client_request", b"a"), ("client_request", b"b"), ("client_request", b"c"),
            ("send", ae(2, 0, 0, [A, B, C], 0, 0, 2)), ("send", two), log=[A, B, C])
    r.batch(1, ("receive", "NoConflictAppendEntriesRequest", two),
            ("receive", "NoConflictAppendEntriesRequest", two),
            ("receive", "AcceptAppendEntriesRequest", two), log=entries)


def test_batched_entries(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _batched(r)
    refusal = r.validate("none")
    refused(refusal.text, refusal.ok)
    assert "no spec step takes AppendEntries there" in refusal.text
    ok = r.validate(dv.BATCHED_ENTRIES)
    assert ok.ok, ok.text
    assert ok.coverage["AppendEntries[batched_entries]"] == 1


def test_batched_entries_still_refuses_an_entry_the_leader_does_not_have(
        tmp_path: Path) -> None:
    r = Run(tmp_path)
    _batched(r, invented=True)
    report = r.validate(dv.BATCHED_ENTRIES)
    refused(report.text, report.ok)
    assert "no spec step takes AppendEntries there" in report.text


# -- replies_without_term ---------------------------------------------------------------

def _termless(r: Run, two_leaders: bool = False) -> None:
    """s1 stands in term 2, then again in term 3, and counts s2's term-2 vote (whose
    reply carries no term) in term 3. With two_leaders, s2 votes for s3 in term 3 too."""
    r.batch(0, ("timeout",), ("vote_for_self", 2, 0, 0), ("send", rv(2, 0, 0, 0, 1)),
            term=2, role="Candidate", voted=0, vr=[0], vg=[0])
    m = rv(2, 0, 0, 0, 1)
    r.batch(1, ("receive", "UpdateTerm", m), ("receive", "HandleRequestVoteRequest", m),
            term=2, voted=0)
    r.batch(0, ("timeout",), ("vote_for_self", 3, 0, 0), term=3, vr=[0], vg=[0])
    if two_leaders:
        r.batch(2, ("timeout",), ("timeout",), ("vote_for_self", 3, 0, 0),
                ("send", rv(3, 0, 0, 2, 1)), term=3, role="Candidate", voted=2, vr=[2],
                vg=[2])
        m = rv(3, 0, 0, 2, 1)
        r.batch(1, ("receive", "UpdateTerm", m), ("receive", "HandleRequestVoteRequest", m),
                term=3, voted=2)
        r.batch(2, ("receive", "HandleRequestVoteResponse", rvr(None, True, 1, 2)),
                ("become_leader",), role="Leader", vr=[1, 2], vg=[1, 2], next=[1, 1, 1],
                match=[0, 0, 0])
    r.batch(0, ("receive", "HandleRequestVoteResponse", rvr(None, True, 1, 0)),
            ("become_leader",), role="Leader", vr=[0, 1], vg=[0, 1], next=[1, 1, 1],
            match=[0, 0, 0])


def test_replies_without_term(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _termless(r)
    with pytest.raises(TraceError, match=r"without a term \(declare the replies_without_term"):
        r.validate()
    ok = r.validate(dv.REPLIES_WITHOUT_TERM)
    assert ok.ok, ok.text
    assert ok.coverage["HandleRequestVoteResponse[replies_without_term]"] == 1


def test_replies_without_term_still_refuses_two_leaders_in_a_term(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _termless(r, two_leaders=True)
    report = r.validate(dv.REPLIES_WITHOUT_TERM)
    assert not report.ok
    assert "is violated" in report.text, report.text


# -- monotonic_match_index ----------------------------------------------------------------

def _late_heartbeat(r: Run) -> dict[str, object]:
    """s1 leads term 2, heartbeats s2, then replicates a; s2 handles a first."""
    r.elect()
    old = ae(2, 0, 0, [], 0, 0, 1)
    r.batch(0, ("send", old))
    m = ae(2, 0, 0, [A], 0, 0, 1)
    r.batch(0, ("client_request", b"a"), ("send", m), log=[A])
    r.batch(1, ("receive", "NoConflictAppendEntriesRequest", m),
            ("receive", "AcceptAppendEntriesRequest", m), log=[A])
    return old


def _late_reply(r: Run, overshoot: bool = False) -> None:
    old = _late_heartbeat(r)
    r.batch(1, ("receive", "AcceptAppendEntriesRequest", old))
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 1, 1, 0)),
            ("advance_commit_index",), commit=1, next=[1, 2, 1],
            match=[0, 2 if overshoot else 1, 0])
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 0, 1, 0)))


def test_monotonic_match_index(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _late_reply(r)
    refusal = r.validate("none")
    refused(refusal.text, refusal.ok)
    assert "match_index[s1]: spec [0, 0, 0], log [0, 1, 0]" in refusal.text
    ok = r.validate(dv.MONOTONIC_MATCH_INDEX)
    assert ok.ok, ok.text
    assert ok.coverage["HandleAppendEntriesResponse[monotonic_match_index]"] == 1


def test_monotonic_match_index_still_refuses_a_match_beyond_the_reply(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _late_reply(r, overshoot=True)
    report = r.validate(dv.MONOTONIC_MATCH_INDEX)
    refused(report.text, report.ok)
    assert "match_index[s1]: spec [0, 1, 0], log [0, 2, 0]" in report.text


# -- monotonic_commit_index (the default) --------------------------------------------------

def _late_commit(r: Run, commit_ahead: bool = False) -> None:
    old = _late_heartbeat(r)
    if commit_ahead:  # s2 commits what the leader has not told it is committed
        r.batch(1, commit=1)
        return
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 1, 1, 0)),
            ("advance_commit_index",), commit=1, next=[1, 2, 1], match=[0, 1, 0])
    hb = ae(2, 1, 2, [], 1, 0, 1)
    r.batch(0, ("send", hb))
    r.batch(1, ("receive", "AcceptAppendEntriesRequest", hb), commit=1)
    r.batch(1, ("receive", "AcceptAppendEntriesRequest", old))  # keeps commit_index 1


def test_monotonic_commit_index_is_the_default(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _late_commit(r)
    refusal = r.validate("none")
    refused(refusal.text, refusal.ok)
    assert "commit_index[s2]: spec 0, log 1" in refusal.text
    ok = r.validate()
    assert ok.ok, ok.text
    assert ok.coverage["HandleAppendEntriesRequest[monotonic_commit_index]"] == 1
    assert "deviations declared: " + ", ".join(dv.DEFAULT) in ok.text
    assert "monotonic_commit_index" in dv.DEFAULT


def test_monotonic_commit_index_still_refuses_a_commit_ahead_of_the_leader(
        tmp_path: Path) -> None:
    r = Run(tmp_path)
    _late_commit(r, commit_ahead=True)
    report = r.validate()
    refused(report.text, report.ok)
    assert "commit_index[s2]: spec 0, log 1" in report.text


# -- uncapped_commit_index -----------------------------------------------------------------

def _uncapped(r: Run, follower_takes: int = 1) -> None:
    """s1 commits a, b with s2, then sends s3 entry 1 with its whole commit index, 2."""
    r.elect()
    m1 = ae(2, 0, 0, [A], 0, 0, 1)
    r.batch(0, ("client_request", b"a"), ("send", m1), log=[A])
    r.batch(1, ("receive", "NoConflictAppendEntriesRequest", m1),
            ("receive", "AcceptAppendEntriesRequest", m1), log=[A])
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 1, 1, 0)),
            ("advance_commit_index",), commit=1, next=[1, 2, 1], match=[0, 1, 0])
    m2 = ae(2, 1, 2, [B], 1, 0, 1)
    r.batch(0, ("client_request", b"b"), ("send", m2), log=[A, B])
    r.batch(1, ("receive", "NoConflictAppendEntriesRequest", m2),
            ("receive", "AcceptAppendEntriesRequest", m2), log=[A, B], commit=1)
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 2, 1, 0)),
            ("advance_commit_index",), commit=2, next=[1, 3, 1], match=[0, 2, 0])
    m3 = ae(2, 0, 0, [A], 2, 0, 2)  # raft.tla's leader would send commit_index 1
    r.batch(0, ("send", m3))
    r.batch(2, ("receive", "UpdateTerm", m3), ("receive", "NoConflictAppendEntriesRequest", m3),
            ("receive", "AcceptAppendEntriesRequest", m3), term=2, log=[A],
            commit=follower_takes)


def test_uncapped_commit_index(tmp_path: Path) -> None:
    r = Run(tmp_path)
    _uncapped(r)
    refusal = r.validate()
    refused(refusal.text, refusal.ok)
    assert "no spec step takes AppendEntries there" in refusal.text
    ok = r.validate(dv.UNCAPPED_COMMIT_INDEX, dv.MONOTONIC_COMMIT_INDEX)
    assert ok.ok, ok.text
    assert ok.coverage["AppendEntries[uncapped_commit_index]"] == 1
    assert ok.coverage["HandleAppendEntriesRequest[uncapped_commit_index]"] == 1


def test_uncapped_commit_index_still_refuses_a_follower_that_takes_it_whole(
        tmp_path: Path) -> None:
    r = Run(tmp_path)
    _uncapped(r, follower_takes=2)  # beyond the request's last entry: not verified
    report = r.validate(dv.UNCAPPED_COMMIT_INDEX, dv.MONOTONIC_COMMIT_INDEX)
    refused(report.text, report.ok)
    assert "commit_index[s3]: spec 1, log 2" in report.text
