"""Vote lemmas for leader completeness (Verdi's ``votesWithLog``): a granted vote
records the voter's log at the time of the vote (``voter_log``, a granted
RequestVoteResponse's ``mlog``, an election's ``evoter_log``), and what a quorum
acknowledged in its leader's term is in every vote its members cast later.

These are the facts the ``--part complete`` invariant lacks (issue 20, point 1): its
five unknown obligations (BecomeLeader and AdvanceCommitIndex against
commit_in_later, leader_completeness, state_machine_safety) have pre-states where a
voter acknowledged an entry and then voted for a candidate whose log lacks it. With
these lemmas the argument is Raft's §5.4.3: a committed (quorum-acknowledged) entry of
term t is in the recorded log of some voter of every later election, and the
candidate's log is at least as up to date as that recorded log, so (by the grown-log
lemmas and induction on terms) the candidate's log holds the entry.

Python only so far: checked on reachable states (tests/test_raft_vote_lemmas.py); the
Z3 encoding keeps no voter logs yet (symbolic/raft/history.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from agree.models.raft import Raft
from agree.models.raft_types import AERESP, CANDIDATE, LEADER, RVRESP, Log, RaftState
from agree.properties.raft_history_lemmas import _commit_tops, grown
from agree.spec import Property, invariant, property_of

__all__ = ["VOTE_LEMMAS", "recorded_votes", "up_to_date"]


def up_to_date(lg: Log, other: Log) -> bool:
    """``lg`` is at least as up to date as ``other`` (Raft §5.4.1, log_ok_for_vote)."""
    lt, ot = (lg[-1].term if lg else 0), (other[-1].term if other else 0)
    return lt > ot or (lt == ot and len(lg) >= len(other))


def _tallying(s: RaftState, i: int) -> bool:
    """i's ``voter_log`` is of its current term: i is a candidate or a leader (a
    follower may keep an older term's tally)."""
    return s.state[i] in (CANDIDATE, LEADER)


def recorded_votes(s: RaftState) -> Iterator[tuple[int, int, int, Log]]:
    """Every granted vote the state still records, as (voter, term, candidate, the
    voter's log when it voted): tallies of candidates and leaders, granted responses
    in flight, elections."""
    for i, vl in enumerate(s.voter_log):
        if _tallying(s, i):
            for j, lg in vl:
                yield j, s.current_term[i], i, lg
    for m in s.messages:
        if m.mtype == RVRESP and m.mvote_granted:
            yield m.msource, m.mterm, m.mdest, m.mlog
    for e in s.elections:
        for j, lg in e.evoter_log:
            yield j, e.eterm, e.eleader, lg


@invariant
def votes_logged(spec: Raft, s: RaftState) -> bool:
    """Every vote a candidate or leader counts has its voter's log recorded, and every
    election records its voters' logs."""
    return (all({j for j, _ in s.voter_log[i]} == s.votes_granted[i]
                for i in spec.servers if _tallying(s, i))
            and all({j for j, _ in e.evoter_log} == e.evotes for e in s.elections))


@invariant
def voter_log_up_to_date(spec: Raft, s: RaftState) -> bool:
    """A candidate's or leader's log, and an election's grown log, is at least as up to
    date as every recorded log of a vote it got in its term (a candidate's log does not
    change; a leader only appends entries of its own term)."""
    for _j, t, i, lg in recorded_votes(s):
        if _tallying(s, i) and s.current_term[i] == t and not up_to_date(s.log[i], lg):
            return False
    g = grown(s)
    return all(up_to_date(g[e.eterm], lg) for e in s.elections for _, lg in e.evoter_log)


def _holds(lg: Log, prefix: Log) -> bool:
    return len(lg) >= len(prefix) and lg[:len(prefix)] == prefix


def _kept_by(spec: Raft, s: RaftState, t: int, prefix: Log) -> frozenset[int]:
    """Servers whose log holds ``prefix`` (entries of leader t's log) and whose every
    recorded vote in a term after t held it too."""
    lost = {j for j, vt, _, lg in recorded_votes(s) if vt > t and not _holds(lg, prefix)}
    return frozenset(j for j in spec.servers if j not in lost and _holds(s.log[j], prefix))


@invariant
def committed_kept(spec: Raft, s: RaftState) -> bool:
    """What term t committed (its grown log up to its highest commit) is held by a
    quorum of servers, in their logs and in every vote they cast in a later term."""
    g = grown(s)
    return all(spec.is_quorum(_kept_by(spec, s, t, g[t][:k]))
               for t, k in _commit_tops(s).items())


def _acks(spec: Raft, s: RaftState, i: int, k: int) -> frozenset[int]:
    """Servers that acknowledged leader i's log up to index k in its term: i itself,
    match indexes, successful responses in flight."""
    t = s.current_term[i]
    sent = {m.msource for m in s.messages if m.mtype == AERESP and m.msuccess
            and m.mdest == i and m.mterm == t and m.mmatch_index >= k}
    return frozenset({i, *sent, *(j for j in spec.servers if s.match_index[i][j] >= k)})


@invariant
def acked_kept(spec: Raft, s: RaftState) -> bool:
    """A leader's log up to an entry of its own term that a quorum acknowledged is
    kept (as in committed_kept) by every server that acknowledged it."""
    for i in spec.servers:
        if s.state[i] != LEADER:
            continue
        t, lg = s.current_term[i], s.log[i]
        for k in range(1, len(lg) + 1):
            acks = _acks(spec, s, i, k)
            if lg[k - 1].term == t and spec.is_quorum(acks) and not acks <= _kept_by(
                    spec, s, t, lg[:k]):
                return False
    return True


@invariant
def acked_in_later(spec: Raft, s: RaftState) -> bool:
    """A leader's log up to an entry of its own term that a quorum acknowledged is in
    the grown log of every election of a later term (commit_in_later for what is not
    committed yet: AdvanceCommitIndex needs it of the pre-state)."""
    g = grown(s)
    for i in spec.servers:
        if s.state[i] != LEADER:
            continue
        t, lg = s.current_term[i], s.log[i]
        for k in range(1, len(lg) + 1):
            if lg[k - 1].term == t and spec.is_quorum(_acks(spec, s, i, k)) and not all(
                    _holds(g[t2], lg[:k]) for t2 in g if t2 > t):
                return False
    return True


VOTE_LEMMAS: tuple[Property, ...] = tuple(property_of(f) for f in (
    votes_logged, voter_log_up_to_date, committed_kept, acked_kept, acked_in_later))
