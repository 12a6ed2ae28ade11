"""The simulator's network pieces: messages in flight with ids and send times, and counters.

Every message the simulator's nodes send becomes an :class:`InFlight`: a monotonic id
(unique for the simulator's lifetime; a duplicate gets a new one), the logical clock
tick it was sent at, and the message. :class:`Bag` holds them in arrival order and
reads as a list of plain messages, so ``sim.bag[i]`` and index-based choices work as
they always did, while ``Bag.flights()`` and ``Bag.position(id)`` give tests the ids.
:class:`NetStats` counts, per message type, how many messages and how many bytes (the
wire encoding's size, :func:`agree.impl.wire.encode_message`) were sent, delivered,
lost (delivered to a down node or across a cut), dropped and duplicated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, overload

from agree.impl.raft import Message
from agree.impl.wire import encode_message

__all__ = ["EVENTS", "Bag", "Count", "InFlight", "Links", "NetStats", "UnknownMessage"]

#: What can happen to a message in the simulator, in the order NetStats reports them.
EVENTS = ("sent", "delivered", "lost", "dropped", "duplicated")


class UnknownMessage(KeyError):
    """No message with that id is in flight (it was delivered, dropped, or never sent)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown message"


@dataclass(frozen=True)
class InFlight:
    """One message in the network: its id, the tick it was sent at and the message."""

    id: int
    sent_at: int
    msg: Message

    @cached_property
    def size(self) -> int:
        """The message's size on the wire in bytes (computed when first asked for)."""
        return len(encode_message(self.msg))

    @property
    def kind(self) -> str:
        """The message's type name, e.g. ``"AppendEntriesRequest"``."""
        return type(self.msg).__name__


