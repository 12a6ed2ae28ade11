"""Smaller frontier states: what the BFS keeps between generating a state and expanding it.

Most of a breadth-first search's memory is the states of the level being built. Two
generic savings, for states that are named tuples (every spec here):

* **interning**: a field whose values recur across states (``current_term``,
  ``max_bal``: a handful of distinct tuples) is replaced by one shared instance of
  each value. A field whose values hardly recur (a message set) stops being
  interned after a sample, so its table does not grow with the state space;
* **packing**: a ``frozenset`` field (a hash table: 200 bytes empty, about 30 per
  element past four) is kept as a tuple (8 bytes per element) until the state is
  expanded.

:meth:`Compactor.unpack` gives back a state equal to the original, of the same type;
the engine's results do not depend on any of this, only its memory does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Compactor"]

#: After this many states, a field that found a shared instance for fewer than
#: half of them stops being interned.
_SAMPLE = 4096


class _Packed(tuple):  # type: ignore[type-arg]
    """A packed state: its type, then its fields."""

    __slots__ = ()


class _Set(tuple):  # type: ignore[type-arg]
    """A frozenset field kept as a tuple of its elements."""

    __slots__ = ()


class Compactor:
    """Packs named-tuple states for the frontier and unpacks them for expansion;
    any other state passes through unchanged."""

    __slots__ = ("_hits", "_seen", "_tables")

    def __init__(self) -> None:
        self._tables: dict[int, dict[Any, Any] | None] = {}  # field -> intern table or None
        self._hits: dict[int, int] = {}
        self._seen = 0

    def pack(self, state: Any) -> Any:
        """A smaller stand-in for ``state`` (or the state itself)."""
        if not (isinstance(state, tuple) and hasattr(type(state), "_fields")):
            return state
        self._seen += 1
        tables, hits = self._tables, self._hits
        out: list[Any] = [type(state)]
        for i, f in enumerate(state):
            if type(f) is frozenset and len(f) > 4:
                out.append(_Set(f))
                continue
            table = tables.get(i, {})
            if table is None:
                out.append(f)
                continue
            try:
                g = table.setdefault(f, f)
            except TypeError:  # unhashable: leave it
                tables[i] = None
                out.append(f)
                continue
            if g is not f:
                hits[i] = hits.get(i, 0) + 1
            tables[i] = table
            out.append(g)
        if self._seen == _SAMPLE:
            for i, table in tables.items():
                if table is not None and 2 * hits.get(i, 0) < _SAMPLE:
                    tables[i] = None  # values hardly recur: not worth a table
        return _Packed(out)

    @staticmethod
    def unpack(packed: Any) -> Any:
        """The state ``packed`` stands for."""
        if type(packed) is not _Packed:
            return packed
        return tuple.__new__(packed[0], [frozenset(f) if type(f) is _Set else f
                                         for f in packed[1:]])
