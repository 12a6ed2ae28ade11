"""How ``agree prove raft`` asks Z3 the obligations it cannot take whole: the hard
(action, conjunct) pairs split into cases, as a paper proof would.

Asked whole, these obligations ran into the timeout (docs/benchmarks/
prove-raft-servers.md): with every conjunct of the invariant as a hypothesis and the
goal a conjunction of quantified formulas, Z3's quantifier instantiation blows up on
the disjunction of the negated parts (``elected_quorum`` with 5 servers: one part per
candidate, each over the 10 majorities; the history lemmas of ``--part complete``).
Each split here asks small queries instead:

* the goal's parts (``z3base.parts``): the negation of one part, not of their
  conjunction; for BecomeLeader => grown_logs_match', its quantifier taken at
  constants (``z3base.instances``) and split on one of them;
* HandleAppendEntriesRequest by its branches (reject, step down, append, conflict,
  done: ``RaftZ3.append_branches``);
* facts proved first and then assumed: a pre-state lemma instantiated at the goal's
  constants, or a consequence of the election lemmas (the term of a candidate that
  becomes leader had no election yet); the goal's parts then without quantified
  hypotheses (``_INSTANCES``: symbolic/raft/cases_commit.py, cases_safety.py,
  cases_kept.py);
* per query only the conjuncts its argument needs (``uses``), where the others feed
  instantiation loops (the invariant's safety obligations: all but the vote lemmas).

The prover checks every case, every fact, and that the cases cover the obligation
(symbolic/prove.py ``by_cases``); when a split fails (a buggy variant) it asks the
obligation whole, so a split only decides how fast, never what is proved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft.cases_commit import (
    acked_in_later_kept,
    advance_commit_completeness,
    advance_commit_later,
    append_request_acked,
    append_request_completeness,
    append_response_acked,
    become_leader_ack_msg,
    become_leader_acked,
    become_leader_commit,
)
from agree.symbolic.raft.cases_kept import append_response_later, become_leader_kept
from agree.symbolic.raft.cases_safety import (
    advance_commit_safety,
    append_request_safety,
    client_request_completeness,
)
from agree.symbolic.raft.invariant import ELECTION, aereq_log_match, elected_in, log_matching
from agree.symbolic.raft.invariant_history import (
    COMPLETE,
    HISTORY,
    _conjunct,
    gl_is,
    grown_logs_match,
    log_in_grown_of,
    msg_in_grown,
)
from agree.symbolic.raft.votes import VOTE_CONJUNCTS
from agree.symbolic.z3base import Case, at, fact, instances, parts

if TYPE_CHECKING:
    from agree.symbolic.raft.encoding import RaftVars, RaftZ3
    from agree.symbolic.raft.history import HistoryVars, RaftHistoryZ3

__all__ = ["INSTANCED", "SPLIT", "history_cases", "raft_cases"]


#: Conjuncts whose every step obligation is asked part by part (one per candidate).
SPLIT = ("elected_quorum",)


def raft_cases(enc: RaftZ3, label: str | None, conjunct: str, goal: z3.BoolRef | None,
               s: RaftVars | None = None, tag: str = "") -> list[Case] | None:
    """The split of an obligation of the election and log invariant, or None."""
    if (label, conjunct) == ("HandleAppendEntriesRequest", "log_matching") and s is not None \
            and goal is not None:
        return _append_log_matching(enc, s, tag, goal)
    if label is None or goal is None or conjunct not in SPLIT:
        return None
    return [Case(f"part {n + 1}", z3.BoolVal(True), part) for n, part in enumerate(parts(goal))]


def _append_log_matching(enc: RaftZ3, s: RaftVars, tag: str, goal: z3.BoolRef,
                         ) -> list[Case] | None:
    """HandleAppendEntriesRequest => log_matching', per pair of logs at constants n, k,
    without quantifiers: the receiver r's log only grows by the request's entry at
    p + 1 (append) or loses its last entry (conflict). A pair's logs agreed below n
    before (log_matching at n, k); an appended entry another log holds at p + 1 with
    its term has the request's value and previous term there (aereq_log_match at the
    request), which r's log has at p (the request passed its check), so the two logs
    agreed up to p (log_matching at p, k). Asked part by part with the whole invariant,
    5 servers ran into the timeout (its 10 pairs, each over every branch)."""
    inst = instances(goal)
    before = parts(log_matching(enc, s))
    if len(inst) != len(before) or any(len(cs) != 2 for _, cs in inst):
        return None
    m = enc.msg_params("aereq", tag)
    p = m[3]
    true = z3.BoolVal(True)
    out = [fact("aereq_log_match at the request", at(aereq_log_match(enc, s), *m),
                ("aereq_log_match",)),
           fact("the request's index and the logs' lengths",
                z3.And(p >= 0, *(s.llen[j] >= 0 for j in enc.srv)), ("type_ok",))]
    for x, (pre, (part, (n, k))) in enumerate(zip(before, inst, strict=True)):
        out += [fact(f"log_matching (pair {x + 1}) at n, k before", at(pre, n, k),
                     ("log_matching",)),
                fact(f"log_matching (pair {x + 1}) at p, k before", at(pre, p, k),
                     ("log_matching",)),
                Case(f"pair {x + 1}", true, part, ())]
    return out


def history_cases(enc: RaftHistoryZ3, label: str | None, conjunct: str, s: HistoryVars,
                  t: HistoryVars | None, tag: str, goal: z3.BoolRef | None,
                  ) -> list[Case] | None:
    """The split of one obligation (module doc), or None to ask it whole."""
    if label is None and goal is not None:
        # Inv => property: the vote lemmas are not needed and feed instantiation loops
        # (with them Inv => log_matching' runs into the timeout).
        return [Case("without the vote lemmas", z3.BoolVal(True), None,
                     tuple(n for n in COMPLETE if n not in VOTE_CONJUNCTS))]
    if label is None or t is None or goal is None:
        return None
    if not _reads_changed(goal, s, t):
        # The action leaves every variable the conjunct reads as it was: the pre-state's
        # conjunct is the goal (asked part by part with every conjunct, UpdateTerm =>
        # grown_logs_match' took from 1 to 14 s in full runs).
        return [Case("unchanged by the action", z3.BoolVal(True), None, (conjunct,))]
    instanced = _INSTANCES.get((label, conjunct))
    if instanced is not None:
        return instanced(enc, s, t, tag, conjunct, goal)
    if conjunct == "acked_in_later" and label != "HandleAppendEntriesResponse":
        return acked_in_later_kept(enc, s, label, tag, conjunct, goal)
    if conjunct in (*HISTORY, "leader_completeness", "state_machine_safety"):
        # Part by part: near the timeout whole (which ones moves with names).
        return [Case(f"part {n + 1}", z3.BoolVal(True), part)
                for n, part in enumerate(parts(goal))]
    return raft_cases(enc, label, conjunct, goal)


def _reads_changed(goal: z3.ExprRef, s: Any, t: Any) -> bool:
    """Whether ``goal`` (a conjunct of the post-state t) reads a variable the action
    changed, i.e. contains a field of t that is not the same term as s's."""
    changed = {x.get_id() for x, y in zip(t, s, strict=True) if not z3.eq(x, y)}
    seen: set[int] = set()
    todo = [goal]
    while todo:
        e = todo.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if e.get_id() in changed:
            return True
        if z3.is_quantifier(e):
            todo.append(e.body())
        elif z3.is_app(e):
            todo.extend(e.children())
    return False


