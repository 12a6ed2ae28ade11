"""The instantiated split of ``agree prove raft --part complete`` for BecomeLeader =>
leader_kept' (symbolic/raft/cases.py has the table of splits).

Asked whole it was proved, in 7 to 19 s depending on the load and on what the
process had asked before (198k quantifier instantiations), near the 30 s timeout of
a full run. Here, as in symbolic/raft/cases_commit.py, each lemma is asked at the
chain's constants: leader i's entry (t, k) of its term, kept by i while another
server is still at term t or before (``leader_kept`` at t, k). The new leader c of
term T: no entry of T exists yet (the new term had no election; ``log_in_grown``), so
T's grown log, c's log, has no entry of T to keep; for t < T, the server still at t
did not vote in T (``vote_term_le``), so with 3 servers c's quorum holds i, whose
vote was at least (t, k) (``kept``), and c's log is at least as up to date
(``vote_up_to_date``); its last entry's term's grown log holds (t, k) (``later_hold``
or t's own) and reaches k (``grown_logs_match``, ``grown_log_terms``), so c's log, T's
new grown log, holds (t, k).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft.invariant import ELECTION, elected_in
from agree.symbolic.raft.invariant_history import (
    grown_log_terms,
    grown_logs_match,
    log_in_grown_of,
)
from agree.symbolic.raft.votes import vote_lemmas
from agree.symbolic.z3base import Case, instances

if TYPE_CHECKING:
    from agree.symbolic.raft.history import HistoryVars, RaftHistoryZ3

__all__ = ["become_leader_kept"]

TRUE = z3.BoolVal(True)


def _at(q: z3.QuantifierRef, *consts: Any) -> z3.BoolRef:
    """The body of the universal formula q with its bound variables set to ``consts``."""
    return z3.substitute_vars(q.body(), *reversed(consts))


def _fact(name: str, goal: z3.BoolRef, uses: tuple[str, ...]) -> Case:
    return Case(name, TRUE, goal, uses, fact=True)


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
        _fact("the new term had no election", z3.Not(elected_in(enc, s, term)),
              (*ELECTION, "candidate_not_elected")),
        _fact("the new leader's log length", length >= 0, ("type_ok",)),
        _fact("log_in_grown at the new leader's entries",
              z3.And(_at(lig, k, k), _at(lig, length, length), _at(lig, length, k)),
              ("log_in_grown",)),
        _fact("leader_kept before", _at(kept, t, k), ("leader_kept",)),
        _fact("grown_logs_match at the entry and the new leader's length",
              _at(glm, t, last, k, length), ("grown_logs_match",)),
        _fact("grown_log_terms at the entry's term",
              z3.And(_at(glt, t, length), _at(glt, t, k)), ("grown_log_terms",)),
        _fact("the new leader holds the entry", z3.And([z3.Implies(
            z3.And(own_entry(i), t < term), z3.And(k <= length, s.lterm[c, k] == t))
            for i in enc.srv]), ("vote_up_to_date", "vote_term_le")),
        Case("t is the new term", t == term, part, ()),
        Case("t is an older or later term", t != term, part, ()),
    ]
