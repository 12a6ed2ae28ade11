"""Every Raft prover lemma's witness (properties/raft_lemmas.py, the lemmas `agree prove
raft` adds), on a real counterexample, against an independent computation on the trace's
final state, and the steps it names against a scan of the trace.

The counterexamples are checks of zoo variants with small bounds (the shortest trace that
breaks the lemma), or of a spec broken on purpose here where no zoo variant breaks it
(type_ok, leader_has_quorum); type_ok's message branch, which no spec reaches, on a
constructed state.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from _witness import explained, found, rise, witness_at_end

from agree.models.raft import Raft
from agree.models.raft_types import (
    AEREQ,
    AERESP,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    RVRESP,
    AppendEntriesResponse,
    Election,
    RaftState,
    put,
)
from agree.properties import raft_lemmas
from agree.properties.raft_lemmas import ELECTION_LEMMAS, LOG_LEMMAS
from agree.protocols import registry
from agree.spec import Property, Spec
from agree.traces.trace import Trace

LEMMAS = (*ELECTION_LEMMAS, *LOG_LEMMAS)
# Small bounds under which the zoo variants break the lemmas (shortest traces 4-22 steps).
_NO_LOG = {"servers": 2, "max_term": 2, "max_log": 0, "max_messages": 1, "max_restarts": 1}
_TERM_3 = {"servers": 2, "max_term": 3, "max_log": 1, "max_messages": 1, "max_restarts": 0}


def _lemma(variant: str | Raft, name: str, **params: Any,
           ) -> tuple[Spec[Any], Trace, list[Property]]:
    spec = registry.build(variant, params)[0] if isinstance(variant, str) else variant
    return found(spec, LEMMAS, name)


def _votes_for(s: RaftState, j: int, c: int, t: int) -> bool:
    """j's vote in term t is c's (or j has moved past t): the lemmas' reading, restated."""
    return s.current_term[j] > t or (s.current_term[j] == t and s.voted_for[j] == c)


def _granted(s: RaftState) -> set[tuple[int, int, int]]:
    return {(m.msource, m.mdest, m.mterm) for m in s.messages
            if m.mtype == RVRESP and m.mvote_granted}


def _in_flight(s: RaftState) -> list[Any]:
    return [m for m in s.messages if m.mtype == AEREQ and m.mentries]


def _servers(s: RaftState) -> range:
    return range(len(s.state))


def _key(trace: Trace, props: list[Property], spec: Spec[Any]) -> tuple[int, ...]:
    return explained(spec, trace, props).key_steps


# -- the election lemmas ----------------------------------------------------------------


class _RestartsInTermZero(Raft):
    """Broken on purpose: a server restarts in term 0."""

    name: ClassVar[str] = "raft-restarts-in-term-0"

    def restart(self, s: RaftState, i: int) -> RaftState | None:
        t = super().restart(s, i)
        return None if t is None else t._replace(current_term=put(t.current_term, i, 0))


def test_type_ok_names_the_variable_out_of_its_type() -> None:
    spec, trace, props = _lemma(_RestartsInTermZero(servers=2, max_term=1, max_log=0,
                                                    max_restarts=1), "type_ok")
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    i = next(i for i in _servers(last) if last.current_term[i] < 1)
    assert (w.data["variable"], w.data["server"], w.data["value"]) == (
        "current_term", i, last.current_term[i])
    assert _key(trace, props, spec) == (len(trace),)
    assert trace.steps[-1].action == "Restart"


def test_type_ok_names_a_message_out_of_its_type() -> None:
    """A constructed state: no spec sends a response with a negative match index."""
    spec = Raft(servers=2, max_log=0)
    init = next(iter(spec.init()))
    bad = AppendEntriesResponse(AERESP, 1, True, -1, 1, 0)
    s = init._replace(messages=(bad,))
    w = raft_lemmas.type_ok(spec, s)
    assert not w and w is not False
    assert w.data == {"message": bad}  # type: ignore[union-attr]
    assert raft_lemmas.type_ok(spec, init) is True


class _CrownsAnyCandidate(Raft):
    """Broken on purpose: a candidate becomes leader without a quorum of votes."""

    name: ClassVar[str] = "raft-crowns-any-candidate"

    def become_leader(self, s: RaftState, i: int) -> RaftState | None:
        if s.state[i] != CANDIDATE:
            return None
        grant = frozenset(self.servers)  # pretend, for Raft's own check, then undo
        t = super().become_leader(s._replace(votes_granted=put(s.votes_granted, i, grant)), i)
        return None if t is None else t._replace(votes_granted=s.votes_granted, elections=frozenset(
            e._replace(evotes=s.votes_granted[i]) if e.eleader == i and e.evotes == grant else e
            for e in t.elections))


