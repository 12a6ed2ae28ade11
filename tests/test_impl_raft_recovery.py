"""Efficient recovery in the Raft core (issue #16, point 5), deterministic: the rejection's
hint, one round trip per conflicting term, late replies ignored, one probe at a time,
and a new leader's no-op. raft.tla's one-step backup stays under Config(spec_exact=True)
(tests/test_impl_raft_core.py)."""

from __future__ import annotations

import random

from agree.impl.kv import encode_command
from agree.impl.raft import (
    NOOP,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Config,
    Entry,
    HardState,
    RaftCore,
    RequestVoteResponse,
    Role,
)
from agree.impl.sim import Simulator


def E(*terms: int) -> tuple[Entry, ...]:
    return tuple(Entry(t, f"v{k}".encode()) for k, t in enumerate(terms, 1))


def leader(log: tuple[Entry, ...], term: int, n: int = 3,
           config: Config | None = None) -> RaftCore:
    """Node 0, elected in term+1 with every vote (its no-op appended, its probes drained)."""
    c = RaftCore(0, n, random.Random(0), config, HardState(term, None), log)
    c.campaign()
    for j in range(1, n):
        c.step(RequestVoteResponse(c.current_term, True, j, 0))
    assert c.role is Role.LEADER
    c.ready()
    return c


def follower(log: tuple[Entry, ...], term: int) -> RaftCore:
    return RaftCore(1, 3, random.Random(1), None, HardState(term, None), log)


def to(node: int, msgs: tuple[object, ...]) -> list[object]:
    return [m for m in msgs if getattr(m, "dest", None) == node]


def test_a_rejection_carries_the_hint() -> None:
    """Thesis §5.3: the follower names the conflicting term and the first index of it,
    or its last index when its log is too short; and which request it rejects."""
    f = follower(E(1, 2, 2, 2), term=5)
    f.step(AppendEntriesRequest(5, 4, 3, (), 0, 0, 1))
    [r] = f.ready().messages
    assert isinstance(r, AppendEntriesResponse) and not r.success
    assert (r.reject_index, r.hint_term, r.hint_index, r.match_index) == (4, 2, 2, 0)
    f.step(AppendEntriesRequest(5, 9, 3, (), 0, 0, 1))
    [r] = f.ready().messages
    assert (r.reject_index, r.hint_term, r.hint_index) == (9, 0, 4)


def _exchange(lead: RaftCore, fol: RaftCore, first: tuple[object, ...]) -> tuple[int, int]:
    """Deliver leader <-> follower until quiet; (rejections, entries shipped)."""
    rejections = shipped = 0
    pending = list(to(1, first))
    while pending:
        m = pending.pop(0)
        assert isinstance(m, AppendEntriesRequest)
        shipped += len(m.entries)
        fol.step(m)
        for r in fol.ready().messages:
            assert isinstance(r, AppendEntriesResponse)
            rejections += not r.success
            lead.step(r)
            pending += to(1, lead.ready().messages)
    return rejections, shipped


def test_the_leader_backs_up_one_round_trip_per_term() -> None:
    """The follower's divergent suffix has two terms (2 and 3): two rejections, not one
    per entry (raft.tla's leader takes six), and only what is missing is shipped after."""
    lead = leader(E(1, 1, 4, 4, 4, 5, 5), term=5)  # term 6, its no-op at index 8
    fol = follower(E(1, 1, 2, 2, 2, 3, 3, 3, 3), term=6)
    probe = AppendEntriesRequest(6, 7, 5, (lead.log[7],), 0, 0, 1)  # its first probe
    rejections, shipped = _exchange(lead, fol, (probe,))
    assert rejections == 2
    assert fol.log == lead.log
    assert shipped == 3 + 5  # three probes of one entry (8, 6, 3), then 4..8
    assert (lead.next_index[1], lead.match_index[1]) == (9, 8)

    exact = leader(E(1, 1, 4, 4, 4, 5, 5), term=5, config=Config(spec_exact=True))
    fol = follower(E(1, 1, 2, 2, 2, 3, 3, 3, 3), term=6)
    hb = AppendEntriesRequest(6, 7, 5, (), 0, 0, 1)
    rejections, _ = _exchange(exact, fol, (hb,))
    assert rejections == 5 and fol.log == exact.log  # next_index 8 -> 3, one by one


def test_a_shorter_follower_is_reached_in_one_round_trip() -> None:
    lead = leader(E(*[1] * 200), term=1, config=Config(max_batch=64))
    fol = follower(E(*[1] * 50), term=2)
    probe = AppendEntriesRequest(2, 200, 1, (lead.log[200],), 0, 0, 1)
    rejections, shipped = _exchange(lead, fol, (probe,))
    assert rejections == 1 and fol.log == lead.log
    assert shipped == 1 + 151  # the no-op, then 51..201 (one probe entry, then batches)


