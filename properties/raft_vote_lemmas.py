"""Vote lemmas for leader completeness over the ``votes_cast`` history of
``Raft(history=True)`` (Verdi's ``votesWithLog``): each server's first vote of each
term, with the last term and length of its log then. Python twins of the vote
conjuncts of ``agree prove raft --part complete`` (symbolic/raft/votes.py, same names),
held to them by tests and checked on reachable states.

The argument is Raft's §5.4.3: what a quorum acknowledged in its leader's term t (up
to index m, an entry of term t) stays in its members' logs, and every vote they cast
in a later term was cast with a log at least as up to date as (t, m) (``kept``); every
later election had a quorum of votes from logs no more up to date than its leader's
grown log; two quorums meet, so that grown log is at least as up to date as (t, m),
hence (the grown-log lemmas, terms in a log never decrease) holds the entry.

Read as the encoding reads the ghost: ``votes[(j, t)]`` is (last term, length) of j's
log at its first vote of term t; ``grown[t]`` term t's grown leader log.
"""

from __future__ import annotations

from agree.models.raft import Raft
from agree.models.raft_types import (
    AEREQ,
    AERESP,
    CANDIDATE,
    LEADER,
    RVREQ,
    RVRESP,
    Log,
    RaftState,
    last_term,
)
from agree.properties.raft_history_lemmas import _commit_tops, grown
from agree.spec import Property, invariant, property_of

__all__ = ["VOTE_LEMMAS", "at_least", "votes"]


def votes(s: RaftState) -> dict[tuple[int, int], tuple[int, int]]:
    """(voter, term) -> (last term, length) of the voter's log at its first vote then."""
    return {(v.vvoter, v.vterm): (v.vlast_term, v.vlast_index) for v in s.votes_cast}


def at_least(lt: int, ll: int, t: int, m: int) -> bool:
    """A log with last term ``lt`` and length ``ll`` is at least as up to date as one
    with last term t and length m (Raft §5.4.1, log_ok_for_vote)."""
    return lt > t or (lt == t and ll >= m)


@invariant
def vote_recorded(spec: Raft, s: RaftState) -> bool:
    """A server that voted in its term has that vote recorded."""
    v = votes(s)
    return all((j, s.current_term[j]) in v for j in spec.servers
               if s.voted_for[j] is not None)


@invariant
def vote_term_le(spec: Raft, s: RaftState) -> bool:
    """A recorded vote is of its voter's term or an earlier one, cast with a log whose
    entries are of that term or earlier; of its current term only if it voted."""
    return all((t < s.current_term[j] or (t == s.current_term[j]
                                          and s.voted_for[j] is not None))
               and 0 <= lt <= t and ll >= 0 for (j, t), (lt, ll) in votes(s).items())


@invariant
def vote_msg_terms(spec: Raft, s: RaftState) -> bool:
    """Vote requests and granted responses are of their candidate's term or an earlier
    one, and so is the term of a server that voted for it."""
    return all(m.mterm <= s.current_term[m.msource if m.mtype == RVREQ else m.mdest]
               for m in s.messages if m.mtype == RVREQ
               or (m.mtype == RVRESP and m.mvote_granted)) and all(
        s.current_term[j] <= s.current_term[c] for j, c in enumerate(s.voted_for)
        if c is not None)


@invariant
def request_log(spec: Raft, s: RaftState) -> bool:
    """A candidate's or leader's log is at least as up to date as the log its vote
    requests of its term carry."""
    return all(at_least(last_term(s.log[c]), len(s.log[c]), m.mlast_log_term,
                        m.mlast_log_index)
               for m in s.messages if m.mtype == RVREQ
               for c in (m.msource,) if s.state[c] in (CANDIDATE, LEADER)
               and m.mterm == s.current_term[c])


def _up_to(s: RaftState, v: dict[tuple[int, int], tuple[int, int]], j: int, c: int) -> bool:
    """j voted in c's term, with a log no more up to date than c's."""
    t = s.current_term[c]
    if (j, t) not in v:
        return False
    return at_least(last_term(s.log[c]), len(s.log[c]), *v[(j, t)])


@invariant
def vote_up_to_date(spec: Raft, s: RaftState) -> bool:
    """A candidate's or leader's log is at least as up to date as the log every vote it
    got (tallied, in flight, or cast for it in its term) was cast with."""
    v = votes(s)
    for c in spec.servers:
        if s.state[c] not in (CANDIDATE, LEADER):
            continue
        t = s.current_term[c]
        flight = {m.msource for m in s.messages if m.mtype == RVRESP and m.mvote_granted
                  and m.mdest == c and m.mterm == t}
        cast = {j for j in spec.servers if s.current_term[j] == t and s.voted_for[j] == c}
        if not all(_up_to(s, v, j, c) for j in s.votes_granted[c] | flight | cast):
            return False
    return True


@invariant
def elected_up_to_date(spec: Raft, s: RaftState) -> bool:
    """Term t's grown leader log is at least as up to date as the logs a quorum voted
    with in t."""
    v, g = votes(s), grown(s)
    for t, lg in g.items():
        lt = lg[-1].term if lg else 0
        ok = frozenset(j for j in spec.servers
                       if (j, t) in v and at_least(lt, len(lg), *v[(j, t)]))
        if not spec.is_quorum(ok):
            return False
    return True


