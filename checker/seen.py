"""A compact seen-set for breadth-first search: fingerprints and parent links in arrays.

A ``dict`` from fingerprint to parent fingerprint costs about 100 bytes per state
in CPython (the entry, the key's int object, the parent's int object). Here each
state costs about 20: its fingerprint in an ``array('q')`` in the order states are
first seen (its *ordinal*), its parent's ordinal in an ``array('i')``, and an
open-addressing table of ordinals (``array('i')``, linear probing, at most two
thirds full) to find a fingerprint. A BFS level is a run of consecutive ordinals,
so the engine names a state of its frontier by ordinal and never re-fingerprints it.
"""

from __future__ import annotations

from array import array

__all__ = ["SeenSet"]

_FIRST_SIZE = 1 << 12


class SeenSet:
    """Fingerprints (64-bit ints) seen so far, each with a parent link: by default the
    ordinal of its parent (-1 for an initial state); with ``links="q"``, any 64-bit
    int (the multi-process workers store the parent's fingerprint, whose ordinal is
    in another worker's set)."""

    __slots__ = ("_limit", "_mask", "_table", "fps", "parents")

    def __init__(self, links: str = "i") -> None:
        self.fps = array("q")  # ordinal -> fingerprint
        self.parents = array(links)  # ordinal -> parent link
        self._table = array("i", [0]) * _FIRST_SIZE  # slot -> ordinal + 1, 0 = free
        self._mask = _FIRST_SIZE - 1
        self._limit = _FIRST_SIZE * 2 // 3

    def __len__(self) -> int:
        return len(self.fps)

    def add(self, fp: int, parent: int) -> bool:
        """Record ``fp`` with its parent's ordinal; False if it was already seen.
        A new state's ordinal is ``len(self) - 1`` after the call."""
        table, fps, mask = self._table, self.fps, self._mask
        i = fp & mask
        j = table[i]
        while j:
            if fps[j - 1] == fp:
                return False
            i = (i + 1) & mask
            j = table[i]
        fps.append(fp)
        self.parents.append(parent)
        n = len(fps)
        table[i] = n
        if n > self._limit:
            self._grow()
        return True

    def __contains__(self, fp: int) -> bool:
        return self.ordinal(fp) >= 0

    def ordinal(self, fp: int) -> int:
        """The ordinal of a fingerprint seen, or -1."""
        table, fps, mask = self._table, self.fps, self._mask
        i = fp & mask
        j = table[i]
        while j:
            if fps[j - 1] == fp:
                return j - 1
            i = (i + 1) & mask
            j = table[i]
        return -1

    def chain(self, ordinal: int) -> list[int]:
        """The fingerprints from an initial state down to ``ordinal``'s state."""
        out: list[int] = []
        while ordinal >= 0:
            out.append(self.fps[ordinal])
            ordinal = self.parents[ordinal]
        out.reverse()
        return out

    def _grow(self) -> None:
        size = 2 * (self._mask + 1)
        mask = size - 1
        table = array("i", [0]) * size
        for n, fp in enumerate(self.fps, 1):
            i = fp & mask
            while table[i]:
                i = (i + 1) & mask
            table[i] = n
        self._table, self._mask, self._limit = table, mask, size * 2 // 3
