"""Sorts of the Raft Z3 encoding, and the passage between explicit Raft states and
Z3 terms: ``concrete`` (an explicit state as terms), ``decode`` (a model's state as
an explicit, projected state) and ``bounded`` (a state's integers in small ranges,
so that a model can be decoded). See symbolic/raft/encoding.py.
"""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.models.raft_types import (
    AEREQ,
    AERESP,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    RVREQ,
    RVRESP,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Election,
    Entry,
    RaftState,
    RequestVoteRequest,
    RequestVoteResponse,
    bag_counts,
)
from agree.symbolic.z3base import Domain, fresh, uid

if TYPE_CHECKING:
    from agree.symbolic.raft.encoding import RaftVars, RaftZ3

__all__ = ["RaftSorts", "bounded", "concrete", "decode"]

Int, Bool = z3.IntSort(), z3.BoolSort()


class RaftSorts:
    """The sorts: servers (an enumeration), roles, None-or-server, values, and the
    AppendEntries payload (no entry, or one entry (term, value))."""

    def __init__(self, servers: int, values: int | None, *, proof: bool, max_term: int,
                 max_log: int) -> None:
        if servers < 1:
            raise ValueError("servers must be at least 1")
        self.n = servers
        self.values_n = values
        self.proof = proof
        self.max_term = max_term
        self.max_log = max_log
        self.sd = Domain("Server", servers, "s")
        assert self.sd.elements is not None
        self.S, self.srv = self.sd.sort, self.sd.elements
        self.vd = Domain("Value", values, "v")
        self.V = self.vd.sort
        self.v0 = (self.vd.elements[0] if self.vd.elements is not None
                   else z3.Const(f"vnil{uid()}", self.V))
        tag = uid()
        self.Role, (self.F, self.C, self.L) = z3.EnumSort(
            f"Role{tag}", [f"Follower.{tag}", f"Candidate.{tag}", f"Leader.{tag}"])
        so = z3.Datatype(f"SOpt{tag}")
        so.declare(f"nil{tag}")
        so.declare(f"some{tag}", (f"who{tag}", self.S))
        self.sopt = so.create()
        self.nil = getattr(self.sopt, f"nil{tag}")
        self.some = getattr(self.sopt, f"some{tag}")
        self.is_some = getattr(self.sopt, f"is_some{tag}")
        self.who = getattr(self.sopt, f"who{tag}")
        en = z3.Datatype(f"Ent{tag}")
        en.declare(f"noent{tag}")
        en.declare(f"ent{tag}", (f"eterm{tag}", Int), (f"evalue{tag}", self.V))
        self.ent = en.create()
        self.noent = getattr(self.ent, f"noent{tag}")
        self.ent_of = getattr(self.ent, f"ent{tag}")
        self.is_ent = getattr(self.ent, f"is_ent{tag}")
        self.eterm = getattr(self.ent, f"eterm{tag}")
        self.evalue = getattr(self.ent, f"evalue{tag}")

    def bag_sorts(self, kind: str) -> tuple[Any, ...]:
        """The field sorts of one message kind (source and destination first, then term)."""
        S = self.S
        return {"rvreq": (S, S, Int, Int, Int), "rvresp": (S, S, Int, Bool),
                "aereq": (S, S, Int, Int, Int, self.ent, Int),
                "aeresp": (S, S, Int, Bool, Int)}[kind]

    def role_of(self, name: str) -> Any:
        return {FOLLOWER: self.F, CANDIDATE: self.C, LEADER: self.L}[name]

    def value(self, v: int) -> Any:
        elems = self.vd.elements
        if elems is None:
            raise ValueError("explicit states need a finite number of values")
        return elems[v]


def _zeros(*sorts: Any, value: Any) -> Any:
    xs = [fresh("x", srt) for srt in sorts]
    return z3.Lambda(xs, value)


