"""Is a key-value history linearizable? Wing and Gong's search, as Porcupine runs it.

A history is linearizable when every operation can be given one instant between
its call and its return such that, taken in that order, the operations are a
legal run of a single-copy key-value store (Herlihy and Wing, 1990). Checking
this is NP-complete in general; what makes it cheap in practice:

* **per-key decomposition** (P-compositionality, as in Porcupine): a key-value
  history is linearizable iff its restriction to each key is, so each key is
  searched alone, over a much smaller history;
* **Wing and Gong's search** with Lowe's memoisation: walk the calls and
  returns in time order; at a call, tentatively linearize that operation now
  (if the model accepts its output) and restart from the first unlinearized
  event; at a return whose operation is not yet linearized, backtrack. A cache
  of (set of linearized operations, model state) pairs already explored cuts
  the repeated work that makes the plain search exponential.

Indeterminate operations (timed out: they may or may not have taken effect) have
no return event, unless a deadline bounds when they can have taken effect: the
search may linearize them anywhere after their call, and their effect is "maybe",
so the search tracks the set of states the key may be in (Porcupine's power-set
model). A read with an unknown result constrains nothing and is dropped.

On a violation, :func:`check_history` cuts out a small part of the key's history
that is impossible on its own (a :class:`Witness`: a time window, its edges
relaxed, reads dropped while it stays impossible). Cutting only ever relaxes the
history, so the witness is evidence of the violation and never an artefact of the
cutting; that is what a reviewer wants to read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from agree.chaos.history import Operation, format_operation

__all__ = [
    "KeyResult",
    "LinearizabilityResult",
    "Witness",
    "check_history",
    "check_key",
    "is_linearizable",
    "minimal_violation",
    "step",
    "step_all",
]

#: The model's state for one key: its value, or ``None`` when absent.
State = str | None


class _Any:
    """The value of a key at the start of a window of the history: anything at all."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()
#: What the search tracks: every state the key may be in (an indeterminate call
#: may or may not have taken effect), Porcupine's power-set construction.
States = frozenset[State | _Any]
Verdict = Literal["ok", "violation", "unknown"]


def step(state: State, op: Operation) -> tuple[bool, State]:
    """The sequential specification of one key: may ``op`` run in ``state``, and then?

    Returns whether the operation's recorded output is what a single copy in
    ``state`` would answer, and the state after it (assuming it took effect).
    """
    if op.kind == "put":
        return True, op.value
    if op.kind == "get":
        return op.indeterminate or op.output == state, state
    if op.kind == "delete":
        if op.indeterminate or op.output is None:
            return True, None
        return op.output == (state is not None), None
    swapped = state == op.expected
    after = op.value if swapped else state
    return op.indeterminate or op.output == swapped, after


def step_all(states: States, op: Operation) -> States:
    """Every state the key may be in after ``op``; empty when no state explains its output.

    An indeterminate call may also have had no effect at all. From ``ANY`` every
    output is possible, and the state after is as narrow as the output allows.
    """
    out: set[State | _Any] = set()
    for s in states:
        if isinstance(s, _Any):
            if op.kind == "put":
                out.add(op.value)
            elif op.kind == "get":
                out.add(op.output)
            elif op.kind == "delete":
                out.add(None)
            else:
                out.add(op.value if op.output is not False else ANY)
            if op.indeterminate:
                out.add(ANY)
            continue
        ok, after = step(s, op)
        if ok:
            out.add(after)
        if op.indeterminate:
            out.add(s)
    return frozenset(out)


class _Entry:
    """A call or return event in the doubly linked list the search lifts and unlifts."""

    __slots__ = ("index", "is_call", "match", "next", "op", "prev")

    def __init__(self, op: Operation | None, index: int, is_call: bool) -> None:
        self.op = op
        self.index = index
        self.is_call = is_call
        self.match: _Entry | None = None
        self.prev: _Entry | None = None
        self.next: _Entry | None = None


def _build(ops: Sequence[Operation]) -> _Entry:
    """The events in time order behind a sentinel head.

    At equal times calls come before returns, so operations that touch at an
    instant count as concurrent (the permissive reading: no false alarms).
    """
    events: list[tuple[float, int, int, _Entry]] = []
    for i, op in enumerate(ops):
        call = _Entry(op, i, True)
        events.append((op.call, 0, i, call))
        end = op.ret if op.ret is not None else op.deadline
        if end is not None:
            ret = _Entry(op, i, False)
            call.match = ret
            events.append((end, 1, i, ret))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    head = _Entry(None, -1, False)
    prev = head
    for *_, entry in events:
        prev.next = entry
        entry.prev = prev
        prev = entry
    return head


def _lift(entry: _Entry) -> None:
    for e in (entry, entry.match):
        if e is None:
            continue
        assert e.prev is not None
        e.prev.next = e.next
        if e.next is not None:
            e.next.prev = e.prev


