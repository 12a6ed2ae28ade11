"""A deterministic simulator: Raft cores over a hostile in-process network.

The network is a bag: every message sent sits in `Simulator.bag` (a list, in
send order) until the environment chooses to deliver, drop or duplicate it, in
any order. Nodes crash (losing everything but their MemoryStorage) and restart;
groups of nodes are partitioned and healed; time is a logical clock advanced
explicitly. Nothing is random unless you ask: `random_step` draws from the
simulator's own seeded generator. Each node runs a KVStateMachine on what its
core commits and, with ``snapshot_every=N``, snapshots it every N applied entries
(the log is compacted behind it; a lagging follower gets InstallSnapshot).

Driving it rule by rule (e.g. from Hypothesis)::

    sim = Simulator(n=3, seed=7)
    sim.timeout(0)            # node 0 starts an election
    sim.deliver(0)            # deliver bag[0]; after each call the node's Ready is done
    sim.propose(0, b"x")      # -> index, or None if node 0 is not the leader
    sim.crash(0); sim.restart(0)

After every call, `sim.nodes[k].core` is node k's RaftCore (None while crashed),
whose read-only state maps onto raft.tla's variables.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agree.impl.kv import KVStateMachine
from agree.impl.raft import Config, Entry, Event, Message, NotLeader, RaftCore, Role
from agree.impl.raft.snapshot import snapshot_due
from agree.impl.storage import MemoryStorage

__all__ = ["SimNode", "Simulator"]


@dataclass
class SimNode:
    """One simulated server: its core (None while down), what it persisted, what it applied."""

    id: int
    core: RaftCore | None
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    kv: KVStateMachine = field(default_factory=KVStateMachine)
    applied: list[tuple[int, Entry]] = field(default_factory=list)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    incarnation: int = 0
    #: ReadIndex reads answered by the core: read id -> read index (None: refused)
    reads: dict[int, int | None] = field(default_factory=dict)

    @property
    def up(self) -> bool:
        return self.core is not None


class Simulator:
    """An in-process cluster of `n` Raft cores; every method is one environment choice."""

    def __init__(self, n: int = 3, seed: int = 0, config: Config | None = None,
                 snapshot_every: int = 0) -> None:
        if n < 1:
            raise ValueError("a cluster needs at least one node")
        if snapshot_every < 0:
            raise ValueError("snapshot_every must be >= 0")
        self.snapshot_every = snapshot_every
        #: snapshots taken (node, index) and installed from a leader (node, index)
        self.snapshots_taken: list[tuple[int, int]] = []
        self.snapshots_installed: list[tuple[int, int]] = []
        self.n = n
        self.seed = seed
        self.config = config or Config()
        self.rng = random.Random(seed)
        self.bag: list[Message] = []
        self.clock = 0
        self.events: list[tuple[int, Event]] = []
        self.sent = 0
        self.delivered = 0
        #: every entry any node ever applied, by index (across crashes), and conflicts seen
        self.applied_at: dict[int, Entry] = {}
        self.conflicts: list[str] = []
        self._group = [0] * n  # nodes in different groups cannot talk
        self.nodes = [SimNode(k, None) for k in range(n)]
        for node in self.nodes:
            node.core = self._new_core(node)

    # ---- environment choices ----
    def deliver(self, i: int) -> bool:
        """Take bag[i] out and hand it to its destination; False if it was lost instead
        (destination down, or across a partition)."""
        m = self.bag.pop(i)
        node = self.nodes[m.dest]
        if node.core is None or not self.connected(m.source, m.dest):
            return False
        self.delivered += 1
        node.core.step(m)
        self._process(node)
        return True

    def drop(self, i: int) -> Message:
        """Lose bag[i]."""
        return self.bag.pop(i)

    def duplicate(self, i: int) -> Message:
        """Send another copy of bag[i] (appended to the bag)."""
        m = self.bag[i]
        self.bag.append(m)
        return m

    def tick(self, k: int, count: int = 1) -> None:
        """Tick node k's core `count` times (no-op while it is down)."""
        node = self.nodes[k]
        for _ in range(count):
            if node.core is None:
                return
            node.core.tick()
            self._process(node)

    def advance(self, ticks: int = 1) -> None:
        """Advance the logical clock, ticking every live node once per tick."""
        for _ in range(ticks):
            self.clock += 1
            for k in range(self.n):
                self.tick(k)

    def timeout(self, k: int) -> None:
        """Node k's election timer fires now (RaftCore.campaign)."""
        node = self.nodes[k]
        if node.core is not None:
            node.core.campaign()
            self._process(node)

    def timer_fires(self, k: int) -> None:
        """Node k's election timer fires now as on a tick: a pre-vote first when the
        config has PreVote (RaftCore.election_timer_fired); ``timeout`` skips it."""
        node = self.nodes[k]
        if node.core is not None:
            node.core.election_timer_fired()
            self._process(node)

    def propose(self, k: int, value: bytes) -> int | None:
        """ClientRequest at node k: the new entry's index, or None if k is down or not leader."""
        node = self.nodes[k]
        if node.core is None:
            return None
        try:
            index = node.core.propose(value)
        except NotLeader:
            return None
        self._process(node)
        return index

    def read(self, k: int) -> int | None:
        """A ReadIndex read at node k: its id (answered in ``nodes[k].reads``), or None
        if k is down or not the leader."""
        node = self.nodes[k]
        if node.core is None:
            return None
        try:
            rid = node.core.read_index()
        except NotLeader:
            return None
        self._process(node)
        return rid

    def crash(self, k: int) -> None:
        """Node k stops; only its MemoryStorage survives."""
        self.nodes[k].core = None

    def restart(self, k: int) -> None:
        """Node k comes back from what it persisted (a no-op if it is up)."""
        node = self.nodes[k]
        if node.core is not None:
            return
        node.incarnation += 1
        node.kv = KVStateMachine()
        snapshot = node.storage.load_snapshot()
        if snapshot is not None:
            node.kv.restore(snapshot.data)
        node.applied = []
        node.results = {}
        node.reads = {}
        node.core = self._new_core(node)

    def partition(self, *groups: Iterable[int]) -> None:
        """Split the network: nodes talk only within their group; unlisted nodes form one
        more group. Messages crossing groups are lost when delivered."""
        self._group = [len(groups)] * self.n
        for g, members in enumerate(groups):
            for k in members:
                self._group[k] = g

    def heal(self) -> None:
        """Everyone can talk to everyone again."""
        self._group = [0] * self.n

    def random_step(self, p_deliver: float = 0.7, p_drop: float = 0.05,
                    p_duplicate: float = 0.02) -> str:
        """One environment choice drawn from the seeded generator; returns its name.

        Crashes, restarts and partitions are left to the caller's schedule.
        """
        r = self.rng.random()
        if self.bag and r < p_deliver:
            self.deliver(self.rng.randrange(len(self.bag)))
            return "deliver"
        if self.bag and r < p_deliver + p_drop:
            self.drop(self.rng.randrange(len(self.bag)))
            return "drop"
        if self.bag and r < p_deliver + p_drop + p_duplicate:
            self.duplicate(self.rng.randrange(len(self.bag)))
            return "duplicate"
        self.advance()
        return "advance"

    # ---- queries ----
    def connected(self, a: int, b: int) -> bool:
        return self._group[a] == self._group[b]

    def core(self, k: int) -> RaftCore:
        """Node k's core; AssertionError if it is down."""
        core = self.nodes[k].core
        assert core is not None, f"node {k} is down"
        return core

    def leaders(self) -> list[int]:
        """Live nodes that currently believe they lead, in id order."""
        return [k for k, nd in enumerate(self.nodes)
                if nd.core is not None and nd.core.role is Role.LEADER]

    def leader(self) -> int | None:
        """The live leader with the highest term, if any."""
        best = None
        for k in self.leaders():
            if best is None or self.core(k).current_term > self.core(best).current_term:
                best = k
        return best

    def run_until(self, done: Any, max_steps: int = 10_000) -> bool:
        """Deliver messages (oldest first) and advance the clock until done(self) is true."""
        for _ in range(max_steps):
            if done(self):
                return True
            if self.bag:
                self.deliver(0)
            else:
                self.advance()
        return bool(done(self))

    def elect(self, max_steps: int = 10_000) -> int:
        """Run until some live node leads and the bag is empty; returns the leader."""
        ok = self.run_until(lambda s: s.leader() is not None and not s.bag, max_steps)
        leader = self.leader()
        if not ok or leader is None:
            raise RuntimeError(f"no leader after {max_steps} steps")
        return leader

    def check_applied_agree(self) -> None:
        """State machine safety: no two nodes ever applied different entries at one index
        (checked on every apply, across crashes); AssertionError naming the first conflict."""
        if self.conflicts:
            raise AssertionError(self.conflicts[0])

    # ---- machinery ----
    def _new_core(self, node: SimNode) -> RaftCore:
        hs, log = node.storage.load()
        rng = random.Random(f"{self.seed}:{node.id}:{node.incarnation}")
        return RaftCore(node.id, self.n, rng, self.config, hs, log, node.storage.load_snapshot())

    def _process(self, node: SimNode) -> None:
        """Do node's Ready: persist, then send, then apply (after restoring a snapshot a
        leader sent); then snapshot if due."""
        core = node.core
        assert core is not None
        ready = core.ready()
        node.storage.save(ready)
        self.bag.extend(ready.messages)
        self.sent += len(ready.messages)
        for event in ready.events:
            self.events.append((node.id, event))
        if ready.snapshot is not None:
            node.kv.restore(ready.snapshot.data)
            self.snapshots_installed.append((node.id, ready.snapshot.index))
        for index, entry in ready.committed:
            node.applied.append((index, entry))
            first = self.applied_at.setdefault(index, entry)
            if first != entry:
                self.conflicts.append(f"node {node.id} applied {entry} at index {index}, "
                                      f"which another node applied as {first}")
            node.results[index] = node.kv.apply(index, entry.value)
        node.reads.update(ready.reads)
        if snapshot_due(node.kv.last_applied, core.snapshot, self.snapshot_every):
            snapshot = core.compact(node.kv.last_applied, node.kv.snapshot())
            node.storage.compact(snapshot)
            self.snapshots_taken.append((node.id, snapshot.index))
