"""The Raft Z3 encoding with the proof-only histories of ``history=True`` (models/raft.py):
each term's leader log as it grows, and how far each term's leader committed.

Ghost variables (added to the state of any Raft encoding, the zoo's included, by
:func:`with_history`):

* ``gllen[t]``, ``glt[t][k]``, ``glv[t][k]``: the log of the leader elected in term t,
  as it grows (Verdi's ``leaderLogs``): the explicit ``elog`` of the election of term
  t, which with ``history=True`` grows with each ClientRequest of its leader.
  BecomeLeader sets it to the new leader's log, ClientRequest appends (only for a
  leader with an election recorded in its term, as the explicit spec does). Read only
  where ``elected`` says the term had an election.
* ``von[j, t]``, ``vlt[j, t]``, ``vll[j, t]``: the ``votes_cast`` history: j granted
  its first vote of term t (HandleRequestVoteRequest with ``voted[j]`` nil), with a
  log of last term ``vlt`` and length ``vll`` (Verdi's ``votesWithLog``, as the
  summary the up-to-date check reads; symbolic/raft/votes.py states its lemmas).
* ``ctop[t]``: the highest index a leader of term t committed (0: none), the
  ``committed`` history read as ``max cindex`` per ``cterm``. The committed entries of
  term t are then ``gl[t][1..ctop[t]]``: a leader commits entries of its own log, which
  only grows while it leads. :func:`project_history` normalises the explicit
  ``committed`` to exactly that (it differs from the recorded one only where the
  leader's log was not its election's grown log, which no reachable state has).

Dropped (as in symbolic/raft/encoding.py): ``all_logs``, ``voter_log``, ``mlog``, an
election's votes and voter logs; and several elections in one term keep one grown log
(the zoo variants that elect two leaders in a term break election safety first).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import z3  # type: ignore[import-untyped]

from agree.models.raft_types import Committed, Election, Entry, RaftState, VoteCast
from agree.symbolic.raft.encoding import RaftZ3, project
from agree.symbolic.z3base import Case, Conjunct, fresh

__all__ = ["HistoryVars", "RaftHistoryZ3", "project_history", "with_history"]

Int = z3.IntSort()
GHOSTS = ("gllen", "glt", "glv", "ctop", "von", "vlt", "vll")


class HistoryVars(NamedTuple):
    """RaftVars (same fields, same order) and the ghosts."""

    term: Any
    role: Any
    voted: Any
    commit: Any
    llen: Any
    lterm: Any
    lval: Any
    vresp: Any
    vgrant: Any
    next_idx: Any
    match_idx: Any
    rvreq: Any
    rvresp: Any
    aereq: Any
    aeresp: Any
    inflight: Any
    elected: Any
    restarts: Any
    gllen: Any
    glt: Any
    glv: Any
    ctop: Any
    von: Any
    vlt: Any
    vll: Any


def _grown(state: RaftState) -> dict[int, tuple[Entry, ...]]:
    """Term -> the grown leader log of its election (the last one, if several)."""
    return {e.eterm: e.elog for e in sorted(state.elections)}


def project_history(state: RaftState) -> RaftState:
    """What the history encoding sees of an explicit state: the projection of
    symbolic/raft/encoding.py, but elections keep their (grown) logs, and ``committed``
    is, per term, the prefix of its grown leader log up to the highest index committed."""
    base = project(state)
    logs = _grown(state)
    tops: dict[int, int] = {}
    for c in state.committed:
        tops[c.cterm] = max(tops.get(c.cterm, 0), c.cindex)
    committed = frozenset(Committed(k, logs[t][k - 1], t) for t, top in tops.items()
                          if t in logs for k in range(1, min(top, len(logs[t])) + 1))
    return base._replace(
        elections=frozenset(Election(e.eterm, e.eleader, e.elog, frozenset(), ())
                            for e in state.elections),
        committed=committed)


class HistoryMixin:
    """The ghosts of the module doc, over any RaftZ3 (mixed in before it)."""

    # Attributes of RaftZ3 this mixin reads (typing only).
    S: Any
    V: Any
    v0: Any
    proof: bool
    srv: list[Any]
    max_term: int
    max_log: int

    def fresh_state(self, tag: str) -> Any:
        base = super().fresh_state(tag)  # type: ignore[misc]
        return HistoryVars._make((*base, z3.Array(f"gllen@{tag}", Int, Int),
                                  z3.Array(f"glt@{tag}", Int, Int, Int),
                                  z3.Array(f"glv@{tag}", Int, Int, self.V),
                                  z3.Array(f"ctop@{tag}", Int, Int),
                                  z3.Array(f"von@{tag}", self.S, Int, z3.BoolSort()),
                                  z3.Array(f"vlt@{tag}", self.S, Int, Int),
                                  z3.Array(f"vll@{tag}", self.S, Int, Int)))

    # -- the actions that write the ghosts ---------------------------------------

    def a_become_leader(self, s: Any, tag: str) -> tuple[z3.BoolRef, Any]:
        guard, t = super().a_become_leader(s, tag)  # type: ignore[misc]
        i = z3.Const(f"i@{tag}", self.S)
        term = s.term[i]
        x, k = fresh("t", Int), fresh("k", Int)
        if self.proof:
            glt = z3.Lambda([x, k], z3.If(x == term, s.lterm[i, k], s.glt[x, k]))
            glv = z3.Lambda([x, k], z3.If(x == term, s.lval[i, k], s.glv[x, k]))
        else:
            glt = _copy_row(s.glt, s.lterm, i, term, self.max_log + 2)
            glv = _copy_row(s.glv, s.lval, i, term, self.max_log + 2)
        return guard, t._replace(gllen=z3.Store(s.gllen, term, s.llen[i]), glt=glt, glv=glv)

    def a_client_request(self, s: Any, tag: str) -> tuple[z3.BoolRef, Any]:
        guard, t = super().a_client_request(s, tag)  # type: ignore[misc]
        i, v = z3.Const(f"i@{tag}", self.S), z3.Const(f"v@{tag}", self.V)
        term, k = s.term[i], s.llen[i] + 1
        on = s.elected[term, i]
        return guard, t._replace(
            gllen=z3.If(on, z3.Store(s.gllen, term, k), s.gllen),
            glt=z3.If(on, z3.Store(s.glt, term, k, term), s.glt),
            glv=z3.If(on, z3.Store(s.glv, term, k, v), s.glv))

    def a_handle_request_vote_request(self, s: Any, tag: str) -> tuple[z3.BoolRef, Any]:
        guard, t = super().a_handle_request_vote_request(s, tag)  # type: ignore[misc]
        i = self.msg_params("rvreq", tag)[1]  # type: ignore[attr-defined]
        first = z3.And(t.voted[i] != self.nil, s.voted[i] == self.nil)  # type: ignore[attr-defined]
        term = s.term[i]
        last = self.last_term(s, i)  # type: ignore[attr-defined]
        return guard, t._replace(
            von=z3.If(first, z3.Store(s.von, i, term, True), s.von),
            vlt=z3.If(first, z3.Store(s.vlt, i, term, last), s.vlt),
            vll=z3.If(first, z3.Store(s.vll, i, term, s.llen[i]), s.vll))

    def a_advance_commit_index(self, s: Any, tag: str) -> tuple[z3.BoolRef, Any]:
        guard, t = super().a_advance_commit_index(s, tag)  # type: ignore[misc]
        i = z3.Const(f"i@{tag}", self.S)
        new, old, term = t.commit[i], s.commit[i], s.term[i]
        top = z3.If(z3.And(new > old, new > s.ctop[term]), new, s.ctop[term])
        return guard, t._replace(ctop=z3.Store(s.ctop, term, top))

    # -- invariants -----------------------------------------------------------------

    def invariants(self, s: Any) -> list[Conjunct]:
        from agree.symbolic.raft.invariant_history import complete
        if getattr(self, "part", "all") != "complete":
            return super().invariants(s)  # type: ignore[misc,no-any-return]
        return complete(self, s)  # type: ignore[arg-type]

    def safety(self, s: Any) -> list[Conjunct]:
        from agree.symbolic.raft.invariant_history import complete_safety
        if getattr(self, "part", "all") != "complete":
            return super().safety(s)  # type: ignore[misc,no-any-return]
        return complete_safety(self, s)  # type: ignore[arg-type]

    def cases(self, label: str | None, conjunct: str, s: Any, t: Any, tag: str,
              goal: z3.BoolRef | None = None) -> list[Case] | None:
        """--part complete: the splits of symbolic/raft/cases.py."""
        if getattr(self, "part", "all") != "complete":
            return super().cases(label, conjunct, s, t, tag, goal)  # type: ignore[misc,no-any-return]
        from agree.symbolic.raft.cases import history_cases
        return history_cases(self, label, conjunct, s, t, tag, goal)  # type: ignore[arg-type]

    # -- explicit states --------------------------------------------------------------

    def project(self, state: RaftState) -> RaftState:
        return project_history(state)

    def concrete(self, state: RaftState) -> Any:
        base = super().concrete(state)  # type: ignore[misc]
        st = project_history(state)
        gllen: Any = z3.K(Int, z3.IntVal(0))
        glt: Any = z3.Lambda([fresh("t", Int), fresh("k", Int)], z3.IntVal(0))
        glv: Any = z3.Lambda([fresh("t", Int), fresh("k", Int)], self.v0)
        for t, lg in sorted(_grown(st).items()):
            gllen = z3.Store(gllen, t, len(lg))
            for k, e in enumerate(lg, 1):
                glt = z3.Store(glt, t, k, e.term)
                glv = z3.Store(glv, t, k, self.value(e.value))  # type: ignore[attr-defined]
        ctop: Any = z3.K(Int, z3.IntVal(0))
        tops: dict[int, int] = {}
        for c in st.committed:
            tops[c.cterm] = max(tops.get(c.cterm, 0), c.cindex)
        for t, top in sorted(tops.items()):
            ctop = z3.Store(ctop, t, top)
        a, u = fresh("a", self.S), fresh("t", Int)
        von: Any = z3.Lambda([a, u], z3.BoolVal(False))
        vlt: Any = z3.Lambda([a, u], z3.IntVal(0))
        vll: Any = z3.Lambda([a, u], z3.IntVal(0))
        for v in sorted(st.votes_cast):
            j = self.srv[v.vvoter]
            von = z3.Store(von, j, v.vterm, True)
            vlt = z3.Store(vlt, j, v.vterm, v.vlast_term)
            vll = z3.Store(vll, j, v.vterm, v.vlast_index)
        return HistoryVars._make((*base, gllen, glt, glv, ctop, von, vlt, vll))

    def bounded(self, s: Any, bound: int) -> z3.BoolRef:
        base = super().bounded(s, bound)  # type: ignore[misc]
        hi = bound + 1
        t, k = fresh("t", Int), fresh("k", Int)
        inside = z3.And(t >= 0, t <= hi)
        return z3.And(base, z3.ForAll([t], z3.And(
            s.ctop[t] >= 0, s.ctop[t] <= hi, s.gllen[t] >= 0, s.gllen[t] <= hi,
            z3.Implies(z3.Not(inside), z3.And(s.ctop[t] == 0, s.gllen[t] == 0)))),
            z3.ForAll([t, k], z3.And(s.glt[t, k] >= 0, s.glt[t, k] <= hi)),
            *(z3.ForAll([t], z3.And(s.vlt[j, t] >= 0, s.vlt[j, t] <= hi, s.vll[j, t] >= 0,
                                    s.vll[j, t] <= hi,
                                    z3.Implies(z3.Not(inside), z3.Not(s.von[j, t]))))
              for j in self.srv))

    def decode(self, model: z3.ModelRef, s: Any, bound: int) -> RaftState:
        base: RaftState = super().decode(model, s, bound)  # type: ignore[misc]
        vals = self.vd.universe(model)  # type: ignore[attr-defined]

        def num(x: Any) -> int:
            return int(model.eval(x, model_completion=True).as_long())

        def vidx(x: Any) -> int:
            v = model.eval(x, model_completion=True)
            return next((n for n, e in enumerate(vals) if z3.eq(e, v)), 0)

        def grown(t: int) -> tuple[Entry, ...]:
            return tuple(Entry(num(s.glt[t, k]), vidx(s.glv[t, k]))
                         for k in range(1, num(s.gllen[t]) + 1))
        elections = frozenset(e._replace(elog=grown(e.eterm)) for e in base.elections)
        logs = {e.eterm: e.elog for e in sorted(elections)}
        hi = max(self.max_term, self.max_log, bound) + 2
        committed = frozenset(
            Committed(k, logs[t][k - 1], t) for t in range(hi + 1) if t in logs
            for k in range(1, min(num(s.ctop[t]), len(logs[t])) + 1))
        votes = frozenset(
            VoteCast(t, n, num(s.vlt[j, t]), num(s.vll[j, t]))
            for n, j in enumerate(self.srv) for t in range(hi + 1)
            if z3.is_true(model.eval(s.von[j, t], model_completion=True)))
        return base._replace(elections=elections, committed=committed, votes_cast=votes)

    def explicit_params(self, model: z3.ModelRef, bound: int) -> dict[str, Any]:
        return {**super().explicit_params(model, bound), "history": True}  # type: ignore[misc]


def _copy_row(dst: Any, src: Any, i: Any, term: Any, n: int) -> Any:
    """dst with row ``term`` set to src's row i at indexes 0..n-1 (bounded mode)."""
    for k in range(n):
        dst = z3.Store(dst, term, k, src[i, k])
    return dst


class RaftHistoryZ3(HistoryMixin, RaftZ3):
    """raft.tla with the histories of ``history=True`` (see the module doc)."""

    spec_name = "raft"


def with_history(cls: type[RaftZ3]) -> type[RaftZ3]:
    """``cls`` (RaftZ3 or a zoo encoding) with the ghosts mixed in."""
    if issubclass(cls, HistoryMixin):
        return cls
    if cls is RaftZ3:
        return RaftHistoryZ3
    return type(f"{cls.__name__}History", (HistoryMixin, cls), {"spec_name": cls.spec_name})