def _unlift(entry: _Entry) -> None:
    for e in (entry.match, entry):
        if e is None:
            continue
        assert e.prev is not None
        e.prev.next = e
        if e.next is not None:
            e.next.prev = e


def _search(ops: Sequence[Operation], deadline: float | None,
            initial: States = frozenset([None])) -> bool | None:
    """True: linearizable; False: not; None: the deadline passed first."""
    ops = [o for o in ops if not (o.kind == "get" and o.indeterminate)]
    head = _build(ops)
    states: States = initial
    linearized = 0
    cache: set[tuple[int, States]] = set()
    stack: list[tuple[_Entry, States]] = []
    entry = head.next
    steps = 0
    while entry is not None:
        steps += 1
        if deadline is not None and steps % 2048 == 0 and time.monotonic() > deadline:
            return None
        if entry.is_call:
            assert entry.op is not None
            after = step_all(states, entry.op)
            if after:
                marked = linearized | (1 << entry.index)
                if (marked, after) not in cache:
                    cache.add((marked, after))
                    stack.append((entry, states))
                    states, linearized = after, marked
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            # an operation returned here without having been linearized: undo the last choice
            if not stack:
                return False
            top, states = stack.pop()
            linearized &= ~(1 << top.index)
            _unlift(top)
            entry = top.next
    # every remaining event is the call of an indeterminate operation that need not
    # have happened: leave them out
    return True


def is_linearizable(ops: Sequence[Operation], time_limit: float | None = None,
                    initial: State = None) -> bool | None:
    """Whether a single-key history is linearizable (None: ``time_limit`` ran out)."""
    deadline = None if time_limit is None else time.monotonic() + time_limit
    return _search(ops, deadline, frozenset([initial]))


@dataclass(frozen=True)
class Witness:
    """A part of a history that is already impossible on its own.

    It is a time window of the history: the calls that overlap ``[since, until]``,
    the key holding *any* value at ``since`` (``None``: from the start, key absent).
    Calls that straddle an edge of the window (``relaxed``) count as "may or may
    not have taken effect, answer unknown" (reads among them are left out), and
    inside the window reads and failed cas are dropped while it stays impossible.
    Each step only relaxes the history, so if the witness cannot be linearized,
    neither can the history: it is evidence, not an artefact of the shrinking.
    """

    operations: tuple[Operation, ...]
    since: float | None
    relaxed: frozenset[int]

    def as_checked(self) -> tuple[list[Operation], States]:
        """The operations as the search sees them, and the states the key may start in."""
        ops = [replace(o, ret=None, deadline=None, output=None) if o.id in self.relaxed
               else o for o in self.operations]
        start: States = frozenset([ANY]) if self.since is not None else frozenset([None])
        return ops, start


def _end(o: Operation) -> float:
    if o.ret is not None:
        return o.ret
    return o.deadline if o.deadline is not None else math.inf


def _window(ops: Sequence[Operation], since: float | None, until: float) -> Witness:
    kept, relaxed = [], set()
    for o in sorted(ops, key=lambda o: (o.call, o.id)):
        if (since is not None and _end(o) < since) or o.call > until:
            continue
        if (since is not None and o.call < since) or _end(o) > until:
            if o.kind == "get":
                continue  # its answer may depend on calls outside the window
            relaxed.add(o.id)
        kept.append(o)
    return Witness(tuple(kept), since, frozenset(relaxed))


def _impossible(w: Witness, deadline: float | None) -> bool | None:
    ops, initial = w.as_checked()
    verdict = _search(ops, deadline, initial)
    return None if verdict is None else not verdict


def minimal_violation(ops: Sequence[Operation], time_limit: float | None = None) -> Witness:
    """A small part of a non-linearizable single-key history that is impossible alone.

    First the earliest end of a window (binary search over return times), then its
    latest start, then reads and failed cas dropped, in halving chunks, while the
    window stays impossible. Stops early, with the smallest witness found so far,
    when ``time_limit`` runs out.
    """
    deadline = None if time_limit is None else time.monotonic() + time_limit
    best = Witness(tuple(sorted(ops, key=lambda o: (o.call, o.id))), None, frozenset())
    ends = sorted({o.ret for o in ops if o.ret is not None})
    lo, hi = 0, len(ends)  # the window closing at ends[hi] (or never) is impossible
    while lo < hi:
        mid = (lo + hi) // 2
        w = _window(ops, None, ends[mid])
        verdict = _impossible(w, deadline)
        if verdict is None:
            return best
        if verdict:
            best, hi = w, mid
        else:
            lo = mid + 1
    until = ends[hi] if hi < len(ends) else math.inf
    starts = sorted({o.call for o in best.operations})
    lo, hi = 0, len(starts)  # the window opening at starts[lo - 1] (or the start) is impossible
    while lo < hi:
        mid = (lo + hi + 1) // 2
        w = _window(ops, starts[mid - 1], until)
        verdict = _impossible(w, deadline)
        if verdict is None:
            return best
        if verdict:
            best, lo = w, mid
        else:
            hi = mid - 1
    return _drop_observers(best, deadline)


