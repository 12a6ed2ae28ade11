"""Chaos in the simulator: seeded fault schedules against the Raft KV, histories checked.

A :class:`~agree.chaos.schedule.Schedule` (chaos/schedule.py) is data: a seed, the
cluster and workload sizes, the network's misbehaviour (drop, duplicate, delay =
reorder) and a list of timed faults: crashes and restarts (a crashed node keeps only
what it persisted), partitions and heals, a crash between persist and send, a torn final
write (the last write before the crash never reached the disk), and clock skew between
the nodes' election timers; with ``snapshot_every`` the nodes snapshot and compact their
logs that often (a lagging node catches up by InstallSnapshot). With ``spares`` the
cluster has that many more servers, not voting at first, and the schedule adds and
removes voters (``add`` / ``remove`` faults, one server at a time: the leader catches a
new one up first, impl/raft/membership.py; an add with every server a voter removes one
instead, a remove that would leave fewer than two voters adds one); a change the leader
refuses (one in progress, no leader) is retried for 30 ticks. :func:`run_schedule` plays
it on the implementation's
simulator with concurrent clients that retry (same client id and sequence
number, so a retried write applies once), then heals everything, lets the
clients finish, reads every key and checks:

* the history is linearizable (:mod:`agree.chaos.linearizability`);
* no acknowledged write is missing from the final committed log (a node's snapshot
  standing for the entries committed at the indices it covers);
* no two nodes ever applied different entries at one index, and no term ever
  had two leaders;
* every commit index a leader took was stored by a majority of its configuration's
  voters when it took it (``Simulator.false_commits``);
* the implementation never raised, and the cluster settled once healed.

Everything is deterministic in the schedule: replaying it reproduces the run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from fractions import Fraction

from agree.chaos.clients import Clients
from agree.chaos.history import Operation
from agree.chaos.linearizability import LinearizabilityResult, check_history
from agree.chaos.schedule import MEMBERSHIP_KINDS, Fault, Schedule
from agree.impl.raft import Config, Entry, MembershipError, Role, decode_config
from agree.impl.sim import SimNode, Simulator

__all__ = ["Outcome", "Totals", "run_schedule"]


@dataclass
class Outcome:
    """What one schedule did and whether it broke a claim."""

    schedule: Schedule
    operations: list[Operation] = field(default_factory=list)
    acknowledged: int = 0
    indeterminate: int = 0
    lost_writes: list[Operation] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    linearizability: LinearizabilityResult | None = None
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.violations)

    @property
    def claims(self) -> list[str]:
        """The kinds of claim violated (for shrinking to the same failure)."""
        return sorted({v.split(":")[0] for v in self.violations})


class _Run:
    """One schedule being played."""

    def __init__(self, schedule: Schedule, check_time_limit: float,
                 config: Config | None = None, reads: str = "index") -> None:
        self.s = schedule
        self.rng = random.Random(f"run:{schedule.seed}")
        self.universe = schedule.nodes + schedule.spares
        if schedule.spares:
            config = replace(config or Config(), voters=tuple(range(schedule.nodes)))
        self.sim = Simulator(self.universe, schedule.seed, config,
                             snapshot_every=schedule.snapshot_every)
        self.changing: list[tuple[Fault, int]] = []  # changes being retried, until when
        self.clients = Clients(self.sim, schedule.clients, schedule.keys, self.rng, reads)
        self.restart_at: dict[int, int] = {}
        self.down_for: dict[int, int] = {}
        self.applied_seen = [0] * self.universe
        self.incarnation = [0] * self.universe
        self.committed: dict[int, Entry] = {}
        self.leader_of_term: dict[int, int] = {}
        self.outcome = Outcome(schedule)
        self.stats = {"crashes": 0, "partitions": 0, "crash-after-persist": 0, "torn-write": 0,
                      "skews": 0, "elections": 0, "dropped": 0, "duplicated": 0}
        if schedule.spares:
            self.stats.update({"changes taken": 0, "changes refused": 0})
        self.check_time_limit = check_time_limit
        self.net = (schedule.p_drop, schedule.p_duplicate, schedule.p_delay)

    def play(self) -> Outcome:
        faults = list(self.s.faults)
        lulls = [f for f in faults if f.kind == "election"]
        try:
            for now in range(self.s.ticks):
                while faults and faults[0].at <= now:
                    self._apply(faults.pop(0), now)
                self._tick(now, issue=not any(f.at - 20 <= now < f.at + 5 for f in lulls))
            self._settle()
        except Exception as exc:  # the implementation raised: a bug, reported, not a crash
            self.outcome.violations.append(
                f"implementation raised: {type(exc).__name__}: {exc}")
        self._check()
        return self.outcome

    # -- faults ---------------------------------------------------------------
    def _who(self, node: int) -> int:
        if node >= 0:
            return node
        leader = self.sim.leader()
        if leader is not None:
            return leader
        return self.rng.randrange(self.s.nodes)

    def _apply(self, f: Fault, now: int) -> None:
        sim = self.sim
        if f.kind == "crash":
            k = self._who(f.node)
            if sim.nodes[k].up:
                sim.crash(k)
                self.stats["crashes"] += 1
                self.restart_at[k] = now + f.down
        elif f.kind == "partition":
            sim.partition(*(f.groups or ((self._who(f.node),),)))
            self.stats["partitions"] += 1
        elif f.kind == "heal":
            sim.heal()
        elif f.kind == "skew":
            sim.skew(f.node, Fraction(f.rate, 4))
            self.stats["skews"] += 1
        elif f.kind == "election":
            for k in f.groups[0]:
                sim.timeout(k)
            self.stats["elections"] += 1
        elif f.kind in MEMBERSHIP_KINDS:
            self.changing.append((f, now + 30))
        else:
            k = self._who(f.node)
            if sim.nodes[k].up:
                if f.kind == "crash-after-persist":
                    sim.faults.crash_after_persist(k)
                else:
                    sim.faults.torn_write(k)
                self.down_for[k] = f.down

    def _tick(self, now: int, issue: bool) -> None:
        sim = self.sim
        for k, fault in sim.faults.triggered:
            self.stats[fault] += 1
            self.restart_at[k] = now + self.down_for.pop(k, 20)
        sim.faults.triggered.clear()
        for k in sorted(self.restart_at):
            if self.restart_at[k] <= now:
                del self.restart_at[k]
                sim.faults.disarm(k)
                sim.restart(k)
        self.clients.step(now, issue)
        if self.changing:
            self._change(now)
        self._network()
        sim.advance()
        self._watch()

    def _network(self) -> None:
        """Deliver, drop, duplicate or hold back (reorder) what is in flight."""
        sim, rng = self.sim, self.rng
        p_drop, p_duplicate, p_delay = self.net
        for _ in range(len(sim.bag)):
            if not sim.bag:
                break
            i = rng.randrange(len(sim.bag))
            r = rng.random()
            if r < p_drop:
                sim.drop(i)
                self.stats["dropped"] += 1
            elif r < p_drop + p_duplicate and len(sim.bag) < 400:
                sim.duplicate(i)
                self.stats["duplicated"] += 1
            elif r < p_drop + p_duplicate + p_delay:
                continue
            else:
                sim.deliver(i)

    def _change(self, now: int) -> None:
        """Ask the leader for the membership changes due (one at a time); a refused one
        is retried next tick, until its 30 ticks are up."""
        f, until = self.changing[0]
        sim = self.sim
        leader = sim.leader()
        if leader is not None:
            core = sim.core(leader)
            add = f.kind == "add"
            spares = [k for k in range(self.universe) if k not in core.voters]
            if f.node < 0 and (not spares if add else len(core.voters) <= 2):
                add = not add  # nobody to add (or too few to remove): the other change
            pool = spares if add else sorted(core.voters) if len(core.voters) > 2 else []
            target = f.node if f.node >= 0 else (self.rng.choice(pool) if pool else None)
            if target is not None:
                try:
                    cid = (sim.add_server(leader, target) if add
                           else sim.remove_server(leader, target))
                except MembershipError:
                    cid = None
                if cid is not None:
                    self.stats["changes taken"] += 1
                    self.changing.pop(0)
                    return
        if now >= until:
            self.stats["changes refused"] += 1
            self.changing.pop(0)

    def _watch(self) -> None:
        """State machine safety and election safety, checked after every tick
        (the first breach of each is recorded; the run goes on to the other checks)."""
        for node in self.sim.nodes:
            k = node.id
            if node.incarnation != self.incarnation[k]:
                self.incarnation[k] = node.incarnation
                self.applied_seen[k] = 0
            for index, entry in node.applied[self.applied_seen[k]:]:
                first = self.committed.setdefault(index, entry)
                if first != entry:
                    self._breach("state machine safety", f"node {k} applied {_show(entry)} at "
                                 f"index {index}, another node applied {_show(first)} there")
            self.applied_seen[k] = len(node.applied)
            core = node.core
            if core is not None and core.role is Role.LEADER:
                first_leader = self.leader_of_term.setdefault(core.current_term, k)
                if first_leader != k:
                    self._breach("election safety", f"nodes {first_leader} and {k} both led "
                                 f"term {core.current_term}")
        if self.sim.false_commits:
            self._breach("commit quorum", self.sim.false_commits[0])

    def _breach(self, claim: str, detail: str) -> None:
        if not any(v.startswith(claim) for v in self.outcome.violations):
            self.outcome.violations.append(f"{claim}: {detail}")

    # -- the end ------------------------------------------------------------------
    def _settle(self) -> None:
        """Heal, restart everyone, let pending calls finish, then read every key."""
        sim = self.sim
        sim.heal()
        for k in range(self.universe):
            sim.skew(k, 1)
        sim.faults.disarm()
        self.changing = []
        self.restart_at = {k: 0 for k in range(self.universe) if not sim.nodes[k].up}
        self.net = (0.0, 0.0, 0.0)
        now = self.s.ticks
        limit = now + 600
        while self.clients.busy() and now < limit:
            self._tick(now, issue=False)
            now += 1
        self.clients.final_reads(now)
        while self.clients.busy() and now < limit:
            self._tick(now, issue=False)
            now += 1
        if self.clients.busy():
            self.outcome.violations.append(
                "liveness: the healed cluster did not answer every client within 600 ticks")
            return
        while now < limit and not self._converged():
            self._tick(now, issue=False)
            now += 1
        if not self._converged():
            self.outcome.violations.append(
                "liveness: the healed cluster did not converge within 600 ticks")

    def _converged(self) -> bool:
        leader = self.sim.leader()
        if leader is None:
            return False
        target = self.sim.core(leader).commit_index
        return all(n.kv.last_applied >= target for n in self._voters())

    def _voters(self) -> list[SimNode]:
        """The nodes that must hold everything: the voters of the leader's configuration
        (every node without membership changes), or every node when nobody leads."""
        leader = self.sim.leader()
        if not self.s.spares or leader is None:
            return self.sim.nodes
        voters = self.sim.core(leader).voters
        return [n for n in self.sim.nodes if n.id in voters]

    def _check(self) -> None:
        out = self.outcome
        out.operations = self.clients.history.operations()
        out.acknowledged = sum(1 for o in out.operations if not o.indeterminate)
        out.indeterminate = len(out.operations) - out.acknowledged
        out.stats = {**self.stats, "messages sent": self.sim.sent,
                     "messages delivered": self.sim.delivered}
        if self.s.spares:
            out.stats["configurations committed"] = sum(
                1 for e in self.sim.applied_at.values() if decode_config(e.value) is not None)
        if self.s.snapshot_every:
            out.stats["snapshots taken"] = len(self.sim.snapshots_taken)
            out.stats["snapshots installed"] = len(self.sim.snapshots_installed)
        lin = check_history(out.operations, time_limit=self.check_time_limit)
        out.linearizability = lin
        for k in lin.violations:
            out.violations.append(f"linearizability: key {k.key} is not linearizable")
        if lin.verdict == "unknown":
            out.violations.append("linearizability: unknown (the search ran out of time)")
        if any(v.startswith(("liveness", "implementation")) for v in out.violations):
            return
        # every node, healed and caught up, must hold every acknowledged write
        lost: dict[int, Operation] = {}
        for node in self._voters():
            held = dict(node.applied)
            snapshot = node.core.snapshot if node.core is not None else None
            for index in range(1, (snapshot.index if snapshot is not None else 0) + 1):
                held.setdefault(index, self.sim.applied_at[index])  # what it replaces
            for op in self.clients.lost_writes(held):
                lost.setdefault(op.id, op)
        out.lost_writes = [lost[i] for i in sorted(lost)]
        for op in out.lost_writes:
            out.violations.append(f"lost write: acknowledged {op.kind} of {op.key} by client "
                                  f"{op.client} is not in the final committed log")


def _show(entry: Entry) -> str:
    return f"entry(term {entry.term}, {entry.value.decode(errors='replace')})"


def run_schedule(schedule: Schedule, check_time_limit: float = 20.0,
                 config: Config | None = None, reads: str = "index") -> Outcome:
    """Play one schedule and check every claim; never raises for an implementation bug.

    ``config``: the cores' (default: Config(), PreVote and CheckQuorum on); ``reads``:
    "index" (ReadIndex, the server's) or "log" (reads appended as commands)."""
    return _Run(schedule, check_time_limit, config, reads).play()


@dataclass
class Totals:
    """Figures summed over many schedules."""

    schedules: int = 0
    operations: int = 0
    acknowledged: int = 0
    indeterminate: int = 0
    failed: int = 0
    violations: int = 0
    lost_writes: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    def add(self, o: Outcome) -> None:
        self.schedules += 1
        self.operations += len(o.operations)
        self.acknowledged += o.acknowledged
        self.indeterminate += o.indeterminate
        self.failed += int(o.failed)
        self.violations += sum(1 for v in o.violations if not v.startswith("lost write"))
        self.lost_writes += len(o.lost_writes)
        for key, value in sorted(o.stats.items()):
            self.faults[key] = self.faults.get(key, 0) + value
