"""Two-phase commit (Lamport's TwoPhase.tla) on agree's public API: `agree check THIS_FILE`."""
from collections.abc import Iterator
from typing import ClassVar, NamedTuple

from agree import Spec, action, invariant, sometimes


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