class Bag(MutableSequence[Message]):
    """Messages in flight, in arrival order; a list of messages to index-based callers.

    Whatever is inserted (by the simulator or by a test appending to ``sim.bag``) gets
    the next id and the current tick as its send time."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._items: list[InFlight] = []
        self._clock = clock
        self._next_id = 0

    def new(self, msg: Message, sent_at: int | None = None) -> InFlight:
        """A fresh InFlight for msg (next id; sent now unless sent_at), not in the bag."""
        self._next_id += 1
        return InFlight(self._next_id, self._clock() if sent_at is None else sent_at, msg)

    def put(self, flight: InFlight) -> None:
        """Append an InFlight (keeping its id and send time)."""
        self._items.append(flight)

    def take(self, i: int) -> InFlight:
        """Remove and return the i-th InFlight."""
        return self._items.pop(i)

    def flight(self, i: int) -> InFlight:
        return self._items[i]

    def flights(self) -> list[InFlight]:
        """A copy of what is in flight, in arrival order."""
        return list(self._items)

    def position(self, mid: int) -> int:
        """The index of the message with id mid; UnknownMessage if it is not in the bag."""
        for i, f in enumerate(self._items):
            if f.id == mid:
                return i
        raise UnknownMessage(f"no message with id {mid} is in flight")

    # -- MutableSequence[Message] --
    @overload
    def __getitem__(self, i: int) -> Message: ...
    @overload
    def __getitem__(self, i: slice) -> list[Message]: ...
    def __getitem__(self, i: int | slice) -> Message | list[Message]:
        if isinstance(i, slice):
            return [f.msg for f in self._items[i]]
        return self._items[i].msg

    @overload
    def __setitem__(self, i: int, m: Message) -> None: ...
    @overload
    def __setitem__(self, i: slice, m: Iterable[Message]) -> None: ...
    def __setitem__(self, i: int | slice, m: Any) -> None:
        if isinstance(i, slice):
            self._items[i] = [self.new(x) for x in m]
        else:
            self._items[i] = self.new(m)

    def __delitem__(self, i: int | slice) -> None:
        del self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Message]:
        return (f.msg for f in self._items)

    def insert(self, i: int, m: Message) -> None:
        self._items.insert(i, self.new(m))

    def clear(self) -> None:
        self._items.clear()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Bag):
            return self._items == other._items
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Bag({list(self)!r})"


class Links:
    """Messages held back on their way: on a slow link (they arrive at a tick) or by a
    hold (until released)."""

    def __init__(self) -> None:
        self.delays: dict[tuple[int | None, int | None], int] = {}
        self.holds: list[Callable[[InFlight], bool]] = []
        #: (tick it arrives at, or None until released; the message)
        self._held: list[tuple[int | None, InFlight]] = []

    def __bool__(self) -> bool:
        return bool(self._held)

    def route(self, f: InFlight) -> bool:
        """Hold f back if a hold or a slow link says so; False: it goes into the bag now."""
        if self.holds and any(p(f) for p in self.holds):
            self._held.append((None, f))
            return True
        if self.delays:
            m = f.msg
            for key in ((m.source, m.dest), (m.source, None), (None, m.dest), (None, None)):
                ticks = self.delays.get(key)
                if ticks is not None:
                    self._held.append((f.sent_at + ticks, f))
                    return True
        return False

    def held(self) -> list[InFlight]:
        return sorted((f for _, f in self._held), key=lambda f: f.id)

    def take(self, mid: int) -> InFlight | None:
        """Remove and return held message mid, or None if it is not held."""
        for i, (_, f) in enumerate(self._held):
            if f.id == mid:
                del self._held[i]
                return f
        return None

    def due(self, clock: int) -> list[InFlight]:
        """Remove and return, in id order, the delayed messages that arrive by clock."""
        return self._remove(lambda t, f: t is not None and t <= clock)

    def release(self, predicate: Callable[[InFlight], bool] | None) -> list[InFlight]:
        """End every hold; remove and return the held messages matching predicate (all if
        None), in id order."""
        self.holds.clear()
        return self._remove(lambda t, f: predicate is None or predicate(f))

    def _remove(self, which: Callable[[int | None, InFlight], bool]) -> list[InFlight]:
        out = sorted((f for t, f in self._held if which(t, f)), key=lambda f: f.id)
        if out:
            gone = {f.id for f in out}
            self._held = [(t, f) for t, f in self._held if f.id not in gone]
        return out


@dataclass
class Count:
    """How many messages and how many bytes."""

    messages: int = 0
    bytes: int = 0


class NetStats:
    """Per event (sent, delivered, lost, dropped, duplicated) and message type: a Count.

    Bytes are added up when the counts are read (encoding every message costs a
    simulation that never asks a third of its time), or every 4096 records."""

    PENDING = 4096

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, Count]] = {e: {} for e in EVENTS}
        self._pending: list[tuple[Count, InFlight]] = []

    def record(self, event: str, flight: InFlight) -> None:
        c = self._counts[event].get(flight.kind)
        if c is None:
            c = self._counts[event][flight.kind] = Count()
        c.messages += 1
        self._pending.append((c, flight))
        if len(self._pending) >= self.PENDING:
            self._settle()

    def _settle(self) -> None:
        for c, f in self._pending:
            c.bytes += f.size
        self._pending.clear()

    def get(self, event: str, kind: str | None = None) -> Count:
        """The Count for one event and message type, or summed over every type (kind None).
        ValueError for an event that is not one of EVENTS."""
        if event not in self._counts:
            raise ValueError(f"unknown event {event!r}: one of {', '.join(EVENTS)}")
        self._settle()
        if kind is not None:
            c = self._counts[event].get(kind, Count())
            return Count(c.messages, c.bytes)
        total = Count()
        for c in self._counts[event].values():
            total.messages += c.messages
            total.bytes += c.bytes
        return total

    def kinds(self) -> list[str]:
        """Every message type seen, sorted."""
        return sorted({k for per in self._counts.values() for k in per})
    def table(self) -> str:
        """A plain-text table: one row per message type, messages/bytes per event."""
        head = ["type", *EVENTS]
        rows = [[k, *(f"{self.get(e, k).messages}/{self.get(e, k).bytes}" for e in EVENTS)]
                for k in self.kinds()]
        rows.append(["total", *(f"{self.get(e).messages}/{self.get(e).bytes}" for e in EVENTS)])
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                         for r in [head, *rows])
