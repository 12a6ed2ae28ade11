"""Smaller frontier states: what the BFS keeps between generating a state and expanding it.

Most of a breadth-first search's memory is the states of the level being built. Two
generic savings, for states that are named tuples (every spec here):

* **interning**: a field whose values recur across states (``current_term``,
  ``max_bal``: a handful of distinct tuples) is replaced by one shared instance of
  each value. A field whose values hardly recur (a message set), or that states
  already share, stops being interned after a sample, so its table does not grow
  with the state space and no time is spent on it;
* **packing**: a ``frozenset`` field (a hash table: 200 bytes empty, about 30 per
  element past four) is kept as a tuple (8 bytes per element) until the state is
  expanded.

:meth:`Compactor.unpack` gives back a state equal to the original, of the same type;
the engine's results do not depend on any of this, only its memory does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Compactor"]

#: After this many states, the fields where interning hardly saves memory stop being
#: interned (see Compactor._prune).
_SAMPLE = 4096


class _Packed(tuple):  # type: ignore[type-arg]
    """A packed state: its type, then its fields."""

    __slots__ = ()


class _Set(tuple):  # type: ignore[type-arg]
    """A frozenset field kept as a tuple of its elements."""

    __slots__ = ()


class _Layout:
    """What to do with the fields of one state type."""

    __slots__ = ("interned", "looked", "saved", "seen", "sets")

    def __init__(self, state: tuple[Any, ...]) -> None:
        self.sets = [i for i, f in enumerate(state) if type(f) is frozenset]
        self.interned: list[tuple[int, dict[Any, Any]]] = [
            (i, {}) for i in range(len(state)) if i not in self.sets]
        self.saved = [0] * len(state)  # per field: states it gave a shared instance
        self.looked = [0] * len(state)  # per field: states it was looked up for
        self.seen = 0


class Compactor:
    """Packs named-tuple states for the frontier and unpacks them for expansion;
    any other state passes through unchanged."""

    __slots__ = ("_layouts",)

    def __init__(self) -> None:
        self._layouts: dict[type, _Layout | None] = {}

    def pack(self, state: Any, parent: Any = None) -> Any:
        """A smaller stand-in for ``state`` (or the state itself). ``parent``, the
        unpacked state it is a successor of, if any: a field holding the parent's very
        object is already the shared instance, and is not looked up again."""
        cls = type(state)
        layout = self._layouts.get(cls)
        if layout is None:
            if cls in self._layouts:
                return state
            named = isinstance(state, tuple) and hasattr(cls, "_fields")
            layout = self._layouts[cls] = _Layout(state) if named else None
        if layout is None:
            return state
        fields = list(state)
        changed = False
        sampling = layout.seen < _SAMPLE
        same = type(parent) is cls
        for i, table in layout.interned:
            f = fields[i]
            if same and f is parent[i]:
                continue  # the parent's, interned when it was packed
            try:
                g = table.setdefault(f, f)
            except TypeError:  # unhashable: leave this field alone
                layout.interned = [x for x in layout.interned if x[0] != i]
                continue
            if sampling:
                layout.looked[i] += 1
            if g is not f:
                fields[i] = g
                changed = True
                if sampling:
                    layout.saved[i] += 1
        if sampling:
            layout.seen += 1
            if layout.seen == _SAMPLE:
                _prune(layout)
        packed = False
        for i in layout.sets:
            f = fields[i]
            if type(f) is frozenset and len(f) > 4:
                fields[i] = _Set(f)
                packed = True
        if packed:
            return _Packed((cls, *fields))
        return tuple.__new__(cls, fields) if changed else state

    @staticmethod
    def unpack(packed: Any) -> Any:
        """The state ``packed`` stands for."""
        if type(packed) is not _Packed:
            return packed
        return tuple.__new__(packed[0], [frozenset(f) if type(f) is _Set else f
                                         for f in packed[1:]])


def _prune(layout: _Layout) -> None:
    """Stop interning the fields where it hardly saves anything: values that seldom
    recur (the table would grow with the states) or that states already share (looked
    up, they give back the instance they hold). A field that holds its parent's
    instance is not looked up (nothing to save, nothing spent): what decides is how
    often a lookup gave a shared instance, not how many states did (a model that passes
    unchanged values on, as Raft's ``put`` does, would lose the interning of the values
    it does build)."""
    layout.interned = [(i, table) for i, table in layout.interned
                       if len(table) <= _SAMPLE // 2
                       and 8 * layout.saved[i] >= layout.looked[i]]
