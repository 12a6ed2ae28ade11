"""Raft's invariants in Z3: the safety properties of properties/raft.py and the
helper lemmas of properties/raft_lemmas.py, each named like its Python twin.

The inductive invariant ``agree prove raft`` checks is ``type_ok``, the election
lemmas, the log lemmas, and the three properties it proves inductive:
``election_safety`` (history form: one leader per term over all elections),
``one_leader_per_term`` (state form) and ``log_matching``. Leader completeness,
state machine safety and commit_index_in_log are encoded (for BMC) but not
part of the proof.

Servers are unfolded (n is fixed); terms, indexes and message fields are
quantified. In bounded mode (BMC) the safety properties unfold their index
quantifiers over 0..max_log+1 instead, so each unrolled step stays
quantifier-free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.z3base import Conjunct, fresh

if TYPE_CHECKING:
    from agree.symbolic.raft.encoding import RaftVars, RaftZ3

__all__ = ["ELECTION", "LOG", "SAFETY", "inductive", "safety"]

Int = z3.IntSort()
Fn = Callable[..., z3.BoolRef]


def _all_ints(n: int, fn: Fn, patterns: Any = None) -> z3.BoolRef:
    """For all n integers. ``patterns(*xs)``: the triggers Z3 instantiates the formula
    at, each a term or a tuple of terms (a multi-pattern). They are dropped unless every
    term reads a state variable: a next state's updated array is no pattern, and such a
    formula is a goal, whose quantifiers Z3 skolemises rather than instantiates."""
    xs = [fresh("k", Int) for _ in range(n)]
    pats = [] if patterns is None else [p if isinstance(p, tuple) else (p,)
                                        for p in patterns(*xs)]
    if not pats or not all(_reads_state(t) for p in pats for t in p):
        return z3.ForAll(xs, fn(*xs))
    return z3.ForAll(xs, fn(*xs), patterns=[z3.MultiPattern(*p) for p in pats])


def _reads_state(t: Any) -> bool:
    return bool(z3.is_app(t) and t.decl().kind() == z3.Z3_OP_SELECT
                and z3.is_const(t.arg(0)))


def _indexes(enc: RaftZ3, n: int, fn: Fn) -> z3.BoolRef:
    """For all n log indexes: quantified (proofs) or 0..max_log+1 (bounded)."""
    if enc.proof:
        return _all_ints(n, fn)
    rng = range(enc.max_log + 2)

    def go(args: list[Any], left: int) -> list[z3.BoolRef]:
        if left == 0:
            return [fn(*args)]
        return [f for k in rng for f in go([*args, z3.IntVal(k)], left - 1)]
    return z3.And(go([], n))


def _msgs(enc: RaftZ3, s: Any, kind: str, fn: Fn) -> z3.BoolRef:
    """For every message of a kind in flight (fields as arguments); ``s`` a RaftVars or
    a HistoryVars (symbolic/raft/history.py: the same fields first)."""
    bag = getattr(s, kind)
    xs = [fresh("f", srt) for srt in enc.bag_sorts(kind)]
    return z3.ForAll(xs, z3.Implies(bag[tuple(xs)] > 0, fn(*xs)))


def _pairs(enc: RaftZ3) -> list[tuple[Any, Any]]:
    return [(a, b) for k, a in enumerate(enc.srv) for b in enc.srv[k + 1:]]


# -- safety (properties/raft.py) ------------------------------------------------------


def _each_term(bodies: Callable[[Any], list[z3.BoolRef]]) -> z3.BoolRef:
    """For all terms t, every body(t): one quantifier, not one per server pair. Z3 then
    matches and instantiates it once per term where a quantifier per pair (50 of them
    for vote_resp_unique with 5 servers) multiplies the instances by the pairs."""
    return _all_ints(1, lambda t: z3.And(bodies(t) or [z3.BoolVal(True)]))


def election_safety(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return _each_term(lambda t: [z3.Not(z3.And(s.elected[t, a], s.elected[t, b]))
                                 for a, b in _pairs(enc)])


def one_leader_per_term(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return z3.And([z3.Not(z3.And(s.role[a] == enc.L, s.role[b] == enc.L,
                                 s.term[a] == s.term[b])) for a, b in _pairs(enc)]
                  or [z3.BoolVal(True)])


def same_entry(s: RaftVars, a: Any, b: Any, k: Any) -> z3.BoolRef:
    return z3.And(s.lterm[a, k] == s.lterm[b, k], s.lval[a, k] == s.lval[b, k])


def log_matching(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    def pair(a: Any, b: Any) -> z3.BoolRef:
        return _indexes(enc, 2, lambda n, k: z3.Implies(
            z3.And(k >= 1, k <= n, n <= s.llen[a], n <= s.llen[b],
                   s.lterm[a, n] == s.lterm[b, n]), same_entry(s, a, b, k)))
    return z3.And([pair(a, b) for a, b in _pairs(enc)] or [z3.BoolVal(True)])


def committed_len(s: RaftVars, i: Any) -> Any:
    """len(committed_prefix(s, i)): min(commit_index, log length)."""
    return z3.If(s.commit[i] < s.llen[i], s.commit[i], s.llen[i])


def leader_completeness(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    def pair(i: Any, j: Any) -> z3.BoolRef:
        c = committed_len(s, j)
        return z3.Implies(z3.And(s.role[i] == enc.L, s.term[j] <= s.term[i]), z3.And(
            c <= s.llen[i],
            _indexes(enc, 1, lambda k: z3.Implies(z3.And(k >= 1, k <= c),
                                                  same_entry(s, i, j, k)))))
    return z3.And([pair(i, j) for i in enc.srv for j in enc.srv])


def state_machine_safety(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    def pair(a: Any, b: Any) -> z3.BoolRef:
        ca, cb = committed_len(s, a), committed_len(s, b)
        return _indexes(enc, 1, lambda k: z3.Implies(
            z3.And(k >= 1, k <= ca, k <= cb), same_entry(s, a, b, k)))
    return z3.And([pair(a, b) for a, b in _pairs(enc)] or [z3.BoolVal(True)])


def commit_index_in_log(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return z3.And([s.commit[i] <= s.llen[i] for i in enc.srv])


def leader_append_only(enc: RaftZ3, s: RaftVars, t: RaftVars) -> z3.BoolRef:
    """A step keeps every log of a server that is leader of the same term before and
    after as a prefix of its new log (an action property: over s and t)."""
    def kept(i: Any) -> z3.BoolRef:
        return z3.Implies(
            z3.And(s.role[i] == enc.L, t.role[i] == enc.L, s.term[i] == t.term[i]),
            z3.And(s.llen[i] <= t.llen[i], _indexes(enc, 1, lambda k: z3.Implies(
                z3.And(k >= 1, k <= s.llen[i]),
                z3.And(s.lterm[i, k] == t.lterm[i, k], s.lval[i, k] == t.lval[i, k])))))
    return z3.And([kept(i) for i in enc.srv])


# -- lemmas (properties/raft_lemmas.py) --------------------------------------------------


def type_ok(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    per = [z3.And(s.term[i] >= 1, s.llen[i] >= 0, s.commit[i] >= 0,
                  *(z3.And(s.next_idx[i, j] >= 1, s.match_idx[i, j] >= 0) for j in enc.srv))
           for i in enc.srv]
    return z3.And(*per, s.restarts >= 0,
                  _msgs(enc, s, "aereq", lambda src, dst, t, p, pt, e, c: z3.And(
                      p >= 0, c >= 0, z3.Implies(p == 0, pt == 0))),
                  _msgs(enc, s, "aeresp", lambda src, dst, t, ok, m: m >= 0))


def not_follower(enc: RaftZ3, s: RaftVars, c: Any) -> z3.BoolRef:
    return s.role[c] != enc.F


def leader_has_quorum(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    def has(c: Any) -> z3.BoolRef:
        return z3.Implies(s.role[c] == enc.L, enc.quorum(lambda j: s.vgrant[c, j]))
    return z3.And([has(c) for c in enc.srv])


def voted_for_in(enc: RaftZ3, s: RaftVars, j: Any, c: Any, t: Any) -> z3.BoolRef:
    """j's term is at least t, and if it is t, j voted for c."""
    return z3.And(s.term[j] >= t, z3.Implies(s.term[j] == t, s.voted[j] == enc.some(c)))


