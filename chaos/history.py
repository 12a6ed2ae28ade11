"""Client histories of a key-value store: what the linearizability checker reads.

A history is a list of :class:`Operation` values, one per client call, each with
the time it was invoked and the time it returned. A call that timed out (or
whose connection died) has no return time: it is *indeterminate*, it may or may
not have taken effect, and the checker treats it that way. A call that failed
definitely (the service said it did nothing) is simply left out.

Histories are recorded with :class:`HistoryRecorder` (invoke, then ok / fail /
info, as Jepsen names the outcomes) or rebuilt from such events with
:func:`from_events`. Nothing here knows about Raft or the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = [
    "KINDS",
    "Event",
    "HistoryError",
    "HistoryRecorder",
    "Kind",
    "Operation",
    "format_history",
    "format_operation",
    "from_events",
]

Kind = Literal["put", "get", "delete", "cas"]
#: The operations of the key-value store.
KINDS: tuple[str, ...] = ("put", "get", "delete", "cas")


class HistoryError(Exception):
    """A history that cannot be checked: unknown operation, return before call."""


@dataclass(frozen=True)
class Operation:
    """One client call on one key.

    ``value`` is what put writes and what cas writes on success; ``expected`` is
    what cas compares against (``None`` means "the key is absent"). ``output``
    is what the call returned: the value read for get (``None`` = absent), a
    bool for cas (did it swap), for delete ``None`` (not reported) or a bool
    (did the key exist). ``ret is None`` marks an indeterminate call; its
    ``deadline``, when known, is the latest time it can have taken effect (for a
    service that applies one client's calls in order and refuses a stale retry, the
    return of the same client's next acknowledged call).
    """

    id: int
    client: int
    kind: Kind
    key: str
    call: float
    ret: float | None
    value: str | None = None
    expected: str | None = None
    output: Any = None
    deadline: float | None = None

    @property
    def indeterminate(self) -> bool:
        """True when the call never returned: it may or may not have taken effect."""
        return self.ret is None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise HistoryError(f"operation {self.id}: unknown kind {self.kind!r} "
                               f"(expected one of {', '.join(KINDS)})")
        if self.ret is not None and self.ret < self.call:
            raise HistoryError(f"operation {self.id}: returns at {self.ret} before its call "
                               f"at {self.call}")
        if self.kind == "cas" and self.ret is not None and not isinstance(self.output, bool):
            raise HistoryError(f"operation {self.id}: a completed cas needs a bool output")
        if self.deadline is not None and (self.ret is not None or self.deadline < self.call):
            raise HistoryError(f"operation {self.id}: a deadline belongs to an indeterminate "
                               "call and cannot precede it")


@dataclass(frozen=True)
class Event:
    """A Jepsen-style event: ``invoke``, then ``ok`` / ``fail`` / ``info`` for the same op.

    ``info`` means the outcome is unknown (a timeout); ``fail`` means the call
    certainly did not take effect.
    """

    time: float
    client: int
    type: Literal["invoke", "ok", "fail", "info"]
    op: int
    kind: Kind | None = None
    key: str | None = None
    value: str | None = None
    expected: str | None = None
    output: Any = None


def from_events(events: Iterable[Event]) -> list[Operation]:
    """Pair invoke events with their completions into operations.

    An invocation with no completion, or completed by ``info``, is indeterminate;
    one completed by ``fail`` is dropped (it had no effect).
    """
    open_calls: dict[int, Event] = {}
    done: list[Operation] = []
    for ev in events:
        if ev.type == "invoke":
            if ev.op in open_calls:
                raise HistoryError(f"operation {ev.op} invoked twice")
            if ev.kind is None or ev.key is None:
                raise HistoryError(f"operation {ev.op}: an invoke needs kind and key")
            open_calls[ev.op] = ev
            continue
        inv = open_calls.pop(ev.op, None)
        if inv is None:
            raise HistoryError(f"operation {ev.op}: {ev.type} without an invoke")
        if ev.type == "fail":
            continue
        assert inv.kind is not None and inv.key is not None
        done.append(Operation(ev.op, inv.client, inv.kind, inv.key, inv.time,
                              ev.time if ev.type == "ok" else None, inv.value, inv.expected,
                              ev.output if ev.type == "ok" else None))
    for op_id in sorted(open_calls):
        inv = open_calls[op_id]
        assert inv.kind is not None and inv.key is not None
        done.append(Operation(op_id, inv.client, inv.kind, inv.key, inv.time, None, inv.value,
                              inv.expected))
    return sorted(done, key=lambda o: (o.call, o.id))


@dataclass
class HistoryRecorder:
    """Records client calls as they happen (used by the chaos harness).

    With ``sessions=True`` the service is taken at its word that it applies one
    client's writes in order and refuses a stale retry: a call given up on
    (:meth:`info`) then gets, as its deadline, the return of the same client's
    next acknowledged write (put, cas, delete: applied through the log after it).
    A read does not bound it: a ReadIndex read goes through no log, so a write
    given up on may still be committed and applied after it (chaos seed 9212 with
    ``--snapshot-every 2``). This bounds the search a great deal.
    """

    sessions: bool = False
    _open: dict[int, Operation] = field(default_factory=dict)
    _done: list[Operation] = field(default_factory=list)
    _next: int = 0
    _unbounded: dict[int, list[int]] = field(default_factory=dict)

    def invoke(self, client: int, kind: Kind, key: str, time: float, value: str | None = None,
               expected: str | None = None) -> int:
        """A call starts; returns its id for :meth:`ok`, :meth:`fail` or :meth:`info`."""
        op_id = self._next
        self._next += 1
        self._open[op_id] = Operation(op_id, client, kind, key, time, None, value, expected)
        return op_id

    def ok(self, op_id: int, time: float, output: Any = None) -> None:
        """The call returned ``output``."""
        op = self._open.pop(op_id)
        self._done.append(replace(op, ret=time, output=output))
        if self.sessions and op.kind != "get":
            waiting = set(self._unbounded.pop(op.client, []))
            self._done = [replace(o, deadline=time) if o.id in waiting else o
                          for o in self._done]

    def fail(self, op_id: int) -> None:
        """The call certainly had no effect (e.g. refused before it was proposed)."""
        del self._open[op_id]

    def info(self, op_id: int) -> None:
        """The call's outcome is unknown (timed out): it stays indeterminate."""
        op = self._open.pop(op_id)
        self._done.append(replace(op, output=None))
        self._unbounded.setdefault(op.client, []).append(op_id)

    @property
    def pending(self) -> int:
        """Calls invoked and not yet completed."""
        return len(self._open)

    def operations(self) -> list[Operation]:
        """Every call so far; those still open count as indeterminate."""
        ops = [*self._done, *(replace(o, output=None) for o in self._open.values())]
        return sorted(ops, key=lambda o: (o.call, o.id))


def _show(v: Any) -> str:
    return "absent" if v is None else json.dumps(v)


def format_operation(op: Operation) -> str:
    """One line: ``c2 [  3.000,   5.000] put(k, "v") -> ok``."""
    ret = "       ?" if op.ret is None else f"{op.ret:8.3f}"
    if op.kind == "put":
        call = f"put({op.key}, {_show(op.value)})"
        out = "ok"
    elif op.kind == "get":
        call = f"get({op.key})"
        out = _show(op.output)
    elif op.kind == "delete":
        call = f"delete({op.key})"
        out = "ok" if op.output is None else ("existed" if op.output else "was absent")
    else:
        call = f"cas({op.key}, {_show(op.expected)} -> {_show(op.value)})"
        out = "swapped" if op.output else "not swapped"
    if op.ret is None:
        out = "? (timed out: may or may not have taken effect"
        out += f", by {op.deadline:.3f} at the latest)" if op.deadline is not None else ")"
    return f"c{op.client:<3} [{op.call:8.3f}, {ret}]  {call} -> {out}"


def format_history(ops: Sequence[Operation]) -> str:
    """A history as text, one operation a line, in call order."""
    return "\n".join(format_operation(o) for o in sorted(ops, key=lambda o: (o.call, o.id)))
