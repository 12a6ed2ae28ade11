"""`agree validate` of event logs of runs with membership changes, held to raft-reconfig.

The logs come from impl/sim.py's seeded cluster, each Ready written by the server's own
event-log writer (as in test_conformance_validate_search.py), with the
InitialConfiguration line `agree serve --event-log` writes: four servers, s1..s3 voting
at first; the leader adds s4 (caught up as a learner first), then removes a follower.
The last test does the same with real processes and `agree cluster add/remove`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from _cli import run
from _nodes import NodeCluster
from test_conformance_validate_search import _LoggingSimulator

from agree.cli.main import main
from agree.conformance.raft_bugs import COUNTS_BEFORE_CATCH_UP
from agree.conformance.validate_logs import validate_files
from agree.eventlog import EventLogWriter
from agree.impl.client import KVClient
from agree.impl.raft import Config


def _run(tmp: Path, voters: tuple[int, ...] = (0, 1, 2), changes: bool = True) -> list[str]:
    """Elect, write, add s4, remove a follower, write again (with ``changes``); the logs."""
    paths = [tmp / f"events{k}.jsonl" for k in range(4)]
    files = [p.open("w", encoding="utf-8") for p in paths]
    try:
        for k, f in enumerate(files):
            EventLogWriter(f, k).initial_configuration(voters, 4)
        sim = _LoggingSimulator(files, 1, Config(voters=voters, election_ticks=5,
                                                 heartbeat_ticks=2, max_batch=4, trace=True))
        leader = sim.elect()
        for v in range(2):
            assert sim.propose(leader, f"v{v}".encode()) is not None
            sim.run_until(lambda s: not s.bag)
        if changes:
            assert sim.add_server(leader, 3) is not None
            assert sim.run_until(lambda s: not s.bag and 3 in s.core(leader).voters, 5000)
            sim.advance(2)
            sim.run_until(lambda s: not s.bag)
            gone = next(k for k in voters if k != leader)
            assert sim.remove_server(leader, gone) is not None
            assert sim.run_until(lambda s: not s.bag and gone not in s.core(leader).voters,
                                 5000)
            sim.advance(2)
            sim.run_until(lambda s: not s.bag)
        assert sim.propose(leader, b"v9") is not None
        sim.run_until(lambda s: not s.bag)
    finally:
        for f in files:
            f.close()
    return [str(p) for p in paths]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _run(tmp_path_factory.mktemp("membership"))


def _lines(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _write(path: Path, objs: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))
    return str(path)


def test_a_run_with_an_add_and_a_remove_is_a_behaviour_of_raft_reconfig(
        logs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    report = validate_files(logs)
    assert report.ok, report.text
    assert "behaviour of raft-reconfig" in report.text
    assert "initial voters {s1, s2, s3} of 4 servers" in report.text
    for step in ("AddServer", "RemoveServer", "AppendEntries[learner_catch_up]"):
        assert report.coverage.get(step, 0) >= 1, (step, report.coverage)
    assert main(["validate", *logs]) == 0
    assert "raft-reconfig" in capsys.readouterr().out


def test_a_run_without_changes_is_still_held_to_raft_tla(tmp_path: Path) -> None:
    report = validate_files(_run(tmp_path, voters=(0, 1, 2, 3), changes=False))
    assert report.ok, report.text
    assert "behaviour of the Raft spec" in report.text


def test_the_seeded_bug_counts_before_catch_up_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bug = COUNTS_BEFORE_CATCH_UP
    monkeypatch.setattr(bug.target, bug.attr, bug.replacement)
    report = validate_files(_run(tmp_path))
    assert not report.ok
    first, rest = report.text.split("\n", 1)
    assert first.startswith("NOT a behaviour of the spec: "), first
    assert "AddServer" in rest and "match_index" in rest, report.text


def test_a_tampered_membership_event_is_refused(logs: list[str], tmp_path: Path) -> None:
    """The leader's AddServer names another server than the one its entry adds."""
    out = []
    for path in logs:
        objs = _lines(path)
        for o in objs:
            if o["action"] == "AddServer":
                o["args"]["j"] = 2 if o["args"]["j"] == 3 else 3
        out.append(_write(tmp_path / Path(path).name, objs))
    report = validate_files(out)
    assert not report.ok
    assert report.text.startswith("NOT a behaviour of the spec: ")
    assert "AddServer" in report.text


