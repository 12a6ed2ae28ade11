"""How fast does a Raft follower catch up? Figures from the deterministic simulator.

Two scenarios, each run with impl/raft as it is (hint, one round trip per term, late
replies ignored, probing, the no-op) and with ``Config(spec_exact=True)``, raft.tla's
replication (next_index one step back per rejection, a full batch in every heartbeat):
the code before issue #16's point 5.

* **behind N**: 3 servers, a reliable network (1-5 ms per message); a follower is
  down while N entries are committed and the leader restarts meanwhile, so the follower
  comes back to a new leader. Measured from its restart until its log is the leader's
  and everything is committed (one client write is made as soon as there is a leader:
  raft.tla's leader commits nothing of an older term without one); on the reliable
  network, and on the unreliable one below from the follower's restart on.
* **figure 8**: 5 servers on an unreliable network (10% of messages lost, 5%
  duplicated, every message delayed 1-5 ms and every reply up to 2 s); twelve rounds
  in which a leader takes 100 proposals, replicates some, and crashes (others crash and
  restart too), as in figure 8 of the Raft paper, so logs diverge over several terms;
  ten seeds. Then
  everything heals (all up, no partition, the network reliable again; messages already
  in flight arrive late as scheduled) and it is measured as above, until every log is
  the leader's and everything is committed.

Columns: AppendEntries rejected; entries shipped (in AppendEntries the servers sent;
not the network's copies); entries missing (summed over servers: the final log's length
minus the prefix a server already had); simulated seconds to converge. One tick is 10 ms
(election timeout 150-300 ms, heartbeats every 50 ms, batches of 64: the defaults).

    python benchmarks/bench_recovery.py [--write-docs]   # docs/benchmarks/recovery.md
"""

from __future__ import annotations

import heapq
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from report import Provenance, Table, write_page

from agree.impl.raft import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Config,
    Message,
    RequestVoteResponse,
)
from agree.impl.sim import Simulator

TICK_MS = 10
_REPLIES = (AppendEntriesResponse, RequestVoteResponse)


@dataclass
class Counts:
    rejected: int = 0
    shipped: int = 0


@dataclass
class Net:
    """Delivery times for the simulator's bag: every message sent gets one (a loss is a
    drop at that time; a duplicate, a second delivery time)."""

    sim: Simulator
    rng: random.Random
    drop: float = 0.0
    dup: float = 0.0
    reply_delay_ms: float = 5.0
    now: float = 0.0
    counts: Counts = field(default_factory=Counts)
    _seen: int = 0
    _queue: list[tuple[float, int, Message, bool]] = field(default_factory=list)
    _seq: int = 0

    def stamp(self) -> None:
        """Give the messages the servers just sent their delivery times."""
        bag = self.sim.bag
        copies = []
        while self._seen < len(bag):
            m = bag[self._seen]
            self._seen += 1
            if isinstance(m, AppendEntriesRequest):
                self.counts.shipped += len(m.entries)
            elif isinstance(m, AppendEntriesResponse) and not m.success:
                self.counts.rejected += 1
            twice = self.rng.random() < self.dup
            if twice:
                copies.append(m)  # the network's copy (not counted as shipped)
            top = self.reply_delay_ms if isinstance(m, _REPLIES) else 5.0
            for _ in range(2 if twice else 1):
                due = self.now + self.rng.uniform(1.0, max(top, 1.0))
                self._seq += 1
                heapq.heappush(self._queue, (due, self._seq, m, self.rng.random() < self.drop))
        bag.extend(copies)
        self._seen += len(copies)

    def run(self, ms: float) -> None:
        """Let ``ms`` of simulated time pass: deliveries in time order, a tick per 10 ms."""
        end = self.now + ms
        while self.now < end:
            tick_end = self.now + TICK_MS
            while self._queue and self._queue[0][0] < tick_end:
                due, _, m, lost = heapq.heappop(self._queue)
                self.now = max(self.now, due)
                k = next(i for i, x in enumerate(self.sim.bag) if x is m)
                if lost:
                    self.sim.drop(k)
                else:
                    self.sim.deliver(k)  # pops bag[k], then appends what the step sent
                self._seen -= 1
                self.stamp()
            self.now = tick_end
            self.sim.advance()
            self.stamp()

    def until(self, done: Callable[[Simulator], object], limit_ms: float) -> float | None:
        """Run until done(sim) (checked every tick); the simulated ms it took, or None."""
        start = self.now
        while self.now - start < limit_ms:
            if done(self.sim):
                return self.now - start
            self.run(TICK_MS)
        return None


