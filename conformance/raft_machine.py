"""Raft conformance as a Hypothesis state machine: the environment's choices are rules.

Each rule is one choice (deliver / drop / duplicate a message in flight, tick a
node up to its timeout, fire its election timer, crash, restart, partition, heal,
a client proposal); after each, :class:`RaftConformance` maps the cluster onto
models/raft.py and checks that the spec allows the step and that every safety
property holds. A failure is Hypothesis' minimal program plus the mapped trace.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from agree.conformance.raft_driver import RaftConformance, harness_config

__all__ = ["RaftMachine", "raft_machine"]


class RaftMachine(RuleBasedStateMachine):
    """Hostile schedules for a simulated Raft cluster, every step held to the spec.

    Class attributes set the configuration (use :func:`raft_machine` for others).
    ``examples`` counts the machines built, for measuring time to catch a bug."""

    servers = 3
    values = 2
    max_batch = 2
    elections = False  # PreVote and CheckQuorum (off: raft.tla's elections)
    examples: ClassVar[int] = 0
    coverage: ClassVar[dict[str, int]] = {}
    snapshots_sent: ClassVar[int] = 0  # InstallSnapshot requests sent (over all examples)

    def __init__(self) -> None:
        super().__init__()
        type(self).examples += 1
        self.c = RaftConformance(self.servers, self.values,
                                 config=harness_config(self.max_batch, self.elections))

    @initialize(exact=st.booleans(), snapshots=st.booleans())
    def replication(self, exact: bool, snapshots: bool) -> None:
        """Half the schedules with raft.tla's replication (Config.spec_exact), so both
        modes are held to the spec: the recovery's hints and probes, and the full
        batches in every heartbeat (where stale requests are likelier). Half with a
        snapshot every 2 applied entries (the log compacted, InstallSnapshot)."""
        if exact or snapshots:
            config = harness_config(self.max_batch, self.elections)
            if exact:
                config = replace(config, spec_exact=True)
            self.c = RaftConformance(self.servers, self.values, config=config,
                                     snapshot_every=2 if snapshots else 0)

    def teardown(self) -> None:
        type(self).snapshots_sent += sum(e.action == "SendSnapshot" for _, e in self.c.sim.events)
        cov = type(self).coverage
        for label, count in self.c.recorder.summary().items():
            cov[label] = cov.get(label, 0) + count

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

    # Macro rules: sequences of the choices above that reach deep states sooner.

    @precondition(lambda self: self.c.bag_size > 0)
    @rule(limit=st.integers(1, 24), stride=st.integers(0, 3))
    def settle(self, limit: int, stride: int = 0) -> None:
        """Deliver up to ``limit`` messages, each the ``stride``-th oldest in flight
        (wrapping): 0 keeps the order they were sent in, others reorder them."""
        for _ in range(limit):
            if not self.c.bag_size:
                return
            self.c.deliver(stride % self.c.bag_size)

    @rule(node=st.integers(0, 7))
    def elect(self, node: int) -> None:
        """Node's timer fires, then everything in flight is delivered (up to 24)."""
        self.c.timeout(node % self.servers)
        self.settle(24)

    @precondition(lambda self: self.c.sim.leader() is not None)
    @rule(v=st.integers(0, 7))
    def replicate(self, v: int) -> None:
        """The leader (of the highest term) appends v, then everything is delivered."""
        leader = self.c.sim.leader()
        assert leader is not None
        self.c.propose(leader, v % self.values)
        self.settle(24)

    @precondition(lambda self: self.c.sim.leader() is not None)
    @rule(node=st.integers(0, 7), n=st.integers(1, 4))
    def lag(self, node: int, n: int) -> None:
        """A follower cut off while the leader appends ``n`` values, then healed and
        sent a heartbeat: its catch-up (with snapshots on, often an InstallSnapshot)."""
        leader = self.c.sim.leader()
        assert leader is not None
        j = node % self.servers
        if j == leader:
            j = (j + 1) % self.servers
        self.c.partition([j])
        for v in range(n):
            self.c.propose(leader, v % self.values)
            self.settle(24)
        self.c.heal()
        self.c.tick(leader)
        self.c.tick(leader)
        self.settle(24)

    @precondition(lambda self: self.c.sim.leader() is not None)
    @rule()
    def isolate(self) -> None:
        """The leader cut off for two election timeouts, then healed: with CheckQuorum
        it steps down in its term (without, it stays leader and is deposed later)."""
        leader = self.c.sim.leader()
        assert leader is not None
        self.c.partition([leader])
        for _ in range(2 * self.c.config.election_ticks):
            self.c.tick(leader)
        self.c.heal()
        self.settle(24)


def raft_machine(servers: int = 3, values: int = 2, max_batch: int = 2,
                 elections: bool = False) -> type[RaftMachine]:
    """A RaftMachine subclass for another configuration (``elections``: with PreVote and
    CheckQuorum, the server's default; without, raft.tla's elections, where a
    partitioned server's term disrupts and stale leaders linger, as the seeded bugs
    need in order to show)."""
    attrs: dict[str, Any] = {"servers": servers, "values": values, "max_batch": max_batch,
                             "elections": elections, "examples": 0,
                             "coverage": {}, "snapshots_sent": 0}
    return type(f"RaftMachine{servers}", (RaftMachine,), attrs)
