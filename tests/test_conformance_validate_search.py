"""`agree validate`'s search over sends the logs lack, on deterministic logs.

The logs come from impl/sim.py's seeded cluster (no sockets, no clock), each Ready
written by the server's own event-log writer (KVServer._log_events), in a run with a
killed and restarted leader. Send events are then cut out of the logs, as a process
killed between sending and logging would leave them: validation must still accept
the run, by searching for the missing send steps (and say which it assumed), and must
refuse a log whose event was corrupted, naming the line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import pytest
from _prevote_deadlock import build_deadlock

from agree.cli.main import main
from agree.conformance import deviations as dv
from agree.conformance import validate_logs
from agree.conformance.validate_logs import validate_files
from agree.eventlog import EventLogWriter
from agree.impl.raft import Config, RaftCore, Ready
from agree.impl.server_events import log_ready, ready_state
from agree.impl.sim import SimNode, Simulator


class _LoggingSimulator(Simulator):
    """A Simulator whose nodes write the event log `agree serve --event-log` writes."""

    def __init__(self, files: list[IO[str]], seed: int, config: Config) -> None:
        self.files = files
        super().__init__(len(files), seed, config)

    def _new_core(self, node: SimNode) -> RaftCore:
        core = super()._new_core(node)
        take = core.ready
        writer = EventLogWriter(self.files[node.id], node.id)

        def ready() -> Ready:
            r = take()
            if not r.is_empty():
                log_ready(writer, r, ready_state(core, r))
            return r

        core.ready = ready  # type: ignore[method-assign]
        return core


def _run(tmp: Path) -> list[Path]:
    """Elect, write 3 values, kill the leader, elect again, write 3 more, restart the old
    leader and let it catch up. Returns the three logs; the same every time."""
    paths = [tmp / f"events{k}.jsonl" for k in range(3)]
    files = [p.open("w", encoding="utf-8") for p in paths]
    try:
        sim = _LoggingSimulator(files, 7, Config(election_ticks=5, heartbeat_ticks=2,
                                                 max_batch=4, trace=True))
        old = sim.elect()
        for v in range(3):
            assert sim.propose(old, f"v{v}".encode()) is not None
            sim.run_until(lambda s: not s.bag)
        sim.crash(old)
        new = sim.elect()
        assert new != old
        for v in range(3, 6):
            assert sim.propose(new, f"v{v}".encode()) is not None
            sim.run_until(lambda s: not s.bag)
        sim.restart(old)
        sim.run_until(lambda s: s.core(old).commit_index >= 8 and not s.bag)
        assert sim.core(old).commit_index == 8  # six values and the two leaders' no-ops
    finally:
        for f in files:
            f.close()
    return paths


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _run(tmp_path_factory.mktemp("sim"))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, objs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))
    return path


def test_the_run_is_the_same_every_time(logs: list[Path], tmp_path: Path) -> None:
    again = _run(tmp_path)
    assert [p.read_text() for p in again] == [p.read_text() for p in logs]


def test_the_whole_logs_validate_without_search(logs: list[Path]) -> None:
    report = validate_files([str(p) for p in logs])
    assert report.ok, report.text
    assert not any("unlogged" in n for n in report.notes)
    assert report.coverage["Restart"] == 1 and report.coverage["BecomeLeader"] >= 2


def _cut(logs: list[Path], out: Path, action: str, keep: int = 0) -> tuple[list[Path], int]:
    """The logs with every `action` event to another server (a send) cut out, except
    the first `keep` of them; returns the new logs and how many events were cut."""
    paths, cut, seen = [], 0, 0
    for p in logs:
        objs = []
        for o in _lines(p):
            if o["action"] == action and o["args"]["i"] != o["args"]["j"]:
                seen += 1
                if seen > keep:
                    cut += 1
                    continue
            objs.append(o)
        paths.append(_write(out / p.name, objs))
    return paths, cut


@pytest.mark.parametrize("action", ["RequestVote", "AppendEntries"])
def test_sends_cut_from_the_logs_are_found_by_search(logs: list[Path], tmp_path: Path,
                                                     action: str) -> None:
    paths, cut = _cut(logs, tmp_path, action)
    assert cut >= 4
    report = validate_files([str(p) for p in paths])
    assert report.ok, report.text
    assumed = [n for n in report.notes if n.startswith(f"an unlogged {action}(")]
    assert assumed, report.notes
    assert len(assumed) <= cut  # only sends that were cut, each assumed at most once
    assert report.coverage.get(action, 0) >= len(assumed)


def test_without_the_search_the_cut_logs_are_refused(logs: list[Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The search is what accepts them: switched off, the merge waits forever."""
    paths, _ = _cut(logs, tmp_path, "AppendEntries")
    monkeypatch.setattr(validate_logs._Validator, "unlogged_send", lambda self: False)
    report = validate_files([str(p) for p in paths])
    assert not report.ok
    assert "every server waits for a message never sent" in report.text


