"""The spec API's declared speed hooks: Spec.step with @history, @per_state, and stutters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import pytest

from agree import check
from agree.models.paxos import Paxos, PaxosState
from agree.models.raft import Raft
from agree.models.raft_types import RaftState
from agree.properties import paxos as paxos_props
from agree.spec import Spec, SpecError, action, history, per_state, replace


class Counter(NamedTuple):
    x: int
    seen: frozenset[int]  # history: every x so far, up to the pre-state


class CounterSpec(Spec[Counter]):
    name: ClassVar[str] = "counter"
    calls: int

    def __init__(self, top: int = 3) -> None:
        self.top = top
        self.calls = 0

    def init(self) -> Iterator[Counter]:
        yield Counter(x=0, seen=frozenset())

    @history("seen")
    def seen_next(self, s: Counter) -> frozenset[int]:
        self.calls += 1
        return s.seen | {s.x}

    @action()
    def inc(self, s: Counter) -> Counter | None:
        return self.step(s, x=s.x + 1) if s.x < self.top else None

    @action()
    def double(self, s: Counter) -> Counter | None:
        return self.step(s, x=2 * s.x) if 0 < s.x < self.top else None


def test_step_applies_the_history_from_the_pre_state_once_per_state() -> None:
    spec = CounterSpec()
    s = Counter(x=1, seen=frozenset({0}))
    assert spec.inc(s) == Counter(x=2, seen=frozenset({0, 1}))
    assert spec.double(s) == Counter(x=2, seen=frozenset({0, 1}))
    assert spec.calls == 1  # both successors of s share one computation
    spec.inc(Counter(x=1, seen=frozenset({0})))  # an equal but new pre-state: computed again
    assert spec.calls == 2
    assert spec.step(s, seen=frozenset()) == Counter(x=1, seen=frozenset())  # explicit wins
    with pytest.raises(TypeError, match="'y'"):  # the compiled step names the bad keyword
        spec.step(s, y=1)
    with pytest.raises(SpecError, match="no variable 'y'"):
        replace(s, y=1)


def test_history_values_handed_back_for_an_equal_state_are_not_computed_again() -> None:
    """The multi-process workers rebuild a state from an equal copy of its parent."""
    spec = CounterSpec()
    s = Counter(x=1, seen=frozenset({0}))
    assert spec.history_memo(s) is None  # nothing stepped from s yet
    spec.inc(s)
    values = spec.history_memo(s)
    assert values == (frozenset({0, 1}),) and spec.calls == 1
    copy = Counter(x=1, seen=frozenset({0}))
    assert spec.history_memo(copy) is None  # by identity: an equal state is another
    spec.recall_history(copy, values)
    assert spec.double(copy) == Counter(x=2, seen=frozenset({0, 1}))
    assert spec.calls == 1


def test_step_without_history_is_replace() -> None:
    s = next(Paxos().init())
    t = Paxos().step(s, msgs=frozenset({1}))
    assert t == s._replace(msgs=frozenset({1})) and type(t) is PaxosState
    assert replace(s, max_bal=(0, 0, 0)) == s._replace(max_bal=(0, 0, 0))


@dataclass(frozen=True)
class Point:
    x: int
    trail: tuple[int, ...]


class PointSpec(Spec[Point]):
    name: ClassVar[str] = "point"

    def init(self) -> Iterator[Point]:
        yield Point(0, ())

    @history("trail")
    def trail_next(self, s: Point) -> tuple[int, ...]:
        return (*s.trail, s.x)

    @action()
    def move(self, s: Point) -> Point | None:
        return self.step(s, x=s.x + 1) if s.x < 2 else None


def test_step_and_history_on_a_frozen_dataclass() -> None:
    r = check(PointSpec(), [])
    assert r.distinct == 3
    assert PointSpec().move(Point(1, (0,))) == Point(2, (0, 1))
    with pytest.raises(TypeError, match="'y'"):
        PointSpec().step(Point(1, ()), y=1)


class Odd(NamedTuple):
    type: int  # a field named like a builtin the compiled step uses
    all: int


class OddSpec(Spec[Odd]):
    name: ClassVar[str] = "odd"

    def init(self) -> Iterator[Odd]:
        yield Odd(type=0, all=0)


def test_step_compiles_for_fields_named_like_builtins() -> None:
    assert OddSpec().step(Odd(type=0, all=1), type=2) == Odd(type=2, all=1)


def test_step_takes_new_values_by_name_only() -> None:
    s = Odd(type=0, all=1)
    with pytest.raises(TypeError, match="by name"):
        OddSpec().step(s, 2)  # would otherwise set the first variable
    with pytest.raises(TypeError):
        OddSpec().step(s, 2, 3)
    assert OddSpec().step(s, all=3, type=4) == Odd(type=4, all=3)


def test_step_is_compiled_for_named_tuple_states() -> None:
    assert getattr(CounterSpec.step, "_agree_compiled", False)
    assert getattr(Raft.step, "_agree_compiled", False)
    assert not getattr(PointSpec.step, "_agree_compiled", False)  # a dataclass: generic


def test_raft_all_logs_is_the_declared_history() -> None:
    spec = Raft(servers=2)
    s = next(iter(spec.init()))
    t = spec.timeout(s, 0)
    assert isinstance(t, RaftState) and t.all_logs == frozenset({()})
    assert spec._history_attrs == (("all_logs", "all_logs_next"),)


def test_per_state_computes_once_per_state() -> None:
    calls: list[Any] = []

    @per_state
    def summary(spec: Any, s: Any) -> int:
        calls.append(s)
        return len(s)

    a, b = tuple(["x"]), tuple(["x"])
    assert summary(None, a) == summary(None, a) == 1
    assert len(calls) == 1
    summary(None, b)  # equal, not the same: computed again (the memo is by identity)
    summary(1, b)  # another spec
    assert len(calls) == 3
    assert paxos_props.facts.__name__ == "facts"  # functools.wraps keeps the name


class CopyingPaxos(Paxos):
    """Paxos whose stutters return an equal copy instead of the state itself."""

    def phase1a(self, s: PaxosState, b: int) -> PaxosState | None:
        t = super().phase1a(s, b)
        return None if t is None else t._replace()

    def phase2b(self, s: PaxosState, a: int, m: Any) -> PaxosState | None:
        t = super().phase2b(s, a, m)
        return None if t is None else t._replace()


def test_a_stutter_may_return_an_equal_copy() -> None:
    same = check(Paxos(max_ballot=1), paxos_props.PROPERTIES)
    copy = check(CopyingPaxos(max_ballot=1), paxos_props.PROPERTIES)
    assert (copy.distinct, copy.generated, copy.depth) == (same.distinct, same.generated,
                                                           same.depth) == (3921, 22995, 17)
    assert {k: (c.generated, c.distinct) for k, c in copy.coverage.items()} == {
        k: (c.generated, c.distinct) for k, c in same.coverage.items()}
    assert not copy.violations and not same.violations
