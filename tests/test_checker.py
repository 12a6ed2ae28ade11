"""The BFS engine's semantics on tiny specs written for the purpose."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from agree import Spec, SpecError, action, action_property, check, invariant, sometimes
from agree.checker.result import SpecRuntimeError
from agree.spec import Property, property_of


class Counter(Spec[tuple[int, int]]):
    """Two counters; `inc` bumps one of them, `reset` zeroes both. Bounded by `limit`."""

    name: ClassVar[str] = "counter"

    def __init__(self, limit: int = 3, bad: int = 99) -> None:
        self.limit, self.bad = limit, bad
        self.which = (0, 1)

    def init(self) -> Iterator[tuple[int, int]]:
        yield (0, 0)

    @action(i="which")
    def inc(self, s: tuple[int, int], i: int) -> tuple[int, int] | None:
        return (s[0] + 1, s[1]) if i == 0 else (s[0], s[1] + 1)

    @action()
    def reset(self, s: tuple[int, int]) -> tuple[int, int] | None:
        return (0, 0) if s != (0, 0) else None

    def constraint(self, s: tuple[int, int]) -> bool:
        return max(s) <= self.limit

    @invariant
    def below_bad(self, s: tuple[int, int]) -> bool:
        return s[0] + s[1] < self.bad

    @action_property
    def moves_by_one(self, s: tuple[int, int], t: tuple[int, int]) -> bool:
        return t == (0, 0) or sum(t) == sum(s) + 1

    @sometimes
    def both_positive(self, s: tuple[int, int]) -> bool:
        return s[0] > 0 and s[1] > 0


def test_counts_and_depth_with_the_constraint() -> None:
    r = check(Counter(limit=3))
    assert r.distinct == 16  # (0..3) x (0..3)
    assert r.depth == 7  # (0,0) is level 1, (3,3) is 6 steps away
    # every expanded state: 2 incs + reset (except at (0,0)); successors outside the
    # constraint are generated (TLC) but never distinct
    assert r.generated == 1 + 16 * 3 - 1
    assert r.coverage["Inc"].distinct == 15 and r.coverage["Reset"].distinct == 0
    assert r.verdict == "holds" and r.exit_code == 0


def test_invariants_are_checked_on_pruned_successors_like_tlc() -> None:
    # (3,3) is inside; its successor (4,3) is outside the constraint; sum 7 is "bad"
    r = check(Counter(limit=3, bad=7))
    assert r.verdict == "violated"
    trace = r.violations[0].trace
    assert trace is not None and trace.steps[-1].state in {(4, 3), (3, 4)}
    assert len(trace) == 7
    assert r.distinct <= 16
    # with check_pruned=False the pruned state is neither counted nor checked
    r = check(Counter(limit=3, bad=7), check_pruned=False)
    assert r.verdict == "holds" and r.distinct == 16


def test_violation_traces_are_shortest() -> None:
    r = check(Counter(limit=9, bad=5))
    v = r.violation("below_bad")
    assert v is not None and v.trace is not None
    assert len(v.trace) == 5  # 5 increments, no shorter way to sum 5
    assert [s.action for s in v.trace.steps] == ["Inc"] * 5
    assert sum(v.trace.steps[-1].state) == 5
    assert r.exit_code == 1 and not r.complete


def test_continue_collects_one_violation_per_property() -> None:
    class Twice(Counter):
        @invariant
        def below_three(self, s: tuple[int, int]) -> bool:
            return s[0] + s[1] < 3

    r = check(Twice(limit=9, bad=5), stop_at_first=False)
    names = [v.property for v in r.violations]
    assert names == ["below_three", "below_bad"]
    assert [len(v.trace or []) for v in r.violations] == [3, 5]


def test_action_property_violation_names_the_step() -> None:
    class Jumpy(Counter):
        @action()
        def jump(self, s: tuple[int, int]) -> tuple[int, int] | None:
            return (s[0] + 2, s[1]) if s[0] == 1 else None

    r = check(Jumpy())
    v = r.violation("moves_by_one")
    assert v is not None and v.kind == "action" and v.trace is not None
    assert v.trace.steps[-1].label == "Jump"
    assert len(v.trace) == 2


def test_sometimes_not_reached_is_a_failure() -> None:
    class OneSided(Counter):
        def __init__(self, limit: int = 3, bad: int = 99) -> None:
            super().__init__(limit, bad)
            self.which = (0,)

    r = check(OneSided())
    v = r.violation("both_positive")
    assert v is not None and v.kind == "sometimes" and v.trace is None
    assert r.verdict == "violated"


def test_deadlock_is_found_only_when_asked() -> None:
    class Stuck(Counter):
        def constraint(self, s: tuple[int, int]) -> bool:
            return True

        @action(i="which")
        def inc(self, s: tuple[int, int], i: int) -> tuple[int, int] | None:
            return None if sum(s) >= 2 else (s[0] + (i == 0), s[1] + (i == 1))

        @action()
        def reset(self, s: tuple[int, int]) -> tuple[int, int] | None:
            return None

    assert check(Stuck()).verdict == "holds"
    r = check(Stuck(), deadlock=True)
    v = r.violation("deadlock")
    assert v is not None and v.kind == "deadlock" and v.trace is not None
    assert len(v.trace) == 2


def test_budgets_end_with_a_partial_report() -> None:
    r = check(Counter(limit=50), max_states=100)
    assert r.verdict == "incomplete" and r.exit_code == 3 and r.stopped == "max-states"
    assert 100 <= r.distinct < 50 * 50
    r = check(Counter(limit=2000, bad=10**9), time_limit=0.05)
    assert r.stopped == "time-limit" and r.exit_code == 3


def test_a_spec_that_raises_is_reported_with_where() -> None:
    class Broken(Counter):
        @action(i="which")
        def inc(self, s: tuple[int, int], i: int) -> tuple[int, int] | None:
            if s == (1, 1):
                raise ZeroDivisionError("boom")
            return super().inc(s, i)

    with pytest.raises(SpecRuntimeError) as err:
        check(Broken())
    assert "Inc" in str(err.value) and "ZeroDivisionError" in str(err.value)
    assert err.value.trace is not None and err.value.trace.states[-1] == (1, 1)


@pytest.mark.parametrize("opts", [{}, {"workers": 1}])
def test_an_init_that_raises_is_a_spec_runtime_error(opts: dict[str, int]) -> None:
    class BrokenInit(Counter):
        def init(self) -> Iterator[tuple[int, int]]:
            yield (0, 0)
            raise KeyError("no second state")

    with pytest.raises(SpecRuntimeError, match="raised in init: KeyError"):
        check(BrokenInit(), **opts)  # type: ignore[arg-type]
    from agree.checker.simulate import simulate

    with pytest.raises(SpecRuntimeError, match="raised in init: KeyError"):
        simulate(BrokenInit(), runs=1, depth=1)


def test_only_selects_properties_and_rejects_unknown_names() -> None:
    r = check(Counter(limit=9, bad=5), only=["moves_by_one"])
    assert r.verdict == "holds" and r.properties == ["moves_by_one"]
    with pytest.raises(SpecError, match="unknown property"):
        check(Counter(), only=["nope"])


def test_actions_keep_declaration_order_and_overrides_keep_their_place() -> None:
    class Override(Counter):
        def reset(self, s: tuple[int, int]) -> tuple[int, int] | None:
            return None

    assert [a.label for a in Override().actions()] == ["Inc", "Reset"]
    assert Counter.parameters()[0].name == "limit"
    assert property_of(Counter.below_bad).kind == "invariant"


class Idle(Spec[int]):
    """`tick` counts up to 3; `idle` stutters, returning the very state it was given."""

    name: ClassVar[str] = "idle"

    def init(self) -> Iterator[int]:
        yield 0

    @action()
    def tick(self, s: int) -> int | None:
        return s + 1 if s < 3 else None

    @action()
    def idle(self, s: int) -> int | None:
        return s


@pytest.mark.parametrize("workers", [None, 2])
def test_a_stutter_is_generated_but_never_new(workers: int | None) -> None:
    r = check(Idle(), workers=workers)
    assert (r.distinct, r.generated, r.depth) == (4, 1 + 3 + 4, 4)
    assert r.coverage["Idle"].generated == 4 and r.coverage["Idle"].distinct == 0


@pytest.mark.parametrize("workers", [None, 2])
def test_every_action_property_a_step_breaks_is_reported(workers: int | None) -> None:
    props = [Property(name, "action", lambda _spec, _s, t: t != 2, "") for name in ("a", "b")]
    r = check(Idle(), props, stop_at_first=False, workers=workers)
    assert sorted((v.property, len(v.trace or [])) for v in r.violations) == [("a", 2), ("b", 2)]
    first = check(Idle(), props, workers=workers)
    assert first.stopped == "violation" and len(first.violations[0].trace or []) == 2
