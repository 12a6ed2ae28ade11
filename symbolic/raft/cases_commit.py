"""The instantiated splits of ``agree prove raft --part complete`` for the obligations
about what a term committed: BecomeLeader => commit_in_later and leader_completeness,
AdvanceCommitIndex => leader_completeness (symbolic/raft/cases.py has the others).

Asked whole, Z3 has to find a chain of instances on its own: the committed term's
quorum (``committed_kept``) meets the new leader's voters (``vote_up_to_date``) in a
voter whose vote summary is at least the committed entry, so the new leader's log is
at least as up to date as that entry; its last entry lies in some term's grown log
(``log_in_grown``), which holds the committed entry (``commit_in_later`` at that
term, or ``commit_in_grown`` when it is the committed term), and reaches that far
(``grown_logs_match`` and ``grown_log_terms``: a shorter log would end in a term
larger than the committed one inside the committed term's grown log). It often did
not, or only in a fresh process. Here each lemma is asked at the terms and indexes
of that chain, quantified over the committed term only, as facts proved one by one
from the conjunct they instantiate; the goal's own parts then need no lemma.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft.cases_safety import receiver_commit_known
from agree.symbolic.raft.invariant import ELECTION, _all_ints, elected_in, same_entry
from agree.symbolic.raft.invariant_history import (
    commit_in_later,
    gl_is,
    grown_log_terms,
    grown_logs_match,
    leader_completeness,
    log_in_grown_of,
)
from agree.symbolic.raft.votes import at_least, kept_by, own_acked_by, vote_lemmas
from agree.symbolic.z3base import Case, at, fact, instances, parts

if TYPE_CHECKING:
    from agree.symbolic.raft.history import HistoryVars, RaftHistoryZ3

__all__ = [
    "acked_in_later_kept",
    "advance_commit_completeness",
    "advance_commit_later",
    "append_request_acked",
    "append_request_completeness",
    "append_response_acked",
    "become_leader_ack_msg",
    "become_leader_acked",
    "become_leader_commit",
]

TRUE = z3.BoolVal(True)


def new_leader_holds(enc: RaftHistoryZ3, s: HistoryVars, c: Any) -> list[Case]:
    """Facts for BecomeLeader of server c (term T): every term t < T that committed
    (its highest index m = ctop[t]) has its grown log's first m entries in c's log
    (the module doc's chain; the last two facts state it, over every t)."""
    term, length, last = s.term[c], s.llen[c], enc.last_term(s, c)  # type: ignore[arg-type]
    m = s.ctop  # m[t]: the highest index term t committed

    def over_t(fn: Any) -> z3.BoolRef:
        return _all_ints(1, fn)

    def kept_at_new_term(j: Any, t: Any) -> z3.BoolRef:
        return z3.And(m[t] <= s.llen[j], s.lterm[j, m[t]] == t, z3.Implies(
            s.von[j, term], at_least(s.vlt[j, term], s.vll[j, term], t, m[t])))

    cil, glm = commit_in_later(enc, s), grown_logs_match(enc, s)
    glt, lig = grown_log_terms(enc, s), log_in_grown_of(enc, s, c)
    return [
        fact("the new term had no election", z3.Not(elected_in(enc, s, term)),
             (*ELECTION, "candidate_not_elected")),
        fact("the new term committed nothing", m[term] <= 0, ("commit_in_grown",)),
        fact("committed_kept at the new term", over_t(lambda t: z3.Implies(
            z3.And(m[t] > 0, t < term), enc.quorum(lambda j: kept_at_new_term(j, t)))),
            ("committed_kept",)),
        fact("commit_in_later at the new leader's last term",
             over_t(lambda t: at(cil, t, last)), ("commit_in_later",)),
        fact("grown_logs_match at the commit and the new leader's length",
             over_t(lambda t: at(glm, t, last, m[t], length)), ("grown_logs_match",)),
        fact("grown_log_terms at the new leader's length",
             over_t(lambda t: at(glt, t, length)), ("grown_log_terms",)),
        fact("grown_log_terms at the commit",
             over_t(lambda t: at(glt, t, m[t])), ("grown_log_terms",)),
        fact("log_in_grown at the new leader's last entry",
             z3.And(at(lig, length, length), over_t(lambda t: at(lig, length, m[t]))),
             ("log_in_grown",)),
        fact("the new leader's log length", length >= 0, ("type_ok",)),
        fact("the new leader holds each committed index", over_t(lambda t: z3.Implies(
            z3.And(m[t] > 0, t < term), z3.And(m[t] <= length, s.lterm[c, m[t]] == t))),
            ("vote_up_to_date", "commit_in_grown")),
        fact("the new leader holds each committed prefix", _all_ints(2, lambda t, k: z3.Implies(
            z3.And(m[t] > 0, t < term, k >= 1, k <= m[t]), gl_is(s, t, k, c))),
            ("log_in_grown",)),
    ]


def become_leader_commit(enc: RaftHistoryZ3, s: HistoryVars, tag: str, conjunct: str,
                         goal: z3.BoolRef) -> list[Case] | None:
    """BecomeLeader => commit_in_later' or leader_completeness': the facts of
    ``new_leader_holds``, the pre-state conjunct at the goal's constants, then each
    part of the goal on whether its later term is the new one."""
    c = z3.Const(f"i@{tag}", enc.S)
    term = s.term[c]
    out = new_leader_holds(enc, s, c)
    if conjunct == "commit_in_later":
        (part, consts), = instances(goal)
        if len(consts) != 2:
            return None
        t, t2 = consts
        out += [fact("commit_in_later before", at(commit_in_later(enc, s), t, t2),
                     ("commit_in_later",)),
                Case("t2 is the new term", t2 == term, part, ()),
                Case("t2 is an older term", t2 != term, part, ())]
        return out
    pre = leader_completeness(enc, s)
    hist, later = pre.children()[-2:]
    before = parts(pre)
    out += committed_in_new_leader(enc, s, c)
    for n, (part, consts) in enumerate(instances(goal)):
        if len(consts) == 3:  # later: (t, t2, k)
            out += [fact("leader_completeness (later terms) before", at(later, *consts),
                         ("leader_completeness",)),
                    Case("later part: t2 is the new term", consts[1] == term, part, ()),
                    Case("later part: t2 is an older term", consts[1] != term, part, ())]
        elif len(consts) == 1:  # hist: (t), per leader
            out += [fact("leader_completeness (leaders) before", at(hist, *consts),
                         ("leader_completeness",)),
                    Case("leaders part", TRUE, part, ())]
        else:  # the state form, per (leader, server) pair
            out += [fact(f"leader_completeness part {n + 1} before", before[n],
                         ("leader_completeness",)),
                    Case(f"part {n + 1}", TRUE, part, ())]
    return out


def committed_in_new_leader(enc: RaftHistoryZ3, s: HistoryVars, c: Any) -> list[Case]:
    """Facts: the committed prefix of every server j of a term no later than the new
    leader c's is in c's log (commit_known's term t for j, whose grown log j's log
    matches up to j's commit index by log_in_grown and grown_logs_match, and which c
    holds by ``new_leader_holds``)."""
    out: list[Case] = []
    glm = grown_logs_match(enc, s)
    for j in enc.srv:
        cj = s.commit[j]
        lig = log_in_grown_of(enc, s, j)
        out += [
            fact(f"log_in_grown at {j}'s commit index",
                 _all_ints(1, lambda k, lig=lig, cj=cj: at(lig, cj, k)), ("log_in_grown",)),
            fact(f"grown_logs_match at {j}'s commit index",
                 _all_ints(2, lambda t, k, cj=cj, j=j: at(glm, s.lterm[j, cj], t, cj, k)),
                 ("grown_logs_match",)),
            fact(f"{j}'s committed prefix is in the new leader's log", z3.Implies(
                z3.And(s.term[j] <= s.term[c], cj > 0), z3.And(
                    cj <= s.llen[j], cj <= s.llen[c],
                    _all_ints(1, lambda k, j=j, cj=cj: z3.Implies(
                        z3.And(k >= 1, k <= cj), same_entry(s, c, j, k))))),  # type: ignore[arg-type]
                 ("commit_known",)),
        ]
    return out


def become_leader_acked(enc: RaftHistoryZ3, s: HistoryVars, tag: str, conjunct: str,
                        goal: z3.BoolRef) -> list[Case] | None:
    """BecomeLeader => acked_in_later', per leader i at constants k, t2: the chain of
    the module doc for i's acknowledged entry k of its term (``acked_kept`` gives the
    quorum, ``leader_grown_log`` its place in i's grown log, ``acked_in_later`` at the
    new leader's last term the later grown log's); then t2 is the new term (the new
    leader's log holds the entry) or an older one (the pre-state's conjunct). The new
    leader itself acknowledges nothing yet (its match indexes are reset)."""
    inst = instances(goal)
    if len(inst) != len(enc.srv) or any(len(cs) != 2 for _, cs in inst):
        return None
    c = z3.Const(f"i@{tag}", enc.S)
    term, length, last = s.term[c], s.llen[c], enc.last_term(s, c)  # type: ignore[arg-type]
    ail = parts(next(x.formula for x in vote_lemmas(enc, s) if x.name == conjunct))
    glm, glt, lig = grown_logs_match(enc, s), grown_log_terms(enc, s), log_in_grown_of(enc, s, c)
    out = [fact("the new term had no election", z3.Not(elected_in(enc, s, term)),
                (*ELECTION, "candidate_not_elected")),
           fact("the new leader's log length", length >= 0, ("type_ok",)),
           fact("log_in_grown at the new leader's last entry", at(lig, length, length),
                ("log_in_grown",))]
    for i, before, (part, (k, t2)) in zip(enc.srv, ail, inst, strict=True):
        ti, acked = s.term[i], own_acked_by(enc, s, i, k)

        def kept_at_new_term(j: Any, ti: Any = ti, k: Any = k) -> z3.BoolRef:
            return z3.And(k <= s.llen[j], s.lterm[j, k] == ti, z3.Implies(
                s.von[j, term], at_least(s.vlt[j, term], s.vll[j, term], ti, k)))

        out += [
            fact(f"acked_kept at {i}'s entry", z3.Implies(
                z3.And(acked, ti < term), enc.quorum(kept_at_new_term)), ("acked_kept",)),
            fact(f"leader_grown_log at {i}'s entry", z3.Implies(acked, z3.And(
                elected_in(enc, s, ti), k <= s.gllen[ti], s.glt[ti, k] == ti)),
                ("leader_grown_log",)),
            fact(f"acked_in_later at the new leader's last term ({i})",
                 at(before, k, last), ("acked_in_later",)),
            fact(f"acked_in_later before ({i})", at(before, k, t2), ("acked_in_later",)),
            fact(f"grown_logs_match at {i}'s entry and the new leader's length",
                 at(glm, ti, last, k, length), ("grown_logs_match",)),
            fact(f"grown_log_terms at {i}'s term",
                 z3.And(at(glt, ti, length), at(glt, ti, k)), ("grown_log_terms",)),
            fact(f"log_in_grown at the new leader's last entry ({i})", at(lig, length, k),
                 ("log_in_grown",)),
            fact(f"the new leader holds {i}'s entry", z3.Implies(
                z3.And(acked, ti < term), z3.And(k <= length, s.lterm[c, k] == ti)),
                ("vote_up_to_date",)),
            Case(f"{i}: t2 is the new term", t2 == term, part, ()),
            Case(f"{i}: t2 is an older term", t2 != term, part, ())]
    return out


def advance_commit_completeness(enc: RaftHistoryZ3, s: HistoryVars, t: HistoryVars,
                                tag: str, goal: z3.BoolRef) -> list[Case] | None:
    """AdvanceCommitIndex => leader_completeness': when leader a (term T) commits a new
    index n, n is an entry of term T a quorum acknowledged (``own_acked_by``), so every
    later term's grown log has it (``acked_in_later`` at n) and, below it, T's grown
    log (``grown_logs_match`` at n); every later leader's log is its grown log
    (``leader_grown_log``). Facts at the goal's terms; each part whole from them."""
    a = z3.Const(f"i@{tag}", enc.S)
    term, n = s.term[a], t.commit[a]
    grew = n > s.commit[a]
    glm = grown_logs_match(enc, s)
    pre = leader_completeness(enc, s)
    hist, later = pre.children()[-2:]
    before = parts(pre)

    def in_later(t2: Any) -> z3.BoolRef:
        """acked_in_later for a's entry n and term t2."""
        return z3.Implies(z3.And(grew, t2 > term, elected_in(enc, s, t2)),
                          z3.And(n <= s.gllen[t2], s.glt[t2, n] == term))

    # own_acked_by reads "a counts itself" off the servers' names: a is one of them.
    acked = z3.Or([z3.And(a == i, own_acked_by(enc, s, i, n)) for i in enc.srv])
    out = [fact("the new commit index is acknowledged", z3.Implies(grew, acked), ()),
           fact("the committing leader's log is its grown log",
                _all_ints(1, lambda k: z3.Implies(z3.And(k >= 1, k <= s.llen[a]), z3.And(
                     s.gllen[term] == s.llen[a], gl_is(s, term, k, a)))),
                ("leader_grown_log",))]
    for i in enc.srv:
        ti = s.term[i]
        out += [fact(f"acked_in_later at {i}'s term", in_later(ti), ("acked_in_later",)),
                fact(f"grown_logs_match below the commit at {i}'s term",
                     _all_ints(1, lambda k, ti=ti: at(glm, term, ti, n, k)),
                     ("grown_logs_match",))]
    for k, (part, consts) in enumerate(instances(goal)):
        if len(consts) == 3:  # later: (t, t2, k)
            _t, t2, kc = consts
            out += [fact("leader_completeness (later terms) before", at(later, *consts),
                         ("leader_completeness",)),
                    fact("acked_in_later at t2", in_later(t2), ("acked_in_later",)),
                    fact("grown_logs_match below the commit at t2", at(glm, term, t2, n, kc),
                         ("grown_logs_match",)),
                    Case("later part", TRUE, part, ())]
        elif len(consts) == 1:
            out += [fact("leader_completeness (leaders) before", at(hist, *consts),
                         ("leader_completeness",)),
                    Case("leaders part", TRUE, part, ("leader_grown_log",))]
        else:
            out += [fact(f"leader_completeness part {k + 1} before", before[k],
                         ("leader_completeness",)),
                    Case(f"part {k + 1}", TRUE, part, ("leader_grown_log", "one_leader_per_term"))]
    return out


def advance_commit_later(enc: RaftHistoryZ3, s: HistoryVars, t: HistoryVars, tag: str,
                         goal: z3.BoolRef) -> list[Case] | None:
    """AdvanceCommitIndex => commit_in_later' at constants t1, t2: only the leader's term
    T's highest commit moves, to the new commit index n, which a quorum acknowledged,
    so every later term's grown log has T's entry n (``acked_in_later`` at n, t2);
    other terms as before (the pre-state's conjunct at t1, t2). Part by part it took
    1.4 s to 38 s (492k instantiations), with what the process had asked before."""
    inst = instances(goal)
    if len(inst) != 1 or len(inst[0][1]) != 2:
        return None
    (part, (t1, t2)), = inst
    a = z3.Const(f"i@{tag}", enc.S)
    term, n = s.term[a], t.commit[a]
    grew = n > s.commit[a]
    acked = z3.Or([z3.And(a == i, own_acked_by(enc, s, i, n)) for i in enc.srv])
    return [
        fact("the new commit index is acknowledged", z3.Implies(grew, acked), ()),
        fact("acked_in_later at the new commit and t2", z3.Implies(
            z3.And(grew, t2 > term, elected_in(enc, s, t2)),
            z3.And(n <= s.gllen[t2], s.glt[t2, n] == term)), ("acked_in_later",)),
        fact("commit_in_later before", at(commit_in_later(enc, s), t1, t2),
             ("commit_in_later",)),
        Case("t1 is the leader's term", t1 == term, part, ()),
        Case("t1 is another term", t1 != term, part, ())]


def acked_in_later_kept(enc: RaftHistoryZ3, s: HistoryVars, label: str, tag: str,
                        conjunct: str, goal: z3.BoolRef) -> list[Case] | None:
    """acked_in_later' for an action that acknowledges nothing new (all but BecomeLeader
    and HandleAppendEntriesResponse), per leader i at constants k, t2: the pre-state's
    conjunct at k, t2, then the part without lemmas. ClientRequest also needs that its
    new entry is one past the leader's log, so no follower acknowledged it
    (``leader_indexes``), and one past its term's grown log (``leader_grown_log``)."""
    inst = instances(goal)
    if len(inst) != len(enc.srv) or any(len(cs) != 2 for _, cs in inst):
        return None
    ail = parts(next(x.formula for x in vote_lemmas(enc, s) if x.name == conjunct))
    out: list[Case] = []
    if label == "ClientRequest":
        c = z3.Const(f"i@{tag}", enc.S)
        term = s.term[c]
        out += [fact("leader_grown_log at the leader", z3.And(
                    s.elected[term, c], s.gllen[term] == s.llen[c]), ("leader_grown_log",)),
                fact("leader_indexes at the leader", z3.And(
                    [s.match_idx[c, j] <= s.llen[c] for j in enc.srv]), ("leader_indexes",))]
    for i, before, (part, (k, t2)) in zip(enc.srv, ail, inst, strict=True):
        out += [fact(f"acked_in_later before ({i})", at(before, k, t2), ("acked_in_later",)),
                Case(f"{i}", TRUE, part, ())]
    return out


def append_request_completeness(enc: RaftHistoryZ3, s: HistoryVars, t: HistoryVars,
                                tag: str, goal: z3.BoolRef) -> list[Case] | None:
    """HandleAppendEntriesRequest => leader_completeness', by branches. Only the done
    branch moves a commit index (the receiver r's, to c); there, first that some term
    t no later than r's committed that far and r's log agrees with t's grown log at c
    (``receiver_commit_known``: commit_known' asked whole went from 0.4 s to 17 s with
    what the process had asked before), log_in_grown for r's log at c and
    grown_logs_match from its entry's term, over every t; then, per leader, that r's
    new committed prefix is in its log (an earlier t: the pre-state's conjunct; t its
    own term: its log is t's grown log). The other branches keep every committed
    prefix, part by part."""
    branches = enc.append_branches(s, tag)  # type: ignore[arg-type]
    r = enc.msg_params("aereq", tag)[1]
    c = t.commit[r]
    lig, glm = log_in_grown_of(enc, s, r), grown_logs_match(enc, s)
    uses = ("leader_completeness", "log_in_grown", "grown_logs_match", "leader_grown_log",
            "one_leader_per_term", "commit_known", "type_ok")
    out: list[Case] = []
    for name, cond in branches.items():
        if name == "done":
            out += [
                *receiver_commit_known(enc, s, tag),
                fact("log_in_grown at the receiver's commit index",
                     _all_ints(1, lambda k: at(lig, c, k)), ("log_in_grown",)),
                fact("grown_logs_match at the receiver's commit index",
                     _all_ints(2, lambda tc, k: at(glm, s.lterm[r, c], tc, c, k)),
                     ("grown_logs_match",))]
            for i in enc.srv:
                out.append(Case(f"the receiver's committed prefix is in {i}'s log (done)",
                                cond, z3.Implies(
                                    z3.And(s.role[i] == enc.L, t.term[r] <= s.term[i], c > 0),
                                    z3.And(c <= s.llen[i], _all_ints(1, lambda k, i=i: z3.Implies(
                                        z3.And(k >= 1, k <= c), same_entry(t, i, r, k))))),  # type: ignore[arg-type]
                                ("leader_completeness", "leader_grown_log", "commit_in_grown"),
                                fact=True))
            out += [Case(f"part {n + 1} (done)", cond, part, ("leader_completeness", "type_ok"))
                    for n, part in enumerate(parts(goal))]
        else:
            out += [Case(f"part {n + 1} ({name})", cond, part, uses)
                    for n, part in enumerate(parts(goal))]
    return out


def append_request_acked(enc: RaftHistoryZ3, s: HistoryVars, tag: str, conjunct: str,
                         goal: z3.BoolRef) -> list[Case] | None:
    """HandleAppendEntriesRequest => acked_kept', by branches; in the conflict branch
    (the receiver r drops its last entry, of index L, after a mismatch at p+1 <= L with
    the request of term t'), per leader i at constant k: if r acknowledged i's entry k
    (term T) it had term T at k, so T <= t' (log_terms); t''s grown log holds the entry
    at k (``acked_in_later``, or it is T's), so agrees with T's up to k
    (``grown_logs_match`` at k, p+1), which r's log agrees with up to k
    (``log_in_grown``), and the request carries t''s entry p+1 (``msg_in_grown``): no
    mismatch below k, so k < L and r keeps it. Facts at those constants."""
    inst = instances(goal)
    if len(inst) != len(enc.srv) or any(len(cs) != 1 for _, cs in inst):
        return None
    branches = enc.append_branches(s, tag)  # type: ignore[arg-type]
    _src, r, tr, prev, _pt, _e, _c = enc.msg_params("aereq", tag)
    lemmas = {x.name: x.formula for x in vote_lemmas(enc, s)}
    ak, ail = parts(lemmas[conjunct]), parts(lemmas["acked_in_later"])
    glm, lig = grown_logs_match(enc, s), log_in_grown_of(enc, s, r)
    out: list[Case] = []
    for name, cond in branches.items():
        if name != "conflict":
            out += [Case(f"{i} ({name})", cond, part, None)
                    for i, (part, _k) in zip(enc.srv, inst, strict=True)]
            continue
        for i, before, later, (part, (k,)) in zip(enc.srv, ak, ail, inst, strict=True):
            ti = s.term[i]
            out += [
                Case(f"acked_kept before ({i}, conflict)", cond, at(before, k), (conjunct,),
                     fact=True),
                Case(f"acked_in_later at the request's term ({i}, conflict)", cond,
                     at(later, k, tr), ("acked_in_later",), fact=True),
                Case(f"grown_logs_match at {i}'s entry and p+1 (conflict)", cond,
                     at(glm, ti, tr, k, prev + 1), ("grown_logs_match",), fact=True),
                Case(f"log_in_grown at the receiver's k and p+1 ({i}, conflict)", cond,
                     at(lig, k, prev + 1), ("log_in_grown",), fact=True),
                Case(f"{i} (conflict)", cond, part, ("type_ok", "log_terms", "msg_in_grown",
                                                    "leader_grown_log", "one_leader_per_term",
                                                    conjunct))]
    return out


def become_leader_ack_msg(enc: RaftHistoryZ3, s: HistoryVars, tag: str, conjunct: str,
                          goal: z3.BoolRef) -> list[Case] | None:
    """BecomeLeader => ack_msg_later', at the constants of one response (src, dst, t,
    ok, m): the chain of ``become_leader_acked`` with the response's sender and
    addressee (two servers, a majority of 3) in place of the acknowledging quorum:
    both keep (t, m) (``ack_msg_kept``, ``ack_msg_later``), so one of them voted for
    the new leader c with a log at least (t, m) and c's log holds the entry (its last
    term's grown log does, ``ack_msg_later`` there, or it is t's own)."""
    inst = instances(goal)
    if len(inst) != 1 or len(inst[0][1]) != 5:
        return None
    (part, (src, dst, t, ok, m)), = inst
    c = z3.Const(f"i@{tag}", enc.S)
    term, length, last = s.term[c], s.llen[c], enc.last_term(s, c)  # type: ignore[arg-type]
    glm, glt, lig = grown_logs_match(enc, s), grown_log_terms(enc, s), log_in_grown_of(enc, s, c)
    live = z3.And(s.aeresp[src, dst, t, ok, m] > 0, ok, m >= 1, m <= s.gllen[t],
                  s.glt[t, m] == t)

    def kept_at_new_term(j: Any) -> z3.BoolRef:
        return z3.And(m <= s.llen[j], s.lterm[j, m] == t, z3.Implies(
            s.von[j, term], at_least(s.vlt[j, term], s.vll[j, term], t, m)))

    return [
        fact("the new term had no election", z3.Not(elected_in(enc, s, term)),
             (*ELECTION, "candidate_not_elected")),
        fact("the new leader's log length", length >= 0, ("type_ok",)),
        fact("the sender and addressee differ", z3.Implies(live, src != dst),
             ("ae_from_leader",)),
        fact("the sender keeps the entry at the new term",
             z3.Implies(z3.And(live, t < term), kept_at_new_term(src)), ("ack_msg_kept",)),
        fact("the addressee keeps the entry at the new term",
             z3.Implies(z3.And(live, t < term), kept_at_new_term(dst)), (conjunct,)),
        fact("ack_msg_later at the new leader's last term", z3.Implies(
            z3.And(live, last > t, elected_in(enc, s, last)),
            z3.And(m <= s.gllen[last], s.glt[last, m] == t)), (conjunct,)),
        fact("log_in_grown at the new leader's last entry",
             z3.And(at(lig, length, length), at(lig, length, m)), ("log_in_grown",)),
        fact("grown_logs_match at the entry and the new leader's length",
             at(glm, t, last, m, length), ("grown_logs_match",)),
        fact("grown_log_terms at the entry's term",
             z3.And(at(glt, t, length), at(glt, t, m), at(glt, last, length),
                     at(glt, last, m)), ("grown_log_terms",)),
        # From every conjunct: with vote_up_to_date alone (as above) it is not proved.
        fact("the new leader holds the entry", z3.Implies(
            z3.And(live, t < term), z3.And(m <= length, s.lterm[c, m] == t)), None),
        Case("the response", TRUE, part, (conjunct, "ack_msg_kept", "type_ok")),
    ]


def append_response_acked(enc: RaftHistoryZ3, s: HistoryVars, tag: str, conjunct: str,
                          goal: z3.BoolRef) -> list[Case] | None:
    """HandleAppendEntriesResponse => acked_kept', per leader i at constant k: a success
    response (src, t, m) raises i's match index for src to m; src keeps (t, m)
    (``ack_msg_kept``), so its log agrees with t's grown log up to m
    (``log_in_grown`` at m, k), which is the leader's log, and every vote it cast
    after t was at least (t, m), hence (t, k). Asked whole, its time moved with what
    the process had asked before (3 s alone, 23 s after others)."""
    inst = instances(goal)
    if len(inst) != len(enc.srv) or any(len(cs) != 1 for _, cs in inst):
        return None
    src, _dst, t, ok, m = enc.msg_params("aeresp", tag)
    ak = parts(next(x.formula for x in vote_lemmas(enc, s) if x.name == conjunct))
    lig = log_in_grown_of(enc, s, src)
    out = [fact("ack_msg_kept at the response", z3.Implies(
               z3.And(ok, m >= 1, m <= s.gllen[t], s.glt[t, m] == t), kept_by(s, src, t, m)),
               ("ack_msg_kept",))]
    for i, before, (part, (k,)) in zip(enc.srv, ak, inst, strict=True):
        out += [fact(f"{conjunct} before ({i})", at(before, k), (conjunct,)),
                fact(f"log_in_grown at the sender's m and k ({i})", at(lig, m, k),
                     ("log_in_grown",)),
                Case(f"{i}", TRUE, part, None)]  # fewer conjuncts: unknown at 20 s
    return out
