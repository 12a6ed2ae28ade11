"""Paxos cores under random schedules: agreement with dueling proposers, drops, duplicates,
reordering and crash/restart from persisted acceptor state."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from agree.impl.paxos import (
    NOOP,
    Accept,
    AcceptorState,
    Ballot,
    MultiPaxosNode,
    MultiReady,
    NotLeader,
    PaxosNode,
    Prepare,
    Promise,
    Vote,
)
from agree.impl.paxos_storage import SQLiteAcceptorStorage
from agree.impl.storage import StorageError


def test_ballots_unique_and_ordered_by_round_then_node() -> None:
    """Two proposers in the same round get distinct, comparable ballots (round, node id)."""
    a, b = PaxosNode(0, 3), PaxosNode(1, 3)
    ba, bb = a.propose(b"x"), b.propose(b"y")
    assert ba != bb and ba.round == bb.round == 1 and ba < bb


def test_promise_persisted_in_the_same_ready_as_the_reply() -> None:
    """An acceptor's promise is in the Ready that carries its Promise: persist, then send."""
    node = PaxosNode(1, 3)
    node.step(Prepare(Ballot(4, 0), 0, 1))
    r = node.ready()
    assert r.acceptor == AcceptorState(Ballot(4, 0), None, None)
    assert r.messages == (Promise(Ballot(4, 0), None, None, 1, 0),)


def test_acceptor_refuses_lower_ballot_after_restart() -> None:
    """A restarted acceptor keeps its promise: a lower ballot is refused (Paxos.tla Phase1b)."""
    node = PaxosNode(1, 3)
    node.step(Prepare(Ballot(4, 0), 0, 1))
    persisted = node.ready().acceptor
    again = PaxosNode(1, 3, persisted)
    again.step(Prepare(Ballot(3, 2), 2, 1))
    assert type(again.ready().messages[0]).__name__ == "Nack"


def run_single(seed: int) -> list[bytes | None]:
    rng = random.Random(seed)
    n = 3
    disk: list[AcceptorState | None] = [None] * n
    nodes: list[PaxosNode | None] = [PaxosNode(k, n) for k in range(n)]
    bag: list[Any] = []
    chosen: list[bytes | None] = [None] * n

    def process(k: int) -> None:
        node = nodes[k]
        assert node is not None
        r = node.ready()
        if r.acceptor is not None:
            disk[k] = r.acceptor
        bag.extend(r.messages)
        if r.chosen is not None:
            assert chosen[k] in (None, r.chosen)
            chosen[k] = r.chosen

    for step in range(400):
        x = rng.random()
        k = rng.randrange(n)
        node = nodes[k]
        if x < 0.08 and node is not None:
            node.propose(f"v{k}.{step}".encode())
            process(k)
        elif x < 0.11:
            nodes[k] = None
        elif x < 0.16 and node is None:
            nodes[k] = PaxosNode(k, n, disk[k])
        elif bag and x < 0.2:
            bag.pop(rng.randrange(len(bag)))
        elif bag and x < 0.23:
            bag.append(bag[rng.randrange(len(bag))])
        elif bag:
            m = bag.pop(rng.randrange(len(bag)))
            dest = nodes[m.dest]
            if dest is not None:
                dest.step(m)
                process(m.dest)
    return chosen


@pytest.mark.parametrize("seed", range(30))
def test_single_decree_agreement(seed: int) -> None:
    """Agreement: all nodes that learn a value learn the same one (Paxos.tla Consistency)."""
    chosen = run_single(seed)
    assert len({c for c in chosen if c is not None}) <= 1


def test_single_decree_chooses_something() -> None:
    assert any(any(c is not None for c in run_single(s)) for s in range(30))


