"""Helper lemmas that make Raft's election safety and log matching inductive, as
Python predicates (each has a Z3 twin in symbolic/raft/invariant.py, held to this
one by tests).

Election (a server's vote in a term lives in ``voted_for`` while it stays in that
term, in granted RequestVote responses in flight, and in candidates'
``votes_granted``; these must never disagree): ``leader_has_quorum``,
``vgrant_voted``, ``vote_resp_voted``, ``vote_resp_unique``, ``vote_resp_tallied``,
``vgrant_disjoint``, and ``elected_quorum`` (an elected leader of term t keeps a
quorum of voters that can never vote for anyone else in t; it stands in for the
vote history the state forgets).

Log (the log-matching argument of Raft §5.3, extended to entries in flight):
``leader_elected``, ``elected_term_le``, ``candidate_not_elected``,
``aereq_log_match``, ``aereq_match``, ``leader_log_entries``,
``leader_msg_entries``, ``entries_elected``.

When one fails it returns a witness (properties/raft_lemma_witness.py), built only then.
"""

from __future__ import annotations

from itertools import combinations

from agree.models.raft import Raft
from agree.models.raft_types import AEREQ, CANDIDATE, FOLLOWER, LEADER, RaftState
from agree.properties import raft_lemma_witness as why
from agree.properties.raft_flight import entries_in_flight as _entries_in_flight
from agree.properties.raft_flight import granted as _granted
from agree.properties.raft_flight import term_at as _term_at
from agree.properties.raft_flight import voted_for_in as _voted_for_in
from agree.spec import Property, Witness, invariant, property_of

__all__ = ["ELECTION_LEMMAS", "LOG_LEMMAS"]


@invariant
def type_ok(spec: Raft, s: RaftState) -> bool | Witness:
    """Terms start at 1; indexes, commit indexes and match indexes are at least 0,
    next indexes at least 1; requests' previous and commit indexes, and responses' match,
    at least 0; a request with previous index 0 has previous term 0."""
    n = spec.servers
    return ((all(s.current_term[i] >= 1 and s.commit_index[i] >= 0 for i in n)
             and all(s.next_index[i][j] >= 1 and s.match_index[i][j] >= 0 for i in n for j in n)
             and s.restart_count >= 0
             and all(m.mprev_log_index >= 0 and m.mcommit_index >= 0
                     and (m.mprev_log_index > 0 or m.mprev_log_term == 0)
                     for m in s.messages if m.mtype == AEREQ)
             and all(m.mmatch_index >= 0 for m in s.messages if m.mtype == "AppendEntriesResponse"))
            or why.bad_type(spec, s))


@invariant
def leader_has_quorum(spec: Raft, s: RaftState) -> bool | Witness:
    """A leader holds the votes of a quorum."""
    return (all(spec.is_quorum(s.votes_granted[c]) for c in spec.servers if s.state[c] == LEADER)
            or why.leader_without_quorum(spec, s))


@invariant
def vgrant_voted(spec: Raft, s: RaftState) -> bool | Witness:
    """A vote a candidate or leader counted is still its voter's vote in that term (or the
    voter has moved to a later term)."""
    return all(_voted_for_in(s, j, c, s.current_term[c]) for c in spec.servers
               if s.state[c] != FOLLOWER for j in s.votes_granted[c]) or why.vote_not_voted(spec, s)


@invariant
def vote_resp_voted(spec: Raft, s: RaftState) -> bool | Witness:
    """A granted vote response in flight is its voter's vote in its term (or the voter has
    moved to a later term)."""
    return (all(_voted_for_in(s, j, c, t) for j, c, t in _granted(s))
            or why.vote_resp_not_voted(spec, s))


@invariant
def vote_resp_unique(spec: Raft, s: RaftState) -> bool | Witness:
    """A voter's granted responses of one term all go to one candidate."""
    seen: dict[tuple[int, int], int] = {}
    return (all(seen.setdefault((j, t), c) == c for j, c, t in sorted(_granted(s)))
            or why.vote_resp_twice(spec, s))


@invariant
def vote_resp_tallied(spec: Raft, s: RaftState) -> bool | Witness:
    """A granted response of term t to c, and a candidate or leader c2 of term t that
    counted the same voter: c2 is c."""
    return all(c2 == c for j, c, t in _granted(s) for c2 in spec.servers
               if s.state[c2] != FOLLOWER and s.current_term[c2] == t
               and j in s.votes_granted[c2]) or why.vote_resp_tallied_elsewhere(spec, s)


@invariant
def vgrant_disjoint(spec: Raft, s: RaftState) -> bool | Witness:
    """Two candidates or leaders of one term counted no voter in common."""
    active = [c for c in spec.servers if s.state[c] != FOLLOWER]
    return all(not (s.votes_granted[a] & s.votes_granted[b]) for a, b in combinations(active, 2)
               if s.current_term[a] == s.current_term[b]) or why.vote_counted_twice(spec, s)