@pytest.mark.parametrize(("voters", "why"), [
    ([[0, 1, 2], [0, 1]], "the servers' logs name different initial voters"),
    ([[1, 2, 3]], "the initial voters {s2, s3, s4} are not the first servers s1..s3"),
])
def test_initial_configurations_raft_reconfig_cannot_hold_exit_2(
        logs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        voters: list[list[int]], why: str) -> None:
    out = []
    for k, path in enumerate(logs):
        objs = _lines(path)
        for o in objs:
            if o["action"] == "InitialConfiguration":
                o["args"]["voters"] = voters[min(k, len(voters) - 1)]
        out.append(_write(tmp_path / Path(path).name, objs))
    assert main(["validate", *out]) == 2
    err = capsys.readouterr().err
    assert why in err and len(err.strip().splitlines()) == 1, err


def test_a_server_naming_two_initial_configurations_is_refused(
        logs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    objs = _lines(logs[0])
    objs.append({"node": 0, "action": "InitialConfiguration",
                 "args": {"voters": [0, 1], "servers": 4}})
    bad = _write(tmp_path / "events0.jsonl", objs)
    assert main(["validate", bad, *logs[1:]]) == 2
    err = capsys.readouterr().err
    assert "s1's initial configuration {s1, s2} of 4 servers is not the one at" in err


@pytest.mark.integration
def test_a_real_run_with_an_add_and_a_remove_validates(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three voters and a spare as real processes with event logs: write, `agree cluster
    add 3`, `agree cluster remove 0`, write; the logs are a behaviour of raft-reconfig."""
    with NodeCluster(tmp_path, 4, args=("--voters", "0,1,2")) as cluster:
        cluster.start_all()
        to = ",".join(cluster.addrs)

        async def put(key: str) -> dict[str, object]:
            client = KVClient(cluster.addrs, timeout=10)
            try:
                return await client.put(key, "v")
            finally:
                await client.close()

        assert asyncio.run(put("a"))["ok"]
        code, _, err = run(capsys, "cluster", "add", "3", "--to", to)
        assert code == 0, err
        code, _, err = run(capsys, "cluster", "remove", "0", "--to", to)
        assert code == 0, err
        assert asyncio.run(put("b"))["ok"]
    report = validate_files([str(cluster.log(k)) for k in range(4)])
    assert report.ok, report.text
    assert "behaviour of raft-reconfig" in report.text
    assert report.coverage.get("AddServer") == 1 and report.coverage.get("RemoveServer") == 1


def test_the_writer_writes_membership_events_the_schema_accepts(tmp_path: Path) -> None:
    from agree.conformance.event_log import line_error

    path = tmp_path / "events0.jsonl"
    with EventLogWriter(path, 0) as w:
        w.initial_configuration([2, 0, 1], 4)
        w.membership("AddServer", 3)
        with pytest.raises(ValueError, match="unknown membership event 'Add'"):
            w.membership("Add", 3)
        w.state(current_term=1, role="Leader", voted_for=0, commit_index=0)
    objs = _lines(str(path))
    assert [o["action"] for o in objs] == ["InitialConfiguration", "AddServer", "State"]
    assert objs[0]["args"] == {"voters": [0, 1, 2], "servers": 4}
    assert all(line_error(o) is None for o in objs)
    assert line_error({"node": 0, "action": "AddServer", "args": {"i": 0}}) is not None
