"""A partial partition in the simulator: one server reaches only one peer.

The scenario PreVote and CheckQuorum are for (impl/raft/election.py). A cluster elects
a leader; then the links between one follower, C, and every server but one peer, B,
are cut (the leader among them). C hears no heartbeat, so its election timer fires
again and again. Without PreVote and CheckQuorum each of its elections raises B's
term, B rejects the leader's next AppendEntries, and the leader steps down: a new
election, and another, for as long as the partition lasts. With them C's pre-votes are
ignored by B (in the leader's lease) and nothing changes.

Measured, per simulated tick (10 ms): whether some server is *a leader that can
commit*: a leader, up, with a quorum of servers (itself included) that it can reach
and that are in its term. The figure is the simulated seconds without one, from the
cut on; also the leader elections and the entries committed meanwhile. Then the link
is healed and the same is measured for ``after`` seconds more: a server whose term grew
while it was cut off (CheckQuorum alone lets it) deposes the leader then. The network
delivers each message one tick after it is sent, in order; a client writes one entry
per tick to whoever leads (``writes``), or nobody writes (an idle cluster: logs stay
even, so the log comparison does not stop C's elections). Deterministic in the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from agree.impl.kv import encode_command
from agree.impl.raft import Config
from agree.impl.sim import Simulator

__all__ = ["LinkSimulator", "PartialOutcome", "partial_partition"]

TICK_MS = 10


class LinkSimulator(Simulator):
    """The simulator with single links cut (``cut``: pairs of servers that cannot talk)."""

    def __init__(self, n: int, seed: int, config: Config | None = None) -> None:
        super().__init__(n, seed, config)
        self.cut: set[frozenset[int]] = set()

    def connected(self, a: int, b: int) -> bool:
        return super().connected(a, b) and frozenset((a, b)) not in self.cut


@dataclass(frozen=True)
class PartialOutcome:
    """One run: seconds without a leader that can commit, elections won, entries
    committed, and the highest term reached, all from the cut on."""

    unavailable: float
    elections: int
    committed: int
    max_term: int
    seconds: float
    unavailable_after: float
    elections_after: int


def _can_commit(sim: LinkSimulator) -> bool:
    for k in sim.leaders():
        term = sim.core(k).current_term
        with_it = [j for j in range(sim.n) if j == k or (
            sim.nodes[j].core is not None and sim.connected(k, j)
            and sim.core(j).current_term == term)]
        if 2 * len(with_it) > sim.n:
            return True
    return False


def _one_tick(sim: LinkSimulator) -> None:
    """Deliver what was in flight at the start of the tick, then advance the clock."""
    for _ in range(len(sim.bag)):
        sim.deliver(0)
    sim.advance()


def partial_partition(config: Config, seed: int = 0, nodes: int = 3, seconds: float = 30.0,
                      writes: bool = True, after: float = 5.0) -> PartialOutcome:
    """Run the scenario: ``seconds`` of simulated time after the cut, ``after`` healed."""
    if nodes < 3:
        raise ValueError("a partial partition needs at least 3 servers")
    sim = LinkSimulator(nodes, seed, config)
    leader = sim.elect()
    c = (leader + 1) % nodes
    b = (leader + 2) % nodes
    sim.cut = {frozenset((c, j)) for j in range(nodes) if j not in (b, c)}
    start_commit = sim.core(leader).commit_index
    elected = {(sim.core(leader).current_term, leader)}
    seq = 0

    def phase(duration: float) -> tuple[float, int]:
        nonlocal seq
        unavailable, before = 0, len(elected)
        for _ in range(int(duration * 1000 / TICK_MS)):
            if writes:
                now = sim.leader()
                if now is not None:
                    seq += 1
                    sim.propose(now, encode_command("put", "k", str(seq), client="w", seq=seq))
            _one_tick(sim)
            for k in sim.leaders():
                elected.add((sim.core(k).current_term, k))
            if not _can_commit(sim):
                unavailable += 1
        return unavailable * TICK_MS / 1000, len(elected) - before

    down, elections = phase(seconds)
    commit = max(sim.core(k).commit_index for k in range(nodes))
    top = max(sim.core(k).current_term for k in range(nodes))
    sim.cut = set()
    down_after, elections_after = phase(after)
    return PartialOutcome(down, elections, commit - start_commit, top, seconds, down_after,
                          elections_after)
