"""`agree validate`: the event logs of a real three-process run, checked against the spec."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from _nodes import NodeCluster, leader_of

from agree.cli.main import main
from agree.conformance.validate_logs import validate_files
from agree.impl.client import KVClient


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Write 5 keys, SIGKILL the leader, write 5 more through the new leader, restart the
    old leader and let it catch up; then kill everything. Returns the three event logs."""
    with NodeCluster(tmp_path_factory.mktemp("run")) as cluster:
        cluster.start_all()

        async def scenario() -> None:
            client = KVClient(cluster.addrs, timeout=20)
            for i in range(5):
                assert (await client.put(f"k{i}", f"v{i}"))["ok"]
            old = await leader_of(client, cluster.addrs)
            assert old is not None
            cluster.kill(old)
            for i in range(5, 10):
                assert (await client.put(f"k{i}", f"v{i}"))["ok"]
            cluster.start(old)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    st = await client.status(cluster.addrs[old])
                    if st["commit_index"] >= 10:
                        break
                except (OSError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
            await client.close()

        asyncio.run(asyncio.wait_for(scenario(), 60))
    return [cluster.log(k) for k in range(3)]


def test_a_real_run_with_a_killed_leader_is_a_behaviour_of_the_spec(
        real_run: list[Path]) -> None:
    report = validate_files([str(p) for p in real_run])
    assert report.ok, report.text
    assert report.coverage.get("Restart", 0) >= 1  # the killed leader came back
    assert report.coverage.get("BecomeLeader", 0) >= 2  # a second election after the kill
    assert report.coverage.get("AdvanceCommitIndex", 0) >= 1


def test_a_tampered_log_is_refused(real_run: list[Path], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    lines = real_run[0].read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if '"action": "State"' in line
             and json.loads(line)["args"]["current_term"] > 1)
    obj = json.loads(lines[k])
    obj["args"]["current_term"] += 1  # a term no step of the spec explains
    lines[k] = json.dumps(obj)
    bad = tmp_path / "events0.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    code = main(["validate", str(bad), str(real_run[1]), str(real_run[2])])
    assert code == 1
    assert "NOT a behaviour of the spec" in capsys.readouterr().out


def test_validate_rejects_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text("not json\n{}\n")
    assert main(["validate", str(bad)]) == 2
    assert "not an event-log line" in capsys.readouterr().err



def test_a_log_with_snapshots_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "events1.jsonl"
    log.write_text(json.dumps({"node": 1, "action": "InstallSnapshot",
                               "args": {"i": 1, "j": 0}}) + "\n")
    assert main(["validate", str(log)]) == 2
    err = capsys.readouterr().err
    assert "snapshots is not supported yet" in err and "--snapshot-every 0" in err
    assert len(err.strip().splitlines()) == 1
