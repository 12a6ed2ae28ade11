"""Leader completeness and state machine safety in Z3, over the histories of
symbolic/raft/history.py: the lemmas of properties/raft_history_lemmas.py (each
named like its Python twin) and the history forms of the two properties.

``agree prove raft --part complete`` checks the invariant ``complete``: the
election lemmas and election safety (symbolic/raft/invariant.py), then the
grown-log lemmas (every entry of term t, in a log or in flight, is the entry of
term t's grown leader log at its index, with the same prefix; a leader's log is
its term's grown log; terms in a log never decrease), the commit lemmas (term t's
highest committed index holds an entry of term t; every later election's grown
log holds it) and the two properties. Log matching follows from the grown-log
lemmas (the invariant implies it: a safety obligation). The vote lemmas of
symbolic/raft/votes.py (Verdi's ``votesWithLog``) come before the two properties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft import invariant as base
from agree.symbolic.raft.invariant import _all_ints, _msgs, elected_in
from agree.symbolic.raft.votes import VOTE_CONJUNCTS, vote_lemmas
from agree.symbolic.z3base import Conjunct

if TYPE_CHECKING:
    from agree.symbolic.raft.history import HistoryVars, RaftHistoryZ3

__all__ = ["COMPLETE", "COMPLETE_SAFETY", "complete", "complete_safety"]


def gl_is(s: HistoryVars, t: Any, k: Any, j: Any) -> z3.BoolRef:
    """Entry k of term t's grown log is entry k of log j."""
    return z3.And(s.glt[t, k] == s.lterm[j, k], s.glv[t, k] == s.lval[j, k])


def _gl_same(s: HistoryVars, t1: Any, t2: Any, k: Any) -> z3.BoolRef:
    return z3.And(s.glt[t1, k] == s.glt[t2, k], s.glv[t1, k] == s.glv[t2, k])


