"""Raft conformance as a Hypothesis state machine: the environment's choices are rules.

Each rule is one choice (deliver / drop / duplicate a message in flight, tick a
node up to its timeout, fire its election timer, crash, restart, partition, heal,
a client proposal); after each, :class:`RaftConformance` maps the cluster onto
models/raft.py and checks that the spec allows the step and that every safety
property holds. A failure is Hypothesis' minimal program plus the mapped trace.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from agree.checker.conformance.raft_driver import RaftConformance, harness_config

__all__ = ["RaftMachine", "raft_machine"]


class RaftMachine(RuleBasedStateMachine):
    """Hostile schedules for a simulated Raft cluster, every step held to the spec.

    Class attributes set the configuration (use :func:`raft_machine` for others).
    ``examples`` counts the machines built, for measuring time to catch a bug."""

    servers = 3
    values = 2
    max_batch = 2
    examples = 0

    def __init__(self) -> None:
        super().__init__()
        type(self).examples += 1
        self.c = RaftConformance(self.servers, self.values, config=harness_config(self.max_batch))

    def teardown(self) -> None:
        pass

    @precondition(lambda self: self.c.bag_size > 0)
    @rule(k=st.integers(0, 63))
    def deliver(self, k: int) -> None:
        self.c.deliver(k % self.c.bag_size)

    @precondition(lambda self: self.c.bag_size > 0)
    @rule(k=st.integers(0, 63))
    def drop(self, k: int) -> None:
        self.c.drop(k % self.c.bag_size)

    @precondition(lambda self: 0 < self.c.bag_size < 12)
    @rule(k=st.integers(0, 63))
    def duplicate(self, k: int) -> None:
        self.c.duplicate(k % self.c.bag_size)

    @rule(node=st.integers(0, 7), ticks=st.integers(1, 6))
    def tick(self, node: int, ticks: int) -> None:
        i = node % self.servers
        for _ in range(ticks):
            self.c.tick(i)

    @rule(node=st.integers(0, 7))
    def timeout(self, node: int) -> None:
        self.c.timeout(node % self.servers)

    @rule(node=st.integers(0, 7), v=st.integers(0, 7))
    def propose(self, node: int, v: int) -> None:
        self.c.propose(node % self.servers, v % self.values)

    @rule(node=st.integers(0, 7))
    def crash(self, node: int) -> None:
        self.c.crash(node % self.servers)

    @rule(node=st.integers(0, 7))
    def restart(self, node: int) -> None:
        self.c.restart(node % self.servers)

    @rule(group=st.frozensets(st.integers(0, 7), max_size=3))
    def partition(self, group: frozenset[int]) -> None:
        self.c.partition(k % self.servers for k in group)

    @rule()
    def heal(self) -> None:
        self.c.heal()


def raft_machine(servers: int = 3, values: int = 2, max_batch: int = 2) -> type[RaftMachine]:
    """A RaftMachine subclass for another configuration."""
    attrs: dict[str, Any] = {"servers": servers, "values": values, "max_batch": max_batch,
                             "examples": 0}
    return type(f"RaftMachine{servers}", (RaftMachine,), attrs)
