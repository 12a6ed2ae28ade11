"""`agree chaos --real`: three real server processes on 127.0.0.1 under SIGKILL, SIGSTOP and
partitions; the history must stay linearizable, and the check must notice when it is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from agree.chaos.real import RealOptions, run_real
from agree.cli.main import main


def _our_servers(data: Path) -> list[int]:
    """Pids of live processes whose command line names ``data`` (ours, and only ours)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().split()[2]
        except OSError:
            continue
        if str(data) in cmdline and state != "Z":
            pids.append(int(proc.name))
    return pids


def test_real_processes_under_fire_stay_linearizable(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["chaos", "--real", "--duration", "6", "--faults", "3", "--seed", "1",
                 "--clients", "3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 SIGKILLs, 1 SIGSTOPs, 1 partitions" in out
    assert "violations           0" in out
    assert "lost writes          0" in out
    acknowledged = int(out.split("client operations")[1].split("(")[1].split()[0].replace(",",
                                                                                         ""))
    assert acknowledged > 50  # the cluster kept serving through the faults


def test_stale_local_reads_are_caught(tmp_path: Path) -> None:
    outcome = run_real(RealOptions(duration=4, faults=1, clients=3, seed=2, stale_reads=True,
                                   data=str(tmp_path)))
    assert outcome.failed
    assert any(v.startswith("linearizability") for v in outcome.violations), outcome.violations
    assert outcome.linearizability is not None
    for key in outcome.linearizability.violations:
        assert 1 <= len(key.minimal) <= 8
    assert _our_servers(tmp_path) == []  # every server process is gone
