"""The environment's choices over a bag of messages, shared by the Paxos and Multi-Paxos
conformance machines: deliver, drop or duplicate a message in flight, crash or restart a
node, and settle (deliver a run of messages). A subclass sets ``self.c`` to a cluster
with ``bag``, ``deliver``, ``drop``, ``duplicate``, ``crash``, ``restart`` and a
``recorder``, and adds the rules of its protocol (proposals, elections...)."""

from __future__ import annotations

from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

__all__ = ["BagMachine"]


class BagMachine(RuleBasedStateMachine):
    """Rules for a cluster whose messages sit in a bag (``self.c``, set by the subclass);
    per class, the examples run and the spec steps covered."""

    servers = 3
    examples: ClassVar[int] = 0
    coverage: ClassVar[dict[str, int]] = {}
    c: Any

    def teardown(self) -> None:
        cov = type(self).coverage
        for label, count in self.c.recorder.summary().items():
            cov[label] = cov.get(label, 0) + count

    @precondition(lambda self: len(self.c.bag) > 0)
    @rule(k=st.integers(0, 63))
    def deliver(self, k: int) -> None:
        self.c.deliver(k % len(self.c.bag))

    @precondition(lambda self: len(self.c.bag) > 0)
    @rule(k=st.integers(0, 63))
    def drop(self, k: int) -> None:
        self.c.drop(k % len(self.c.bag))

    @precondition(lambda self: 0 < len(self.c.bag) < 16)
    @rule(k=st.integers(0, 63))
    def duplicate(self, k: int) -> None:
        self.c.duplicate(k % len(self.c.bag))

    @rule(node=st.integers(0, 7))
    def crash(self, node: int) -> None:
        self.c.crash(node % self.servers)

    @rule(node=st.integers(0, 7))
    def restart(self, node: int) -> None:
        self.c.restart(node % self.servers)

    @precondition(lambda self: len(self.c.bag) > 0)
    @rule(limit=st.integers(1, 24), stride=st.integers(0, 3))
    def settle(self, limit: int, stride: int) -> None:
        """Deliver up to ``limit`` messages, each the ``stride``-th in flight (wrapping)."""
        for _ in range(limit):
            if not self.c.bag:
                return
            self.c.deliver(stride % len(self.c.bag))
