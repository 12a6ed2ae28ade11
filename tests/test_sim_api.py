"""The simulator's tester-facing API: message ids and send times, reordering by id, delays
per link, per-node disconnect, counters, fault hooks, and bad input."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from agree.impl.raft import AppendEntriesRequest, AppendEntriesResponse, Config, RequestVoteRequest
from agree.impl.sim import InFlight, Simulator, UnknownMessage
from agree.impl.simnet import EVENTS
from agree.impl.wire import encode_message


def _follower(sim: Simulator, leader: int) -> int:
    return next(k for k in range(sim.n) if k != leader)


def test_messages_get_monotonic_ids_and_the_tick_they_were_sent_at() -> None:
    sim = Simulator(3, seed=0)
    sim.timeout(0)
    first = sim.in_flight()
    assert [f.id for f in first] == [1, 2]
    assert all(f.sent_at == 0 and isinstance(f.msg, RequestVoteRequest) for f in first)
    assert [f.msg for f in first] == list(sim.bag)  # the bag still reads as messages
    sim.advance(3)
    sim.deliver_id(first[1].id)
    reply = sim.in_flight()[-1]
    assert reply.id == 3 and reply.sent_at == 3 and reply.msg.dest == 0
    sim.advance(2)
    copy = sim.duplicate_id(reply.id)
    assert copy.id == 4 and copy.msg == reply.msg and copy.sent_at == 3  # the original's
    seen = [f.id for f in sim.in_flight()]
    assert len(set(seen)) == len(seen)


def test_reordering_by_id_a_stale_append_does_not_truncate() -> None:
    """Hold the follower's traffic, then deliver the later AppendEntries before the earlier
    one: the earlier (a prefix of the later) must not cut the follower's log back (§5.3)."""
    sim = Simulator(3, seed=7, config=Config(spec_exact=True))
    leader = sim.elect()
    f = _follower(sim, leader)
    sim.hold(lambda fl: fl.msg.dest == f)
    sim.propose(leader, b"a")
    sim.propose(leader, b"b")
    sim.advance(Config().heartbeat_ticks)
    older, newer = [h for h in sim.held() if isinstance(h.msg, AppendEntriesRequest)][:2]
    assert older.id < newer.id and older.sent_at < newer.sent_at
    assert len(newer.msg.entries) == 2 and len(older.msg.entries) == 1
    assert sim.deliver_id(newer.id)
    assert sim.deliver_id(older.id)
    assert [e.value for e in sim.core(f).log] == [b"a", b"b"]
    replies = [fl.msg for fl in sim.in_flight() if isinstance(fl.msg, AppendEntriesResponse)
               and fl.msg.source == f]
    assert [r.success for r in replies] == [True, True]
    released = sim.release()
    assert [r.id for r in released] == sorted(r.id for r in released)
    assert not sim.held()


def test_a_slow_link_delivers_by_advance_after_its_delay() -> None:
    sim = Simulator(3, seed=7)
    leader = sim.elect()
    f = _follower(sim, leader)
    sim.delay(leader, f, 5)
    sent_at = sim.clock
    sim.propose(leader, b"x")
    (slow,) = sim.held()
    assert slow.msg.dest == f and slow.sent_at == sent_at
    assert all(fl.msg.dest != f for fl in sim.in_flight())
    sim.advance(4)
    assert slow.id in [h.id for h in sim.held()]
    sim.advance(1)
    # it arrived; what the leader sent to f since (heartbeats) is still on its way
    assert all(h.sent_at + 5 > sim.clock for h in sim.held())
    assert [fl.id for fl in sim.in_flight() if fl.msg.dest == f] == [slow.id]
    assert isinstance(slow.msg, AppendEntriesRequest) and slow.msg.entries
    sim.delay(leader, f, 0)  # removed
    before = len(sim.held())
    sim.propose(leader, b"y")
    assert len(sim.held()) == before


def test_a_disconnected_node_hears_nothing_until_reconnected() -> None:
    sim = Simulator(3, seed=7)
    leader = sim.elect()
    f = _follower(sim, leader)
    sim.disconnect(f)
    assert not sim.connected(leader, f) and not sim.connected(f, leader)
    index = sim.propose(leader, b"x")
    assert index is not None
    assert sim.run_until(lambda s: s.core(leader).commit_index >= index, 500)
    assert sim.core(f).last_index < index
    assert sim.stats.get("lost").messages > 0
    sim.reconnect(f)
    assert sim.run_until(lambda s: s.core(f).commit_index >= index, 500)
    sim.disconnect(leader)  # a disconnected leader is replaced
    assert sim.run_until(lambda s: any(k != leader for k in s.leaders()), 2000)
    sim.heal()
    assert sim.connected(leader, f)