def converged(sim: Simulator) -> bool:
    """Every server up, holding the leader's log, everything committed."""
    lead = sim.leader()
    if lead is None or any(nd.core is None for nd in sim.nodes):
        return False
    log = sim.core(lead).log
    return all(sim.core(k).log == log and sim.core(k).commit_index == len(log)
               for k in range(sim.n))


def settle(net: Net, limit_ms: float = 120_000) -> float | None:
    """One client write as soon as there is a leader (raft.tla's leader needs one to
    commit anything, or to overwrite a follower's extra entries), then run until
    converged; the simulated ms it took, or None."""
    wrote = False

    def done(sim: Simulator) -> bool:
        nonlocal wrote
        lead = sim.leader()
        if not wrote and lead is not None:
            wrote = sim.propose(lead, b"w") is not None
            net.stamp()
        return wrote and converged(sim)
    return net.until(done, limit_ms)


def _prefix(a: tuple[object, ...], b: tuple[object, ...]) -> int:
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k


def _missing(before: Sequence[tuple[object, ...]], final: tuple[object, ...]) -> int:
    return sum(len(final) - _prefix(log, final) for log in before)


def _elect(net: Net, limit_ms: float = 5000) -> int | None:
    net.until(lambda s: s.leader() is not None, limit_ms)
    return net.sim.leader()


def behind(n: int, exact: bool, unreliable: bool, seed: int = 1) -> list[object]:
    """A follower down while N entries commit, and the leader restarted meanwhile, so a
    new leader (next_index at its log's end) meets the follower when it restarts: what
    catching it up costs, on a reliable or (from its restart on) unreliable network."""
    sim = Simulator(3, seed, Config(spec_exact=exact))
    net = Net(sim, random.Random(seed))
    lead = _elect(net)
    assert lead is not None
    lag = (lead + 1) % 3
    net.run(200)
    sim.crash(lag)
    for k in range(n):
        sim.propose(lead, f"v{k}".encode())
        net.stamp()
        if k % 64 == 63:
            net.run(TICK_MS)
    assert net.until(lambda s: s.core(lead).commit_index == s.core(lead).last_index, 60_000)
    sim.crash(lead)
    sim.restart(lead)
    new = _elect(net)
    assert new is not None and new != lag
    net.run(500)  # (raft.tla's leader commits nothing before a client writes: no no-op)
    if unreliable:
        net.drop, net.dup, net.reply_delay_ms = 0.10, 0.05, 2000
    sim.restart(lag)
    before = [sim.core(k).log for k in range(3)]
    net.counts = Counts()
    took = settle(net)
    final = sim.core(sim.leader() or new).log
    sim.check_applied_agree()
    name = f"behind {n}" + (", unreliable" if unreliable else "")
    return _row(name, exact, net.counts, _missing(before, final), took)


def figure8(exact: bool, seed: int, rounds: int = 12, proposals: int = 100) -> list[object]:
    """Leaders crash with entries half replicated, over several terms, on an unreliable
    network; then everything heals: what converging costs."""
    sim = Simulator(5, seed, Config(spec_exact=exact))
    rng = random.Random(seed)
    net = Net(sim, random.Random(seed + 1), drop=0.10, dup=0.05, reply_delay_ms=2000)
    for _ in range(rounds):
        lead = _elect(net)
        if lead is None:
            continue
        for k in range(proposals):
            sim.propose(lead, f"r{k}".encode())
            net.stamp()
        net.run(rng.uniform(10, 300))
        sim.crash(lead)
        other = rng.randrange(5)
        if other != lead and rng.random() < 0.5:
            sim.crash(other)
        net.run(rng.uniform(50, 400))
        for k in range(5):
            if k != lead and sim.nodes[k].core is None:
                sim.restart(k)
        net.run(rng.uniform(0, 300))
        sim.restart(lead)
    faults = net.counts
    entries = max((sim.core(k).last_index for k in range(5)), default=0)
    # heal: the network is reliable from now on (what is in flight arrives as scheduled)
    net.drop, net.dup, net.reply_delay_ms = 0.0, 0.0, 5.0
    before = [sim.core(k).log for k in range(5)]
    net.counts = Counts()
    took = settle(net)
    lead = sim.leader()
    final = sim.core(lead).log if lead is not None else ()
    sim.check_applied_agree()
    row = _row(f"figure 8, seed {seed}", exact, net.counts, _missing(before, final), took)
    print(f"    (under faults: {faults.rejected:,} rejected, {faults.shipped:,} entries "
          f"shipped for logs of at most {entries:,})")
    return [*row, faults.rejected, faults.shipped, entries]


