"""The partial-partition scenario (chaos/partial.py): what PreVote and CheckQuorum buy."""

from __future__ import annotations

import pytest

from agree.chaos.partial import LinkSimulator, partial_partition
from agree.impl.raft import Config

DEFAULT, CLASSIC = Config(), Config(pre_vote=False, check_quorum=False)


def test_with_prevote_and_checkquorum_the_leader_keeps_committing() -> None:
    out = partial_partition(DEFAULT, seed=0, nodes=5, seconds=8, after=2)
    assert (out.unavailable, out.elections, out.unavailable_after) == (0.0, 0, 0.0)
    assert out.committed >= 790  # one write per tick, all committed but the last few
    assert out.max_term == 2  # the cut-off server's term did not move


def test_without_them_the_cut_off_server_keeps_deposing_leaders() -> None:
    out = partial_partition(CLASSIC, seed=0, nodes=5, seconds=8, after=2)
    assert out.unavailable > 1.0 and out.elections >= 5
    assert out.max_term > 10


def test_checkquorum_alone_lets_the_term_grow_and_disrupt_after_healing() -> None:
    out = partial_partition(Config(pre_vote=False), seed=0, nodes=3, seconds=8, after=2)
    assert out.unavailable == 0.0 and out.max_term > 10
    assert out.elections_after >= 1


def test_a_cut_link_is_one_pair_only() -> None:
    sim = LinkSimulator(3, 0)
    sim.cut = {frozenset((0, 2))}
    assert not sim.connected(0, 2) and not sim.connected(2, 0)
    assert sim.connected(0, 1) and sim.connected(1, 2)


def test_two_servers_cannot_be_partially_partitioned() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        partial_partition(DEFAULT, nodes=2)
