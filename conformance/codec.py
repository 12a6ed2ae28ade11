"""Client values as spec values, shared by every conformance adapter (Raft, Paxos,
Multi-Paxos) and the explanations of their failures."""

from __future__ import annotations

__all__ = ["ValueCodec"]


class ValueCodec:
    """Client values (bytes in the implementation) as the spec's values ``0..k-1``.

    The harness proposes ``b"0"``, ``b"1"``...; any other value gets the next free
    number the first time it is seen (so real logs map too)."""

    def __init__(self) -> None:
        self._ids: dict[bytes, int] = {}

    def encode(self, v: int) -> bytes:
        return str(v).encode()

    def decode(self, value: bytes) -> int:
        if value not in self._ids:
            text = value.decode("ascii", "replace")
            self._ids[value] = int(text) if text.isdigit() else 1000 + len(self._ids)
        return self._ids[value]

    def show(self, v: int) -> str:
        """The client value a spec value stands for, as text (for reports)."""
        for value, k in self._ids.items():
            if k == v:
                return value.decode("ascii", "replace")
        return str(v)