def _become_leader_grown(enc: RaftHistoryZ3, s: HistoryVars, tag: str, goal: z3.BoolRef,
                         ) -> list[Case] | None:
    """BecomeLeader => grown_logs_match', at constants t1, t2, k, k2 (``instances``):
    first three facts of the pre-state, each from the conjuncts it follows from: the new
    leader's term had no election (the election lemmas: its voters are bound to it, no
    one else's), log_in_grown for the leader's log at k, k2, and grown_logs_match at
    t1, t2, k, k2; then two quantifier-free cases: t2 is the new term (its grown log is
    the leader's log), or not (nothing changed, and t1 is not the new term)."""
    inst = instances(goal)
    if len(inst) != 1 or len(inst[0][1]) != 4:
        return None
    part, (t1, t2, k, k2) = inst[0]
    i = z3.Const(f"i@{tag}", enc.S)
    term = s.term[i]
    return [fact("the new term had no election",
                 z3.Not(elected_in(enc, s, term)), (*ELECTION, "candidate_not_elected")),
            fact("log_in_grown at the leader's log",
                 at(log_in_grown_of(enc, s, i), k, k2), ("log_in_grown",)),
            fact("grown_logs_match before",
                 at(grown_logs_match(enc, s), t1, t2, k, k2), ("grown_logs_match",)),
            Case("t2 is the new term", t2 == term, part, ()),
            Case("t2 is an older term", t2 != term, part, ())]


