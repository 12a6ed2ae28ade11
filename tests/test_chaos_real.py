"""`agree chaos --real`: three real server processes on 127.0.0.1 under SIGKILL, SIGSTOP and
partitions; the history must stay linearizable, and the check must notice when it is not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agree.chaos.linearizability import is_linearizable
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
    ops = re.search(r"client operations +([\d,]+) \(([\d,]+) acknowledged, ([\d,]+) "
                    r"indeterminate\)", out)
    assert ops, out
    total, acknowledged, indeterminate = (int(g.replace(",", "")) for g in ops.groups())
    # how many depends on the machine's speed; that some were served (the final reads of
    # every key, after the faults, at least) does not
    assert acknowledged > 0 and total == acknowledged + indeterminate


def test_stale_local_reads_are_caught(tmp_path: Path) -> None:
    outcome = run_real(RealOptions(duration=4, faults=1, clients=3, seed=2, stale_reads=True,
                                   data=str(tmp_path)))
    assert outcome.failed
    assert any(v.startswith("linearizability") for v in outcome.violations), outcome.violations
    assert outcome.linearizability is not None
    ops = outcome.operations
    for key in outcome.linearizability.violations:
        # how far the shrinking gets depends on the machine's speed (it stops at a time
        # limit with the smallest witness so far); that the witness is a nonempty part of
        # the key's history that is impossible on its own does not
        assert key.witness is not None
        assert 1 <= len(key.minimal) <= key.operations
        assert {o.id for o in key.minimal} <= {o.id for o in ops if o.key == key.key}
        checked, [initial] = key.witness.as_checked()
        assert is_linearizable(checked, initial=initial) is False
    assert _our_servers(tmp_path) == []  # every server process is gone
