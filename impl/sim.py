"""A deterministic simulator: Raft cores over a hostile in-process network.

The network is a bag: every message sent sits in `Simulator.bag` (a list, in
send order) until the environment chooses to deliver, drop or duplicate it, in
any order. Nodes crash (losing everything but their MemoryStorage) and restart;
groups of nodes are partitioned and healed; time is a logical clock advanced
explicitly. Nothing is random unless you ask: `random_step` draws from the
simulator's own seeded generator. Each node runs a KVStateMachine on what its
core commits and, with ``snapshot_every=N``, snapshots it every N applied entries
(the log is compacted behind it; a lagging follower gets InstallSnapshot).

Every message in flight also has an id and a send time (``sim.in_flight()``, and
``deliver_id`` / ``drop_id`` / ``duplicate_id``); links can be slowed (``delay``) and
messages held back until released (``hold`` / ``release``), nodes disconnected one by
one, and ``sim.stats`` counts messages and bytes per type (impl/simnet.py). Storage
faults (``sim.faults``, impl/simfaults.py) and clock skew (``skew``) are the ones
`agree chaos` uses. The guide's "Testing your code with the simulator" shows them.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from agree.impl.kv import KVStateMachine
from agree.impl.raft import Config, Entry, Event, Message, NotLeader, RaftCore, Role
from agree.impl.raft.snapshot import snapshot_due
from agree.impl.simfaults import Faults
from agree.impl.simnet import Bag, InFlight, Links, NetStats, UnknownMessage
from agree.impl.storage import MemoryStorage

__all__ = ["InFlight", "SimNode", "Simulator", "UnknownMessage"]


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
    #: membership changes answered by the core: change id -> (configuration entry's
    #: index, None) or (None, why it was given up)
    changes: dict[int, tuple[int | None, str | None]] = field(default_factory=dict)

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
        self.clock = 0
        #: what is in flight and deliverable, in arrival order (reads as a list of messages)
        self.bag = Bag(lambda: self.clock)
        #: per event and message type: messages and bytes (impl/simnet.py)
        self.stats = NetStats()
        #: storage faults armed per node (impl/simfaults.py)
        self.faults = Faults(n)
        self._rates = [Fraction(1)] * n
        self._credit = [Fraction(0)] * n
        self._disconnected: set[int] = set()
        self._links = Links()  # messages held back (slow links, holds)
        self.events: list[tuple[int, Event]] = []
        self.sent = 0
        self.delivered = 0
        #: every entry any node ever applied, by index (across crashes), and conflicts seen
        self.applied_at: dict[int, Entry] = {}
        self.conflicts: list[str] = []
        #: a leader's commit index that a majority of its configuration did not store (at
        #: the step it advanced): the first few, and each leader's last one checked
        self.false_commits: list[str] = []
        self._commit_seen = [0] * n
        self._group = [0] * n  # nodes in different groups cannot talk
        self.nodes = [SimNode(k, None) for k in range(n)]
        for node in self.nodes:
            node.core = self._new_core(node)

    # ---- environment choices ----
    def deliver(self, i: int) -> bool:
        """Take bag[i] out and hand it to its destination; False if it was lost instead
        (destination down, or across a partition)."""
        return self._deliver(self.bag.take(i))

    def drop(self, i: int) -> Message:
        """Lose bag[i]."""
        f = self.bag.take(i)
        self.stats.record("dropped", f)
        return f.msg

    def duplicate(self, i: int) -> Message:
        """Send another copy of bag[i] (appended to the bag, with a new id and the
        original's send time)."""
        return self._duplicate(self.bag.flight(i))

    def deliver_id(self, mid: int) -> bool:
        """Deliver the message with id mid (in the bag or held back), as ``deliver``;
        UnknownMessage if no such message is in flight."""
        return self._deliver(self._take_id(mid))

    def drop_id(self, mid: int) -> Message:
        """Lose the message with id mid (in the bag or held back)."""
        f = self._take_id(mid)
        self.stats.record("dropped", f)
        return f.msg

    def duplicate_id(self, mid: int) -> InFlight:
        """Send another copy of message mid into the bag; returns the copy (its new id)."""
        for f in self.bag.flights() + self._links.held():
            if f.id == mid:
                self._duplicate(f)
                return self.bag.flight(-1)
        raise UnknownMessage(f"no message with id {mid} is in flight")

    def delay(self, src: int | None, dest: int | None, ticks: int) -> None:
        """Messages sent from src to dest from now on arrive ``ticks`` clock ticks after
        they were sent (``advance`` moves them into the bag); None matches any node, the
        most specific setting wins; ticks=0 removes the setting."""
        for k in (src, dest):
            if k is not None:
                self._check_node(k)
        if not isinstance(ticks, int) or ticks < 0:
            raise ValueError(f"a delay is a number of ticks >= 0, not {ticks!r}")
        if ticks:
            self._links.delays[(src, dest)] = ticks
        else:
            self._links.delays.pop((src, dest), None)

    def hold(self, predicate: Callable[[InFlight], bool]) -> None:
        """Hold back every message sent from now on for which predicate(InFlight) is true,
        until ``release``: reorder by releasing, or deliver_id what you want first."""
        self._links.holds.append(predicate)

    def release(self, predicate: Callable[[InFlight], bool] | None = None) -> list[InFlight]:
        """Move held messages (those matching predicate; all if None) into the bag in id
        order, and stop every ``hold``; returns what was released."""
        out = self._links.release(predicate)
        for f in out:
            self.bag.put(f)
        return out

    def in_flight(self) -> list[InFlight]:
        """What is in the bag (deliverable), in arrival order, with ids and send times."""
        return self.bag.flights()

    def held(self) -> list[InFlight]:
        """What is held back (delayed links, ``hold``), in id order."""
        return self._links.held()

    def disconnect(self, k: int) -> None:
        """Cut node k off from every other node (beside any partition): what it sends and
        what is sent to it is lost when delivered, until ``reconnect(k)`` or ``heal``."""
        self._check_node(k)
        self._disconnected.add(k)

    def reconnect(self, k: int) -> None:
        """Undo ``disconnect(k)``."""
        self._check_node(k)
        self._disconnected.discard(k)

    def skew(self, k: int, rate: float | Fraction) -> None:
        """Node k's timers tick ``rate`` times per clock tick from now on (2: twice as
        fast, 0.5: half as fast; 1: no skew). ``advance`` applies it."""
        self._check_node(k)
        r = Fraction(rate).limit_denominator(10**6) if isinstance(rate, float) else \
            Fraction(rate)
        if not 0 < r <= 64:
            raise ValueError(f"a clock rate is in (0, 64], not {rate!r}")
        self._rates[k] = r

    def rate(self, k: int) -> Fraction:
        """Node k's timer rate (see ``skew``)."""
        return self._rates[k]

    def tick(self, k: int, count: int = 1) -> None:
        """Tick node k's core `count` times (no-op while it is down)."""
        node = self.nodes[k]
        for _ in range(count):
            if node.core is None:
                return
            node.core.tick()
            self._process(node)

    def advance(self, ticks: int = 1) -> None:
        """Advance the logical clock: delayed messages that are due arrive in the bag,
        then every live node ticks once per tick (``rate(k)`` times, see ``skew``)."""
        for _ in range(ticks):
            self.clock += 1
            if self._links:
                for f in self._links.due(self.clock):
                    self.bag.put(f)
            for k in range(self.n):
                rate = self._rates[k]
                if rate == 1:
                    self.tick(k)
                    continue
                self._credit[k] += rate
                while self._credit[k] >= 1:
                    self._credit[k] -= 1
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

    def add_server(self, k: int, j: int) -> int | None:
        """AddServer(j) at node k (impl/raft/membership.py): the change's id (answered in
        ``nodes[k].changes``), or None if k is down or not the leader; MembershipError
        if the change cannot start now."""
        return self._change(k, j, add=True)

    def remove_server(self, k: int, j: int) -> int | None:
        """RemoveServer(j) at node k, as ``add_server``."""
        return self._change(k, j, add=False)

    def _change(self, k: int, j: int, add: bool) -> int | None:
        node = self.nodes[k]
        if node.core is None:
            return None
        try:
            cid = node.core.add_server(j) if add else node.core.remove_server(j)
        except NotLeader:
            return None
        self._process(node)
        return cid

    def crash(self, k: int) -> None:
        """Node k stops; only its MemoryStorage survives."""
        self.nodes[k].core = None

    def restart(self, k: int) -> None:
        """Node k comes back from what it persisted (a no-op if it is up)."""
        node = self.nodes[k]
        if node.core is not None:
            return
        node.incarnation += 1
        self._commit_seen[k] = 0
        node.kv = KVStateMachine()
        snapshot = node.storage.load_snapshot()
        if snapshot is not None:
            node.kv.restore(snapshot.data)
        node.applied = []
        node.results = {}
        node.reads = {}
        node.changes = {}
        node.core = self._new_core(node)

    def partition(self, *groups: Iterable[int]) -> None:
        """Split the network: nodes talk only within their group; unlisted nodes form one
        more group. Messages crossing groups are lost when delivered."""
        self._group = [len(groups)] * self.n
        for g, members in enumerate(groups):
            for k in members:
                self._group[k] = g

    def heal(self) -> None:
        """Everyone can talk to everyone again (partitions and disconnections end)."""
        self._group = [0] * self.n
        self._disconnected.clear()

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
        """Whether a message from a reaches b now (same partition group, neither cut off)."""
        return self._group[a] == self._group[b] and not (
            self._disconnected and (a in self._disconnected or b in self._disconnected))

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

    def stores(self, k: int, index: int, term: int) -> bool:
        """Whether node k's storage holds an entry of `term` at `index` (or a snapshot
        covering it), up or down: what it has acknowledged it stores."""
        st = self.nodes[k].storage
        offset = st.snapshot.index if st.snapshot is not None else 0
        if index <= offset:
            return True
        position = index - offset - 1
        return position < len(st.entries) and st.entries[position].term == term

    def _check_commit(self, node: SimNode) -> None:
        """A leader's new commit index is stored by a majority of its configuration's
        voters (what it counted must be true; impl/raft/membership.py)."""
        core = node.core
        if core is None:
            return
        k, seen = core.commit_index, self._commit_seen[node.id]
        self._commit_seen[node.id] = k
        if core.role is not Role.LEADER or k <= seen:
            return  # a follower's commit index is its leader's, checked there
        term = core.term_at(k)
        voters = core.voters
        holders = sorted(j for j in voters if self.stores(j, k, term))
        if 2 * len(holders) <= len(voters) and len(self.false_commits) < 5:
            self.false_commits.append(
                f"node {node.id} (leader of term {core.current_term}) committed index {k}, "
                f"stored only by {holders} of the voters {sorted(voters)}")

    def check_applied_agree(self) -> None:
        """State machine safety: no two nodes ever applied different entries at one index
        (checked on every apply, across crashes); AssertionError naming the first conflict."""
        if self.conflicts:
            raise AssertionError(self.conflicts[0])

    # ---- machinery ----
    def _check_node(self, k: int) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < self.n:
            raise ValueError(f"no node {k!r}: nodes are 0..{self.n - 1}")

    def _deliver(self, f: InFlight) -> bool:
        m = f.msg
        node = self.nodes[m.dest]
        if node.core is None or not self.connected(m.source, m.dest):
            self.stats.record("lost", f)
            return False
        self.delivered += 1
        self.stats.record("delivered", f)
        node.core.step(m)
        self._process(node)
        return True

    def _duplicate(self, f: InFlight) -> Message:
        copy = self.bag.new(f.msg, f.sent_at)  # a new id; sent when the original was
        self.bag.put(copy)
        self.stats.record("duplicated", copy)
        return f.msg

    def _take_id(self, mid: int) -> InFlight:
        held = self._links.take(mid)
        return held if held is not None else self.bag.take(self.bag.position(mid))

    def _send(self, f: InFlight) -> None:
        """Put a message just sent into the bag, or hold it back (a hold, a slow link)."""
        self.stats.record("sent", f)
        if not self._links.route(f):
            self.bag.put(f)

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
        if self.faults.armed and self.faults.fire(node.id, ready, node.storage):
            node.core = None  # crashed at this write: nothing sent, nothing applied
            return
        node.storage.save(ready)
        for m in ready.messages:
            self._send(self.bag.new(m))
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
        self._check_commit(node)
        for cid, at, why in ready.changes:
            node.changes[cid] = (at, why)
        if snapshot_due(node.kv.last_applied, core.snapshot, self.snapshot_every):
            snapshot = core.compact(node.kv.last_applied, node.kv.snapshot())
            node.storage.compact(snapshot)
            self.snapshots_taken.append((node.id, snapshot.index))