def _client_request_in_grown(enc: RaftHistoryZ3, s: HistoryVars, tag: str,
                             goal: z3.BoolRef) -> list[Case] | None:
    """ClientRequest => log_in_grown', per log j at constants k, k2: first log_in_grown
    for log j at k, k2 and leader_grown_log for the leader at k2; then the part holds
    without quantifiers (the new entry is the grown log's new one; older entries keep
    their index, below the grown log's new length)."""
    inst = instances(goal)
    if len(inst) != len(enc.srv) or any(len(cs) != 2 for _, cs in inst):
        return None
    i = z3.Const(f"i@{tag}", enc.S)
    term = s.term[i]
    out: list[Case] = []
    for j, (part, (k, k2)) in zip(enc.srv, inst, strict=True):
        lead = z3.Implies(s.role[i] == enc.L, z3.And(
            s.elected[term, i], s.gllen[term] == s.llen[i],
            z3.Implies(z3.And(k2 >= 1, k2 <= s.llen[i]), gl_is(s, term, k2, i))))
        out += [fact(f"log_in_grown at {j}'s log",
                     at(log_in_grown_of(enc, s, j), k, k2), ("log_in_grown",)),
                fact(f"leader_grown_log at the leader ({j})", lead,
                     ("leader_grown_log",)),
                Case(f"{j}'s log", z3.BoolVal(True), part, ())]
    return out


def _append_in_grown(enc: RaftHistoryZ3, s: HistoryVars, tag: str,
                     goal: z3.BoolRef) -> list[Case] | None:
    """HandleAppendEntriesRequest => log_in_grown', per log j at constants k, k2 and per
    branch, without quantifiers, from instantiated facts: msg_in_grown for the request
    (term t, previous index p and term pt, entry e); log_in_grown for log j at k, k2 and
    for the receiver's log at p, k2; grown_logs_match from t's grown log to e's term at
    p + 1 and to pt at p. An appended entry then is t's grown log's, whose prefix is
    the receiver's; the other branches keep or shorten the log."""
    inst = instances(goal)
    if len(inst) != len(enc.srv) or any(len(cs) != 2 for _, cs in inst):
        return None
    m = enc.msg_params("aereq", tag)
    _src, i, t, p, pt, e, _c = m
    branches = enc.append_branches(s, tag)  # type: ignore[arg-type]
    out = [fact("msg_in_grown for the request",
                at(msg_in_grown(enc, s), *m), ("msg_in_grown",))]
    for j, (part, (k, k2)) in zip(enc.srv, inst, strict=True):
        glm = grown_logs_match(enc, s)
        out += [fact(f"log_in_grown at {j}'s log",
                     at(log_in_grown_of(enc, s, j), k, k2), ("log_in_grown",)),
                fact(f"log_in_grown at the receiver's log ({j})",
                     at(log_in_grown_of(enc, s, i), p, k2), ("log_in_grown",)),
                fact(f"grown_logs_match at the entry ({j})",
                     at(glm, enc.eterm(e), t, p + 1, k2), ("grown_logs_match",)),
                fact(f"grown_logs_match at the previous entry ({j})",
                     at(glm, pt, t, p, k2), ("grown_logs_match",))]
        out += [Case(f"{j}'s log ({name})", cond, part, ()) for name, cond in branches.items()]
    return out


def _client_request_grown(enc: RaftHistoryZ3, s: HistoryVars, tag: str,
                          goal: z3.BoolRef) -> list[Case] | None:
    """ClientRequest => grown_logs_match' at constants t1, t2, k, k2, without
    quantifiers, from grown_logs_match at them and the leader's grown log being its log:
    the new entry is its term's only change, one past every older entry."""
    inst = instances(goal)
    if len(inst) != 1 or len(inst[0][1]) != 4:
        return None
    part, (t1, t2, k, k2) = inst[0]
    i = z3.Const(f"i@{tag}", enc.S)
    term = s.term[i]
    lead = z3.Implies(s.role[i] == enc.L,
                      z3.And(s.elected[term, i], s.gllen[term] == s.llen[i]))
    return [fact("grown_logs_match before",
                 at(grown_logs_match(enc, s), t1, t2, k, k2), ("grown_logs_match",)),
            fact("leader_grown_log at the leader", lead,
                 ("leader_grown_log",)),
            Case("the grown logs", z3.BoolVal(True), part, ())]