def _row(name: str, exact: bool, c: Counts, missing: int, took: float | None) -> list[object]:
    seconds = f"{took / 1000:.2f}" if took is not None else "> 120"
    ratio = f"{c.shipped / missing:.2f}" if missing else "-"
    who = "raft.tla (spec_exact)" if exact else "hint + probe + no-op"
    row: list[object] = [name, who, c.rejected, c.shipped, missing, ratio, seconds]
    print(f"{name:<24} {who:<22} {c.rejected:>9,} {c.shipped:>10,} {missing:>8,} "
          f"{ratio:>7} {seconds:>8}")
    return row


SEEDS = range(1, 11)


def _total(runs: list[list[object]]) -> list[object]:
    """The seeds' sums (seconds and longest log: the largest)."""
    def num(k: int) -> int:
        return sum(int(r[k]) for r in runs)  # type: ignore[call-overload]
    shipped, missing = num(3), num(4)
    slow = [r[6] for r in runs]
    seconds = "> 120" if "> 120" in slow else max(slow, key=lambda x: float(str(x)))
    return [f"figure 8, {len(runs)} seeds", runs[0][1], num(2), shipped, missing,
            f"{shipped / missing:.2f}" if missing else "-", seconds, num(7), num(8),
            max(int(r[9]) for r in runs)]  # type: ignore[call-overload]


def main() -> None:
    print(f"{'scenario':<24} {'replication':<22} {'rejected':>9} {'shipped':>10} "
          f"{'missing':>8} {'ratio':>7} {'seconds':>8}")
    rows = []
    for unreliable in (False, True):
        for n in (100, 1000):
            for exact in (True, False):
                rows.append(behind(n, exact, unreliable))
    fig = []
    for exact in (True, False):
        runs = [figure8(exact, seed) for seed in SEEDS]
        fig += runs
        fig.append(_total(runs))
        print(f"{'':<24} {'':<22} {fig[-1][2]:>9,} {fig[-1][3]:>10,} {fig[-1][4]:>8,} "
              f"{fig[-1][5]:>7} {fig[-1][6]:>8}  (all seeds; seconds: the slowest)")
    if "--write-docs" in sys.argv[1:]:
        cols = ["scenario", "replication", "AppendEntries rejected", "entries shipped",
                "entries missing", "shipped / missing", "seconds to converge"]
        write_page(
            "recovery", "Catching up a follower (simulated)",
            __doc__.split("\n\n    python")[0].split("\n", 2)[2],
            [Table("A follower N entries behind", Provenance.now(), cols, rows,
                   "Unreliable: from the follower's restart on, 10% of messages lost, 5% "
                   "duplicated, replies delayed up to 2 s, on to convergence."),
             Table("Figure 8 on an unreliable network, after healing", Provenance.now(),
                   [*cols, "rejected under faults", "shipped under faults", "longest log"],
                   fig,
                   "Twelve rounds of 100 proposals per seed. The last three columns: the "
                   "fault phase before healing (10% loss, 5% duplicates, replies delayed "
                   "up to 2 s), and the longest log at healing. Shipped under faults "
                   "counts every copy sent, not what reached a follower: raft.tla's "
                   "leader sends its batch again with every heartbeat.")],
            "python benchmarks/bench_recovery.py --write-docs")


if __name__ == "__main__":
    main()