def test_late_and_duplicated_replies_never_move_next_index_back() -> None:
    """A rejection of a request the leader has moved past, or of an index at or below
    what it matched, and a success below match_index, change nothing."""
    lead = leader(E(1, 1, 1, 1), term=1)  # term 2, no-op at 5; next_index 5 for all
    old_reject = AppendEntriesResponse(2, False, 0, 1, 0, 4, 2, 0)
    lead.step(old_reject)  # fresh: the follower has 2 entries
    assert lead.next_index[1] == 3
    lead.step(old_reject)  # the same reply again (duplicated): it rejected index 4
    assert lead.next_index[1] == 3
    lead.step(AppendEntriesResponse(2, True, 5, 1, 0))
    assert (lead.next_index[1], lead.match_index[1]) == (6, 5)
    for late in (old_reject, AppendEntriesResponse(2, False, 0, 1, 0, 2, 1, 1),
                 AppendEntriesResponse(2, False, 0, 1, 0, 5, 0, 0),
                 AppendEntriesResponse(2, True, 3, 1, 0)):
        lead.step(late)
        assert (lead.next_index[1], lead.match_index[1]) == (6, 5), late
    lead.ready()


def test_one_probe_in_flight_then_full_batches() -> None:
    """While a follower is probed, heartbeats carry no entries and the probe at most
    one; once it matches, batches of max_batch."""
    cfg = Config(heartbeat_ticks=1, election_ticks=100, max_batch=8)
    lead = RaftCore(0, 3, random.Random(0), cfg, HardState(1, None), E(*[1] * 30))
    lead.campaign()
    lead.ready()
    lead.step(RequestVoteResponse(2, True, 1, 0))
    [probe] = to(1, lead.ready().messages)
    assert isinstance(probe, AppendEntriesRequest) and len(probe.entries) == 1
    for _ in range(5):  # the probe's answer is slow: heartbeats go out, empty
        lead.tick()
        [hb] = to(1, lead.ready().messages)
        assert isinstance(hb, AppendEntriesRequest) and hb.entries == ()
    lead.step(AppendEntriesResponse(2, False, 0, 1, 0, 30, 10, 0))  # it has 10 entries
    [probe] = to(1, lead.ready().messages)
    assert isinstance(probe, AppendEntriesRequest)
    assert (probe.prev_log_index, len(probe.entries)) == (10, 1)
    lead.step(AppendEntriesResponse(2, True, 11, 1, 0))
    [batch] = to(1, lead.ready().messages)
    assert isinstance(batch, AppendEntriesRequest)
    assert (batch.prev_log_index, len(batch.entries)) == (11, 8)
    lead.tick()  # the batch is in flight: the heartbeat carries nothing
    [hb] = to(1, lead.ready().messages)
    assert isinstance(hb, AppendEntriesRequest) and hb.entries == ()


def test_a_batch_presumed_lost_is_sent_again() -> None:
    cfg = Config(heartbeat_ticks=1, election_ticks=4, max_batch=8)
    lead = RaftCore(0, 3, random.Random(0), cfg, HardState(1, None), E(*[1] * 30))
    lead.campaign()
    lead.ready()
    lead.step(RequestVoteResponse(2, True, 1, 0))
    lead.step(AppendEntriesResponse(2, True, 31, 1, 0))  # matched, nothing in flight
    lead.ready()
    lead.propose(b"x")
    [batch] = to(1, lead.ready().messages)
    assert isinstance(batch, AppendEntriesRequest) and len(batch.entries) == 1
    sizes = []
    for _ in range(5):
        lead.tick()
        sizes += [len(m.entries) for m in to(1, lead.ready().messages)  # type: ignore[attr-defined]
                  ]
    assert sizes == [0, 0, 0, 1, 0]  # resent once, election_ticks after it went out


def test_a_new_leader_appends_a_noop_of_its_term() -> None:
    lead = leader(E(1, 1), term=1)
    assert lead.log[-1] == Entry(2, NOOP) and lead.last_index == 3
    assert lead.next_index == (3, 3, 3)  # the no-op goes out in the first probes
    exact = leader(E(1, 1), term=1, config=Config(spec_exact=True))
    assert exact.last_index == 2


def put(key: str, value: str, seq: int) -> bytes:
    return encode_command("put", key, value, client="c", seq=seq)


def test_after_a_full_restart_the_commit_index_moves_without_a_client_write() -> None:
    """Every server restarts with commit_index 0; the new leader's no-op commits, and with
    it every earlier entry: the state machines are rebuilt with no client write."""
    sim = Simulator(3, seed=4)
    first = sim.elect()
    for seq in range(1, 4):
        index = sim.propose(first, put("k", str(seq), seq))
        assert index is not None
        assert sim.run_until(lambda s, i=index: s.core(first).commit_index >= i, 2000)
    last = sim.core(first).last_index
    for k in range(3):
        sim.crash(k)
    for k in range(3):
        sim.restart(k)
    assert all(sim.core(k).commit_index == 0 for k in range(3))
    new = sim.elect()
    assert sim.run_until(lambda s: all(s.core(k).commit_index == last + 1 for k in range(3)),
                         3000)
    assert sim.core(new).log[-1] == Entry(sim.core(new).current_term, NOOP)
    assert all(sim.nodes[k].kv.data == {"k": "3"} for k in range(3))
    sim.check_applied_agree()

    exact = Simulator(3, seed=4, config=Config(spec_exact=True))
    first = exact.elect()
    index = exact.propose(first, put("k", "1", 1))
    assert index is not None
    assert exact.run_until(lambda s: s.core(first).commit_index >= 1, 2000)
    for k in range(3):
        exact.crash(k)
    for k in range(3):
        exact.restart(k)
    exact.elect()
    exact.run_until(lambda s: False, 500)
    assert all(exact.core(k).commit_index == 0 for k in range(3))  # raft.tla: stuck at 0