def kept(s: RaftState, v: dict[tuple[int, int], tuple[int, int]], j: int, t: int,
         m: int) -> bool:
    """j's log has an entry of term t at m, and every vote j cast after t was cast with
    a log at least as up to date as (t, m)."""
    lg = s.log[j]
    return (1 <= m <= len(lg) and lg[m - 1].term == t
            and all(at_least(lt, ll, t, m) for (j2, u), (lt, ll) in v.items()
                    if j2 == j and u > t))


@invariant
def committed_kept(spec: Raft, s: RaftState) -> bool:
    """What term t committed (up to its highest commit) a quorum keeps (``kept``)."""
    v = votes(s)
    return all(spec.is_quorum(frozenset(j for j in spec.servers if kept(s, v, j, t, k)))
               for t, k in _commit_tops(s).items() if k > 0)


def _acked(spec: Raft, s: RaftState, i: int, j: int, k: int) -> bool:
    return i == j or s.match_index[i][j] >= k


def _own_acked(spec: Raft, s: RaftState, i: int, k: int) -> bool:
    """Leader i's entry k is of its term and a quorum (i and match indexes) has it."""
    lg = s.log[i]
    return (s.state[i] == LEADER and 1 <= k <= len(lg)
            and lg[k - 1].term == s.current_term[i]
            and spec.is_quorum(frozenset(j for j in spec.servers
                                         if _acked(spec, s, i, j, k))))


@invariant
def acked_kept(spec: Raft, s: RaftState) -> bool:
    """Every server that acknowledged a quorum-acknowledged entry of its leader's term
    keeps it."""
    v = votes(s)
    return all(kept(s, v, j, s.current_term[i], k)
               for i in spec.servers for k in range(1, len(s.log[i]) + 1)
               if _own_acked(spec, s, i, k)
               for j in spec.servers if _acked(spec, s, i, j, k))


@invariant
def ack_msg_kept(spec: Raft, s: RaftState) -> bool:
    """A successful AppendEntries response of term t matching an entry of term t of t's
    grown log: its sender keeps it."""
    v, g = votes(s), grown(s)
    for m in s.messages:
        if m.mtype != AERESP or not m.msuccess or m.mmatch_index < 1:
            continue
        t, k, lg = m.mterm, m.mmatch_index, g.get(m.mterm, ())
        if k <= len(lg) and lg[k - 1].term == t and not kept(s, v, m.msource, t, k):
            return False
    return True


@invariant
def acked_in_later(spec: Raft, s: RaftState) -> bool:
    """A quorum-acknowledged entry of a leader's term is in every later term's grown
    log, at its index (commit_in_later for what is not committed yet)."""
    g = grown(s)
    for i in spec.servers:
        for k in range(1, len(s.log[i]) + 1):
            if not _own_acked(spec, s, i, k):
                continue
            t = s.current_term[i]
            if not all(k <= len(lg) and lg[k - 1].term == t for t2, lg in g.items()
                       if t2 > t):
                return False
    return True


def _later_hold(g: dict[int, Log], t: int, k: int) -> bool:
    """Every grown log of a term after t has an entry of term t at k."""
    return all(k <= len(lg) and lg[k - 1].term == t for t2, lg in g.items() if t2 > t)


@invariant
def ae_from_leader(spec: Raft, s: RaftState) -> bool:
    """An AppendEntries request of term t comes from t's leader, a successful response
    of term t goes to it; neither is addressed to its sender."""
    won = {(e.eterm, e.eleader) for e in s.elections}
    return all((m.mterm, m.msource) in won and m.msource != m.mdest for m in s.messages
               if m.mtype == AEREQ) and all(
        (m.mterm, m.mdest) in won and m.msource != m.mdest for m in s.messages
        if m.mtype == AERESP and m.msuccess)


@invariant
def leader_kept(spec: Raft, s: RaftState) -> bool:
    """An entry of term t's grown log of term t, while some server other than t's leader
    is still at term t or before (so no later election went without that leader, with
    3 servers): the leader keeps it, and every later term's grown log holds it."""
    v, g = votes(s), grown(s)
    for e in s.elections:
        t, i, lg = e.eterm, e.eleader, g[e.eterm]
        if not any(s.current_term[j] <= t for j in spec.servers if j != i):
            continue
        for k in range(1, len(lg) + 1):
            if lg[k - 1].term == t and not (kept(s, v, i, t, k) and _later_hold(g, t, k)):
                return False
    return True


@invariant
def ack_msg_later(spec: Raft, s: RaftState) -> bool:
    """A successful AppendEntries response of term t matching an entry of term t of t's
    grown log (an acknowledgement in flight): its addressee, t's leader, keeps it, and
    every later term's grown log holds it."""
    v, g = votes(s), grown(s)
    for m in s.messages:
        if m.mtype != AERESP or not m.msuccess or m.mmatch_index < 1:
            continue
        t, k, lg = m.mterm, m.mmatch_index, g.get(m.mterm, ())
        if k <= len(lg) and lg[k - 1].term == t and not (
                kept(s, v, m.mdest, t, k) and _later_hold(g, t, k)):
            return False
    return True


VOTE_LEMMAS: tuple[Property, ...] = tuple(property_of(f) for f in (
    vote_recorded, vote_term_le, vote_msg_terms, request_log, vote_up_to_date,
    elected_up_to_date, committed_kept, acked_kept, ack_msg_kept, acked_in_later, ae_from_leader,
    leader_kept, ack_msg_later))