def _pre_parts(enc: RaftHistoryZ3, s: HistoryVars, conjunct: str, goal: z3.BoolRef,
               ) -> list[Case] | None:
    """leader_completeness' or state_machine_safety' at an action that only restarts a
    server, or raises its term and steps it down (Restart, Timeout, UpdateTerm): no log,
    grown log or commit grows, and a server that is no longer a leader, or whose commit
    index is reset, constrains nothing; each part follows from the pre-state's part at
    the goal's constants. Part by part with every conjunct: 1 to 11 s in full runs."""
    before = parts(_conjunct(enc, s, conjunct).formula)
    inst = instances(goal)
    if len(inst) != len(before):
        return None
    out: list[Case] = []
    for n, (pre, (part, consts)) in enumerate(zip(before, inst, strict=True)):
        out += [fact(f"{conjunct} part {n + 1} before",
                     at(pre, *consts) if consts else pre, (conjunct,)),
                Case(f"part {n + 1}", z3.BoolVal(True), part, ("type_ok",))]
    return out


#: --part complete: the obligations proved from instantiated facts without quantifiers,
#: each with its split, called as (enc, s, t, tag, conjunct, goal).
_INSTANCES: dict[tuple[str, str], Callable[..., list[Case] | None]] = {
    ("BecomeLeader", "grown_logs_match"):
        lambda enc, s, t, tag, c, goal: _become_leader_grown(enc, s, tag, goal),
    ("BecomeLeader", "commit_in_later"):
        lambda enc, s, t, tag, c, goal: become_leader_commit(enc, s, tag, c, goal),
    ("BecomeLeader", "leader_completeness"):
        lambda enc, s, t, tag, c, goal: become_leader_commit(enc, s, tag, c, goal),
    ("BecomeLeader", "acked_in_later"):
        lambda enc, s, t, tag, c, goal: become_leader_acked(enc, s, tag, c, goal),
    ("BecomeLeader", "leader_kept"):
        lambda enc, s, t, tag, c, goal: become_leader_kept(enc, s, tag, goal),
    ("BecomeLeader", "ack_msg_later"):
        lambda enc, s, t, tag, c, goal: become_leader_ack_msg(enc, s, tag, c, goal),
    ("AdvanceCommitIndex", "commit_in_later"):
        lambda enc, s, t, tag, c, goal: advance_commit_later(enc, s, t, tag, goal),
    ("AdvanceCommitIndex", "leader_completeness"):
        lambda enc, s, t, tag, c, goal: advance_commit_completeness(enc, s, t, tag, goal),
    ("ClientRequest", "acked_in_later"):
        lambda enc, s, t, tag, c, goal: acked_in_later_kept(enc, s, "ClientRequest", tag, c,
                                                            goal),
    ("ClientRequest", "leader_completeness"):
        lambda enc, s, t, tag, c, goal: client_request_completeness(enc, s, tag, goal),
    ("ClientRequest", "log_in_grown"):
        lambda enc, s, t, tag, c, goal: _client_request_in_grown(enc, s, tag, goal),
    ("ClientRequest", "grown_logs_match"):
        lambda enc, s, t, tag, c, goal: _client_request_grown(enc, s, tag, goal),
    ("HandleAppendEntriesRequest", "leader_completeness"):
        lambda enc, s, t, tag, c, goal: append_request_completeness(enc, s, t, tag, goal),
    ("HandleAppendEntriesRequest", "log_in_grown"):
        lambda enc, s, t, tag, c, goal: _append_in_grown(enc, s, tag, goal),
    ("AdvanceCommitIndex", "state_machine_safety"):
        lambda enc, s, t, tag, c, goal: advance_commit_safety(enc, s, t, tag, goal),
    ("HandleAppendEntriesRequest", "state_machine_safety"):
        lambda enc, s, t, tag, c, goal: append_request_safety(enc, s, t, tag, goal),
    ("HandleAppendEntriesRequest", "acked_kept"):
        lambda enc, s, t, tag, c, goal: append_request_acked(enc, s, tag, c, goal),
    ("HandleAppendEntriesResponse", "acked_in_later"):
        lambda enc, s, t, tag, c, goal: append_response_later(enc, s, t, tag, goal),
    ("HandleAppendEntriesResponse", "acked_kept"):
        lambda enc, s, t, tag, c, goal: append_response_acked(enc, s, tag, c, goal),
}
for _label in ("Restart", "Timeout", "UpdateTerm"):
    for _name in ("leader_completeness", "state_machine_safety"):
        _INSTANCES[(_label, _name)] = (
            lambda enc, s, t, tag, c, goal: _pre_parts(enc, s, c, goal))
INSTANCED = tuple(_INSTANCES)
