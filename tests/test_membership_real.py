"""Membership changes end to end with real server processes: `agree cluster add` and
`remove` against running nodes, and real-process chaos in which the leader is SIGKILLed
during each change (no acknowledged write lost, the history linearizable)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from _cli import run
from _nodes import NodeCluster

from agree.chaos.real import RealOptions, run_real
from agree.impl.client import KVClient

pytestmark = pytest.mark.integration


def test_cluster_add_and_remove_on_running_nodes(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Three voters and a spare: add the spare, remove a voter, the CLI says what it did;
    the data written before is served by the new configuration."""
    with NodeCluster(tmp_path, 4, event_logs=False, args=("--voters", "0,1,2")) as cluster:
        cluster.start_all()
        to = ",".join(cluster.addrs)

        async def put() -> dict[str, object]:
            client = KVClient(cluster.addrs, timeout=10)
            try:
                return await client.put("k", "v")
            finally:
                await client.close()

        assert asyncio.run(put())["ok"]
        code, out, err = run(capsys, "cluster", "add", "3", "--to", to)
        assert code == 0, err
        assert out.strip().startswith("ok: the voters are now 0, 1, 2, 3")
        code, _, err = run(capsys, "cluster", "add", "3", "--to", to)
        assert code == 1 and err.strip() == "error: node 3 is already a voter"
        code, out, err = run(capsys, "cluster", "remove", "0", "--to", to)
        assert code == 0, err
        assert "voters are now 1, 2, 3" in out
        code, out, _ = run(capsys, "kv", "get", "k", "--to", to)
        assert code == 0 and out.strip() == "v"
        code, out, _ = run(capsys, "kv", "status", "--to", cluster.addrs[3])
        assert json.loads(out)["voters"] == [1, 2, 3]


def test_sigkill_of_the_leader_during_membership_changes_loses_nothing(tmp_path: Path) -> None:
    outcome = run_real(RealOptions(duration=6, faults=6, clients=3, seed=1, spares=1,
                                   snapshot_every=40, data=str(tmp_path)))
    assert not outcome.failed, (outcome.violations, outcome.fault_log)
    assert outcome.faults["membership changes"] >= 2
    assert any("SIGKILL leader" in line for line in outcome.fault_log), outcome.fault_log
    assert outcome.faults["changes committed"] >= 1
    assert outcome.acknowledged > 50
