"""Helper lemmas for leader completeness and state machine safety over the proof-only
histories of ``Raft(history=True)``: each term's leader log as it grows (an election's
``elog``, grown by its leader's client requests; Verdi's ``leaderLogs``) and the
entries leaders committed (``committed``). Python twins of symbolic/raft/
invariant_history.py, held to it by tests; each is checked on reachable states.

Read as the Z3 encoding reads the histories: ``grown[t]`` is the grown log of term
t's election (the last, if a buggy variant elects two), ``top[t]`` the highest index a
leader of term t committed. They only mean something with ``history=True``; without
it (no grown logs, nothing committed) most hold vacuously.

A failing lemma returns plain False (no witness yet): the trace shows the state.
"""

from __future__ import annotations

from agree.models.raft import Raft
from agree.models.raft_types import AEREQ, AERESP, LEADER, Log, RaftState
from agree.spec import Property, invariant, property_of

__all__ = ["HISTORY_LEMMAS", "grown", "tops"]


def grown(s: RaftState) -> dict[int, Log]:
    """Term -> the grown leader log of its election."""
    return {e.eterm: e.elog for e in sorted(s.elections)}


def tops(s: RaftState) -> dict[int, int]:
    """Term -> the highest index its leader committed (terms that committed nothing are
    left out)."""
    out: dict[int, int] = {}
    for c in s.committed:
        out[c.cterm] = max(out.get(c.cterm, 0), c.cindex)
    return out


def _commit_tops(s: RaftState) -> dict[int, int]:
    """``tops`` as the encoding projects it: only terms with an election, capped at the
    grown log's length (symbolic/raft/history.py ``project_history``)."""
    g = grown(s)
    return {t: min(k, len(g[t])) for t, k in tops(s).items() if t in g and min(k, len(g[t]))}


@invariant
def log_terms(spec: Raft, s: RaftState) -> bool:
    """Every entry's term is at least 1, at most its server's term, and no smaller than
    the term of the entry before it."""
    return all(1 <= e.term <= s.current_term[j] and (k == 0 or lg[k - 1].term <= e.term)
               for j, lg in enumerate(s.log) for k, e in enumerate(lg))


@invariant
def grown_log_terms(spec: Raft, s: RaftState) -> bool:
    """A grown leader log of term t holds entries of terms 1..t, in order."""
    return all(1 <= e.term <= t and (k == 0 or lg[k - 1].term <= e.term)
               for t, lg in grown(s).items() for k, e in enumerate(lg))


@invariant
def leader_grown_log(spec: Raft, s: RaftState) -> bool:
    """A leader was elected in its term, and its log is that term's grown log."""
    won = {(e.eterm, e.eleader) for e in s.elections}
    g = grown(s)
    return all((s.current_term[i], i) in won and g[s.current_term[i]] == s.log[i]
               for i in spec.servers if s.state[i] == LEADER)


@invariant
def log_in_grown(spec: Raft, s: RaftState) -> bool:
    """Entry k of a log, of term t: term t had an election, and its grown log holds the
    log's first k entries."""
    g = grown(s)
    return all(e.term in g and g[e.term][:k] == lg[:k]
               for lg in s.log for k, e in enumerate(lg, 1))


@invariant
def msg_in_grown(spec: Raft, s: RaftState) -> bool:
    """An AppendEntries request of term t: term t had an election, and its grown log has
    the request's previous term at its previous index and the request's entry after."""
    g = grown(s)
    for m in s.messages:
        if m.mtype != AEREQ:
            continue
        lg, p = g.get(m.mterm), m.mprev_log_index
        if lg is None or p > len(lg) or (p >= 1 and lg[p - 1].term != m.mprev_log_term):
            return False
        if m.mentries and (len(lg) < p + 1 or lg[p] != m.mentries[0]):
            return False
    return True


@invariant
def grown_logs_match(spec: Raft, s: RaftState) -> bool:
    """Entry k of term t2's grown log, of term t1: term t1's grown log holds the same
    first k entries."""
    g = grown(s)
    return all(len(g.get(e.term, ())) >= k and g[e.term][:k] == lg[:k]
               for lg in g.values() for k, e in enumerate(lg, 1))


@invariant
def leader_indexes(spec: Raft, s: RaftState) -> bool:
    """A leader's next index is at most one past its log, its match indexes at most its
    log's length; a successful response of term t matches at most t's grown log."""
    g = grown(s)
    ok = all(s.next_index[i][j] <= len(s.log[i]) + 1 and s.match_index[i][j] <= len(s.log[i])
             for i in spec.servers if s.state[i] == LEADER for j in spec.servers)
    return ok and all(m.mterm in g and m.mmatch_index <= len(g[m.mterm]) for m in s.messages
                      if m.mtype == AERESP and m.msuccess)


@invariant
def commit_in_grown(spec: Raft, s: RaftState) -> bool:
    """The highest index committed by term t's leader holds an entry of term t of t's
    grown log (a leader commits entries of its own term: Raft §5.4.2)."""
    g = grown(s)
    return all(t in g and k <= len(g[t]) and g[t][k - 1].term == t for t, k in tops(s).items())


@invariant
def commit_in_later(spec: Raft, s: RaftState) -> bool:
    """What term t committed is in the grown log of every later term's leader."""
    g = grown(s)
    return all(len(lg) >= k and lg[k - 1].term == t
               for t, k in _commit_tops(s).items() for t2, lg in g.items() if t2 > t)


def _known(s: RaftState, c: int, upto: int, entry_term: int) -> bool:
    """Some term t <= upto committed at least c, with an entry of ``entry_term`` at c."""
    g = grown(s)
    return any(t <= upto and k >= c and len(g[t]) >= c and g[t][c - 1].term == entry_term
               for t, k in _commit_tops(s).items())


@invariant
def commit_known(spec: Raft, s: RaftState) -> bool:
    """A server's commit index is within its log, and its log up to there is what some
    term t no later than its own committed: t's grown log up to t's highest commit."""
    return all(c <= len(lg) and (c == 0 or _known(s, c, s.current_term[j], lg[c - 1].term))
               for j, (c, lg) in enumerate(zip(s.commit_index, s.log, strict=True)))


@invariant
def msg_commit_known(spec: Raft, s: RaftState) -> bool:
    """An AppendEntries request's commit index is at most its last entry, and its term's
    grown log up to there is what some term no later than the request's committed."""
    g = grown(s)
    for m in s.messages:
        if m.mtype != AEREQ:
            continue
        c = m.mcommit_index
        if c > m.mprev_log_index + len(m.mentries):
            return False
        if c > 0:
            lg = g.get(m.mterm, ())
            if len(lg) < c or not _known(s, c, m.mterm, lg[c - 1].term):
                return False
    return True


HISTORY_LEMMAS: tuple[Property, ...] = tuple(property_of(f) for f in (
    log_terms, grown_log_terms, leader_grown_log, log_in_grown, msg_in_grown,
    grown_logs_match, leader_indexes, commit_in_grown, commit_in_later, commit_known,
    msg_commit_known))
