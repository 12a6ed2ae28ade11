"""The event-log schemas and agree.eventlog's writer: good and bad lines, empty and
truncated logs, and the writer's output through `agree validate`."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from _eventlogs import Run, ae, aer, rvr

from agree.cli.main import main
from agree.conformance.event_log import line_error, read_logs, schema
from agree.conformance.validate_logs import validate_files
from agree.eventlog import EventLogWriter, append_entries, request_vote
from agree.traces.trace import TraceError

_GOOD_RAFT: list[dict[str, Any]] = [
    {"node": 0, "action": "Timeout", "args": {"i": 0}},
    {"node": 0, "action": "RequestVote", "args": {"i": 0, "j": 1}},
    {"node": 0, "action": "AppendEntries",
     "args": {"i": 0, "j": 1, "m": ae(2, 0, 0, [(2, b"x")], 0, 0, 1)}},
    {"node": 1, "action": "HandleAppendEntriesResponse", "args": {"m": aer(2, False, 0, 1, 0,
                                                                          hint=1)}},
    {"node": 1, "action": "ClientRequest", "args": {"i": 1, "v": "eD0x"}},
    {"node": 2, "action": "State", "args": {"current_term": 2, "role": "Follower",
                                            "voted_for": None, "commit_index": 0}},
    {"node": 2, "action": "State", "args": {
        "current_term": 3, "role": "Leader", "voted_for": 2, "commit_index": 1,
        "votes_responded": [1, 2], "votes_granted": [2], "next_index": [2, 2, 2],
        "match_index": [0, 1, 0], "log_from": 1, "log_suffix": [[3, "eA=="]]}},
]

_BAD_RAFT: list[tuple[dict[str, Any], str]] = [
    ({"action": "Timeout", "args": {"i": 0}}, "the line must contain ['node'] properties"),
    ({"node": 0, "action": "Tick", "args": {}}, "action must be one of ['State'"),
    ({"node": -1, "action": "Timeout", "args": {"i": 0}}, "node must be bigger than or equal to 0"),
    ({"node": 0, "action": "Timeout", "args": {}}, "args must contain ['i'] properties"),
    ({"node": 0, "action": "State", "args": {"current_term": 0, "role": "Follower",
                                             "voted_for": None, "commit_index": 0}},
     "args.current_term must be bigger than or equal to 1"),
    ({"node": 0, "action": "State", "args": {"current_term": 1, "role": "Boss",
                                             "voted_for": None, "commit_index": 0}},
     "args.role must be one of ['Follower', 'Candidate', 'Leader']"),
    ({"node": 0, "action": "State", "args": {"current_term": 1, "role": "Follower",
                                             "voted_for": None, "commit_index": 0,
                                             "log_from": 1}},
     "args missing dependency log_suffix for log_from"),
    ({"node": 0, "action": "ClientRequest", "args": {"i": 0, "v": "not base64!"}},
     "args.v must match pattern"),
    ({"node": 1, "action": "HandleRequestVoteRequest", "args": {"m": {
        "t": "RequestVoteRequest", "term": 2, "last_log_term": 0, "source": 0, "dest": 1}}},
     "args.m must contain ['last_log_index'] properties"),
    ({"node": 1, "action": "AcceptAppendEntriesRequest", "args": {"m": {
        **ae(2, 0, 0, [], 0, 0, 1), "entries": [[0, "eA=="]]}}},
     "args.m.entries[0][0] must be bigger than or equal to 1"),
]


@pytest.mark.parametrize("line", _GOOD_RAFT, ids=lambda o: str(o["action"]))
def test_the_raft_schema_accepts_good_lines(line: dict[str, Any]) -> None:
    assert line_error(line) is None


@pytest.mark.parametrize(("line", "error"), _BAD_RAFT, ids=lambda x: str(x)[:40])
def test_the_raft_schema_names_what_is_wrong(line: dict[str, Any], error: str) -> None:
    got = line_error(line)
    assert got is not None and got.startswith(error), got


_PAXOS = [
    ({"node": 0, "action": "Phase1a", "args": {"m": {"t": "Prepare", "ballot": [1, 0],
                                                      "source": 0, "dest": 1}}}, None),
    ({"node": 1, "action": "Phase1b", "args": {
        "m": {"t": "Prepare", "ballot": [1, 0], "source": 0, "dest": 1},
        "reply": {"t": "Promise", "ballot": [1, 0], "max_vbal": None, "max_val": None,
                  "source": 1, "dest": 0}}}, None),
    ({"node": 1, "action": "Phase2b", "args": {
        "m": {"t": "MAccept", "ballot": [2, 1], "slot": 3, "value": "eA==", "source": 1,
              "dest": 2},
        "reply": {"t": "MAccepted", "ballot": [2, 1], "slot": 3, "value": "eA==",
                  "source": 2, "dest": 1}}}, None),
    ({"node": 2, "action": "State", "args": {"max_bal": [2, 1], "votes": [
        {"slot": 3, "ballot": [2, 1], "value": "eA=="}]}}, None),
    ({"node": 0, "action": "Phase1a", "args": {"m": {"t": "Prepare", "ballot": [0, 0],
                                                      "source": 0, "dest": 1}}},
     "args.m.ballot[0] must be bigger than or equal to 1"),
    ({"node": 1, "action": "Phase2b", "args": {"m": {
        "t": "Accept", "ballot": [1, 0], "value": "eA==", "source": 0, "dest": 1}}},
     "args must contain ['reply'] properties"),
]


@pytest.mark.parametrize(("line", "error"), _PAXOS, ids=lambda x: str(x)[:40])
def test_the_paxos_schema(line: dict[str, Any], error: str | None) -> None:
    got = line_error(line, "paxos")
    assert got == error if error is None else (got or "").startswith(error), got


def test_both_schemas_are_versioned_draft_07() -> None:
    import fastjsonschema

    for protocol in ("raft", "paxos"):
        s = schema(protocol)
        fastjsonschema.compile(s)  # raises on a schema it cannot read
        assert s["$schema"] == "http://json-schema.org/draft-07/schema#"
        assert s["$id"].endswith(f"{protocol}-event-log.v1.schema.json")


def _write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text)
    return str(path)


def test_the_first_bad_line_is_named(tmp_path: Path) -> None:
    good = json.dumps(_GOOD_RAFT[5])
    bad = json.dumps({"node": 0, "action": "State", "args": {"role": "Follower"}})
    path = _write(tmp_path, "e.jsonl", f"{good}\n{good}\n{bad}\n{bad}\n")
    with pytest.raises(TraceError) as err:
        read_logs([path])
    assert str(err.value) == (f"{path}:3: not an event-log line of the schema "
                              "(raft-event-log.v1.schema.json): args must contain "
                              "['commit_index', 'current_term', 'voted_for'] properties")


@pytest.mark.parametrize(("text", "error"), [
    ("", "the event log is empty"),
    ("\n\n", "the event log is empty"),
    (json.dumps(_GOOD_RAFT[0]) + "\n", "no State line: not one batch was finished"),
])
def test_empty_logs_are_errors(tmp_path: Path, text: str, error: str) -> None:
    path = _write(tmp_path, "e.jsonl", text)
    with pytest.raises(TraceError, match=error):
        read_logs([path])


def test_a_truncated_log_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     ) -> None:
    good = json.dumps(_GOOD_RAFT[5])
    path = _write(tmp_path, "e.jsonl", f"{good}\n{good[:20]}")
    assert main(["validate", path]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}:2: the last line is cut short (a truncated log: its writer killed "
        "mid-line?)\n")


def test_an_unfinished_batch_is_ignored_with_a_note(tmp_path: Path) -> None:
    r = Run(tmp_path)
    r.elect()
    for w in r.writers:
        w.close()
    with r.paths[0].open("a") as f:  # a Timeout, and the process killed before its State
        f.write(json.dumps(_GOOD_RAFT[0]) + "\n")
    report = r.validate()
    assert report.ok, report.text
    assert any("1 trailing events of s1 without their State line" in n for n in report.notes)


def test_the_writer_round_trips_through_agree_validate(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       ) -> None:
    """A hand-driven run: an election, one entry replicated and committed."""
    r = Run(tmp_path)
    r.elect()
    vote = request_vote(2, 0, 0, 0, 2)
    r.batch(2, ("receive", "UpdateTerm", vote), ("receive", "HandleRequestVoteRequest", vote),
            term=2, voted=0)
    m = ae(2, 0, 0, [(2, b"x=1")], 0, 0, 1)
    r.batch(0, ("client_request", b"x=1"), ("send", m), log=[(2, b"x=1")])
    r.batch(1, ("receive", "NoConflictAppendEntriesRequest", m),
            ("receive", "AcceptAppendEntriesRequest", m), log=[(2, b"x=1")])
    r.batch(0, ("receive", "HandleAppendEntriesResponse", aer(2, True, 1, 1, 0)),
            ("advance_commit_index",), commit=1, next=[1, 2, 1], match=[0, 1, 0])
    for w in r.writers:
        w.close()
    for path in r.paths:  # every line the writer wrote is one the schema accepts
        for line in path.read_text().splitlines():
            assert line_error(json.loads(line)) is None, line
    assert main(["validate", *(str(p) for p in r.paths)]) == 0
    out = capsys.readouterr().out
    assert "the run is a behaviour of the Raft spec" in out
    assert "AdvanceCommitIndex                             1" in out


def test_the_writer_refuses_what_the_schema_would() -> None:
    w = EventLogWriter(io.StringIO(), node=0)
    with pytest.raises(ValueError, match=r"send\(\) takes a request"):
        w.send(aer(2, True, 1, 0, 1))
    with pytest.raises(ValueError, match="unknown handler"):
        w.receive("Handle", request_vote(2, 0, 0, 1, 0))
    with pytest.raises(ValueError, match="role must be"):
        w.state(1, "leader", None, 0)
    with pytest.raises(ValueError, match="go together"):
        w.state(1, "Follower", None, 0, log_from=1)


def test_a_batch_is_written_whole_or_not_at_all() -> None:
    out = io.StringIO()
    w = EventLogWriter(out, node=3)
    w.timeout()
    assert out.getvalue() == ""  # nothing until state()
    w.state(2, "Candidate", 3, 0)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["action"] for x in lines] == ["Timeout", "State"]
    assert lines[1] == {"node": 3, "action": "State", "args": {
        "current_term": 2, "role": "Candidate", "voted_for": 3, "commit_index": 0}}


def test_max_batch_defaults_to_the_logs(tmp_path: Path) -> None:
    """--max-batch's help says 'from the logs': a request of 2 entries makes it 2 (the
    default was 64, so raft.tla's leader would have sent all 3 entries)."""
    r = Run(tmp_path)
    r.elect()
    m = ae(2, 0, 0, [(2, b"a"), (2, b"b")], 0, 0, 1)
    r.batch(0, ("client_request", b"a"), ("client_request", b"b"), ("client_request", b"c"),
            ("send", m), log=[(2, b"a"), (2, b"b"), (2, b"c")])
    report = r.validate("none")  # the default declares batched_entries: any count
    assert report.ok, report.text
    assert "entries per AppendEntries: 2" in report.text
    assert not r.validate("none", max_batch=64).ok


