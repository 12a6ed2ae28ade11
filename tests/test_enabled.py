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
