"""`agree conform`: exit codes and what it prints."""

from __future__ import annotations

import pytest

from agree.cli.main import main


def test_conform_passes_on_the_correct_implementation(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", "paxos", "--examples", "5", "--steps", "20"]) == 0
    out = capsys.readouterr().out
    assert "every step a step of the spec" in out and "Phase1b" in out


def test_conform_prints_the_minimal_program_and_the_trace_for_a_bug(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", "paxos", "--bug", "promise-forgets-vote", "--examples", "50"]) == 1
    out = capsys.readouterr().out
    # Hypothesis' heading for the minimal program changed across releases
    assert ("Falsifying example:" in out or "Failing test case:" in out)
    assert "state = PaxosMachine3()" in out
    assert "the implementation took a step the spec does not allow" in out
    assert "Step 1: Phase1a(b=" in out
    assert "does NOT conform" in out


@pytest.mark.parametrize("argv", [
    ["conform", "raft", "--bug", "nope"],
    ["conform", "raft", "--examples", "0"],
    ["conform", "paxos", "--servers", "0"],
    ["conform", "tla"],
])
def test_conform_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_conform_lists_seeded_bugs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", "raft", "--list-bugs"]) == 0
    assert "commit-old-term" in capsys.readouterr().out