def test_a_batch_waiting_for_the_reply_to_its_own_request_is_named(tmp_path: Path) -> None:
    """The first pitfall of a new writer: one batch per tick, holding a request and the
    handling of its reply, can never be placed (its receive waits for its own send)."""
    r = Run(tmp_path)
    r.batch(0, ("timeout",), ("vote_for_self", 2, 0, 0), ("send", request_vote(2, 0, 0, 0, 1)),
            ("receive", "HandleRequestVoteResponse", rvr(2, True, 1, 0)), ("become_leader",),
            term=2, role="Leader", voted=0, vr=[0, 1], vg=[0, 1], next=[1, 1], match=[0, 0])
    m = request_vote(2, 0, 0, 0, 1)
    r.batch(1, ("receive", "UpdateTerm", m), ("receive", "HandleRequestVoteRequest", m),
            term=2, voted=0)
    report = r.validate()
    assert not report.ok
    assert "every server waits for a message never sent" in report.text
    assert ("needs s2->s1 RequestVoteResponse term=2 granted (a reply to a request this "
            "same batch sends to s2? end a batch, with its State line, before its requests "
            "are answered)") in report.text


def test_the_writer_docstring_example_validates(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The usage example at the top of agree/eventlog.py, run after an election."""
    import textwrap

    import agree.eventlog

    doc = agree.eventlog.__doc__ or ""
    code = textwrap.dedent(doc.split("::\n", 1)[1].split("\nA candidate", 1)[0])
    r = Run(tmp_path)
    r.elect()
    for w in r.writers:
        w.close()
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "agree/eventlog.py docstring", "exec"), {})
    report = validate_files([str(r.paths[0]), str(r.paths[1])])
    assert report.ok, report.text
    assert report.coverage["AdvanceCommitIndex"] == 1


def _handled(current_term: int, role: str, log_terms: list[int], prev: int, prev_term: int,
             entry_terms: list[int], term: int = 2) -> tuple[bool, list[str]]:
    out = io.StringIO()
    w = EventLogWriter(out, node=1)
    m = append_entries(term, prev, prev_term, [(t, b"v") for t in entry_terms], 0,
                       source=0, dest=1)
    ok = w.receive_append_entries(m, current_term, role, log_terms)
    w.state(current_term=term, role="Follower", voted_for=None, commit_index=0)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return ok, [line["action"] for line in lines[:-1]]  # the last: the State line


def test_receive_append_entries_takes_raft_tla_steps_one_at_a_time() -> None:
    # a follower whose log [1, 1, 1] conflicts after index 1 with two entries of term 2:
    # raft.tla removes the last entry twice, appends the two, then accepts
    assert _handled(2, "Follower", [1, 1, 1], 1, 1, [2, 2]) == (True, [
        "ConflictAppendEntriesRequest", "ConflictAppendEntriesRequest",
        "NoConflictAppendEntriesRequest", "NoConflictAppendEntriesRequest",
        "AcceptAppendEntriesRequest"])
    # entries it already has: accepted at once
    assert _handled(2, "Follower", [1, 2], 1, 1, [2]) == (True, ["AcceptAppendEntriesRequest"])
    # a candidate of the same term returns to follower first
    assert _handled(2, "Candidate", [], 0, 0, [2]) == (True, [
        "ReturnToFollowerState", "NoConflictAppendEntriesRequest",
        "AcceptAppendEntriesRequest"])
    # a newer term makes it a follower (its UpdateTerm is the caller's): no return step
    assert _handled(1, "Candidate", [], 0, 0, []) == (True, ["AcceptAppendEntriesRequest"])
    # a missing or mismatched previous entry, or an older term: rejected
    assert _handled(2, "Follower", [1], 2, 1, [2]) == (False, ["RejectAppendEntriesRequest"])
    assert _handled(2, "Follower", [1], 1, 2, [2]) == (False, ["RejectAppendEntriesRequest"])
    assert _handled(3, "Follower", [], 0, 0, [2]) == (False, ["RejectAppendEntriesRequest"])
