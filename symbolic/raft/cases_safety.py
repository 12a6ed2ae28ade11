"""The instantiated splits of ``agree prove raft --part complete`` for the steps of
state machine safety at HandleAppendEntriesRequest and AdvanceCommitIndex, and of
leader completeness at ClientRequest (symbolic/raft/cases.py has the table of splits,
symbolic/raft/cases_commit.py the ones along the quorum chain).

Split only by branches and parts, it was proved in seconds in a fresh process and
ran into the timeout (749k quantifier instantiations) after the rest of a full run:
each query left Z3 to find the chain below among every quantified lemma, and whether
it did moved with what the process had asked before. Here every lemma is asked at the
terms and indexes of the chain, as facts proved one by one from the conjunct each
instantiates, quantified at most over the one term the chain needs; the goal's parts
then use no conjunct.

The chain, per pair of servers a, b at the goal's index k: only the done branch moves
a commit index (the receiver r's, to the request's c); the other branches keep every
committed prefix (the pre-state's conjunct at k; a commit index is within its log).
In the done branch, each server j's committed prefix (up to X = its new commit index)
is some term's committed grown log: for r, the term the request's ``msg_commit_known``
names, whose grown log agrees at c with the request's term's, which r's log follows
up to c (``msg_in_grown``, ``log_in_grown`` and ``grown_logs_match`` at the request's
previous entry and entry); for the others, ``commit_known``. And whatever term t has
j's entry X at X in its grown log, j's log is t's grown log at k (``log_in_grown`` at
X, k and ``grown_logs_match`` from the entry's term to t, over t). Two such terms'
committed grown logs agree at k (the history form of state machine safety at k, over
both terms), so a's and b's logs do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft.invariant import _all_ints, _pairs, elected_in
from agree.symbolic.raft.invariant_history import (
    commit_in_grown,
    gl_is,
    grown_logs_match,
    leader_completeness,
    log_in_grown_of,
    msg_commit_known,
    msg_in_grown,
    state_machine_safety,
)
from agree.symbolic.raft.votes import own_acked_by
from agree.symbolic.z3base import Case, at, fact, fresh, instances, parts

if TYPE_CHECKING:
    from agree.symbolic.raft.history import HistoryVars, RaftHistoryZ3

__all__ = [
    "advance_commit_safety",
    "append_request_safety",
    "client_request_completeness",
    "receiver_commit_known",
]

TRUE = z3.BoolVal(True)


def _known_by(s: HistoryVars, t: Any, x: Any, j_term: Any) -> z3.BoolRef:
    """Term t committed at least to x, and its grown log has the term ``j_term`` at x."""
    return z3.And(t >= 1, s.ctop[t] >= x, x <= s.gllen[t], s.glt[t, x] == j_term)


def _log_is_committed(enc: RaftHistoryZ3, s: HistoryVars, j: Any, x: Any, k: Any, n: int,
                      ) -> list[Case]:
    """Facts: whatever elected term u has j's entry x at x in its grown log, j's log is
    u's grown log at k (``log_in_grown`` at x, k; ``grown_logs_match`` from the entry's
    term to u, over u)."""
    glm = grown_logs_match(enc, s)
    return [
        fact(f"log_in_grown at {j}'s new commit and k{n}",
             at(log_in_grown_of(enc, s, j), x, k), ("log_in_grown",)),
        fact(f"grown_logs_match at {j}'s new commit and k{n}",
             _all_ints(1, lambda u: at(glm, s.lterm[j, x], u, x, k)), ("grown_logs_match",)),
        fact(f"{j}'s log at k{n} is every term's that has its new commit's entry",
             _all_ints(1, lambda u: z3.Implies(
                  z3.And(k >= 1, k <= x, x <= s.llen[j], elected_in(enc, s, u),
                         x <= s.gllen[u], s.glt[u, x] == s.lterm[j, x]),
                  gl_is(s, u, k, j))), ())]


def _elected(enc: RaftHistoryZ3, s: HistoryVars) -> Case:
    return fact("every term that committed had an election",
                _all_ints(1, lambda u: z3.Implies(s.ctop[u] > 0, elected_in(enc, s, u))),
                ("commit_in_grown",))


def receiver_commit_known(enc: RaftHistoryZ3, s: HistoryVars, tag: str) -> list[Case]:
    """Facts for HandleAppendEntriesRequest's done branch, where the receiver r (term
    T) sets its commit index to the request's c: r's log up to c is what some term
    u <= T committed (``msg_commit_known`` names u, whose grown log agrees at c with the
    request's term's, which r's log follows: ``msg_in_grown``, ``log_in_grown`` and
    ``grown_logs_match`` at the request's previous entry and entry)."""
    done = enc.append_branches(s, tag)["done"]  # type: ignore[arg-type]
    m = enc.msg_params("aereq", tag)
    _src, r, mt, p, pt, e, c = m
    last = p + z3.If(enc.is_ent(e), 1, 0)
    glm, lig_r = grown_logs_match(enc, s), log_in_grown_of(enc, s, r)
    return [
        fact("msg_commit_known at the request", at(msg_commit_known(enc, s), *m),
             ("msg_commit_known",)),
        fact("msg_in_grown at the request", at(msg_in_grown(enc, s), *m), ("msg_in_grown",)),
        fact("log_in_grown at the receiver's previous entry and c", at(lig_r, p, c),
             ("log_in_grown",)),
        fact("log_in_grown at the receiver's new entry and c", at(lig_r, p + 1, c),
             ("log_in_grown",)),
        fact("grown_logs_match at the previous entry and c", at(glm, pt, mt, p, c),
             ("grown_logs_match",)),
        fact("grown_logs_match at the entry and c", at(glm, enc.eterm(e), mt, p + 1, c),
             ("grown_logs_match",)),
        fact("the receiver's log is the request's term's grown log at c (done)",
             z3.Implies(z3.And(c >= 1, c <= last), gl_is(s, mt, c, r)), (), done),
        fact("the receiver's new commit is known (done)", z3.And(
            c <= s.llen[r], z3.Implies(c > 0, _exists_term(lambda u: z3.And(
                u <= s.term[r], _known_by(s, u, c, s.lterm[r, c]))))), ("type_ok",), done)]


def append_request_safety(enc: RaftHistoryZ3, s: HistoryVars, t: HistoryVars, tag: str,
                          goal: z3.BoolRef) -> list[Case] | None:
    """HandleAppendEntriesRequest => state_machine_safety' by the chain of the module
    doc: facts at the request, per server j at its new commit index and at each pair
    part's index, then each part on whether the branch is done."""
    inst = instances(goal)
    pairs = _pairs(enc)
    if (len(inst) != len(pairs) + 1 or any(len(cs) != 1 for _, cs in inst[:-1])
            or len(inst[-1][1]) != 3):
        return None
    done = enc.append_branches(s, tag)["done"]  # type: ignore[arg-type]
    before = parts(state_machine_safety(enc, s))
    hist = before[-1]
    new = t.commit  # the commit indexes after the step

    out = [
        *receiver_commit_known(enc, s, tag),
        fact("the commit indexes are within the logs",
             z3.And([s.commit[j] <= s.llen[j] for j in enc.srv]), ("commit_known",)),
        _elected(enc, s),
    ]
    for j in enc.srv:
        x = new[j]
        out.append(fact(f"{j}'s new commit is known (done)", z3.And(
            x <= s.llen[j], z3.Implies(x > 0, _exists_term(
                lambda u, x=x, j=j: _known_by(s, u, x, s.lterm[j, x])))),
            ("commit_known",), done))
    for n, ((part, (k,)), (a, b)) in enumerate(zip(inst[:-1], pairs, strict=True)):
        for j in (a, b):
            out += _log_is_committed(enc, s, j, new[j], k, n + 1)
        out += [
            fact(f"state_machine_safety (pair {n + 1}) before", at(before[n], k),
                 ("state_machine_safety",)),
            fact(f"state_machine_safety (terms) at k{n + 1} before",
                 _all_ints(2, lambda u1, u2, k=k: at(hist, u1, u2, k)),
                 ("state_machine_safety",)),
            Case(f"pair {n + 1} (done)", done, part, ()),
            Case(f"pair {n + 1} (not done)", z3.Not(done), part, ())]
    part, (u1, u2, k) = inst[-1]
    out += [fact("state_machine_safety (terms) before", at(hist, u1, u2, k),
                 ("state_machine_safety",)),
            Case("terms", TRUE, part, ())]
    return out


def _exists_term(fn: Any) -> z3.BoolRef:
    """Some term u satisfies ``fn(u)``."""
    u = fresh("u", z3.IntSort())
    return z3.Exists([u], fn(u))


def advance_commit_safety(enc: RaftHistoryZ3, s: HistoryVars, t: HistoryVars, tag: str,
                          goal: z3.BoolRef) -> list[Case] | None:
    """AdvanceCommitIndex => state_machine_safety': leader a of term T moves its commit
    index to n; when n grew, T's highest commit becomes n (``ctop``). The history form
    at constants u1, u2, k: T's grown log agrees below n with every other term's
    committed prefix (an earlier term's: ``leader_completeness`` at it and T; a later
    one's: n is acknowledged, so ``acked_in_later`` puts T's entry n in its grown log
    and ``grown_logs_match`` the rest); proved over u1, u2 at each pair part's index k
    too. A pair's part: when n did not grow, a's committed prefix only shrinks (the
    pre-state's conjunct at k); when it grew, as for HandleAppendEntriesRequest (module
    doc) with a's new prefix committed by T."""
    inst = instances(goal)
    pairs = _pairs(enc)
    if (len(inst) != len(pairs) + 1 or any(len(cs) != 1 for _, cs in inst[:-1])
            or len(inst[-1][1]) != 3):
        return None
    a = z3.Const(f"i@{tag}", enc.S)
    term, n, new, top = s.term[a], t.commit[a], t.commit, t.ctop
    grew = n > s.commit[a]
    glm = grown_logs_match(enc, s)
    before = parts(state_machine_safety(enc, s))
    hist = before[-1]
    later = leader_completeness(enc, s).children()[-1]

    def in_later(u: Any) -> z3.BoolRef:
        """acked_in_later for a's entry n and term u."""
        return z3.Implies(z3.And(grew, u > term, elected_in(enc, s, u)),
                          z3.And(n <= s.gllen[u], s.glt[u, n] == term))

    # own_acked_by reads "a counts itself" off the servers' names: a is one of them.
    acked = z3.Or([z3.And(a == i, own_acked_by(enc, s, i, n)) for i in enc.srv])
    known_t = z3.And(term >= 1, s.elected[term, a], n <= s.gllen[term],
                     s.glt[term, n] == s.lterm[a, n])
    out = [
        fact("the new commit index is acknowledged", z3.Implies(grew, acked), ()),
        fact("the committing leader's log is its grown log", z3.And(
            s.elected[term, a], s.gllen[term] == s.llen[a],
            _all_ints(1, lambda k: z3.Implies(z3.And(k >= 1, k <= s.llen[a]),
                                              gl_is(s, term, k, a)))), ("leader_grown_log",)),
        fact("acked_in_later at the new commit", _all_ints(1, in_later), ("acked_in_later",)),
        fact("a term's highest commit grows only to n, and only for T",
             _all_ints(1, lambda u: z3.And(top[u] >= s.ctop[u], z3.Implies(
                  top[u] != s.ctop[u], z3.And(u == term, grew, top[u] == n)))), ()),
        _elected(enc, s),
        fact("T's grown log has the new commit", z3.Implies(grew, z3.And(
            n <= s.llen[a], top[term] >= n, known_t)), ("type_ok",)),
        fact("the commit indexes are within the logs",
             z3.And([s.commit[j] <= s.llen[j] for j in enc.srv]), ("commit_known",)),
    ]

    def history_at(k: Any, name: str) -> list[Case]:
        """Facts giving the history form after the step at index k, over u1, u2."""
        return [
            fact(f"grown_logs_match below the new commit at {name}",
                 _all_ints(1, lambda u: at(glm, term, u, n, k)), ("grown_logs_match",)),
            fact(f"leader_completeness (later terms) at T and {name}",
                 _all_ints(1, lambda u: at(later, u, term, k)), ("leader_completeness",)),
            fact(f"state_machine_safety (terms) at {name} before",
                 _all_ints(2, lambda u1, u2: at(hist, u1, u2, k)), ("state_machine_safety",))]

    for m, ((part, (k,)), (x, y)) in enumerate(zip(inst[:-1], pairs, strict=True)):
        name = f"k{m + 1}"
        out += history_at(k, name)
        out.append(fact(f"state_machine_safety (terms) at {name} after",
                        _all_ints(2, lambda u1, u2, k=k: z3.Implies(
                             z3.And(k >= 1, k <= top[u1], k <= top[u2]),
                             z3.And(s.glt[u1, k] == s.glt[u2, k], s.glv[u1, k] == s.glv[u2, k]))),
                        ()))
        for j in (x, y):
            cj = s.commit[j]
            out.append(fact(f"{j}'s new commit is known ({name}, grew)", z3.If(
                j == a, z3.And(n <= s.llen[a], top[term] >= n, known_t),
                z3.And(cj <= s.llen[j], z3.Implies(cj > 0, _exists_term(
                    lambda u, cj=cj, j=j: _known_by(s, u, cj, s.lterm[j, cj]))))),
                ("commit_known",), grew))
            out += _log_is_committed(enc, s, j, new[j], k, m + 1)
        out += [
            fact(f"state_machine_safety (pair {m + 1}) before", at(before[m], k),
                 ("state_machine_safety",)),
            Case(f"pair {m + 1} (grew)", grew, part, ()),
            Case(f"pair {m + 1} (did not grow)", z3.Not(grew), part, ())]
    part, (_u1, _u2, k) = inst[-1]
    out += history_at(k, "the terms' k")
    out.append(Case("terms", TRUE, part, ()))
    return out


def client_request_completeness(enc: RaftHistoryZ3, s: HistoryVars, tag: str,
                                goal: z3.BoolRef) -> list[Case] | None:
    """ClientRequest => leader_completeness': leader c of term T appends an entry one
    past its log, and T's grown log (its log) grows by the same entry. Every committed
    prefix lies below both: a commit index is within its log, and what term t committed
    within t's grown log (``commit_in_grown``), so each part is the pre-state's at the
    goal's constants. Part by part: 3 to 7 s in full runs (11 parts, every conjunct)."""
    before = parts(leader_completeness(enc, s))
    inst = instances(goal)
    if len(inst) != len(before) or len(inst[-1][1]) != 3 or len(inst[-2][1]) != 1:
        return None
    c = z3.Const(f"i@{tag}", enc.S)
    term = s.term[c]
    cig = commit_in_grown(enc, s)
    out = [fact("the commit indexes are within the logs",
                z3.And([s.commit[j] <= s.llen[j] for j in enc.srv]), ("commit_known",)),
           fact("the leader's term's grown log is its log", z3.And(
               s.elected[term, c], s.gllen[term] == s.llen[c]), ("leader_grown_log",))]
    for n, (pre, (part, consts)) in enumerate(zip(before, inst, strict=True)):
        if consts:  # the history forms: at t (leaders), at t, t2, k (later terms)
            out += [fact(f"commit_in_grown at part {n + 1}'s term", at(cig, consts[0]),
                         ("commit_in_grown",)),
                    fact(f"leader_completeness part {n + 1} before", at(pre, *consts),
                         ("leader_completeness",))]
        else:  # the state form, per (leader, server) pair
            out.append(fact(f"leader_completeness part {n + 1} before", pre,
                            ("leader_completeness",)))
        out.append(Case(f"part {n + 1}", TRUE, part, ()))
    return out
