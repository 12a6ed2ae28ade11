"""The vote lemmas of ``agree prove raft --part complete`` in Z3, over the
``votes_cast`` ghost of symbolic/raft/history.py (``von``/``vlt``/``vll``: each
voter's first vote of each term, with the last term and length of its log then;
Verdi's ``votesWithLog``). Python twins, same names: properties/raft_vote_lemmas.py.

Only that summary of a voter's log is needed: the candidate's log is at least as up
to date as it, and a committed entry (t, m) lies in every later vote's log exactly
when the summary is at least (t, m), because terms in a log never decrease. The
lemmas close the obligations the grown-log invariant leaves open (BecomeLeader and
AdvanceCommitIndex against the commit lemmas: a voter that acknowledged an entry
cannot vote for a candidate lacking it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft.invariant import _all_ints, _msgs, elected_in, granted, not_follower
from agree.symbolic.z3base import Conjunct

if TYPE_CHECKING:
    from agree.symbolic.raft.history import RaftHistoryZ3

__all__ = ["VOTE_CONJUNCTS", "acked_by", "at_least", "kept_by", "own_acked_by", "vote_lemmas"]


def at_least(lt: Any, ll: Any, t: Any, m: Any) -> z3.BoolRef:
    """A log with last term ``lt`` and length ``ll`` is at least as up to date as one
    with last term t and length m."""
    return z3.Or(lt > t, z3.And(lt == t, ll >= m))


def kept_by(s: Any, j: Any, t: Any, m: Any) -> z3.BoolRef:
    """j's log has term t at m, and every vote j cast after t had such a log."""
    return z3.And(m <= s.llen[j], s.lterm[j, m] == t, _all_ints(1, lambda u: z3.Implies(
        z3.And(u > t, s.von[j, u]), at_least(s.vlt[j, u], s.vll[j, u], t, m))))


def acked_by(s: Any, i: Any, j: Any, k: Any) -> z3.BoolRef:
    """Leader i counts j as storing index k (i itself, or j's match index)."""
    return z3.Or(z3.BoolVal(z3.eq(i, j)), s.match_idx[i, j] >= k)


def own_acked_by(enc: RaftHistoryZ3, s: Any, i: Any, k: Any) -> z3.BoolRef:
    """Leader i's entry k is of its own term and a quorum acknowledged it."""
    return z3.And(s.role[i] == enc.L, k >= 1, k <= s.llen[i], s.lterm[i, k] == s.term[i],
                  enc.quorum(lambda j: acked_by(s, i, j, k)))


