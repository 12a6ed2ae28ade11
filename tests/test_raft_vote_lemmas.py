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
