"""Successor enumeration (spec/enabled.py): a domain function several actions range over
is called once per state, and the steps are those of calling each action on its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

from agree import Spec, action, check
from agree.spec.enabled import enumerator


class Bag(NamedTuple):
    items: tuple[int, ...]


_CALLS: list[Bag] = []


def _items(spec: Any, s: Bag) -> Iterator[int]:
    """Every distinct item, as a generator: a second action must not see it consumed."""
    _CALLS.append(s)
    yield from dict.fromkeys(s.items)


class Items(Spec[Bag]):
    """A bag of small numbers: add one, drop one, double one (three actions over the
    items in the bag, two of them of one parameter, one of two)."""

    name: ClassVar[str] = "items"

    def init(self) -> Iterator[Bag]:
        yield Bag((1,))

    @action(x=_items)
    def drop(self, s: Bag, x: int) -> Bag | None:
        k = s.items.index(x)
        return self.step(s, items=s.items[:k] + s.items[k + 1:])

    @action(x=_items)
    def double(self, s: Bag, x: int) -> Bag | None:
        return self.step(s, items=tuple(sorted((*s.items, 2 * x)))) if x < 8 else None

    @action(x=_items, y=_items)
    def add(self, s: Bag, x: int, y: int) -> Bag | None:
        return self.step(s, items=tuple(sorted((*s.items, x + y)))) if x + y < 8 else None

    def constraint(self, s: Bag) -> bool:
        return len(s.items) <= 3


def test_a_shared_domain_is_called_once_per_state() -> None:
    spec = Items()
    enabled = enumerator(spec)
    s = Bag((1, 2, 2))
    _CALLS.clear()
    steps = enabled(s)
    assert [s] == _CALLS
    expected = []
    for ai, act in enumerate(spec.actions()):
        for args in act.bindings(s):
            t = act.fn(s, *args)
            if t is not None:
                expected.append((ai, args, t))
    assert steps == expected
    assert [a for ai, a, _ in steps if ai == 2] == [(x, y) for x in (1, 2) for y in (1, 2)]


def test_the_counts_do_not_depend_on_it() -> None:
    result = check(Items())
    assert result.verdict == "holds"
    # 1..7 sums of bags of up to three items starting from {1}: counted independently
    seen = {Bag((1,))}
    frontier = [Bag((1,))]
    while frontier:
        nxt = []
        for s in frontier:
            for act in Items().actions():
                for args in act.bindings(s):
                    t = act.fn(s, *args)
                    if t is not None and len(t.items) <= 3 and t not in seen:
                        seen.add(t)
                        nxt.append(t)
        frontier = nxt
    assert result.distinct == len(seen)


# -- the domain memo: a domain that is a function of the state's variables ----------

class Net(NamedTuple):
    msgs: tuple[int, ...]
    clock: int


_ASKED: list[tuple[int, ...]] = []


def _in_flight(spec: Any, s: Net) -> list[int]:
    """Reads ``msgs`` alone (what it records is not the state: still a function of it)."""
    _ASKED.append(s.msgs)
    return sorted(set(s.msgs))


class Clocked(Spec[Net]):
    """A clock that ticks beside a bag of messages: many states share one bag."""

    name: ClassVar[str] = "clocked"

    def init(self) -> Iterator[Net]:
        yield Net((), 0)

    @action()
    def tick(self, s: Net) -> Net | None:
        return self.step(s, clock=s.clock + 1) if s.clock < 5 else None

    @action(v=lambda spec, s: range(3))
    def send(self, s: Net, v: int) -> Net | None:
        return self.step(s, msgs=tuple(sorted((*s.msgs, v)))) if len(s.msgs) < 2 else None

    @action(m=_in_flight)
    def receive(self, s: Net, m: int) -> Net | None:
        k = s.msgs.index(m)
        return self.step(s, msgs=s.msgs[:k] + s.msgs[k + 1:])

    @action(m=_in_flight, w=_in_flight)
    def swap(self, s: Net, m: int, w: int) -> Net | None:
        return None if m >= w else self.step(s, clock=max(0, s.clock - 1))


def _by_hand(spec: Spec[Any], s: Any) -> list[tuple[int, tuple[Any, ...], Any]]:
    out = []
    for ai, act in enumerate(spec.actions()):
        for args in act.bindings(s):
            t = act.fn(s, *args)
            if t is not None:
                out.append((ai, args, t))
    return out


def test_a_domain_of_the_state_is_computed_once_per_value_of_what_it_reads() -> None:
    spec = Clocked()
    enabled = enumerator(spec)
    _ASKED.clear()
    states = [Net(m, c) for m in ((), (1,), (0, 2), (1, 1)) for c in range(6)]
    got = [enabled(s) for s in states]
    # once per distinct bag, however many states (and actions: three uses) share it
    assert _ASKED == [(), (1,), (0, 2), (1, 1)]
    assert got == [_by_hand(spec, s) for s in states]


def test_the_memo_changes_no_count() -> None:
    result = check(Clocked())
    seen = {Net((), 0)}
    frontier = [Net((), 0)]
    generated = 0
    while frontier:
        nxt = []
        for s in frontier:
            for _, _, t in _by_hand(Clocked(), s):
                generated += 1
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier = nxt
    assert (result.distinct, result.generated - 1) == (len(seen), generated)


class Listed(NamedTuple):
    msgs: Any
    clock: int


def test_a_value_that_cannot_be_hashed_or_a_state_of_another_type_is_computed_each_time(
        ) -> None:
    spec = Clocked()
    enabled = enumerator(spec)
    _ASKED.clear()
    other = Listed((1, 2), 0)  # not the declared Net: never taken from the memo
    unhashable = Net([2, 1], 0)  # type: ignore[arg-type]
    for s in (other, other, unhashable, unhashable):
        assert [(ai, args) for ai, args, _ in enabled(s)] == [
            (ai, args) for ai, args, _ in _by_hand(spec, s)]
    # each state: its enumeration asks once (a fresh row its three uses share), and by
    # hand three times (once for receive, twice for swap)
    assert len(_ASKED) == 4 * (1 + 3)


def test_the_memo_starts_afresh_when_full(monkeypatch: Any) -> None:
    from agree.spec import enabled as module
    monkeypatch.setattr(module, "MEMO_ROWS", 2)
    spec = Clocked()
    enabled = enumerator(spec)
    _ASKED.clear()
    bags = [(), (1,), (2,), (), (1,)]
    for m in bags:
        enabled(Net(m, 0))
    # two rows at most: () and (1,) are forgotten once (2,) comes, and asked again
    assert _ASKED == [(), (1,), (2,), (), (1,)]
    enabled(Net((1,), 3))
    assert len(_ASKED) == 5
