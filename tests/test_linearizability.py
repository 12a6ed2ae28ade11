"""The linearizability checker on hand-built histories, and against brute force."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agree.chaos.history import (
    Event,
    HistoryError,
    HistoryRecorder,
    Operation,
    format_history,
    from_events,
)
from agree.chaos.linearizability import (
    Witness,
    _search,
    _window,
    check_history,
    is_linearizable,
    minimal_violation,
    step,
)

_ids = itertools.count()


def put(client: int, call: float, ret: float | None, key: str, value: str) -> Operation:
    return Operation(next(_ids), client, "put", key, call, ret, value=value)


def get(client: int, call: float, ret: float | None, key: str, out: str | None) -> Operation:
    return Operation(next(_ids), client, "get", key, call, ret, output=out)


def delete(client: int, call: float, ret: float | None, key: str,
           existed: bool | None = None) -> Operation:
    return Operation(next(_ids), client, "delete", key, call, ret, output=existed)


def cas(client: int, call: float, ret: float | None, key: str, expected: str | None,
        new: str, swapped: bool | None) -> Operation:
    return Operation(next(_ids), client, "cas", key, call, ret, value=new, expected=expected,
                     output=swapped)


# -- linearizable -----------------------------------------------------------------


def test_sequential_put_then_get() -> None:
    h = [put(1, 0, 1, "k", "a"), get(2, 2, 3, "k", "a")]
    assert is_linearizable(h) is True


def test_get_of_an_absent_key_reads_nothing() -> None:
    assert is_linearizable([get(1, 0, 1, "k", None)]) is True
    assert is_linearizable([get(1, 0, 1, "k", "a")]) is False


def test_a_read_concurrent_with_a_write_may_see_either_value() -> None:
    for seen in ("a", "b"):
        h = [put(1, 0, 1, "k", "a"), put(2, 2, 6, "k", "b"), get(3, 3, 4, "k", seen)]
        assert is_linearizable(h) is True, seen


def test_the_order_of_events_not_of_the_list_matters() -> None:
    h = [get(2, 2, 3, "k", "a"), put(1, 0, 1, "k", "a")]
    assert is_linearizable(h) is True


def test_touching_intervals_count_as_concurrent() -> None:
    # the put returns at 5 exactly when the get is called: either order is allowed
    assert is_linearizable([put(1, 0, 5, "k", "a"), get(2, 5, 6, "k", None)]) is True


def test_an_indeterminate_write_may_have_taken_effect() -> None:
    h = [put(1, 0, None, "k", "a"), get(2, 5, 6, "k", "a")]
    assert is_linearizable(h) is True


def test_an_indeterminate_write_may_not_have_taken_effect() -> None:
    h = [put(1, 0, None, "k", "a"), get(2, 5, 6, "k", None), get(2, 7, 8, "k", None)]
    assert is_linearizable(h) is True


def test_an_indeterminate_write_may_take_effect_late() -> None:
    # invoked at 0, never acknowledged, first visible at 20
    h = [put(1, 0, None, "k", "a"), get(2, 5, 6, "k", None), get(2, 20, 21, "k", "a")]
    assert is_linearizable(h) is True


def test_cas_swaps_once() -> None:
    h = [put(1, 0, 1, "k", "a"), cas(2, 2, 3, "k", "a", "b", True),
         cas(3, 4, 5, "k", "a", "c", False), get(1, 6, 7, "k", "b")]
    assert is_linearizable(h) is True


def test_cas_from_absent() -> None:
    h = [cas(1, 0, 1, "k", None, "a", True), cas(2, 2, 3, "k", None, "b", False),
         get(1, 4, 5, "k", "a")]
    assert is_linearizable(h) is True


def test_an_indeterminate_cas_may_or_may_not_have_swapped() -> None:
    base = [put(1, 0, 1, "k", "a"), cas(2, 2, None, "k", "a", "b", None)]
    assert is_linearizable([*base, get(1, 5, 6, "k", "a")]) is True
    assert is_linearizable([*base, get(1, 5, 6, "k", "b")]) is True


def test_delete_then_absent() -> None:
    h = [put(1, 0, 1, "k", "a"), delete(2, 2, 3, "k", True), get(1, 4, 5, "k", None),
         delete(2, 6, 7, "k", False)]
    assert is_linearizable(h) is True


def test_an_indeterminate_write_with_a_deadline_cannot_take_effect_after_it() -> None:
    late = Operation(next(_ids), 1, "put", "k", 0, None, value="a", deadline=3)
    h = [late, get(2, 5, 6, "k", None), get(2, 7, 8, "k", "a")]
    assert is_linearizable(h) is False
    unbounded = Operation(next(_ids), 1, "put", "k", 0, None, value="a")
    assert is_linearizable([unbounded, *h[1:]]) is True


def test_the_recorder_bounds_a_given_up_call_by_the_clients_next_write() -> None:
    """A read acknowledged after it bounds nothing (a ReadIndex read goes through no
    log: the write may still be applied later); the next acknowledged write does."""
    rec = HistoryRecorder(sessions=True)
    a = rec.invoke(1, "put", "k", 0.0, value="a")
    rec.info(a)
    b = rec.invoke(1, "get", "k", 3.0)
    rec.ok(b, 4.0, None)
    assert rec.operations()[0].deadline is None
    b2 = rec.invoke(1, "cas", "k", 5.0, value="b", expected="x")
    rec.ok(b2, 6.0, False)
    c = rec.invoke(1, "put", "k", 7.0, value="c")
    rec.info(c)
    first, _, _, last = rec.operations()
    assert first.deadline == 6.0 and first.indeterminate
    assert last.deadline is None
    assert "by 6.000 at the latest" in format_history([first])


def test_a_write_given_up_on_may_take_effect_after_the_clients_next_read() -> None:
    """Chaos seed 9212's history of k0, reduced: c1's put timed out, its ReadIndex gets
    saw nothing, then the put was committed and another client saw it. Linearizable
    (the recorder no longer bounds the put by the gets)."""
    rec = HistoryRecorder(sessions=True)
    p = rec.invoke(1, "put", "k0", 2.0, value="c1.1")
    rec.info(p)
    for start, end in ((87.0, 91.0), (99.0, 102.0)):
        g = rec.invoke(1, "get", "k0", start)
        rec.ok(g, end, None)
    x = rec.invoke(0, "cas", "k0", 109.0, value="c0.3", expected="c1.1")
    rec.ok(x, 113.0, True)
    assert is_linearizable(rec.operations()) is True


def test_a_timed_out_read_constrains_nothing() -> None:
    h = [put(1, 0, 1, "k", "a"), get(2, 2, None, "k", None), get(1, 3, 4, "k", "a")]
    assert is_linearizable(h) is True


# -- not linearizable ---------------------------------------------------------------


def test_stale_read_after_an_acknowledged_write() -> None:
    h = [put(1, 0, 1, "k", "a"), put(1, 2, 3, "k", "b"), get(2, 4, 5, "k", "a")]
    assert is_linearizable(h) is False


def test_a_lost_acknowledged_write() -> None:
    h = [put(1, 0, 1, "k", "a"), get(2, 2, 3, "k", None)]
    assert is_linearizable(h) is False


def test_two_readers_disagree_on_the_order_of_concurrent_writes() -> None:
    h = [put(1, 0, 10, "k", "a"), put(2, 0, 10, "k", "b"),
         get(3, 1, 2, "k", "a"), get(3, 3, 4, "k", "b"),
         get(4, 1, 2, "k", "b"), get(4, 3, 4, "k", "a")]
    assert is_linearizable(h) is False


def test_an_indeterminate_write_cannot_flip_back_and_forth() -> None:
    # a is never acknowledged; once b has been read after a, a cannot reappear
    h = [put(1, 0, None, "k", "a"), put(2, 1, 2, "k", "b"), get(3, 3, 4, "k", "a"),
         get(3, 5, 6, "k", "b")]
    assert is_linearizable(h) is False


def test_an_indeterminate_write_takes_effect_after_its_call() -> None:
    h = [get(2, 0, 1, "k", "a"), put(1, 2, None, "k", "a")]
    assert is_linearizable(h) is False


def test_two_cas_cannot_both_swap_from_the_same_value() -> None:
    h = [put(1, 0, 1, "k", "a"), cas(2, 2, 3, "k", "a", "b", True),
         cas(3, 4, 5, "k", "a", "c", True)]
    assert is_linearizable(h) is False


def test_a_failed_cas_that_should_have_swapped() -> None:
    h = [put(1, 0, 1, "k", "a"), cas(2, 2, 3, "k", "a", "b", False)]
    assert is_linearizable(h) is False


def test_delete_that_reports_a_missing_key_that_existed() -> None:
    h = [put(1, 0, 1, "k", "a"), delete(2, 2, 3, "k", False)]
    assert is_linearizable(h) is False


# -- whole histories, keys, shrinking ---------------------------------------------


def test_keys_are_checked_apart_and_the_failing_one_named() -> None:
    h = [put(1, 0, 1, "x", "a"), get(2, 2, 3, "x", "a"),
         put(1, 4, 5, "y", "a"), put(1, 6, 7, "y", "b"), get(2, 8, 9, "y", "a")]
    r = check_history(h)
    assert r.verdict == "violation"
    assert [k.key for k in r.violations] == ["y"]
    assert {k.key: k.verdict for k in r.keys} == {"x": "ok", "y": "violation"}
    assert "key y: NOT linearizable" in r.report()


def test_values_of_one_key_do_not_leak_into_another() -> None:
    # on a single register this would be fine; per key, y was never written
    h = [put(1, 0, 1, "x", "a"), get(2, 2, 3, "y", "a")]
    assert check_history(h).verdict == "violation"


def test_the_violation_shrinks_to_the_operations_that_matter() -> None:
    noise = [put(t, 10 * t, 10 * t + 1, "k", f"n{t}") for t in range(1, 8)]
    noise += [get(9, 10 * t + 2, 10 * t + 3, "k", f"n{t}") for t in range(1, 8)]
    bad = [put(1, 100, 101, "k", "a"), put(1, 102, 103, "k", "b"), get(2, 104, 105, "k", "a")]
    h = noise + bad
    r = check_history(h)
    (key,) = r.violations
    assert key.operations == len(h)
    # from the moment b is written, reading a is impossible, whatever came before
    assert [o.id for o in key.minimal] == [bad[1].id, bad[2].id]
    text = key.report()
    assert "These 2 of its 17 operations are impossible on their own, from t=102.000" in text
    assert 'get(k) -> "a"' in text


def _impossible_alone(w: Witness) -> bool:
    ops, initial = w.as_checked()
    return _search(ops, None, initial) is False


def test_the_witness_is_impossible_and_no_read_can_be_dropped() -> None:
    h = [put(1, 0, 10, "k", "a"), put(2, 0, 10, "k", "b"),
         get(3, 1, 2, "k", "a"), get(3, 3, 4, "k", "b"),
         get(4, 1, 2, "k", "b"), get(4, 3, 4, "k", "a"), get(5, 11, 12, "k", "a")]
    w = minimal_violation(h)
    assert _impossible_alone(w)
    reads = [o for o in w.operations if o.kind == "get" and o.id not in w.relaxed]
    assert len(reads) == 4
    for r in reads:
        rest = Witness(tuple(o for o in w.operations if o is not r), w.since, w.relaxed)
        assert not _impossible_alone(rest)


def test_a_witness_from_the_start_says_the_key_was_absent() -> None:
    h = [put(1, 0, 1, "k", "a"), get(2, 2, 3, "k", None)]
    r = check_history(h)
    assert "from the start (the key absent)" in r.report() or "from t=0.000" in r.report()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_window_of_a_linearizable_history_is_possible(data: st.DataObject) -> None:
    """The witness is evidence: cutting a window (its edges relaxed, any starting value)
    out of a linearizable history never makes it impossible."""
    ops = data.draw(linearizable_histories())
    times = sorted({o.call for o in ops} | {o.ret for o in ops if o.ret is not None})
    t1 = data.draw(st.sampled_from([None, *times]))
    t2 = data.draw(st.sampled_from([*times, float("inf")]))
    if t1 is not None and t2 < t1:
        t1, t2 = t2, t1
    assert not _impossible_alone(_window(ops, t1, t2))


def test_a_search_out_of_time_is_unknown_not_ok() -> None:
    h = [put(1, 2 * i, 2 * i + 1, "k", str(i)) for i in range(3000)]
    r = check_history(h, time_limit=0.0)
    assert r.verdict == "unknown"
    assert not r.ok


# -- recording --------------------------------------------------------------------


def test_events_pair_into_operations() -> None:
    events = [
        Event(0, 1, "invoke", 1, "put", "k", "a"),
        Event(1, 2, "invoke", 2, "get", "k"),
        Event(2, 1, "ok", 1),
        Event(3, 2, "ok", 2, output="a"),
        Event(4, 1, "invoke", 3, "put", "k", "b"),
        Event(5, 1, "info", 3),
        Event(6, 2, "invoke", 4, "put", "k", "c"),
        Event(7, 2, "fail", 4),
        Event(8, 3, "invoke", 5, "get", "k"),
    ]
    ops = from_events(events)
    assert [(o.id, o.ret) for o in ops] == [(1, 2), (2, 3), (3, None), (5, None)]
    assert ops[1].output == "a"
    assert is_linearizable(ops) is True


def test_bad_events_are_refused() -> None:
    with pytest.raises(HistoryError):
        from_events([Event(0, 1, "ok", 1)])
    with pytest.raises(HistoryError):
        from_events([Event(0, 1, "invoke", 1, "put", "k"), Event(1, 1, "invoke", 1, "put", "k")])
    with pytest.raises(HistoryError):
        Operation(1, 1, "get", "k", 5, 4)
    with pytest.raises(HistoryError):
        Operation(1, 1, "append", "k", 0, 1)  # type: ignore[arg-type]


def test_the_recorder_keeps_open_calls_indeterminate() -> None:
    rec = HistoryRecorder()
    a = rec.invoke(1, "put", "k", 0.0, value="a")
    b = rec.invoke(2, "cas", "k", 0.5, value="b", expected="a")
    c = rec.invoke(3, "put", "k", 0.7, value="z")
    rec.ok(a, 1.0)
    rec.fail(c)
    assert rec.pending == 1
    ops = rec.operations()
    assert [o.indeterminate for o in ops] == [False, True]
    rec.ok(b, 2.0, True)
    assert rec.operations()[1].output is True
    assert "cas(k, \"a\" -> \"b\") -> swapped" in format_history(rec.operations())


# -- against brute force ------------------------------------------------------------


def end(o: Operation) -> float | None:
    """The latest instant an operation can take effect."""
    return o.ret if o.ret is not None else o.deadline


def brute_force(ops: Sequence[Operation]) -> bool:
    """Try every subset of the indeterminate ops and every order respecting real time."""
    sure = [o for o in ops if not o.indeterminate]
    maybe = [o for o in ops if o.indeterminate and o.kind != "get"]
    for r in range(len(maybe) + 1):
        for chosen in itertools.combinations(maybe, r):
            group = sure + list(chosen)
            for order in itertools.permutations(group):
                if any(end(a) is not None and end(a) < b.call  # type: ignore[operator]
                       for i, b in enumerate(order) for a in order[i + 1:]):
                    continue
                state: str | None = None
                for o in order:
                    ok, state = step(state, o)
                    if not ok:
                        break
                else:
                    return True
    return False


@st.composite
def small_histories(draw: st.DrawFn) -> list[Operation]:
    n = draw(st.integers(1, 5))
    ops = []
    for i in range(n):
        kind = draw(st.sampled_from(["put", "get", "delete", "cas"]))
        call = draw(st.integers(0, 6))
        ret = None if draw(st.integers(0, 4)) == 0 else call + draw(st.integers(0, 4))
        val = draw(st.sampled_from(["a", "b"]))
        out: object = None
        if ret is not None:
            if kind == "get":
                out = draw(st.sampled_from([None, "a", "b"]))
            elif kind == "cas":
                out = draw(st.booleans())
            elif kind == "delete":
                out = draw(st.sampled_from([None, True, False]))
        exp = draw(st.sampled_from([None, "a", "b"]))
        dl = None if ret is not None or draw(st.booleans()) else call + draw(st.integers(0, 4))
        ops.append(Operation(i, i, kind, "k", call, ret, value=val, expected=exp, output=out,
                             deadline=dl))
    return ops


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_histories())
def test_agrees_with_brute_force(ops: list[Operation]) -> None:
    assert is_linearizable(ops) is brute_force(ops)


@st.composite
def linearizable_histories(draw: st.DrawFn) -> list[Operation]:
    """Run a real register: each op takes effect at a point inside its interval."""
    n = draw(st.integers(1, 25))
    state: str | None = None
    ops = []
    for i in range(n):
        point = 10.0 * i
        call = point - draw(st.integers(0, 30))
        ret = point + draw(st.integers(0, 30))
        kind = draw(st.sampled_from(["put", "get", "delete", "cas"]))
        val = f"v{i}"
        timed_out = draw(st.integers(0, 5)) == 0
        took_effect = not timed_out or draw(st.booleans())
        exp = draw(st.sampled_from([None, state, f"v{max(0, i - 1)}"]))
        out: object = None
        if took_effect:
            if kind == "put":
                state = val
            elif kind == "get":
                out = state
            elif kind == "delete":
                out, state = state is not None, None
            else:
                out = state == exp
                if out:
                    state = val
        elif kind == "cas":
            out = None
        ops.append(Operation(i, i % 4, kind, "k", call, None if timed_out else ret, value=val,
                             expected=exp, output=None if timed_out else out))
    return ops


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linearizable_histories())
def test_histories_of_a_real_register_are_linearizable(ops: list[Operation]) -> None:
    assert is_linearizable(ops) is True