def message_key(enc: RaftZ3, m: Any) -> tuple[str, tuple[Any, ...]]:
    """The bag and field tuple of an explicit message (``mlog`` is not encoded)."""
    src, dst = enc.srv[m.msource], enc.srv[m.mdest]
    if m.mtype == RVREQ:
        return "rvreq", (src, dst, m.mterm, m.mlast_log_term, m.mlast_log_index)
    if m.mtype == RVRESP:
        return "rvresp", (src, dst, m.mterm, z3.BoolVal(m.mvote_granted))
    if m.mtype == AEREQ:
        if len(m.mentries) > 1:
            raise ValueError("the encoding sends at most one entry per AppendEntries")
        e = (enc.ent_of(m.mentries[0].term, enc.value(m.mentries[0].value))
             if m.mentries else enc.noent)
        return "aereq", (src, dst, m.mterm, m.mprev_log_index, m.mprev_log_term, e,
                         m.mcommit_index)
    return "aeresp", (src, dst, m.mterm, z3.BoolVal(m.msuccess), m.mmatch_index)


def concrete(enc: RaftZ3, st: RaftState) -> RaftVars:
    """An explicit (projected) state as Z3 terms."""
    from agree.symbolic.raft.encoding import RaftVars
    S, srv = enc.S, enc.srv

    def per(default: Any, xs: Any, conv: Any) -> Any:
        arr = z3.K(S, default)
        for i, x in enumerate(xs):
            arr = z3.Store(arr, srv[i], conv(x))
        return arr

    def matrix(default: Any, rows: Any, conv: Any) -> Any:
        arr = _zeros(S, S, value=default)
        for i, row in enumerate(rows):
            for j, x in enumerate(row):
                arr = z3.Store(arr, srv[i], srv[j], conv(x))
        return arr

    def sets(rows: Any) -> Any:
        return matrix(z3.BoolVal(False), [[j in r for j in range(enc.n)] for r in rows],
                      z3.BoolVal)

    lterm = _zeros(S, Int, value=z3.IntVal(0))
    lval = _zeros(S, Int, value=enc.v0)
    for i, lg in enumerate(st.log):
        for k, e in enumerate(lg, 1):
            lterm = z3.Store(lterm, srv[i], k, e.term)
            lval = z3.Store(lval, srv[i], k, enc.value(e.value))
    bags = {kind: _zeros(*enc.bag_sorts(kind), value=z3.IntVal(0))
            for kind in ("rvreq", "rvresp", "aereq", "aeresp")}
    for m, c in sorted(bag_counts(st.messages).items()):
        kind, key = message_key(enc, m)
        bags[kind] = z3.Store(bags[kind], *key, c)
    elected = _zeros(Int, S, value=z3.BoolVal(False))
    for el in sorted(st.elections):
        elected = z3.Store(elected, el.eterm, srv[el.eleader], True)
    return RaftVars(
        term=per(z3.IntVal(0), st.current_term, z3.IntVal),
        role=per(enc.F, st.state, enc.role_of),
        voted=per(enc.nil, st.voted_for, lambda v: enc.nil if v is None else enc.some(srv[v])),
        commit=per(z3.IntVal(0), st.commit_index, z3.IntVal),
        llen=per(z3.IntVal(0), [len(lg) for lg in st.log], z3.IntVal),
        lterm=lterm, lval=lval, vresp=sets(st.votes_responded), vgrant=sets(st.votes_granted),
        next_idx=matrix(z3.IntVal(0), st.next_index, z3.IntVal),
        match_idx=matrix(z3.IntVal(0), st.match_index, z3.IntVal),
        rvreq=bags["rvreq"], rvresp=bags["rvresp"], aereq=bags["aereq"],
        aeresp=bags["aeresp"], inflight=z3.IntVal(len(st.messages)), elected=elected,
        restarts=z3.IntVal(st.restart_count))


#: Messages per kind, and elections, a decodable state may hold (CTI search).
SLOTS = 2


