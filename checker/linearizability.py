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
no return event: the search may linearize them anywhere after their call, or
never (which is the same as "it did not happen"). A read with an unknown result
constrains nothing and is dropped.

On a violation, :func:`check_history` shrinks the key's history to a smallest
non-linearizable sub-history (no single operation can be removed from it and
keep it non-linearizable), which is what a reviewer wants to read.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from agree.checker.history import Operation, format_history

__all__ = [
    "KeyResult",
    "LinearizabilityResult",
    "check_history",
    "check_key",
    "is_linearizable",
    "minimal_violation",
    "step",
]

#: The model's state for one key: its value, or ``None`` when absent.
State = str | None
Verdict = Literal["ok", "violation", "unknown"]


def step(state: State, op: Operation) -> tuple[bool, State]:
    """The sequential specification of one key: may ``op`` run in ``state``, and then?

    Returns whether the operation's recorded output is what a single copy in
    ``state`` would answer, and the state after it.
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
        if op.ret is not None:
            ret = _Entry(op, i, False)
            call.match = ret
            events.append((op.ret, 1, i, ret))
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


def _search(ops: Sequence[Operation], deadline: float | None, initial: State = None,
            ) -> bool | None:
    """True: linearizable; False: not; None: the deadline passed first."""
    ops = [o for o in ops if not (o.kind == "get" and o.indeterminate)]
    head = _build(ops)
    state: State = initial
    linearized = 0
    cache: set[tuple[int, State]] = set()
    stack: list[tuple[_Entry, State]] = []
    entry = head.next
    steps = 0
    while entry is not None:
        steps += 1
        if deadline is not None and steps % 2048 == 0 and time.monotonic() > deadline:
            return None
        if entry.is_call:
            assert entry.op is not None
            ok, after = step(state, entry.op)
            if ok:
                marked = linearized | (1 << entry.index)
                if (marked, after) not in cache:
                    cache.add((marked, after))
                    stack.append((entry, state))
                    state, linearized = after, marked
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            # an operation returned here without having been linearized: undo the last choice
            if not stack:
                return False
            top, state = stack.pop()
            linearized &= ~(1 << top.index)
            _unlift(top)
            entry = top.next
    # every remaining event is the call of an indeterminate operation: leave them out
    return True


def is_linearizable(ops: Sequence[Operation], time_limit: float | None = None,
                    initial: State = None) -> bool | None:
    """Whether a single-key history is linearizable (None: ``time_limit`` ran out)."""
    deadline = None if time_limit is None else time.monotonic() + time_limit
    return _search(ops, deadline, initial)


def minimal_violation(ops: Sequence[Operation], time_limit: float | None = None,
                      ) -> list[Operation]:
    """A smallest non-linearizable sub-history of a non-linearizable single-key history.

    Delta debugging: drop chunks of halving size while what is left stays
    non-linearizable, ending with single operations, so that no one operation of
    the result can be removed (1-minimal). A sub-history keeps, for every value
    it reads (or compares against), a write of that value: otherwise "a read of
    a value nobody wrote" would always be the smallest answer, true and useless.
    Stops early, returning the smallest found so far, when ``time_limit`` runs out.
    """
    deadline = None if time_limit is None else time.monotonic() + time_limit
    current = sorted(ops, key=lambda o: (o.call, o.id))
    originally = _written(current)
    chunk = max(1, len(current) // 2)
    while True:
        removed = False
        i = 0
        while i < len(current):
            trial = current[:i] + current[i + chunk:]
            verdict = _search(trial, deadline) if trial and _reads_from_kept(trial, originally) \
                else True
            if verdict is None:
                return current
            if verdict is False:
                current, removed = trial, True
            else:
                i += chunk
        if chunk == 1 and not removed:
            return current
        chunk = max(1, chunk // 2)


def _written(ops: Sequence[Operation]) -> set[str | None]:
    """Values that may have been written: puts, and cas calls that swapped or may have."""
    return {o.value for o in ops
            if o.kind == "put" or (o.kind == "cas" and (o.indeterminate or o.output is True))}


def _reads_from_kept(ops: Sequence[Operation], originally: set[str | None]) -> bool:
    """Every value read (or swapped from) in ``ops`` that the full history wrote is still
    written by some operation in ``ops``, and a delete that found the key still has a write."""
    written = _written(ops)
    for o in ops:
        if o.indeterminate:
            continue
        seen = o.output if o.kind == "get" else o.expected if o.kind == "cas" and o.output \
            else None
        if seen is not None and seen in originally and seen not in written:
            return False
        if o.kind == "delete" and o.output is True and originally and not written:
            return False
    return True


@dataclass(frozen=True)
class KeyResult:
    """The verdict for one key, with the smallest failing sub-history on a violation."""

    key: str
    verdict: Verdict
    operations: int
    minimal: tuple[Operation, ...] = ()

    def report(self) -> str:
        """Text for a reviewer."""
        if self.verdict == "ok":
            return f"key {self.key}: linearizable ({self.operations} operations)"
        if self.verdict == "unknown":
            return (f"key {self.key}: unknown, the search ran out of time "
                    f"({self.operations} operations)")
        return (f"key {self.key}: NOT linearizable. Smallest non-linearizable sub-history "
                f"({len(self.minimal)} of {self.operations} operations):\n"
                + "\n".join("  " + line for line in format_history(self.minimal).splitlines()))


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
    smallest = minimal_violation(ops, time_limit) if minimise else list(ops)
    return KeyResult(key, "violation", len(ops), tuple(smallest))


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