@pytest.mark.parametrize("pending", [4096, 3])
def test_counters_are_per_type_and_bytes_are_the_wire_encodings(pending: int) -> None:
    """Also when bytes are added up every few records rather than when read."""
    sim = Simulator(3, seed=5)
    sim.stats.PENDING = pending
    sim.timeout(0)
    delivered: dict[str, list[int]] = {}
    dropped = duplicated = 0
    for step in range(300):
        if not sim.bag:
            sim.advance()
            continue
        fl = sim.in_flight()[0]
        if step % 11 == 5:
            sim.drop_id(fl.id)
            dropped += 1
        elif step % 13 == 6:
            sim.duplicate(0)
            duplicated += 1
        elif sim.deliver_id(fl.id):
            delivered.setdefault(fl.kind, []).append(len(encode_message(fl.msg)))
    stats = sim.stats
    assert stats.get("sent").messages == sim.sent
    assert stats.get("delivered").messages == sim.delivered == sum(map(len, delivered.values()))
    for kind, sizes in delivered.items():
        c = stats.get("delivered", kind)
        assert (c.messages, c.bytes) == (len(sizes), sum(sizes))
    assert stats.get("dropped").messages == dropped > 0
    assert stats.get("duplicated").messages == duplicated > 0
    assert set(delivered) <= set(stats.kinds())
    table = stats.table().splitlines()
    assert table[0].split() == ["type", *EVENTS] and table[-1].startswith("total")


def test_storage_fault_hooks_fire_once_and_are_listed() -> None:
    sim = Simulator(3, seed=0)
    sim.faults.crash_after_persist(2)
    sim.faults.torn_write(1)
    sim.faults.disarm(1)
    sim.timeout(2)
    assert not sim.nodes[2].up and sim.bag == []
    assert sim.nodes[2].storage.hard_state.current_term == 2
    assert sim.faults.triggered == [(2, "crash-after-persist")]
    sim.restart(2)
    sim.timeout(2)  # disarmed once fired: this election goes out
    assert sim.nodes[2].up and len(sim.bag) == 2


def test_skew_takes_rates_as_fractions_of_a_tick() -> None:
    sim = Simulator(3, seed=0)
    sim.skew(0, 1.5)
    sim.skew(1, Fraction(1, 3))
    assert sim.rate(0) == Fraction(3, 2) and sim.rate(2) == 1
    sim.advance(6)
    assert [sim.core(k).election_elapsed for k in range(3)] == [9, 2, 6]


def test_the_bag_stays_a_list_of_messages_to_old_callers() -> None:
    sim = Simulator(3, seed=0)
    sim.timeout(1)
    m = sim.bag[0]
    sim.bag.append(m)  # a test may still put messages in by hand: it gets an id
    assert sim.in_flight()[-1].id == 3 and sim.bag[-1] == m and len(sim.bag) == 3
    assert sim.bag[:1] == [m]
    sim.bag.clear()
    assert sim.bag == [] and not sim.in_flight()


def test_bad_input_gets_clear_errors() -> None:
    sim = Simulator(3, seed=0)
    sim.timeout(0)
    with pytest.raises(UnknownMessage, match="no message with id 99 is in flight"):
        sim.deliver_id(99)
    with pytest.raises(UnknownMessage):
        sim.drop_id(0)
    with pytest.raises(UnknownMessage):
        sim.duplicate_id(-1)
    with pytest.raises(ValueError, match="no node 3"):
        sim.disconnect(3)
    with pytest.raises(ValueError, match="no node"):
        sim.faults.torn_write(-1)
    with pytest.raises(ValueError, match="delay"):
        sim.delay(0, 1, -2)
    with pytest.raises(ValueError, match="rate"):
        sim.skew(0, 0)
    with pytest.raises(ValueError, match="unknown event"):
        sim.stats.get("received")
    assert isinstance(sim.in_flight()[0], InFlight)


def _doc_examples() -> list[str]:
    text = (Path(__file__).parent.parent / "docs" / "simulator.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_guides_examples_run() -> None:
    """docs/simulator.md's code blocks are a test a user can copy: run them in order."""
    blocks = _doc_examples()
    assert blocks
    scope: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/simulator.md", "exec"), scope)