def bounded(enc: RaftZ3, s: RaftVars, bound: int) -> z3.BoolRef:
    """s is small: every integer in 0..bound+1 (terms from 1), at most SLOTS distinct
    messages of each kind (each at most twice) and SLOTS elections. A model of it
    decodes; with the bags as short chains of stores, Z3 also finds such models
    far more easily than unrestricted ones."""
    hi = bound + 1

    def ok(x: Any, low: int = 0) -> z3.BoolRef:
        return z3.And(x >= low, x <= hi)

    tag = uid()
    # A leader's next_index is at most one past its log (the explicit AppendEntries
    # reads the entry before it): true of every reachable state.
    parts = [z3.And(ok(s.term[i], 1), ok(s.commit[i]), ok(s.llen[i]),
                    *(z3.And(ok(s.next_idx[i, j], 1), ok(s.match_idx[i, j]),
                             z3.Implies(s.role[i] == enc.L, s.next_idx[i, j] <= s.llen[i] + 1))
                      for j in enc.srv))
             for i in enc.srv]
    for kind in ("rvreq", "rvresp", "aereq", "aeresp"):
        bag = _zeros(*enc.bag_sorts(kind), value=z3.IntVal(0))
        for k in range(SLOTS):
            f = [z3.Const(f"slot{tag}.{kind}{k}.{n}", srt)
                 for n, srt in enumerate(enc.bag_sorts(kind))]
            c = z3.Int(f"slot{tag}.{kind}{k}.count")
            parts += [c >= 0, c <= 2, *(ok(x) for x in f if x.sort() == Int),
                      *(z3.Implies(enc.is_ent(x), ok(enc.eterm(x), 1)) for x in f
                        if x.sort() == enc.ent)]
            bag = z3.Store(bag, *f, c)
        parts.append(getattr(s, kind) == bag)
    elected = _zeros(Int, enc.S, value=z3.BoolVal(False))
    for k in range(SLOTS):
        t, lead = z3.Int(f"slot{tag}.el{k}.t"), z3.Const(f"slot{tag}.el{k}.l", enc.S)
        parts.append(ok(t, 1))
        elected = z3.If(z3.Bool(f"slot{tag}.el{k}.on"), z3.Store(elected, t, lead, True),
                        elected)
    parts.append(s.elected == elected)
    return z3.And(parts)


def _entries(model: z3.ModelRef, value: Any) -> tuple[Any, dict[tuple[str, ...], Any]]:
    """A model's array value as (default, {index: value}) when it is a chain of stores
    over a constant array; raises ValueError for any other form."""
    found: dict[tuple[str, ...], Any] = {}
    v = value
    while z3.is_store(v):
        args = [v.arg(k) for k in range(v.num_args())]
        key = tuple(str(a) for a in args[1:-1])
        found.setdefault(key, (args[1:-1], args[-1]))
        v = args[0]
    if z3.is_K(v):
        return v.arg(0), found
    if z3.is_quantifier(v) and v.is_lambda() and not z3.is_var(v.body()) \
            and v.body().num_args() == 0:
        return v.body(), found
    raise ValueError(f"cannot read the array value {v}")


def _cells(enc: RaftZ3, model: z3.ModelRef, bag: Any, kind: str) -> list[tuple[Any, int]]:
    """(fields, count) of every message of one kind in a model's bag."""
    v = model.eval(bag, model_completion=True)
    try:
        default, found = _entries(model, v)
        if model.eval(default, model_completion=True).as_long() != 0:
            raise ValueError("infinitely many messages")
        out = []
        for idx, c in found.values():
            n = model.eval(c, model_completion=True).as_long()
            if n > 0:
                out.append(([model.eval(x, model_completion=True) for x in idx], n))
        return out
    except ValueError:
        pass
    # Enumerate the bounded ranges (slow; for models with other array forms).
    hi = max(enc.max_term, enc.max_log) + 2
    ranges: list[list[Any]] = []
    for srt in enc.bag_sorts(kind):
        if srt == enc.S:
            ranges.append(list(enc.srv))
        elif srt == Int:
            ranges.append([z3.IntVal(x) for x in range(hi + 1)])
        elif srt == Bool:
            ranges.append([z3.BoolVal(False), z3.BoolVal(True)])
        else:
            vals = enc.vd.universe(model)
            ranges.append([enc.noent, *(enc.ent_of(t, x) for t in range(1, hi + 1)
                                        for x in vals)])
    out = []
    for idx in product(*ranges):
        n = model.eval(bag[idx], model_completion=True).as_long()
        if n > 0:
            out.append(([model.eval(x, model_completion=True) for x in idx], n))
    return out


