"""The worked example: a user's own protocol, written only against the public API."""

from __future__ import annotations

from pathlib import Path

import pytest
from two_phase_commit import TPState, TwoPhaseCommit

from agree import check
from agree.cli.main import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "two_phase_commit.py"


def test_two_phase_commit_holds_with_tlc_count() -> None:
    result = check(TwoPhaseCommit(rms=3))
    assert result.verdict == "holds"
    assert result.distinct == 288  # TLC's count for TwoPhase.tla with three RMs


def test_a_broken_two_phase_commit_is_caught() -> None:
    class Hasty(TwoPhaseCommit):
        """The TM commits without waiting for every Prepared."""

        def tm_commit(self, s: TPState) -> TPState | None:
            if s.tm_state != "init":
                return None
            return s._replace(tm_state="committed", msgs=s.msgs | {"Commit"})

    result = check(Hasty(rms=2), only=["consistent"])  # not the inductive invariant's lemmas
    violation = result.violation("consistent")
    assert violation is not None and violation.trace is not None
    assert [s.action for s in violation.trace.steps] == ["TmCommit", "RmChooseToAbort",
                                                         "RmRcvCommit"]


def test_the_example_runs_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE), "--rms", "2", "--quiet"]) == 0
    assert "All properties hold." in capsys.readouterr().out
    assert sum(1 for _ in EXAMPLE.open()) < 120  # its inductive invariant included