def test_a_send_its_sender_could_no_longer_make_is_found_earlier(logs: list[Path],
                                                                 tmp_path: Path) -> None:
    """A candidate's RequestVote cut from its log: by the time its peer waits for it, the
    candidate leads (it won with the other vote), so the search goes back to where it
    was still a candidate."""
    objs = _lines(logs[0])
    first = next(n for n, o in enumerate(objs) if o["action"] == "RequestVote"
                 and o["args"]["j"] not in (o["args"]["i"], 1))
    paths = [_write(tmp_path / logs[0].name, objs[:first] + objs[first + 1:]),
             *(_write(tmp_path / p.name, _lines(p)) for p in logs[1:])]
    report = validate_files([str(p) for p in paths])
    assert report.ok, report.text
    assert "an unlogged RequestVote(s1, s3) was assumed" in report.text


def test_a_corrupted_event_is_refused_with_its_line(logs: list[Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    victim = next(k for k, p in enumerate(logs)
                  if any(o["action"] == "AcceptAppendEntriesRequest" for o in _lines(p)))
    objs = _lines(logs[victim])
    line = next(n for n, o in enumerate(objs) if o["action"] == "AcceptAppendEntriesRequest")
    objs[line]["args"]["m"]["term"] += 5  # a request of a term no leader ever had
    bad = _write(tmp_path / logs[victim].name, objs)
    paths = [str(bad if k == victim else p) for k, p in enumerate(logs)]
    assert main(["validate", *paths]) == 1
    out = capsys.readouterr().out
    assert "NOT a behaviour of the spec: every server waits for a message never sent" in out
    # the report points at the corrupted line, and the message no server sent
    m = objs[line]["args"]["m"]
    state_line = next(n for n in range(line, len(objs)) if objs[n]["action"] == "State") + 1
    assert (f"at {bad}:{state_line} needs s{m['source'] + 1}->s{m['dest'] + 1} "
            f"AppendEntriesRequest term={m['term']} ") in out


def test_the_servers_fast_backup_validates_by_default_and_only_with_it(tmp_path: Path) -> None:
    """A follower back after missing entries meets a new leader, which jumps next_index to
    the rejection's hint: the server's logs write that jump as the reply's ``hint``; the
    default deviations accept it, raft.tla's one-step backup does not."""
    paths = [tmp_path / f"events{k}.jsonl" for k in range(3)]
    files = [p.open("w", encoding="utf-8") for p in paths]
    try:
        sim = _LoggingSimulator(files, 11, Config(election_ticks=5, heartbeat_ticks=2,
                                                  max_batch=4, trace=True))
        old = sim.elect()
        lag = (old + 1) % 3
        sim.crash(lag)
        for v in range(5):
            assert sim.propose(old, f"v{v}".encode()) is not None
            sim.run_until(lambda s: not s.bag)
        sim.crash(old)
        sim.restart(old)
        new = sim.elect()
        assert new != lag
        sim.restart(lag)
        assert sim.run_until(lambda s: s.core(lag).log == s.core(new).log and not s.bag)
    finally:
        for f in files:
            f.close()
    hints = [o["args"]["m"]["hint"] for p in paths for o in _lines(p)
             if o["action"] == "HandleAppendEntriesResponse" and "hint" in o["args"]["m"]]
    assert hints
    report = validate_files([str(p) for p in paths])
    assert report.ok, report.text
    assert report.coverage["HandleAppendEntriesResponse[fast_backup]"] >= 1
    without = validate_files([str(p) for p in paths], deviations=[
        "batched_entries", "monotonic_match_index", "monotonic_commit_index"])
    assert not without.ok
    assert "next_index" in without.text, without.text


def test_a_prevote_refusals_term_taken_validates_by_default_and_only_with_it(
        tmp_path: Path) -> None:
    """The seed-9422 deadlock (tests/_prevote_deadlock.py) and its way out, written by
    the server's event-log writer: a refused pre-vote's term taken is ``PreVoteTerm``,
    which the default deviations accept (pre_vote_term) and raft.tla alone does not."""
    paths = [tmp_path / f"events{k}.jsonl" for k in range(3)]
    files = [p.open("w", encoding="utf-8") for p in paths]
    try:
        sim = _LoggingSimulator(files, 7, Config(trace=True))
        build_deadlock(sim)
        assert sim.run_until(lambda s: s.leader() is not None, 20_000)
    finally:
        for f in files:
            f.close()
    assert any(o["action"] == "PreVoteTerm" for p in paths for o in _lines(p))
    report = validate_files([str(p) for p in paths])
    assert report.ok, report.text
    assert report.coverage["PreVoteTerm[pre_vote_term]"] >= 1
    without = validate_files([str(p) for p in paths], deviations=[
        d for d in dv.DEFAULT if d != dv.PRE_VOTE_TERM])
    assert not without.ok
    assert "PreVoteTerm" in without.text, without.text