@invariant
def elected_quorum(spec: Raft, s: RaftState) -> bool | Witness:
    """The leader c elected in term t has a quorum of voters bound to it in t: each is in
    a later term, or in t having voted for c; none has a granted response of t in flight
    to another server, nor is counted by another candidate or leader of t."""
    granted = _granted(s)

    def bound(j: int, c: int, t: int) -> bool:
        return _voted_for_in(s, j, c, t) and not any(
            (j, c2, t) in granted or (s.state[c2] != FOLLOWER and s.current_term[c2] == t
                                      and j in s.votes_granted[c2])
            for c2 in spec.servers if c2 != c)
    return all(spec.is_quorum(frozenset(j for j in spec.servers if bound(j, e.eleader, e.eterm)))
               for e in s.elections) or why.unbound_election(spec, s)


@invariant
def leader_elected(spec: Raft, s: RaftState) -> bool | Witness:
    """A leader was elected in its current term."""
    won = {(e.eterm, e.eleader) for e in s.elections}
    return (all((s.current_term[c], c) in won for c in spec.servers if s.state[c] == LEADER)
            or why.leader_not_elected(spec, s))


@invariant
def elected_term_le(spec: Raft, s: RaftState) -> bool | Witness:
    """A server elected in term t is in term t or later."""
    return (all(e.eterm <= s.current_term[e.eleader] for e in s.elections)
            or why.election_ahead_of_term(spec, s))


@invariant
def candidate_not_elected(spec: Raft, s: RaftState) -> bool | Witness:
    """A candidate has not (yet) been elected in its term."""
    won = {(e.eterm, e.eleader) for e in s.elections}
    return all((s.current_term[c], c) not in won for c in spec.servers
               if s.state[c] == CANDIDATE) or why.candidate_elected(spec, s)


@invariant
def aereq_log_match(spec: Raft, s: RaftState) -> bool | Witness:
    """An entry in flight and a log with an entry of the same term at its index agree on
    the value and on the term of the entry before."""
    for p, pt, et, ev in _entries_in_flight(s):
        for lg in s.log:
            if len(lg) >= p + 1 and lg[p].term == et and (lg[p].value != ev
                                                          or _term_at(lg, p) != pt):
                return why.aereq_log_mismatch(spec, s)
    return True


@invariant
def aereq_match(spec: Raft, s: RaftState) -> bool | Witness:
    """Two entries in flight at one index with one term agree on value and previous term."""
    seen: dict[tuple[int, int], tuple[int, int]] = {}
    return all(seen.setdefault((p, et), (ev, pt)) == (ev, pt)
               for p, pt, et, ev in _entries_in_flight(s)) or why.aereq_mismatch(spec, s)


@invariant
def leader_log_entries(spec: Raft, s: RaftState) -> bool | Witness:
    """A leader holds every entry of its term that any log holds, at the same index."""
    for i in spec.servers:
        if s.state[i] != LEADER:
            continue
        t, mine = s.current_term[i], s.log[i]
        for lg in s.log:
            for k, e in enumerate(lg, 1):
                if e.term == t and (len(mine) < k or mine[k - 1] != e):
                    return why.leader_lacks_log_entry(spec, s)
    return True


@invariant
def leader_msg_entries(spec: Raft, s: RaftState) -> bool | Witness:
    """A leader holds every entry of its term in flight, at its index."""
    for i in spec.servers:
        if s.state[i] != LEADER:
            continue
        t, mine = s.current_term[i], s.log[i]
        for p, _pt, et, ev in _entries_in_flight(s):
            if et == t and (len(mine) < p + 1 or (mine[p].term, mine[p].value) != (et, ev)):
                return why.leader_lacks_msg_entry(spec, s)
    return True


@invariant
def entries_elected(spec: Raft, s: RaftState) -> bool | Witness:
    """Every entry, in a log or in flight, has the term of some election."""
    terms = {e.eterm for e in s.elections}
    return ((all(e.term in terms for lg in s.log for e in lg)
             and all(et in terms for _p, _pt, et, _ev in _entries_in_flight(s)))
            or why.entry_of_no_election(spec, s))


ELECTION_LEMMAS: tuple[Property, ...] = tuple(property_of(f) for f in (
    type_ok, leader_has_quorum, vgrant_voted, vote_resp_voted, vote_resp_unique,
    vote_resp_tallied, vgrant_disjoint, elected_quorum))
LOG_LEMMAS: tuple[Property, ...] = tuple(property_of(f) for f in (
    leader_elected, elected_term_le, candidate_not_elected, aereq_log_match, aereq_match,
    leader_log_entries, leader_msg_entries, entries_elected))
