"""The safety properties of properties/raft.py (state forms, ``history=False``) over the
scalar state of symbolic/raft/bmc.py, each named like its Python twin.

Quantifiers over servers and log indexes are unfolded over the configuration's
concrete ranges; a log's slots past its length hold 0, and an index is compared
with the lengths before its entries are read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.z3base import Conjunct

if TYPE_CHECKING:
    from agree.symbolic.raft.bmc import RaftBmc, State

__all__ = ["safety"]


def _same_entry(s: State, a: int, b: int, x: int) -> Any:
    return z3.And(s.lterm[a][x - 1] == s.lterm[b][x - 1], s.lval[a][x - 1] == s.lval[b][x - 1])


def _committed_len(enc: RaftBmc, s: State, i: int) -> Any:
    """The length of ``log[i][:commit_index[i]]`` (Python slicing: capped at the log)."""
    return z3.If(s.commit[i] < s.llen[i], s.commit[i], s.llen[i])


def one_leader_per_term(enc: RaftBmc, s: State) -> Any:
    from agree.symbolic.raft.bmc import L
    return z3.And([z3.Not(z3.And(s.role[a] == L, s.role[b] == L, s.term[a] == s.term[b]))
                   for a in enc.srv for b in enc.srv if a < b])


def election_safety(enc: RaftBmc, s: State) -> Any:
    return z3.And([z3.Not(z3.And(row[a], row[b]))
                   for row in s.elected for a in enc.srv for b in enc.srv if a < b])


def log_matching(enc: RaftBmc, s: State) -> Any:
    out = []
    for a in enc.srv:
        for b in enc.srv:
            if a >= b:
                continue
            for x in enc.idx:
                both = z3.And(x <= s.llen[a], x <= s.llen[b],
                              s.lterm[a][x - 1] == s.lterm[b][x - 1])
                out.append(z3.Implies(both, z3.And([_same_entry(s, a, b, y)
                                                    for y in range(1, x + 1)])))
    return z3.And(out)


def leader_completeness(enc: RaftBmc, s: State) -> Any:
    from agree.symbolic.raft.bmc import L
    out = []
    for i in enc.srv:
        for j in enc.srv:
            if i == j:
                continue
            cl = _committed_len(enc, s, j)
            holds = z3.And([z3.Implies(x <= cl, z3.And(x <= s.llen[i], _same_entry(s, i, j, x)))
                            for x in enc.idx])
            out.append(z3.Implies(z3.And(s.role[i] == L, s.commit[j] > 0,
                                         s.term[j] <= s.term[i]), holds))
    return z3.And(out)


def state_machine_safety(enc: RaftBmc, s: State) -> Any:
    out = []
    for a in enc.srv:
        for b in enc.srv:
            if a >= b:
                continue
            ca, cb = _committed_len(enc, s, a), _committed_len(enc, s, b)
            out += [z3.Implies(z3.And(x <= ca, x <= cb), _same_entry(s, a, b, x))
                    for x in enc.idx]
    return z3.And(out)


def commit_index_in_log(enc: RaftBmc, s: State) -> Any:
    return z3.And([s.commit[i] <= s.llen[i] for i in enc.srv])


#: The properties, in properties/raft.py's order.
PROPERTIES = (election_safety, one_leader_per_term, log_matching, leader_completeness,
              state_machine_safety, commit_index_in_log)


def safety(enc: RaftBmc, s: State) -> list[Conjunct]:
    """Every safety property as a named conjunct."""
    return [Conjunct(fn.__name__, fn(enc, s)) for fn in PROPERTIES]
