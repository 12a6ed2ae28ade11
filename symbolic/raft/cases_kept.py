"""The instantiated splits of ``agree prove raft --part complete`` around the in-flight
acknowledgement lemmas (``leader_kept``, ``ack_msg_later``): BecomeLeader =>
leader_kept' and HandleAppendEntriesResponse => acked_in_later' (symbolic/raft/cases.py
has the table of splits).

BecomeLeader => leader_kept': asked whole it was proved, in 7 to 19 s depending on the
load and on what the process had asked before (198k quantifier instantiations), near the
30 s timeout of a full run. Here, as in symbolic/raft/cases_commit.py, each lemma is
asked at the chain's constants: leader i's entry (t, k) of its term, kept by i while
another server is still at term t or before (``leader_kept`` at t, k). The new leader c
of term T: no entry of T exists yet (the new term had no election; ``log_in_grown``), so
T's grown log, c's log, has no entry of T to keep; for t < T, the server still at t did
not vote in T (``vote_term_le``), so with 3 servers c's quorum holds i, whose vote was
at least (t, k) (``kept``), and c's log is at least as up to date (``vote_up_to_date``);
its last entry's term's grown log holds (t, k) (``later_hold`` or t's own) and reaches k
(``grown_logs_match``, ``grown_log_terms``), so c's log, T's new grown log, holds (t,
k).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft.invariant import ELECTION, elected_in
from agree.symbolic.raft.invariant_history import (
    gl_is,
    grown_log_terms,
    grown_logs_match,
    log_in_grown_of,
)
from agree.symbolic.raft.votes import own_acked_by, vote_lemmas
from agree.symbolic.z3base import Case, at, fact, instances, parts

if TYPE_CHECKING:
    from agree.symbolic.raft.history import HistoryVars, RaftHistoryZ3

__all__ = ["append_response_later", "become_leader_kept"]

TRUE = z3.BoolVal(True)


def become_leader_kept(enc: RaftHistoryZ3, s: HistoryVars, tag: str, goal: z3.BoolRef,
                       ) -> list[Case] | None:
    """BecomeLeader => leader_kept' at the goal's constants t, k (module doc)."""
    inst = instances(goal)
    if len(inst) != 1 or len(inst[0][1]) != 2:
        return None
    (part, (t, k)), = inst
    c = z3.Const(f"i@{tag}", enc.S)
    term, length, last = s.term[c], s.llen[c], enc.last_term(s, c)  # type: ignore[arg-type]
    kept = next(x.formula for x in vote_lemmas(enc, s) if x.name == "leader_kept")
    glm, glt, lig = grown_logs_match(enc, s), grown_log_terms(enc, s), log_in_grown_of(enc, s, c)

    def own_entry(i: Any) -> z3.BoolRef:
        """i leads t, another server is at t or before, and (t, k) is t's entry."""
        return z3.And(s.elected[t, i], z3.Or([s.term[j] <= t for j in enc.srv
                                              if not z3.eq(i, j)]),
                      k >= 1, k <= s.gllen[t], s.glt[t, k] == t)

    return [
        fact("the new term had no election", z3.Not(elected_in(enc, s, term)),
             (*ELECTION, "candidate_not_elected")),
        fact("the new leader's log length", length >= 0, ("type_ok",)),
        fact("log_in_grown at the new leader's entries",
             z3.And(at(lig, k, k), at(lig, length, length), at(lig, length, k)),
             ("log_in_grown",)),
        fact("leader_kept before", at(kept, t, k), ("leader_kept",)),
        fact("grown_logs_match at the entry and the new leader's length",
             at(glm, t, last, k, length), ("grown_logs_match",)),
        fact("grown_log_terms at the entry's term",
             z3.And(at(glt, t, length), at(glt, t, k)), ("grown_log_terms",)),
        fact("the new leader holds the entry", z3.And([z3.Implies(
            z3.And(own_entry(i), t < term), z3.And(k <= length, s.lterm[c, k] == t))
            for i in enc.srv]), ("vote_up_to_date", "vote_term_le")),
        Case("t is the new term", t == term, part, ()),
        Case("t is an older or later term", t != term, part, ()),
    ]


def append_response_later(enc: RaftHistoryZ3, s: HistoryVars, t: HistoryVars, tag: str,
                          goal: z3.BoolRef) -> list[Case] | None:
    """HandleAppendEntriesResponse => acked_in_later', per leader i at constants k, t2:
    a success response (src -> dst, term t, index m) sets dst's match index for src to
    m. If i's entry k was acknowledged before, the pre-state's conjunct at k, t2; if
    only now, dst is i and the response counts: k <= m, i's entry k is of t, and so is
    t's entry m (``grown_logs_match`` from its term to t at m, k; ``grown_log_terms``),
    so the response is an acknowledgement in flight of t's own entry m, which every
    later grown log holds (``ack_msg_later`` at t2), with t's prefix below m
    (``grown_logs_match`` from t to t2 at m, k). Asked whole: 3 to 8 s in full runs."""
    inst = instances(goal)
    if len(inst) != len(enc.srv) or any(len(cs) != 2 for _, cs in inst):
        return None
    _src, dst, tr, ok, m = enc.msg_params("aeresp", tag)
    ail = parts(next(x.formula for x in vote_lemmas(enc, s) if x.name == "acked_in_later"))
    glm, glt = grown_logs_match(enc, s), grown_log_terms(enc, s)
    mt = s.glt[tr, m]  # the term of t's entry m
    out = [fact("leader_indexes at the response", z3.Implies(
               ok, z3.And(elected_in(enc, s, tr), m <= s.gllen[tr])), ("leader_indexes",)),
           fact("grown_log_terms at the response's entry", at(glt, tr, m),
                ("grown_log_terms",))]
    for i, before, (part, (k, t2)) in zip(enc.srv, ail, inst, strict=True):
        now = z3.And(own_acked_by(enc, t, i, k), z3.Not(own_acked_by(enc, s, i, k)))
        out += [
            fact(f"acked_in_later before ({i})", at(before, k, t2), ("acked_in_later",)),
            fact(f"a new acknowledgement is the response's ({i})", z3.Implies(now, z3.And(
                i == dst, ok, k <= m, s.role[i] == enc.L, s.term[i] == tr)), ()),
            fact(f"the leader's log is its term's grown log at k ({i})", z3.Implies(
                s.role[i] == enc.L, z3.And(s.gllen[s.term[i]] == s.llen[i],
                                           z3.Implies(z3.And(k >= 1, k <= s.llen[i]),
                                                      gl_is(s, s.term[i], k, i)))),
                 ("leader_grown_log",)),
            fact(f"grown_logs_match from the entry's term at m, k ({i})", at(glm, mt, tr, m, k),
                 ("grown_logs_match",)),
            fact(f"grown_log_terms at the entry's term and k ({i})", at(glt, mt, k),
                 ("grown_log_terms",)),
            fact(f"ack_msg_later at the response and t2 ({i})", z3.Implies(
                z3.And(ok, m >= 1, m <= s.gllen[tr], mt == tr, t2 > tr, elected_in(enc, s, t2)),
                z3.And(m <= s.gllen[t2], s.glt[t2, m] == tr)), ("ack_msg_later",)),
            fact(f"grown_logs_match from t to t2 at m, k ({i})", at(glm, tr, t2, m, k),
                 ("grown_logs_match",)),
            Case(f"{i}", TRUE, part, ())]
    return out