def vote_lemmas(enc: RaftHistoryZ3, s: Any) -> list[Conjunct]:
    """The Z3 forms of properties/raft_vote_lemmas.py over the summary ghost (``s``: a
    HistoryVars, read by the RaftVars helpers of invariant.py)."""
    srv = enc.srv

    def le_log(j: Any, c: Any, t: Any) -> z3.BoolRef:
        return z3.And(s.von[j, t], at_least(enc.last_term(s, c), s.llen[c],
                                            s.vlt[j, t], s.vll[j, t]))

    def le_grown(j: Any, t: Any) -> z3.BoolRef:
        last = z3.If(s.gllen[t] > 0, s.glt[t, s.gllen[t]], 0)
        return z3.And(s.von[j, t], at_least(last, s.gllen[t], s.vlt[j, t], s.vll[j, t]))

    recorded = z3.And([z3.Implies(s.voted[j] != enc.nil, s.von[j, s.term[j]]) for j in srv])
    term_le = z3.And([_all_ints(1, lambda u, j=j: z3.Implies(s.von[j, u], z3.And(
        z3.Or(u < s.term[j], z3.And(u == s.term[j], s.voted[j] != enc.nil)),
        s.vlt[j, u] >= 0, s.vlt[j, u] <= u, s.vll[j, u] >= 0))) for j in srv])
    msg_terms = z3.And(
        _msgs(enc, s, "rvreq", lambda c, j, t, lt, li: t <= s.term[c]),
        _msgs(enc, s, "rvresp", lambda j, c, t, ok: z3.Implies(ok, t <= s.term[c])),
        *(z3.Implies(s.voted[j] == enc.some(c), s.term[j] <= s.term[c])
          for j in srv for c in srv))
    request_log = _msgs(enc, s, "rvreq", lambda c, j, t, lt, li: z3.Implies(
        z3.And(t == s.term[c], not_follower(enc, s, c)),
        at_least(enc.last_term(s, c), s.llen[c], lt, li)))
    up_to_date = z3.And([z3.Implies(z3.And(not_follower(enc, s, c), z3.Or(
        s.vgrant[c, j], granted(s, j, c, s.term[c]),
        z3.And(s.term[j] == s.term[c], s.voted[j] == enc.some(c)))), le_log(j, c, s.term[c]))
        for c in srv for j in srv])
    elected = _all_ints(1, lambda t: z3.And([z3.Implies(
        s.elected[t, c], enc.quorum(lambda j: le_grown(j, t))) for c in srv]))

    def kept(j: Any, t: Any, m: Any) -> z3.BoolRef:
        return kept_by(s, j, t, m)

    committed = _all_ints(1, lambda t: z3.Implies(
        s.ctop[t] > 0, enc.quorum(lambda j: kept(j, t, s.ctop[t]))))

    def acked(i: Any, j: Any, k: Any) -> z3.BoolRef:
        return acked_by(s, i, j, k)

    def own_acked(i: Any, k: Any) -> z3.BoolRef:
        return own_acked_by(enc, s, i, k)

    acked_kept = z3.And([_all_ints(1, lambda k, i=i: z3.Implies(own_acked(i, k), z3.And(
        [z3.Implies(acked(i, j, k), kept(j, s.term[i], k)) for j in srv]))) for i in srv])
    ack_msg_kept = _msgs(enc, s, "aeresp", lambda src, dst, t, ok, m: z3.Implies(
        z3.And(ok, m >= 1, m <= s.gllen[t], s.glt[t, m] == t), kept(src, t, m)))
    acked_in_later = z3.And([_all_ints(2, lambda k, t2, i=i: z3.Implies(
        z3.And(own_acked(i, k), t2 > s.term[i], elected_in(enc, s, t2)),
        z3.And(k <= s.gllen[t2], s.glt[t2, k] == s.term[i]))) for i in srv])
    def later_hold(t: Any, k: Any) -> z3.BoolRef:
        return _all_ints(1, lambda t2: z3.Implies(z3.And(t2 > t, elected_in(enc, s, t2)),
                                                  z3.And(k <= s.gllen[t2], s.glt[t2, k] == t)))

    def own_entry(t: Any, k: Any) -> z3.BoolRef:
        return z3.And(k >= 1, k <= s.gllen[t], s.glt[t, k] == t)

    ae_from_leader = z3.And(
        _msgs(enc, s, "aereq", lambda src, dst, t, p, pt, e, c: z3.And(
            s.elected[t, src], src != dst)),
        _msgs(enc, s, "aeresp", lambda src, dst, t, ok, m: z3.Implies(
            ok, z3.And(s.elected[t, dst], src != dst))))
    leader_kept = _all_ints(2, lambda t, k: z3.And([z3.Implies(
        z3.And(s.elected[t, i], z3.Or([s.term[j] <= t for j in srv if not z3.eq(i, j)]),
               own_entry(t, k)), z3.And(kept(i, t, k), later_hold(t, k))) for i in srv]))
    ack_msg_later = _msgs(enc, s, "aeresp", lambda src, dst, t, ok, m: z3.Implies(
        z3.And(ok, own_entry(t, m)), z3.And(kept(dst, t, m), later_hold(t, m))))
    return [Conjunct("vote_recorded", recorded), Conjunct("vote_term_le", term_le),
            Conjunct("vote_msg_terms", msg_terms), Conjunct("request_log", request_log),
            Conjunct("vote_up_to_date", up_to_date),
            Conjunct("elected_up_to_date", elected), Conjunct("committed_kept", committed),
            Conjunct("acked_kept", acked_kept), Conjunct("ack_msg_kept", ack_msg_kept),
            Conjunct("acked_in_later", acked_in_later), Conjunct("ae_from_leader", ae_from_leader),
            Conjunct("leader_kept", leader_kept),
            Conjunct("ack_msg_later", ack_msg_later)]


#: The conjuncts vote_lemmas adds, in order.
VOTE_CONJUNCTS = ("vote_recorded", "vote_term_le", "vote_msg_terms", "request_log",
                  "vote_up_to_date", "elected_up_to_date",
                  "committed_kept", "acked_kept", "ack_msg_kept", "acked_in_later",
                  "ae_from_leader", "leader_kept", "ack_msg_later")