def log_terms(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """Every entry's term is at least 1, at most its server's term, and no smaller than
    the term of the entry before it."""
    return z3.And([_all_ints(1, lambda k, j=j: z3.Implies(
        z3.And(k >= 1, k <= s.llen[j]),
        z3.And(s.lterm[j, k] >= 1, s.lterm[j, k] <= s.term[j],
               z3.Implies(k >= 2, s.lterm[j, k - 1] <= s.lterm[j, k]))))
        for j in enc.srv])


def grown_log_terms(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """A grown leader log of term t holds entries of terms 1..t, in order."""
    return _all_ints(2, lambda t, k: z3.Implies(
        z3.And(elected_in(enc, s, t), k >= 1, k <= s.gllen[t]),
        z3.And(s.glt[t, k] >= 1, s.glt[t, k] <= t,
               z3.Implies(k >= 2, s.glt[t, k - 1] <= s.glt[t, k]))))


def leader_grown_log(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """A leader was elected in its term, and its log is that term's grown log."""
    def one(i: Any) -> z3.BoolRef:
        t = s.term[i]
        return z3.Implies(s.role[i] == enc.L, z3.And(
            s.elected[t, i], s.gllen[t] == s.llen[i],
            _all_ints(1, lambda k: z3.Implies(z3.And(k >= 1, k <= s.llen[i]),
                                              gl_is(s, t, k, i)))))
    return z3.And([one(i) for i in enc.srv])


def log_in_grown(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """Entry k of a log, of term t: term t had an election, and its grown log holds the
    log's first k entries."""
    return z3.And([log_in_grown_of(enc, s, j) for j in enc.srv])


def log_in_grown_of(enc: RaftHistoryZ3, s: HistoryVars, j: Any) -> z3.BoolRef:
    """log_in_grown for the log of server j (a term of the server sort): for all k, k2."""
    # Triggered by two entries of log j (without the pattern, Z3 matches on the grown
    # log's terms and loops: Inv => log_matching times out).
    return _all_ints(2, lambda k, k2: z3.Implies(
        z3.And(k >= 1, k <= s.llen[j]),
        z3.And(elected_in(enc, s, s.lterm[j, k]), k <= s.gllen[s.lterm[j, k]],
               z3.Implies(z3.And(k2 >= 1, k2 <= k), gl_is(s, s.lterm[j, k], k2, j)))),
        lambda k, k2: [(s.lterm[j, k], s.lterm[j, k2])])


def msg_in_grown(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """An AppendEntries request of term t: term t had an election, and its grown log has
    the request's previous term at its previous index and the request's entry after."""
    def fn(src: Any, dst: Any, t: Any, p: Any, pt: Any, e: Any, c: Any) -> z3.BoolRef:
        return z3.And(elected_in(enc, s, t), p <= s.gllen[t],
                      z3.Implies(p >= 1, s.glt[t, p] == pt),
                      z3.Implies(enc.is_ent(e), z3.And(
                          p + 1 <= s.gllen[t], s.glt[t, p + 1] == enc.eterm(e),
                          s.glv[t, p + 1] == enc.evalue(e))))
    return _msgs(enc, s, "aereq", fn)


def grown_logs_match(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """Entry k of term t2's grown log, of term t1: term t1 had an election, and its
    grown log holds the same first k entries."""
    def fn(t1: Any, t2: Any, k: Any, k2: Any) -> z3.BoolRef:
        return z3.Implies(
            z3.And(elected_in(enc, s, t2), k >= 1, k <= s.gllen[t2], s.glt[t2, k] == t1),
            z3.And(elected_in(enc, s, t1), k <= s.gllen[t1],
                   z3.Implies(z3.And(k2 >= 1, k2 <= k),
                                                _gl_same(s, t1, t2, k2))))
    return _all_ints(4, fn)


def leader_indexes(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """A leader's next index is at most one past its log, its match indexes at most its
    log's length; a successful response of term t matches at most t's grown log."""
    per = [z3.Implies(s.role[i] == enc.L, z3.And(
        [z3.And(s.next_idx[i, j] <= s.llen[i] + 1, s.match_idx[i, j] <= s.llen[i])
         for j in enc.srv])) for i in enc.srv]
    resp = _msgs(enc, s, "aeresp", lambda src, dst, t, ok, m: z3.Implies(
        ok, z3.And(elected_in(enc, s, t), m <= s.gllen[t])))
    return z3.And(*per, resp)


def commit_in_grown(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """The highest index committed by term t's leader holds an entry of term t of t's
    grown log (a leader commits entries of its own term: Raft §5.4.2)."""
    return _all_ints(1, lambda t: z3.Implies(s.ctop[t] > 0, z3.And(
        elected_in(enc, s, t), s.ctop[t] <= s.gllen[t], s.glt[t, s.ctop[t]] == t)))


def commit_in_later(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """What term t committed is in the grown log of every later term's leader."""
    return _all_ints(2, lambda t, t2: z3.Implies(
        z3.And(s.ctop[t] > 0, t < t2, elected_in(enc, s, t2)),
        z3.And(s.ctop[t] <= s.gllen[t2], s.glt[t2, s.ctop[t]] == t)))


def commit_known(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """A server's commit index is within its log, and its log up to there is what some
    term t no later than its own committed: t's grown log up to t's highest commit."""
    def one(j: Any) -> z3.BoolRef:
        c = s.commit[j]
        t = z3.Int(f"ct.{j}")
        known = z3.Exists([t], z3.And(t >= 1, t <= s.term[j], s.ctop[t] >= c,
                                      c <= s.gllen[t], s.glt[t, c] == s.lterm[j, c]))
        return z3.And(c <= s.llen[j], z3.Implies(c > 0, known))
    return z3.And([one(j) for j in enc.srv])


def msg_commit_known(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """An AppendEntries request's commit index is at most its last entry, and its term's
    grown log up to there is what some term no later than the request's committed."""
    def fn(src: Any, dst: Any, mt: Any, p: Any, pt: Any, e: Any, c: Any) -> z3.BoolRef:
        last = p + z3.If(enc.is_ent(e), 1, 0)
        t = z3.Int("mct")
        known = z3.Exists([t], z3.And(t >= 1, t <= mt, s.ctop[t] >= c, c <= s.gllen[t],
                                      s.glt[t, c] == s.glt[mt, c]))
        return z3.And(c <= last, z3.Implies(c > 0, known))
    return _msgs(enc, s, "aereq", fn)


# -- the properties, history and state forms (properties/raft.py) ------------------


def leader_completeness(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """Both forms: the state form of symbolic/raft/invariant.py, and: what term t
    committed is in every current leader's log and every election's grown log of a
    later term."""
    hist = _all_ints(1, lambda t: z3.And([z3.Implies(
        z3.And(s.ctop[t] > 0, s.role[i] == enc.L, s.term[i] > t),
        z3.And(s.ctop[t] <= s.llen[i], _all_ints(1, lambda k, i=i: z3.Implies(
            z3.And(k >= 1, k <= s.ctop[t]), gl_is(s, t, k, i))))) for i in enc.srv]))
    later = _all_ints(3, lambda t, t2, k: z3.Implies(
        z3.And(s.ctop[t] > 0, t < t2, elected_in(enc, s, t2), k >= 1, k <= s.ctop[t]),
        z3.And(s.ctop[t] <= s.gllen[t2], _gl_same(s, t, t2, k))))
    return z3.And(base.leader_completeness(enc, s), hist, later)  # type: ignore[arg-type]


def state_machine_safety(enc: RaftHistoryZ3, s: HistoryVars) -> z3.BoolRef:
    """Both forms: committed prefixes agree, and no two terms committed different
    entries at one index."""
    hist = _all_ints(3, lambda t1, t2, k: z3.Implies(
        z3.And(k >= 1, k <= s.ctop[t1], k <= s.ctop[t2]), _gl_same(s, t1, t2, k)))
    return z3.And(base.state_machine_safety(enc, s), hist)  # type: ignore[arg-type]


#: The lemmas, in report order; then the properties of --part complete.
HISTORY = ("log_terms", "grown_log_terms", "leader_grown_log", "log_in_grown", "msg_in_grown",
           "grown_logs_match", "leader_indexes", "commit_in_grown", "commit_in_later",
           "commit_known", "msg_commit_known")
COMPLETE = (*base.ELECTION, "leader_elected", "elected_term_le", "candidate_not_elected",
            *HISTORY, *VOTE_CONJUNCTS, "leader_completeness", "state_machine_safety")
COMPLETE_SAFETY = ("election_safety", "one_leader_per_term", "log_matching",
                   "leader_completeness", "state_machine_safety", "commit_index_in_log")


def _conjunct(enc: RaftHistoryZ3, s: HistoryVars, name: str) -> Conjunct:
    if name in VOTE_CONJUNCTS:
        return next(c for c in vote_lemmas(enc, s) if c.name == name)
    fn = globals().get(name) if name in (*HISTORY, "leader_completeness",
                                         "state_machine_safety") else None
    if fn is None:
        return base.conjunct(enc, s, name)  # type: ignore[arg-type]
    return Conjunct(name, fn(enc, s))


def complete(enc: RaftHistoryZ3, s: HistoryVars) -> list[Conjunct]:
    """The inductive invariant of ``--part complete``."""
    return [_conjunct(enc, s, n) for n in COMPLETE]


def complete_safety(enc: RaftHistoryZ3, s: HistoryVars) -> list[Conjunct]:
    return [_conjunct(enc, s, n) for n in COMPLETE_SAFETY]
