"""Two-phase commit (Lamport's TwoPhase.tla) on agree's public API: `agree check THIS_FILE`.

`agree prove THIS_FILE` checks that the invariant declared at the end is inductive."""
from collections.abc import Iterator
from typing import ClassVar, NamedTuple

from agree import Spec, action, invariant, sometimes
from agree.spec import StateSpace, one_of, states, subset_of, tuple_of


class TPState(NamedTuple):
    rm_state: tuple[str, ...]  # per resource manager: working, prepared, committed, aborted
    tm_state: str  # the transaction manager: init, committed, aborted
    tm_prepared: frozenset[int]  # RMs from which the TM has received Prepared
    msgs: frozenset[str | tuple[str, int]]  # ("Prepared", rm), "Commit", "Abort"


def put(t: tuple[str, ...], i: int, v: str) -> tuple[str, ...]:
    return (*t[:i], v, *t[i + 1:])

class TwoPhaseCommit(Spec[TPState]):
    name: ClassVar[str] = "two-phase-commit"  # a transaction manager and resource managers
    param_help: ClassVar[dict[str, str]] = {"rms": "number of resource managers"}
    names: ClassVar[dict[str, str]] = {"rm": "r"}
    def __init__(self, rms: int = 3) -> None:
        self.rms, self.rm = rms, range(rms)

    def init(self) -> Iterator[TPState]:
        yield TPState(("working",) * self.rms, "init", frozenset(), frozenset())

    @action(r="rm")
    def tm_rcv_prepared(self, s: TPState, r: int) -> TPState | None:
        if s.tm_state != "init" or ("Prepared", r) not in s.msgs:
            return None
        return s._replace(tm_prepared=s.tm_prepared | {r})

    @action()
    def tm_commit(self, s: TPState) -> TPState | None:
        if s.tm_state != "init" or len(s.tm_prepared) != self.rms:
            return None
        return s._replace(tm_state="committed", msgs=s.msgs | {"Commit"})

    @action()
    def tm_abort(self, s: TPState) -> TPState | None:
        if s.tm_state != "init":
            return None
        return s._replace(tm_state="aborted", msgs=s.msgs | {"Abort"})

    @action(r="rm")
    def rm_prepare(self, s: TPState, r: int) -> TPState | None:
        if s.rm_state[r] != "working":
            return None
        return s._replace(rm_state=put(s.rm_state, r, "prepared"),
                          msgs=s.msgs | {("Prepared", r)})

    @action(r="rm")
    def rm_choose_to_abort(self, s: TPState, r: int) -> TPState | None:
        if s.rm_state[r] != "working":
            return None
        return s._replace(rm_state=put(s.rm_state, r, "aborted"))

    @action(r="rm")
    def rm_rcv_commit(self, s: TPState, r: int) -> TPState | None:
        if "Commit" not in s.msgs:
            return None
        return s._replace(rm_state=put(s.rm_state, r, "committed"))

    @action(r="rm")
    def rm_rcv_abort(self, s: TPState, r: int) -> TPState | None:
        if "Abort" not in s.msgs:
            return None
        return s._replace(rm_state=put(s.rm_state, r, "aborted"))

    @invariant
    def consistent(self, s: TPState) -> bool:
        """No resource manager commits while another aborts."""
        return not ("committed" in s.rm_state and "aborted" in s.rm_state)

    @sometimes
    def all_committed(self, s: TPState) -> bool:
        return all(x == "committed" for x in s.rm_state)

    # -- an inductive invariant (`agree prove`): TPTypeOK as a set, and the conjuncts --
    def state_space(self) -> StateSpace:
        return states(TPState, rm_state=tuple_of(self.rms, one_of(RM_STATES)),
                      tm_state=one_of(("init", "committed", "aborted")),
                      tm_prepared=subset_of(self.rm),
                      msgs=subset_of([*(("Prepared", r) for r in self.rm), "Commit", "Abort"]))

    @invariant
    def prepared_sent(self, s: TPState) -> bool:
        """An RM is prepared iff working no more, and it sent Prepared; so did the TM's."""
        return (all((x == "prepared") <= (("Prepared", r) in s.msgs) and (x == "working") <=
                    (("Prepared", r) not in s.msgs) for r, x in enumerate(s.rm_state))
                and all(("Prepared", r) in s.msgs for r in s.tm_prepared))

    @invariant
    def decision_sent(self, s: TPState) -> bool:
        """Commit (Abort) is sent iff the TM committed (aborted); it commits all prepared."""
        return (("Commit" in s.msgs) == (s.tm_state == "committed") and ("Abort" in s.msgs)
                == (s.tm_state == "aborted") and (s.tm_state != "committed"
                                                  or len(s.tm_prepared) == self.rms))

    @invariant
    def decision_followed(self, s: TPState) -> bool:
        """An RM commits only on Commit; aborts on Abort, or before it sent Prepared."""
        return all((x != "committed" or "Commit" in s.msgs) and (x != "aborted" or "Abort"
                   in s.msgs or ("Prepared", r) not in s.msgs) for r, x in enumerate(s.rm_state))

    inductive = ("consistent", "prepared_sent", "decision_sent", "decision_followed")


RM_STATES = ("working", "prepared", "committed", "aborted")
