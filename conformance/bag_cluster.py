"""The network choices of a conformance cluster whose messages sit in a bag, shared by the
Paxos and Multi-Paxos adapters: deliver, drop or duplicate the k-th message in flight,
crash a node. A subclass holds ``nodes`` (None: down), ``bag``, ``mapping`` (with
``ballot``) and ``_after(node, rule)``, which collects what a node sent and asks the spec."""

from __future__ import annotations

from typing import Any

from agree.conformance.matcher import Match

__all__ = ["BagCluster"]


class BagCluster:
    """Deliver, drop, duplicate and crash, judged through the subclass's ``_after``."""

    nodes: list[Any]
    bag: list[Any]
    mapping: Any

    def _after(self, i: int | None, rule: str) -> Match:
        raise NotImplementedError

    def _cut(self, m: Any) -> bool:
        """Whether ``m`` is lost on delivery though its destination is up (none here)."""
        return False

    def deliver(self, k: int) -> Match:
        """Deliver the k-th message in flight (lost if its destination is down, or cut)."""
        m = self.bag.pop(k)
        node = self.nodes[m.dest]
        if node is not None and not self._cut(m):
            node.step(m)
        return self._after(m.dest, f"deliver {type(m).__name__} n{m.source + 1}->n{m.dest + 1} "
                           f"ballot={self.mapping.ballot(m.ballot)}")

    def drop(self, k: int) -> Match:
        m = self.bag.pop(k)
        return self._after(None, f"drop {type(m).__name__} n{m.source + 1}->n{m.dest + 1}")

    def duplicate(self, k: int) -> Match:
        m = self.bag[k]
        self.bag.append(m)
        return self._after(None, f"duplicate {type(m).__name__} n{m.source + 1}->n{m.dest + 1}")

    def crash(self, i: int) -> Match:
        """Node i stops; only what it persisted survives (``restart`` reads it back)."""
        self.nodes[i] = None
        return self._after(None, f"crash n{i + 1}")
