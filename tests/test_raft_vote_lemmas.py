"""The vote lemmas (properties/raft_vote_lemmas.py, Verdi's votesWithLog) hold on every
reachable state of small configurations, are not vacuous there, and each rejects a
pre-state of the unknown obligations of ``agree prove raft --part complete``
(tests/test_z3_raft_cases.py): the invariant admits those states, these lemmas do not.
"""

from __future__ import annotations

from typing import Any

import pytest
from _search import reachable
from test_z3_raft_cases import E1, _cti_states
from test_z3_raft_cases import _spec as _spec3

from agree.models.raft import Raft
from agree.models.raft_types import LEADER, RaftState
from agree.properties.raft_history_lemmas import grown
from agree.properties.raft_vote_lemmas import VOTE_LEMMAS, recorded_votes, up_to_date
from agree.protocols.registry import build

LEMMAS = {p.name: p for p in VOTE_LEMMAS}
DEEPER = {"servers": 2, "max_term": 3, "max_log": 2, "max_messages": 1, "max_restarts": 0,
          "history": True, "values": 1}


def _reachable(params: dict[str, Any]) -> tuple[Raft, list[RaftState]]:
    spec, _ = build("raft", params)
    assert isinstance(spec, Raft)
    return spec, [st for st in reachable(spec, constraint="tlc") if spec.constraint(st)]


def test_up_to_date_is_log_ok_for_vote() -> None:
    e2 = E1._replace(term=2)
    assert up_to_date((E1,), ()) and up_to_date((E1,), (E1,))
    assert up_to_date((e2,), (E1, E1)) and not up_to_date((E1,), (E1, E1))
    assert not up_to_date((), (E1,))


@pytest.mark.parametrize("restarts", [0, 1])
def test_vote_lemmas_hold_on_every_reachable_state(restarts: int) -> None:
    spec, states = _reachable({**DEEPER, "max_restarts": restarts})
    for name, lemma in LEMMAS.items():
        bad = [st for st in states if not lemma.holds(spec, st)]
        assert not bad, f"{name} fails on {bad[0]}"
    # Not vacuous: votes are recorded, elections keep voter logs that are shorter
    # than their leader's log, and leaders hold quorum-acknowledged entries of their
    # term (with 2 servers no election of a later term happens meanwhile: the leader
    # would have to vote in it; the CTI pre-states below show acked_in_later failing).
    assert sum(1 for st in states if any(True for _ in recorded_votes(st))) > 1000
    assert any(len(lg) < len(grown(st)[e.eterm]) for st in states for e in st.elections
               for _, lg in e.evoter_log)
    assert any(st.state[i] == LEADER and st.match_index[i][1 - i] >= 1
               and st.log[i][0].term == st.current_term[i]
               for st in states for i in (0, 1))


def _variants() -> dict[str, RaftState]:
    """The CTI pre-states as the tests build them (s3's tally of s2's vote left out),
    and with s2's vote recorded with the log it holds ([1:v1]) or with an empty log."""
    out: dict[str, RaftState] = {}
    for which, st in _cti_states(_spec3()).items():
        def with_s2_log(lg: tuple[Any, ...], st: RaftState = st) -> RaftState:
            tally = tuple(tuple(sorted((j, lg if j == 1 else st.log[j]) for j in g))
                          for g in st.votes_granted)
            elections = frozenset(e._replace(evoter_log=tuple(sorted(
                (j, lg if j == 1 else st.log[j]) for j in e.evotes))) for e in st.elections)
            return st._replace(voter_log=tally, elections=elections)
        out[which] = st
        out[which + " s2 voted with [1:v1]"] = with_s2_log((E1,))
        out[which + " s2 voted with []"] = with_s2_log(())
    return out


@pytest.mark.parametrize("which,fails", [
    # s3 counts s2's vote but recorded no log for it.
    ("BecomeLeader", {"votes_logged"}),
    # s2 voted with [1:v1] for s3, whose log is empty.
    ("BecomeLeader s2 voted with [1:v1]", {"voter_log_up_to_date"}),
    # s2 acknowledged [1:v1] in term 1 (s1 committed it) and then voted in term 2 with
    # a log that lacks it.
    ("BecomeLeader s2 voted with []", {"acked_kept", "committed_kept"}),
    # Term 2's election (empty log) lacks what s1 and s2 acknowledged in term 1.
    ("AdvanceCommitIndex", {"acked_in_later", "votes_logged"}),
    ("AdvanceCommitIndex s2 voted with [1:v1]", {"acked_in_later", "voter_log_up_to_date"}),
    ("AdvanceCommitIndex s2 voted with []", {"acked_in_later", "acked_kept"}),
    # s2's log [2:v1] no longer holds what it acknowledged in term 1.
    ("AdvanceCommitIndex*", {"acked_in_later", "acked_kept", "votes_logged"}),
    ("AdvanceCommitIndex* s2 voted with [1:v1]", {"acked_in_later", "acked_kept"}),
    ("AdvanceCommitIndex* s2 voted with []", {"acked_in_later", "acked_kept"})])
def test_vote_lemmas_reject_the_cti_pre_states(which: str, fails: set[str]) -> None:
    spec = _spec3()
    st = _variants()[which]
    assert {n for n, lemma in LEMMAS.items() if not lemma.holds(spec, st)} == fails