def run_multi(seed: int, steps: int = 1500) -> tuple[dict[int, dict[int, bytes]], int]:
    rng = random.Random(seed)
    n = 3
    disk: list[tuple[Ballot | None, dict[int, Any]]] = [(None, {}) for _ in range(n)]

    def boot(k: int) -> MultiPaxosNode:
        bal, votes = disk[k]
        return MultiPaxosNode(k, n, random.Random(f"{seed}:{k}:{step}"), 5, 2, bal,
                              tuple(votes[s] for s in sorted(votes)))

    step = 0
    nodes: list[MultiPaxosNode | None] = [boot(k) for k in range(n)]
    applied: list[dict[int, bytes]] = [{} for _ in range(n)]
    learned: dict[int, dict[int, bytes]] = {}
    bag: list[Any] = []
    proposals = 0

    def process(k: int) -> None:
        node = nodes[k]
        assert node is not None
        r = node.ready()
        bal, votes = disk[k]
        disk[k] = (r.max_bal if r.max_bal is not None else bal,
                   {**votes, **{v.slot: v for v in r.votes}})
        bag.extend(r.messages)
        for slot, value in r.committed:
            applied[k][slot] = value
            learned.setdefault(slot, {})[k] = value

    for step in range(steps):
        x = rng.random()
        k = rng.randrange(n)
        node = nodes[k]
        if x < 0.1 and node is not None:
            try:
                node.propose(f"c{step}".encode())
                proposals += 1
            except NotLeader:
                pass
            process(k)
        elif x < 0.11:
            nodes[k] = None
        elif x < 0.14 and node is None:
            nodes[k] = boot(k)
        elif x < 0.35 and node is not None:
            node.tick()
            process(k)
        elif bag and x < 0.38:
            bag.pop(rng.randrange(len(bag)))
        elif bag and x < 0.40:
            bag.append(bag[rng.randrange(len(bag))])
        elif bag:
            m = bag.pop(rng.randrange(len(bag)) if rng.random() < 0.5 else 0)
            dest = nodes[m.dest]
            if dest is not None:
                dest.step(m)
                process(m.dest)
    return learned, proposals


@pytest.mark.parametrize("seed", range(12))
def test_multi_paxos_slots_agree(seed: int) -> None:
    """Every slot is decided once: no two nodes apply different values at one slot."""
    learned, proposals = run_multi(seed)
    for slot, by_node in learned.items():
        assert len(set(by_node.values())) == 1, f"slot {slot} decided differently: {by_node}"
    assert proposals > 0


def test_multi_paxos_makes_progress() -> None:
    learned, _ = run_multi(1)
    assert sum(1 for v in learned.values() if NOOP not in v.values()) > 5


def test_stable_leader_skips_phase_one() -> None:
    """Once leader, a proposal is phase 2 only: Accepts (and the leader's own vote), no
    Prepare."""
    nodes = [MultiPaxosNode(k, 3, random.Random(k)) for k in range(3)]
    nodes[0].campaign()
    pending = list(nodes[0].ready().messages)
    while pending:
        m = pending.pop(0)
        nodes[m.dest].step(m)
        pending += nodes[m.dest].ready().messages
    assert nodes[0].is_leader
    slot = nodes[0].propose(b"x")
    kinds = {type(m).__name__ for m in nodes[0].ready().messages}
    assert kinds == {"MAccept", "MAccepted"}
    with pytest.raises(NotLeader) as info:
        nodes[1].propose(b"y")
    assert info.value.leader_hint == 0
    assert slot == 1


def test_acceptor_state_survives_restart_in_sqlite(tmp_path: Path) -> None:
    """Acceptors persist promise and vote before replying; a restarted acceptor built from
    the file keeps both (single-decree in slot 0, Multi-Paxos promise and votes)."""
    path = str(tmp_path / "acc1.db")
    store = SQLiteAcceptorStorage(path, 1)
    node = PaxosNode(1, 3)
    node.step(Accept(Ballot(2, 0), b"v", 0, 1))
    store.save_single(node.ready())
    store.close()
    assert SQLiteAcceptorStorage(path, 1).load_single() == AcceptorState(Ballot(2, 0),
                                                                         Ballot(2, 0), b"v")
    path = str(tmp_path / "multi1.db")
    store = SQLiteAcceptorStorage(path, 1)
    store.save_multi(MultiReady(Ballot(5, 2), (Vote(1, Ballot(5, 2), b"a"),
                                               Vote(2, Ballot(4, 0), b"b")), (), ()))
    store.close()
    again = SQLiteAcceptorStorage(path, 1)
    assert again.load_multi() == (Ballot(5, 2), (Vote(1, Ballot(5, 2), b"a"),
                                                 Vote(2, Ballot(4, 0), b"b")))
    again._db.execute("UPDATE acceptor SET value = x'00' WHERE slot = 2")
    again.close()
    with pytest.raises(StorageError, match="checksum mismatch in slot 2"):
        SQLiteAcceptorStorage(path, 1)
    with pytest.raises(StorageError, match="not a usable"):
        SQLiteAcceptorStorage(path, 0)
