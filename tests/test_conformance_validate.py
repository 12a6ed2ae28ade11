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



def test_a_checkquorum_step_down_in_a_real_run_validates(tmp_path: Path) -> None:
    """Both followers frozen (SIGSTOP) for 0.8 s: the leader steps down in its term
    (CheckQuorum), and the logs are still a behaviour of the spec under the default
    deviations (check_quorum_step_down among them), with pre-votes left out."""
    import os
    import signal

    with NodeCluster(tmp_path) as cluster:
        cluster.start_all()

        async def scenario() -> None:
            client = KVClient(cluster.addrs, timeout=20)
            for i in range(3):
                assert (await client.put(f"k{i}", f"v{i}"))["ok"]
            leader = await leader_of(client, cluster.addrs)
            assert leader is not None
            followers = [k for k in range(3) if k != leader]
            for k in followers:
                os.kill(cluster.procs[k].pid, signal.SIGSTOP)
            await asyncio.sleep(0.8)
            st = await client.status(cluster.addrs[leader])
            for k in followers:
                os.kill(cluster.procs[k].pid, signal.SIGCONT)
            assert st["role"] == "Follower"
            assert (await client.put("k3", "v3"))["ok"]
            await asyncio.sleep(0.5)
            await client.close()

        asyncio.run(asyncio.wait_for(scenario(), 60))
    report = validate_files([str(cluster.log(k)) for k in range(3)])
    assert report.ok, report.text
    assert report.coverage.get("CheckQuorumStepDown[check_quorum_step_down]", 0) >= 1


@pytest.fixture(scope="module")
def snapshot_run(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Nodes snapshot every 3 entries; node 2 starts late and is caught up by
    InstallSnapshot; the leader is killed and restarts from its snapshot. The event
    logs."""
    with NodeCluster(tmp_path_factory.mktemp("snap"), args=("--snapshot-every", "3")) \
            as cluster:
        cluster.start(0)
        cluster.start(1)

        async def scenario() -> None:
            client = KVClient(cluster.addrs[:2], timeout=20)
            for i in range(8):
                assert (await client.put(f"k{i % 2}", f"v{i}"))["ok"]
            cluster.start(2)
            await _caught_up(client, cluster.addrs, 2)
            old = await leader_of(client, cluster.addrs)
            assert old is not None
            cluster.kill(old)
            await client.close()
            client = KVClient(cluster.addrs, timeout=20)
            assert (await client.put("k9", "v9"))["ok"]
            cluster.start(old)
            await _caught_up(client, cluster.addrs, old)
            await client.close()

        asyncio.run(asyncio.wait_for(scenario(), 60))
    return [cluster.log(k) for k in range(3)]


def test_a_real_run_with_snapshots_is_a_behaviour_of_the_spec(
        snapshot_run: list[Path]) -> None:
    """The logs validate with agree's default deviations (snapshot_prefix; a restart
    from a snapshot may need persisted_commit_index)."""
    report = validate_files([str(p) for p in snapshot_run])
    assert report.ok, report.text
    assert report.coverage.get("AppendEntries[snapshot_prefix]", 0) >= 1, report.coverage
    assert report.coverage.get("HandleAppendEntriesRequest[snapshot_prefix]", 0) >= 1
    # the killed leader came back (with its snapshot's commit index, or, when its first
    # batch is an AppendEntries setting it anyway, as raft.tla's Restart)
    assert sum(n for a, n in report.coverage.items() if a.startswith("Restart")) >= 1
    refused = validate_files([str(p) for p in snapshot_run],
                             deviations=["batched_entries", "fast_backup",
                                         "monotonic_match_index", "monotonic_commit_index",
                                         "persisted_commit_index"])
    assert not refused.ok  # without snapshot_prefix, the snapshot is no spec step


def test_a_snapshot_installed_with_a_wrong_log_is_refused(snapshot_run: list[Path],
                                                          tmp_path: Path) -> None:
    """The follower's State line after InstallSnapshot claims a log one entry short."""
    lines = snapshot_run[2].read_text().splitlines()
    at = next(k for k, line in enumerate(lines) if '"action": "InstallSnapshot"' in line)
    k = next(k for k in range(at, len(lines)) if '"action": "State"' in lines[k])
    obj = json.loads(lines[k])
    last = obj["args"]["commit_index"]
    obj["args"]["log_from"], obj["args"]["log_suffix"] = last, []  # drops entry `last`
    lines[k] = json.dumps(obj)
    bad = tmp_path / "events2.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    report = validate_files([str(snapshot_run[0]), str(snapshot_run[1]), str(bad)])
    assert not report.ok
    assert "NOT a behaviour of the spec" in report.text


async def _caught_up(client: KVClient, addrs: list[str], k: int) -> None:
    """Until node k has applied what the leader committed (15 s at most)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            statuses = [await client.status(a) for a in addrs if a != addrs[k]]
            mine = await client.status(addrs[k])
            target = max(s["commit_index"] for s in statuses if s["role"] == "Leader")
            if mine["last_applied"] >= target > 0:
                return
        except (OSError, TimeoutError, ValueError):
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"node {k} did not catch up")
