"""The core skips a property (or the constraint) on a successor that leaves the fields it
reads alone (spec/reads.py): what is inferred, and that no violation is missed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

import pytest

from agree import Spec, action, check, invariant, sometimes
from agree.checker.core import Core
from agree.checker.result import SpecRuntimeError
from agree.checker.stepcode import (
    act_lines,
    check_lines,
    compile_function,
    flag_lines,
    indent,
    inside_lines,
    parent_lines,
)
from agree.spec import Property, Witness, per_state
from agree.spec.reads import conjuncts, fields_read
from agree.spec.witness import fallible


# The step checker, action-property check and constraint of one state type, built from
# the very fragments the expansion code inlines (checker/stepcode.py), to test them alone.
def _function(core: Core, cls: type, fragment: Any, head: str, fallback: str, result: str,
              extra: dict[str, Any]) -> Any:
    ns: dict[str, Any] = {"_spec": core.spec, "_cls": cls, "_type": type, **extra}
    used: set[int] = set()
    lines = fragment(core, cls, ns, used)
    return compile_function([
        f"def {head}(_s, _t):",
        "    if _type(_t) is not _cls or _type(_s) is not _cls:",
        f"        return {fallback}",
        *indent([*parent_lines(used), *flag_lines(used), *lines], 1),
        f"    return {result}"], ns, head, f"<test {head}>")


def _step_check(core: Core, cls: type) -> Any:
    return _function(core, cls, check_lines, "check", "_SLOW", "_res", {})


def _inside(core: Core, cls: type) -> Any:
    return _function(core, cls, inside_lines, "inside", "bool(_whole(_t))", "_in",
                     {"_whole": core.spec.constraint})


def _act_check(core: Core, cls: type) -> Any:
    return _function(core, cls, act_lines, "ok",
                     "all(p.fn(_spec, _s, _t) for p in _props)", "_ok",
                     {"_props": core.act_props})


FIELDS = ("a", "b", "c")


class S(NamedTuple):
    a: int
    b: int
    c: int


def _reads_a_and_b(spec: Any, s: S) -> bool:
    return s.a + s.b >= 0


def _helper(s: S, k: int) -> int:
    return s.c + k


def _through_helper(spec: Any, s: S) -> bool:
    return _helper(s, 1) > 0 and s.a >= 0


def _whole(spec: Any, s: S) -> bool:
    return sum(s) >= 0


def _rebinds(spec: Any, s: S) -> bool:
    s = S(0, 0, 0)
    return s.a == 0


def _captures(spec: Any, s: S) -> bool:
    def inner() -> int:
        return s.a
    return inner() >= 0


def test_inferred_fields() -> None:
    assert fields_read(_reads_a_and_b, FIELDS) == {"a", "b"}
    assert fields_read(_through_helper, FIELDS) == {"a", "c"}
    assert fields_read(lambda spec, s: s.a > 0, FIELDS) is None
    assert fields_read(_whole, FIELDS) is None
    assert fields_read(_rebinds, FIELDS) is None
    assert fields_read(_captures, FIELDS) is None
    assert fields_read(len, FIELDS) is None  # no source: not sure


class Three(Spec[S]):
    """Three counters; ``bump_b`` leaves ``a`` alone, so a property of ``a`` is skipped
    on its successors; ``bad`` breaks ``a_small`` late, through a change of ``a``."""

    name: ClassVar[str] = "three"

    def __init__(self, limit: int = 3, bad: int = 3) -> None:
        self.limit, self.bad = limit, bad

    def init(self) -> Iterator[S]:
        yield S(0, 0, 0)

    @action()
    def bump_a(self, s: S) -> S | None:
        return self.step(s, a=s.a + 1)

    @action()
    def bump_b(self, s: S) -> S | None:
        return self.step(s, b=s.b + 1)

    @action()
    def bump_c(self, s: S) -> S | None:
        return self.step(s, c=s.c + 1)

    def constraint(self, s: S) -> bool:
        return s.a <= self.limit and s.b <= self.limit and s.c <= self.limit

    @invariant
    def a_small(self, s: S) -> bool:
        return s.a < self.bad

    @invariant
    def b_and_c(self, s: S) -> bool:
        return s.b > 0 or s.c < self.bad  # broken only by bump_c, b left alone

    @sometimes
    def c_moved(self, s: S) -> bool:
        return s.c > 1


@pytest.mark.parametrize("workers", [None, 2])
def test_skipping_finds_what_evaluating_everything_finds(workers: int | None) -> None:
    for bad in (1, 2, 3, 9):
        fast = check(Three(bad=bad), stop_at_first=False, workers=workers)
        spec = Three(bad=bad)
        # the same properties as lambdas: nothing inferred, every one evaluated each time
        slow_props = [type(p)(p.name, p.kind, (lambda f: lambda sp, s: f(sp, s))(p.fn), p.doc)
                      for p in spec.declared_properties()]
        slow = check(spec, slow_props, stop_at_first=False, workers=workers)
        assert (fast.distinct, fast.generated, fast.depth) == \
            (slow.distinct, slow.generated, slow.depth)
        assert [(v.property, len(v.trace or ())) for v in fast.violations] == \
            [(v.property, len(v.trace or ())) for v in slow.violations]
        assert fast.verdict == ("holds" if bad == 9 else "violated")


_CALLS: list[int] = []


def _counted(spec: Any, s: S) -> bool:
    _CALLS.append(s.a)
    return s.a < 5


def test_the_step_checker_skips_unread_fields() -> None:
    spec = Three()
    props = [Property("counted", "invariant", _counted), *spec.declared_properties()]
    core = Core(spec, props, check_pruned=True, deadlock=False)
    step_check = _step_check(core, S)
    s = S(0, 0, 0)
    _CALLS.clear()
    assert step_check(s, s._replace(b=1)) is None  # a and c alone: only b_and_c runs
    assert _CALLS == []
    assert step_check(s, s._replace(a=7)) == ((props[0], core.invs[1]), ())  # a_small
    assert _CALLS == [7]
    assert step_check(s, s._replace(c=2)) == ((), (core.somes[0],))  # c_moved reached
    assert _CALLS == [7]
    assert step_check(s, (0, 0, 0)) is not None  # another type: the ordinary path


def _raises_at_two(spec: Any, s: S) -> bool:
    return 1 / (2 - s.a) != 0


def test_a_property_that_raises_in_the_step_checker_is_reported() -> None:
    props = [Property("divides", "invariant", _raises_at_two)]
    with pytest.raises(SpecRuntimeError) as err:
        check(Three(bad=9), props)
    assert "property divides" in str(err.value) and "ZeroDivisionError" in str(err.value)
    assert err.value.trace is not None and err.value.trace.states[-1].a == 2


# -- witnesses, helpers in modules, and conjunctions -----------------------------------

@fallible
def _why_whole(spec: Any, s: S) -> Witness:
    return Witness(f"sum {sum(s)}")  # reads the whole state: only when failing


def _a_or_witness(spec: Any, s: S) -> bool | Witness:
    return s.a < 3 or _why_whole(spec, s)


def _witness_first(spec: Any, s: S) -> bool | Witness:
    if s.b > 5:
        return _why_whole(spec, s)
    return True


def _witness_kept(spec: Any, s: S) -> bool | Witness:
    w = _why_whole(spec, s)  # built on every state: its reads count
    return s.a < 3 or w


def _plain_whole(spec: Any, s: S) -> bool:
    return sum(s) >= 0


def _a_or_plain(spec: Any, s: S) -> bool:
    return s.a < 3 or _plain_whole(spec, s)  # not a witness builder: it may be true


def test_a_witness_returned_when_failing_reads_nothing_that_decides() -> None:
    assert fields_read(_a_or_witness, FIELDS) == {"a"}
    assert fields_read(_witness_first, FIELDS) == {"b"}
    assert fields_read(_witness_kept, FIELDS) is None
    assert fields_read(_a_or_plain, FIELDS) is None


def test_helpers_called_through_a_module_are_followed() -> None:
    from agree.models.raft_types import RaftState
    from agree.properties import raft

    fields = RaftState._fields
    # raft's invariants call their witnesses as why.NAME(spec, s), only when failing
    assert fields_read(raft.one_leader_per_term, fields) == {"state", "current_term"}
    assert fields_read(raft.log_matching, fields) == {"log"}
    assert fields_read(raft.election_safety, fields) == {"elections"}
    assert fields_read(raft.leader_append_only, fields, 2) == {"state", "current_term", "log"}


def _not_a_conjunction(spec: Any, s: S) -> bool:
    return s.a < 3 or s.b < 3


def test_a_conjunction_is_split_into_conjuncts_with_their_reads() -> None:
    spec = Three(limit=2)
    parts = conjuncts(Three.constraint, FIELDS)
    assert parts is not None
    assert [read for _, read in parts] == [{"a"}, {"b"}, {"c"}]
    for s in (S(0, 0, 0), S(3, 0, 0), S(0, 3, 0), S(0, 0, 3), S(2, 2, 2)):
        assert [bool(f(spec, s)) for f, _ in parts] == \
            [s.a <= 2, s.b <= 2, s.c <= 2]
    assert conjuncts(_not_a_conjunction, FIELDS) is None
    assert conjuncts(_captures, FIELDS) is None
    assert conjuncts(lambda spec, s: s.a < 1 and s.b < 1, FIELDS) is None


class Counted(Three):
    """Three, whose constraint conjuncts count their evaluations."""

    calls: ClassVar[list[str]] = []

    def constraint(self, s: S) -> bool:
        return (_count("a", s.a <= self.limit) and _count("b", s.b <= self.limit)
                and s.c <= self.limit)


def _count(name: str, ok: bool) -> bool:
    Counted.calls.append(name)
    return ok


def test_the_constraint_evaluates_only_the_conjuncts_a_step_can_change() -> None:
    spec = Counted(limit=2)
    core = Core(spec, [], check_pruned=True, deadlock=False)
    inside = _inside(core, S)
    s = S(1, 1, 1)
    Counted.calls.clear()
    assert inside(s, s._replace(c=9)) is False  # only the conjunct of c
    assert inside(s, s._replace(b=2)) is True
    assert inside(s, s._replace(b=3)) is False
    assert inside(s, s._replace(a=3, b=3)) is False  # a's fails first
    assert Counted.calls == ["b", "b", "a"]
    whole = check(Counted(limit=2, bad=9))
    assert (whole.distinct, whole.generated) == (27, 1 + 27 * 3)  # the initial state too


_STEPS: list[tuple[int, int]] = []


def _a_never_falls(spec: Any, s: S, t: S) -> bool:
    _STEPS.append((s.a, t.a))
    return t.a >= s.a and t.a != 2  # broken by the step to a == 2


def test_an_action_property_is_evaluated_once_per_state_on_steps_leaving_its_fields() -> None:
    spec = Three(bad=9)
    props = [Property("a_never_falls", "action", _a_never_falls)]
    core = Core(spec, props, check_pruned=True, deadlock=False)
    ok = _act_check(core, S)
    s = S(1, 0, 0)
    _STEPS.clear()
    assert ok(s, s._replace(b=1)) and ok(s, s._replace(c=1)) and ok(s, s._replace(b=2))
    assert _STEPS == [(1, 1)]  # evaluated on (s, s), once
    assert not ok(s, s._replace(a=2))
    assert _STEPS == [(1, 1), (1, 2)]
    result = check(Three(bad=9), props)
    assert [v.property for v in result.violations] == ["a_never_falls"]
    assert result.violations[0].trace is not None and len(result.violations[0].trace) == 2


class Fan(Three):
    """Three whose first state's successors each satisfy ``moved`` and break
    ``below_one`` or ``below_two``: the expansion code must not check again what the
    successors before in the same state already decided."""

    @invariant
    def below_one(self, s: S) -> bool:
        return s.a + s.b < 2

    @invariant
    def c_below_two(self, s: S) -> bool:
        return s.c < 2

    @sometimes
    def moved(self, s: S) -> bool:
        return s.a + s.b + s.c > 0


def test_what_one_successor_decides_is_not_decided_again_by_the_next() -> None:
    spec = Fan(limit=3, bad=9)
    result = check(spec, stop_at_first=False)
    assert sorted(v.property for v in result.violations) == ["below_one", "c_below_two"]
    assert [len(v.trace or ()) for v in result.violations] == [2, 2]
    assert (result.distinct, result.generated) == (64, 1 + 64 * 3)
    first = check(Fan(limit=3, bad=9))
    assert [v.property for v in first.violations] == ["below_one"]


@per_state
def _summary(spec: Any, s: S) -> int:
    return s.b + s.c


def _through_memo(spec: Any, s: S) -> bool:
    return _summary(spec, s) >= 0


def test_a_per_state_memo_reads_what_its_function_reads() -> None:
    assert fields_read(_through_memo, FIELDS) == {"b", "c"}
    from agree.models.paxos import PaxosState
    from agree.properties import paxos

    assert fields_read(paxos.agreement, PaxosState._fields) == {"msgs"}


class Private(Three):
    """A constraint reading a private (name-mangled) attribute: not split."""

    def __init__(self) -> None:
        super().__init__(limit=1)
        self.__top = 1

    def constraint(self, s: S) -> bool:
        return s.a <= self.__top and s.b <= self.__top and s.c <= self.__top


def test_a_constraint_with_a_private_name_is_evaluated_whole() -> None:
    assert conjuncts(Private.constraint, FIELDS) is None
    assert check(Private()).distinct == 8