def _drop_observers(w: Witness, deadline: float | None) -> Witness:
    """Drop reads and failed cas (they change nothing) while the window stays impossible."""

    def observer(o: Operation) -> bool:
        return o.id not in w.relaxed and (o.kind == "get" or (
            o.kind == "cas" and o.output is False))

    current = list(w.operations)
    chunk = max(1, sum(1 for o in current if observer(o)) // 2)
    while True:
        removed = False
        candidates = [o for o in current if observer(o)]
        i = 0
        while i < len(candidates):
            drop = {o.id for o in candidates[i:i + chunk]}
            trial = Witness(tuple(o for o in current if o.id not in drop), w.since, w.relaxed)
            verdict = _impossible(trial, deadline)
            if verdict is None:
                return Witness(tuple(current), w.since, w.relaxed)
            if verdict:
                current = list(trial.operations)
                candidates = candidates[:i] + candidates[i + chunk:]
                removed = True
            else:
                i += chunk
        if chunk == 1 and not removed:
            return Witness(tuple(current), w.since, w.relaxed)
        chunk = max(1, chunk // 2)


@dataclass(frozen=True)
class KeyResult:
    """The verdict for one key, with a small impossible part of its history on a violation."""

    key: str
    verdict: Verdict
    operations: int
    witness: Witness | None = None

    @property
    def minimal(self) -> tuple[Operation, ...]:
        """The operations of the witness (empty unless the key is not linearizable)."""
        return self.witness.operations if self.witness is not None else ()

    def report(self) -> str:
        """Text for a reviewer."""
        if self.verdict == "ok":
            return f"key {self.key}: linearizable ({self.operations} operations)"
        if self.verdict == "unknown":
            return (f"key {self.key}: unknown, the search ran out of time "
                    f"({self.operations} operations)")
        w = self.witness
        assert w is not None
        start = ("from the start (the key absent)" if w.since is None else
                 f"from t={w.since:.3f} on, whatever the key held then")
        lines = [f"key {self.key}: NOT linearizable. These {len(w.operations)} of its "
                 f"{self.operations} operations are impossible on their own, {start}:"]
        for o in w.operations:
            note = "   [straddles the window: may or may not count]" if o.id in w.relaxed \
                else ""
            lines.append("  " + format_operation(o) + note)
        return "\n".join(lines)


@dataclass
class LinearizabilityResult:
    """The verdict for a whole history: per key, and overall."""

    keys: list[KeyResult] = field(default_factory=list)
    operations: int = 0
    seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        verdicts = {k.verdict for k in self.keys}
        if "violation" in verdicts:
            return "violation"
        return "unknown" if "unknown" in verdicts else "ok"

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    @property
    def violations(self) -> list[KeyResult]:
        return [k for k in self.keys if k.verdict == "violation"]

    def report(self) -> str:
        """Text: the overall verdict, then every key that is not linearizable."""
        head = {"ok": "linearizable", "violation": "NOT linearizable",
                "unknown": "unknown (search ran out of time)"}[self.verdict]
        lines = [f"history of {self.operations} operations on {len(self.keys)} keys: {head} "
                 f"({self.seconds:.2f} s)"]
        lines += [k.report() for k in self.keys if k.verdict != "ok"]
        return "\n".join(lines)


def check_key(key: str, ops: Sequence[Operation], time_limit: float | None = None,
              minimise: bool = True) -> KeyResult:
    """Check one key's operations; shrink them on a violation."""
    verdict = is_linearizable(ops, time_limit)
    if verdict is None:
        return KeyResult(key, "unknown", len(ops))
    if verdict:
        return KeyResult(key, "ok", len(ops))
    witness = minimal_violation(ops, time_limit) if minimise else Witness(
        tuple(ops), None, frozenset())
    return KeyResult(key, "violation", len(ops), witness)


def check_history(ops: Sequence[Operation], time_limit: float | None = None,
                  minimise: bool = True) -> LinearizabilityResult:
    """Check a whole key-value history, one key at a time (keys in sorted order).

    ``time_limit`` bounds the search per key (and again the shrinking); a key
    whose search runs out is reported ``unknown``, never ``ok``.
    """
    start = time.monotonic()
    by_key: dict[str, list[Operation]] = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    result = LinearizabilityResult(operations=len(ops))
    for key in sorted(by_key):
        result.keys.append(check_key(key, by_key[key], time_limit, minimise))
    result.seconds = time.monotonic() - start
    return result
