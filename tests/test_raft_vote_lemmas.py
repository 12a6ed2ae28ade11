"""The vote lemmas (properties/raft_vote_lemmas.py, Verdi's votesWithLog over the
``votes_cast`` history) hold on every reachable state of small configurations and are
not vacuous there. That they exclude the pre-states of the CTIs the invariant had
without them: tests/test_z3_raft_cases.py; that Z3 evaluates them alike:
tests/test_z3_raft_history.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from _search import reachable

from agree.models.raft import Raft
from agree.models.raft_types import AERESP, LEADER, RaftState
from agree.properties.raft_history_lemmas import grown
from agree.properties.raft_vote_lemmas import VOTE_LEMMAS, at_least, votes
from agree.protocols.registry import build

LEMMAS = {p.name: p for p in VOTE_LEMMAS}
DEEPER = {"servers": 2, "max_term": 3, "max_log": 2, "max_messages": 1, "max_restarts": 0,
          "history": True, "values": 1}


def _reachable(params: dict[str, Any]) -> tuple[Raft, list[RaftState]]:
    spec, _ = build("raft", params)
    assert isinstance(spec, Raft)
    return spec, [st for st in reachable(spec, constraint="tlc") if spec.constraint(st)]


def test_at_least_is_log_ok_for_vote() -> None:
    assert at_least(1, 1, 0, 0) and at_least(1, 1, 1, 1) and at_least(2, 1, 1, 2)
    assert not at_least(1, 1, 1, 2) and not at_least(0, 0, 1, 1)


# With a restart the state space is five times larger (about 8 s of CPU): reference tier.
@pytest.mark.parametrize("restarts", [0, pytest.param(1, marks=pytest.mark.reference)])
def test_vote_lemmas_hold_on_every_reachable_state(restarts: int) -> None:
    spec, states = _reachable({**DEEPER, "max_restarts": restarts})
    for name, lemma in LEMMAS.items():
        bad = [st for st in states if not lemma.holds(spec, st)]
        assert not bad, f"{name} fails on {bad[0]}"
    # Not vacuous: votes are cast with non-empty logs, elections grow past the logs
    # their votes were cast with, and leaders hold quorum-acknowledged entries.
    assert sum(1 for st in states if st.votes_cast) > 1000
    assert any(ll > 0 for st in states for _, ll in votes(st).values())
    assert any(ll < len(grown(st)[t]) for st in states for (_, t), (_, ll)
               in votes(st).items() if t in grown(st))
    assert any(st.state[i] == LEADER and st.match_index[i][1 - i] >= 1
               and st.log[i][0].term == st.current_term[i]
               for st in states for i in (0, 1))


# Three servers (about 2 minutes of CPU, 1.45 million states; reference tier). At this
# bound no election follows an in-flight acknowledgement or a kept leader entry (with
# 2 servers none can), so the "every later grown log" halves are checked only by Z3.
@pytest.mark.reference
def test_in_flight_ack_lemmas_hold_with_three_servers() -> None:
    spec, states = _reachable({"servers": 3, "max_term": 2, "max_log": 1, "max_messages": 1,
                               "max_restarts": 0, "history": True, "values": 1})
    for name in ("ae_from_leader", "leader_kept", "ack_msg_later"):
        bad = [st for st in states if not LEMMAS[name].holds(spec, st)]
        assert not bad, f"{name} fails on {bad[0]}"
    # Not vacuous: a success response of an entry of its term in flight.
    assert any(m.mtype == AERESP and m.msuccess and m.mmatch_index == 1
               and grown(st).get(m.mterm, ())[:1] and grown(st)[m.mterm][0].term == m.mterm
               for st in states for m in st.messages)


def _walk(spec: Raft, steps: list[tuple[str, ...]]) -> RaftState:
    """From Init, each step the first successor whose label contains every string given."""
    s = next(iter(spec.init()))
    for needles in steps:
        nxt = [tr.state for tr in spec.successors(s) if all(n in tr.label for n in needles)]
        assert nxt, f"no step {needles}"
        s = nxt[0]
    return s


def _elect(c: str, term: int, voters: tuple[str, ...]) -> list[tuple[str, ...]]:
    """c times out into ``term`` and wins the votes of ``voters`` (itself first)."""
    req = f"{c}->{{}} RequestVoteRequest term={term}"
    return [("Timeout", f"i={c}"), *(("RequestVote(", f"i={c}", f"j={j}") for j in voters),
            ("HandleRequestVoteRequest", req.format(c)),
            *(x for j in voters[1:] for x in (("UpdateTerm", req.format(j)),
                                              ("HandleRequestVoteRequest", req.format(j)))),
            *(("HandleRequestVoteResponse", f"{j}->{c}") for j in voters),
            ("BecomeLeader", f"i={c}")]


def test_in_flight_ack_lemmas_rest_on_three_servers() -> None:
    # With 5 servers, s1 leads term 2 and s2 acknowledges its entry (the response in
    # flight); s3, s4, s5, none of them holding the entry, elect s3 in term 3. Every
    # other vote lemma holds; leader_kept and ack_msg_later (every later grown log holds
    # the entry) do not: `--part complete` is stated for 3 servers (docs/z3.md).
    spec, _ = build("raft", {"servers": 5, "max_term": 3, "max_log": 1, "max_messages": 20,
                             "max_restarts": 0, "history": True, "values": 1})
    assert isinstance(spec, Raft)
    s = _walk(spec, [*_elect("s1", 2, ("s1", "s2", "s3")), ("ClientRequest", "i=s1"),
                     ("AppendEntries(", "i=s1", "j=s2"), ("HandleAppendEntriesRequest", "s1->s2"),
                     ("HandleAppendEntriesRequest", "s1->s2"),
                     *_elect("s3", 3, ("s3", "s4", "s5"))])
    assert any(m.mtype == AERESP and m.msuccess for m in s.messages)
    assert {n for n, lemma in LEMMAS.items() if not lemma.holds(spec, s)} == {
        "leader_kept", "ack_msg_later"}