def decode(enc: RaftZ3, model: z3.ModelRef, s: RaftVars) -> RaftState:
    """The explicit (projected) state a model gives s."""
    def ev(x: Any) -> Any:
        return model.eval(x, model_completion=True)

    def num(x: Any) -> int:
        return int(ev(x).as_long())

    def true(x: Any) -> bool:
        return bool(z3.is_true(ev(x)))

    srv = enc.srv
    vals = enc.vd.universe(model)

    def sidx(x: Any) -> int:
        return next(k for k, e in enumerate(srv) if z3.eq(e, ev(x)))

    def vidx(x: Any) -> int:
        return next((k for k, e in enumerate(vals) if z3.eq(e, ev(x))), 0)

    roles = {str(enc.F): FOLLOWER, str(enc.C): CANDIDATE, str(enc.L): LEADER}
    logs = tuple(tuple(Entry(num(s.lterm[i, k]), vidx(s.lval[i, k]))
                       for k in range(1, num(s.llen[i]) + 1)) for i in srv)
    msgs: list[Any] = []
    for fields, c in _cells(enc, model, s.rvreq, "rvreq"):
        src, dst, t, lt, li = fields
        msgs += [RequestVoteRequest(RVREQ, t.as_long(), lt.as_long(), li.as_long(),
                                    sidx(src), sidx(dst))] * c
    for fields, c in _cells(enc, model, s.rvresp, "rvresp"):
        src, dst, t, g = fields
        msgs += [RequestVoteResponse(RVRESP, t.as_long(), z3.is_true(g), (), sidx(src),
                                     sidx(dst))] * c
    for fields, c in _cells(enc, model, s.aereq, "aereq"):
        src, dst, t, prev, pt, e, mc = fields
        ents = ((Entry(num(enc.eterm(e)), vidx(enc.evalue(e))),)
                if true(enc.is_ent(e)) else ())
        msgs += [AppendEntriesRequest(AEREQ, t.as_long(), prev.as_long(), pt.as_long(), ents,
                                      (), mc.as_long(), sidx(src), sidx(dst))] * c
    for fields, c in _cells(enc, model, s.aeresp, "aeresp"):
        src, dst, t, ok, mi = fields
        msgs += [AppendEntriesResponse(AERESP, t.as_long(), z3.is_true(ok), mi.as_long(),
                                       sidx(src), sidx(dst))] * c
    elections = set()
    hi = max(enc.max_term, enc.max_log) + 2
    for t in range(hi + 1):
        for k, a in enumerate(srv):
            if true(s.elected[t, a]):
                elections.add(Election(t, k, (), frozenset(), ()))

    def voted(x: Any) -> int | None:
        return sidx(enc.who(ev(x))) if true(enc.is_some(ev(x))) else None

    def row(arr: Any, i: Any) -> tuple[int, ...]:
        return tuple(num(arr[i, j]) for j in srv)

    def members(arr: Any, i: Any) -> frozenset[int]:
        return frozenset(k for k, j in enumerate(srv) if true(arr[i, j]))

    n = enc.n
    return RaftState(
        messages=tuple(sorted(msgs)), elections=frozenset(elections), all_logs=frozenset(),
        current_term=tuple(num(s.term[i]) for i in srv),
        state=tuple(roles[str(ev(s.role[i]))] for i in srv),
        voted_for=tuple(voted(s.voted[i]) for i in srv), log=logs,
        commit_index=tuple(num(s.commit[i]) for i in srv),
        votes_responded=tuple(members(s.vresp, i) for i in srv),
        votes_granted=tuple(members(s.vgrant, i) for i in srv), voter_log=((),) * n,
        next_index=tuple(row(s.next_idx, i) for i in srv),
        match_index=tuple(row(s.match_idx, i) for i in srv),
        restart_count=num(s.restarts), committed=frozenset())