def test_leader_has_quorum_names_the_leader_and_its_votes() -> None:
    spec, trace, props = _lemma(_CrownsAnyCandidate(servers=3, max_term=2, max_log=0),
                                "leader_has_quorum")
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    c = next(c for c in _servers(last) if last.state[c] == LEADER
             and 2 * len(last.votes_granted[c]) <= len(last.state))
    assert w.data == {"leader": c, "term": last.current_term[c],
                      "votes": last.votes_granted[c]}
    assert trace.steps[-1].action == "BecomeLeader"
    assert len(trace) in _key(trace, props, spec)


def test_vgrant_voted_names_the_counted_vote_its_voter_no_longer_holds() -> None:
    spec, trace, props = _lemma("raft-stale-votes", "vgrant_voted", **_TERM_3)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    bad = [(c, j) for c in _servers(last) if last.state[c] != FOLLOWER
           for j in sorted(last.votes_granted[c])
           if not _votes_for(last, j, c, last.current_term[c])]
    c, j = bad[0]
    assert (w.data["candidate"], w.data["voter"], w.data["term"]) == (c, j, last.current_term[c])
    assert (w.data["voter_term"], w.data["voted_for"]) == (last.current_term[j],
                                                           last.voted_for[j])
    counted = rise(trace, lambda st: j in st.votes_granted[c])
    assert trace.steps[counted - 1].action == "HandleRequestVoteResponse"
    assert counted in _key(trace, props, spec)


def test_vote_resp_voted_names_the_response_and_the_voters_vote_now() -> None:
    spec, trace, props = _lemma("raft-forget-vote", "vote_resp_voted", **_NO_LOG)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    j, c, t = min(g for g in _granted(last) if not _votes_for(last, *g))
    assert (w.data["voter"], w.data["candidate"], w.data["term"]) == (j, c, t)
    assert w.data["voted_for"] == last.voted_for[j]
    key = _key(trace, props, spec)
    assert trace.steps[key[-1] - 1].action == "Restart"  # the step that forgot the vote
    sent = rise(trace, lambda st: any(m.mtype == RVRESP and m.mvote_granted
                                      and (m.msource, m.mdest, m.mterm) == (j, c, t)
                                      for m in st.messages))
    assert sent in key


def test_vote_resp_unique_names_the_two_responses_of_one_voter() -> None:
    spec, trace, props = _lemma("raft-forget-vote", "vote_resp_unique",
                                **{**_NO_LOG, "max_messages": 2})
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    to: dict[tuple[int, int], set[int]] = {}
    for j, c, t in _granted(last):
        to.setdefault((j, t), set()).add(c)
    (j, t), cs = min((k, v) for k, v in to.items() if len(v) > 1)
    assert (w.data["voter"], w.data["term"]) == (j, t)
    assert set(w.data["candidates"]) == cs
    assert {trace.steps[n - 1].action for n in _key(trace, props, spec)} == {
        "HandleRequestVoteRequest"}


def test_vote_resp_tallied_names_the_response_and_who_counted_the_voter() -> None:
    spec, trace, props = _lemma("raft-forget-vote", "vote_resp_tallied", **_NO_LOG)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    j, t, c, c2 = w.data["voter"], w.data["term"], w.data["candidate"], w.data["counted_by"]
    assert (j, c, t) in _granted(last) and c2 != c
    assert last.state[c2] != FOLLOWER and last.current_term[c2] == t
    assert j in last.votes_granted[c2]
    assert rise(trace, lambda st: j in st.votes_granted[c2]) in _key(trace, props, spec)


def test_vgrant_disjoint_names_the_two_candidates_and_the_shared_voter() -> None:
    spec, trace, props = _lemma("raft-stale-votes", "vgrant_disjoint", **_TERM_3)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    active = [c for c in _servers(last) if last.state[c] != FOLLOWER]
    pairs = [(a, b) for a in active for b in active if a < b
             and last.current_term[a] == last.current_term[b]
             and last.votes_granted[a] & last.votes_granted[b]]
    a, b = pairs[0]
    assert w.data == {"term": last.current_term[a], "candidates": (a, b),
                      "voters": last.votes_granted[a] & last.votes_granted[b]}
    j = min(w.data["voters"])
    assert set(_key(trace, props, spec)) == {
        rise(trace, lambda st, x=x: j in st.votes_granted[x]) for x in (a, b)}


