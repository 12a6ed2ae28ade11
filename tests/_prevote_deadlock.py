"""The PreVote/CheckQuorum deadlock of chaos seed 9422, built step by step in the
simulator (tests/test_election.py, tests/test_conformance_validate_search.py)."""

from __future__ import annotations

from agree.impl.kv import encode_command
from agree.impl.sim import Simulator


def _drain(sim: Simulator) -> None:
    """Deliver everything in flight (lost where the network is cut)."""
    while sim.bag:
        sim.deliver(0)


def _commit(sim: Simulator, leader: int, seq: int) -> None:
    index = sim.propose(leader, encode_command("put", "k", str(seq), client="c", seq=seq))
    assert index is not None
    _drain(sim)


def build_deadlock(sim: Simulator) -> None:
    """From a fresh 3-node cluster: node 2 leads term 2 and holds its last entry alone;
    node 0 becomes a candidate of term 3 with a shorter log, node 1 one of term 4 with a
    shorter one still; no leader, nothing in flight, the network healed. Each then
    refuses the others' pre-votes (for their terms or their logs)."""
    sim.timeout(2)  # node 2 campaigns (term 2) and wins
    _drain(sim)
    assert sim.leader() == 2 and sim.core(2).current_term == 2
    _commit(sim, 2, 1)
    sim.partition([1])  # node 0 gets entry 2, node 1 does not
    _commit(sim, 2, 2)
    sim.partition([2])  # entry 3 reaches nobody
    _commit(sim, 2, 3)
    sim.partition([0], [1], [2])  # node 2 steps down (CheckQuorum); pre-votes go nowhere
    for _ in range(3 * sim.config.election_ticks):
        _drain(sim)
        sim.advance()
    _drain(sim)
    assert sim.leader() is None and sim.core(2).current_term == 2
    sim.timeout(0)  # forced elections (the chaos fault), their RequestVotes lost
    sim.timeout(1)
    sim.timeout(1)
    _drain(sim)
    sim.heal()
    terms = [sim.core(k).current_term for k in range(3)]
    lasts = [sim.core(k).last_index for k in range(3)]
    assert terms == [3, 4, 2] and lasts[2] > lasts[0] > lasts[1], (terms, lasts)