def vgrant_voted(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return z3.And([z3.Implies(z3.And(not_follower(enc, s, c), s.vgrant[c, j]),
                              voted_for_in(enc, s, j, c, s.term[c]))
                   for c in enc.srv for j in enc.srv])


def granted(s: RaftVars, j: Any, c: Any, t: Any) -> z3.BoolRef:
    """A granted vote response of term t from j to c is in flight."""
    return s.rvresp[j, c, t, True] > 0


def vote_resp_voted(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return _each_term(lambda t: [z3.Implies(granted(s, j, c, t), voted_for_in(enc, s, j, c, t))
                                 for j in enc.srv for c in enc.srv])


def vote_resp_unique(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return _each_term(lambda t: [z3.Not(z3.And(granted(s, j, a, t), granted(s, j, b, t)))
                                 for j in enc.srv for a, b in _pairs(enc)])


def vote_resp_tallied(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return z3.And([z3.Not(z3.And(granted(s, j, c, s.term[c2]), not_follower(enc, s, c2),
                                 s.vgrant[c2, j]))
                   for j in enc.srv for c in enc.srv for c2 in enc.srv if not z3.eq(c, c2)])


def vgrant_disjoint(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return z3.And([z3.Implies(
        z3.And(not_follower(enc, s, a), not_follower(enc, s, b), s.term[a] == s.term[b]),
        z3.And([z3.Not(z3.And(s.vgrant[a, j], s.vgrant[b, j])) for j in enc.srv]))
        for a, b in _pairs(enc)] or [z3.BoolVal(True)])


def elected_quorum(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    """An elected leader of term t keeps a quorum of voters bound to it in t."""
    def bound_to(j: Any, c: Any, t: Any) -> z3.BoolRef:
        others = [c2 for c2 in enc.srv if not z3.eq(c2, c)]
        return z3.And(voted_for_in(enc, s, j, c, t), *(z3.And(
            z3.Not(granted(s, j, c2, t)),
            z3.Not(z3.And(not_follower(enc, s, c2), s.term[c2] == t, s.vgrant[c2, j])))
            for c2 in others))
    return z3.And([_all_ints(1, lambda t, c=c: z3.Implies(
        s.elected[t, c], enc.quorum(lambda j: bound_to(j, c, t)))) for c in enc.srv])


def leader_elected(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return z3.And([z3.Implies(s.role[c] == enc.L, s.elected[s.term[c], c]) for c in enc.srv])


def elected_term_le(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return z3.And([_all_ints(1, lambda t, c=c: z3.Implies(s.elected[t, c], t <= s.term[c]))
                   for c in enc.srv])


def candidate_not_elected(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    return z3.And([z3.Implies(s.role[c] == enc.C, z3.Not(s.elected[s.term[c], c]))
                   for c in enc.srv])


def _ae_entry(enc: RaftZ3, s: RaftVars, fn: Fn) -> z3.BoolRef:
    """For every AppendEntries request carrying an entry: fn(prev, prev_term, term, value)."""
    return _msgs(enc, s, "aereq", lambda src, dst, t, p, pt, e, c: z3.Implies(
        enc.is_ent(e), fn(p, pt, enc.eterm(e), enc.evalue(e))))


def aereq_log_match(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    """An entry in flight and a log holding an entry of its term at its index agree on
    the value and on the term before it."""
    def fn(p: Any, pt: Any, et: Any, ev: Any) -> z3.BoolRef:
        return z3.And([z3.Implies(z3.And(p + 1 <= s.llen[lg], s.lterm[lg, p + 1] == et),
                                  z3.And(s.lval[lg, p + 1] == ev, enc.term_at(s, lg, p) == pt))
                       for lg in enc.srv])
    return _ae_entry(enc, s, fn)


def aereq_match(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    """Two entries in flight at one index with one term agree on value and previous term."""
    return _ae_entry(enc, s, lambda p, pt, et, ev: _ae_entry(
        enc, s, lambda p2, pt2, et2, ev2: z3.Implies(
            z3.And(p == p2, et == et2), z3.And(ev == ev2, pt == pt2))))


def leader_log_entries(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    """A leader holds every entry of its term that any log holds."""
    def pair(i: Any, lg: Any) -> z3.BoolRef:
        return _all_ints(1, lambda k: z3.Implies(
            z3.And(s.role[i] == enc.L, k >= 1, k <= s.llen[lg], s.lterm[lg, k] == s.term[i]),
            z3.And(k <= s.llen[i], same_entry(s, i, lg, k))))
    return z3.And([pair(i, lg) for i in enc.srv for lg in enc.srv if not z3.eq(i, lg)])


def leader_msg_entries(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    """A leader holds every entry of its term in flight, at its index."""
    return z3.And([_ae_entry(enc, s, lambda p, pt, et, ev, i=i: z3.Implies(
        z3.And(s.role[i] == enc.L, et == s.term[i]),
        z3.And(p + 1 <= s.llen[i], s.lterm[i, p + 1] == et, s.lval[i, p + 1] == ev)))
        for i in enc.srv])


def elected_in(enc: RaftZ3, s: Any, t: Any) -> z3.BoolRef:
    """Term t had an election (``s``: RaftVars or HistoryVars)."""
    return z3.Or([s.elected[t, c] for c in enc.srv])


def entries_elected(enc: RaftZ3, s: RaftVars) -> z3.BoolRef:
    """Every entry, in a log or in flight, has the term of an election."""
    logs = [_all_ints(1, lambda k, lg=lg: z3.Implies(
        z3.And(k >= 1, k <= s.llen[lg]), elected_in(enc, s, s.lterm[lg, k])))
        for lg in enc.srv]
    return z3.And(*logs, _ae_entry(enc, s, lambda p, pt, et, ev: elected_in(enc, s, et)))


#: Names in report order. SAFETY: what BMC looks for; ELECTION and LOG: the lemmas.
SAFETY = ("election_safety", "one_leader_per_term", "log_matching", "leader_completeness",
          "state_machine_safety", "commit_index_in_log")
PROVED = ("election_safety", "one_leader_per_term", "log_matching")
ELECTION = ("type_ok", "leader_has_quorum", "vgrant_voted", "vote_resp_voted",
            "vote_resp_unique", "vote_resp_tallied", "vgrant_disjoint", "elected_quorum",
            "election_safety", "one_leader_per_term")
LOG = ("leader_elected", "elected_term_le", "candidate_not_elected", "aereq_log_match",
       "aereq_match", "leader_log_entries", "leader_msg_entries", "entries_elected",
       "log_matching")


def conjunct(enc: RaftZ3, s: RaftVars, name: str) -> Conjunct:
    fn: Fn = globals()[name]
    return Conjunct(name, fn(enc, s))


def inductive(enc: RaftZ3, s: RaftVars) -> list[Conjunct]:
    names = ELECTION if enc.part == "election" else (*ELECTION, *LOG)
    return [conjunct(enc, s, n) for n in names]


def step_safety(enc: RaftZ3, s: RaftVars, t: RaftVars) -> list[Conjunct]:
    """In proofs of the whole invariant (``--part all``): leader append-only."""
    if not enc.proof or enc.part != "all":
        return []
    return [Conjunct("leader_append_only", leader_append_only(enc, s, t))]


def safety(enc: RaftZ3, s: RaftVars) -> list[Conjunct]:
    """In proofs the properties proved (the invariant must imply them); in BMC all."""
    names = SAFETY if not enc.proof else tuple(
        n for n in PROVED if enc.part != "election" or n != "log_matching")
    return [conjunct(enc, s, n) for n in names]