def test_elected_quorum_names_the_election_and_the_voters_it_lost() -> None:
    spec, trace, props = _lemma("raft-forget-vote", "elected_quorum", **_NO_LOG)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    granted = _granted(last)

    def bound(j: int, e: Election) -> bool:
        c, t = e.eleader, e.eterm
        return _votes_for(last, j, c, t) and all(
            (j, x, t) not in granted and not (
                last.state[x] != FOLLOWER and last.current_term[x] == t
                and j in last.votes_granted[x]) for x in _servers(last) if x != c)

    e = next(e for e in sorted(last.elections)
             if 2 * sum(bound(j, e) for j in _servers(last)) <= len(last.state))
    assert (w.data["term"], w.data["leader"]) == (e.eterm, e.eleader)
    assert w.data["bound"] == {j for j in _servers(last) if bound(j, e)}
    assert set(w.data["unbound"]) == set(_servers(last)) - w.data["bound"]
    key = _key(trace, props, spec)
    assert rise(trace, lambda st: e in st.elections) in key
    for j, why in w.data["unbound"].items():  # this trace: a voter's restart forgot its vote
        assert why == "voted" and not _votes_for(last, j, e.eleader, e.eterm)
        if j in e.evotes:
            forgot = rise(trace, lambda st, j=j: (st.current_term[j], st.voted_for[j])
                          == (last.current_term[j], last.voted_for[j]))
            assert forgot in key and trace.steps[forgot - 1].action == "Restart"


# -- the log lemmas ---------------------------------------------------------------------


def test_leader_elected_names_the_leader_of_a_term_it_never_won() -> None:
    spec, trace, props = _lemma("raft-leader-ignores-term", "leader_elected",
                                **{**_TERM_3, "max_log": 0})
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    won = {(e.eterm, e.eleader) for e in last.elections}
    c = next(c for c in _servers(last) if last.state[c] == LEADER
             and (last.current_term[c], c) not in won)
    assert (w.data["leader"], w.data["term"]) == (c, last.current_term[c])
    assert w.data["last_elected"] == max(t for t, x in won if x == c)
    adopted = rise(trace, lambda st: st.state[c] == LEADER
                   and st.current_term[c] == last.current_term[c])
    assert trace.steps[adopted - 1].action == "UpdateTerm"
    assert adopted in _key(trace, props, spec)


def test_elected_term_le_names_the_leader_whose_term_went_back() -> None:
    spec, trace, props = _lemma("raft-forget-term", "elected_term_le", **_NO_LOG)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    e = min(e for e in last.elections if e.eterm > last.current_term[e.eleader])
    assert w.data == {"leader": e.eleader, "term": e.eterm,
                      "current_term": last.current_term[e.eleader]}
    key = _key(trace, props, spec)
    assert [trace.steps[n - 1].action for n in key] == ["BecomeLeader", "Restart"]


def test_candidate_not_elected_names_the_candidate_of_a_term_it_won() -> None:
    spec, trace, props = _lemma("raft-forget-term", "candidate_not_elected", **_NO_LOG)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    won = {(e.eterm, e.eleader) for e in last.elections}
    c = next(c for c in _servers(last) if last.state[c] == CANDIDATE
             and (last.current_term[c], c) in won)
    assert w.data == {"server": c, "term": last.current_term[c]}
    key = _key(trace, props, spec)
    assert [trace.steps[n - 1].action for n in key] == ["BecomeLeader", "Timeout"]


def test_aereq_log_match_names_the_entry_in_flight_and_the_log_it_contradicts() -> None:
    spec, trace, props = _lemma("raft-leader-ignores-term", "aereq_log_match",
                                **{**_TERM_3, "values": 2})
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    m, i, k = w.data["message"], w.data["server"], w.data["index"]
    assert m in _in_flight(last) and k == m.mprev_log_index + 1
    lg = last.log[i]
    assert lg[k - 1] == w.data["entry"] and lg[k - 1].term == m.mentries[0].term
    prev = lg[k - 2].term if k > 1 else 0
    assert lg[k - 1].value != m.mentries[0].value or prev != m.mprev_log_term
    assert set(_key(trace, props, spec)) == {
        rise(trace, lambda st: m in st.messages),
        rise(trace, lambda st: len(st.log[i]) >= k and st.log[i][k - 1] == lg[k - 1])}


