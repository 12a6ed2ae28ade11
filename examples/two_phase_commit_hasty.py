"""A seeded bug in two-phase commit: the TM commits without waiting for every Prepared.

`agree check THIS_FILE --continue` breaks decision_sent in one step and consistency in
three; `agree prove THIS_FILE` finds the step that breaks the inductive invariant from a
reachable state (here the initial one).
"""
from typing import ClassVar

from two_phase_commit import TPState, TwoPhaseCommit


class HastyCommit(TwoPhaseCommit):
    """TwoPhase.tla with TMCommit's guard on tmPrepared left out."""

    name: ClassVar[str] = "two-phase-commit-hasty"

    def tm_commit(self, s: TPState) -> TPState | None:
        if s.tm_state != "init":
            return None
        return s._replace(tm_state="committed", msgs=s.msgs | {"Commit"})