def test_aereq_match_names_the_two_entries_in_flight_that_disagree() -> None:
    spec, trace, props = _lemma("raft-leader-ignores-term", "aereq_match",
                                **{**_TERM_3, "values": 2})
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    m1, m2 = w.data["messages"]
    assert m1 in _in_flight(last) and m2 in _in_flight(last)
    assert (m1.mprev_log_index, m1.mentries[0].term) == (m2.mprev_log_index,
                                                         m2.mentries[0].term)
    assert (m1.mentries[0].value, m1.mprev_log_term) != (m2.mentries[0].value,
                                                         m2.mprev_log_term)
    assert w.data["index"] == m1.mprev_log_index + 1
    assert set(_key(trace, props, spec)) == {rise(trace, lambda st, m=m: m in st.messages)
                                             for m in (m1, m2)}


def test_leader_log_entries_names_the_entry_its_leader_lacks() -> None:
    spec, trace, props = _lemma("raft-stale-votes", "leader_log_entries", **_TERM_3)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    i, j, k, e = w.data["leader"], w.data["server"], w.data["index"], w.data["entry"]
    assert last.state[i] == LEADER and e.term == last.current_term[i] == w.data["term"]
    assert last.log[j][k - 1] == e
    assert len(last.log[i]) < k or last.log[i][k - 1] != e
    key = _key(trace, props, spec)
    assert rise(trace, lambda st: len(st.log[j]) >= k and st.log[j][k - 1] == e) in key
    assert rise(trace, lambda st: st.state[i] == LEADER
                and st.current_term[i] == e.term) in key


def test_leader_msg_entries_names_the_entry_in_flight_its_leader_lacks() -> None:
    spec, trace, props = _lemma("raft-stale-votes", "leader_msg_entries", **_TERM_3)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    i, m, k = w.data["leader"], w.data["message"], w.data["index"]
    assert m in _in_flight(last) and k == m.mprev_log_index + 1
    assert last.state[i] == LEADER and m.mentries[0].term == last.current_term[i]
    assert len(last.log[i]) < k or last.log[i][k - 1] != m.mentries[0]
    assert rise(trace, lambda st: m in st.messages) in _key(trace, props, spec)


def test_entries_elected_names_an_entry_of_a_term_without_election() -> None:
    spec, trace, props = _lemma("raft-leader-ignores-term", "entries_elected", **_TERM_3)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    terms = {e.eterm for e in last.elections}
    held = [(i, k, e) for i in _servers(last) for k, e in enumerate(last.log[i], 1)
            if e.term not in terms]
    i, k, e = held[0]
    assert w.data == {"term": e.term, "server": i, "index": k, "entry": e}
    assert _key(trace, props, spec) == (len(trace),)
    assert trace.steps[-1].action == "ClientRequest"


@pytest.mark.parametrize("prop", LEMMAS, ids=lambda p: p.name)
def test_every_lemma_holds_on_the_initial_state_without_building_a_witness(
        prop: Property) -> None:
    spec = Raft(servers=2)
    assert all(prop.fn(spec, s) is True for s in spec.init())


def test_agree_prove_explains_the_reachable_cti_it_found() -> None:
    """`agree prove`'s text for a reachable CTI (as the prover fills it in, without running
    Z3 here: tests/test_z3_raft.py runs the search) opens the trace with the witness."""
    from agree.cli.prove import _witness_text
    from agree.symbolic.prove import CTI
    from agree.symbolic.raft.driver import raft_twins

    spec, trace, props = _lemma("raft-forget-vote", "vote_resp_voted", **_NO_LOG)
    cti = CTI(params={}, pre=trace.states[-2], witness_status="found", witness=trace,
              witness_conjunct="vote_resp_voted", witness_spec=spec)
    text = "\n".join(_witness_text(cti, raft_twins()))
    w = witness_at_end(spec, trace, props)
    assert f"Why vote_resp_voted fails: {w.reason}\n" in text
    key = explained(spec, trace, props).key_steps
    assert f"Key steps: {', '.join(map(str, key))} (marked [key step] below)" in text
    assert text.count("[key step]") == len(key) + 1
