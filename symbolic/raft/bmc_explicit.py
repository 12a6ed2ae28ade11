"""Explicit Raft states and the scalar states of symbolic/raft/bmc.py: an explicit
state as constants (``concrete``, its bag in sorted order) and a model's (or a constant
state's) values read back as the explicit state projected like symbolic/raft/encoding.py's
``project`` (no ``mlog``, ``all_logs``, ``voter_log`` or election details)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import z3  # type: ignore[import-untyped]

from agree.models.raft_types import (
    AEREQ,
    AERESP,
    RVREQ,
    RVRESP,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Election,
    Entry,
    RaftState,
    RequestVoteRequest,
    RequestVoteResponse,
)
from agree.symbolic.raft.encoding import project

if TYPE_CHECKING:
    from agree.symbolic.raft.bmc import Msg, RaftBmc, State

__all__ = ["concrete", "concrete_msg", "decode", "read"]


def concrete(self: RaftBmc, state: RaftState) -> State:
    """An explicit state as Z3 constants (its bag in sorted order)."""
    from agree.symbolic.raft.bmc import ROLE_NAMES, State
    st = project(state)
    k, n = self.k, self.n
    lt = tuple(tuple(k(lg[x - 1].term if x <= len(lg) else 0) for x in self.idx)
               for lg in st.log)
    lv = tuple(tuple(k(lg[x - 1].value if x <= len(lg) else 0) for x in self.idx)
               for lg in st.log)
    msgs = [concrete_msg(self, m) for m in st.messages]
    if len(msgs) > len(self.slots):
        raise ValueError("more messages than the encoding's slots")
    msgs += [self.zero_msg()] * (len(self.slots) - len(msgs))
    el = {(e.eterm, e.eleader) for e in st.elections}
    return State(
        term=tuple(k(x) for x in st.current_term),
        role=tuple(k(ROLE_NAMES.index(r)) for r in st.state),
        voted=tuple(k(n if v is None else v) for v in st.voted_for),
        commit=tuple(k(x) for x in st.commit_index),
        llen=tuple(k(len(lg)) for lg in st.log), lterm=lt, lval=lv,
        vresp=tuple(tuple(z3.BoolVal(j in r) for j in self.srv)
                    for r in st.votes_responded),
        vgrant=tuple(tuple(z3.BoolVal(j in g) for j in self.srv)
                     for g in st.votes_granted),
        nxt=tuple(tuple(k(x) for x in row) for row in st.next_index),
        match=tuple(tuple(k(x) for x in row) for row in st.match_index),
        elected=tuple(tuple(z3.BoolVal((t, i) in el) for i in self.srv)
                      for t in range(1, self.max_term + 1)),
        restarts=k(st.restart_count), msgs=tuple(msgs))


def concrete_msg(self: RaftBmc, m: Any) -> Msg:
    """One message as a slot of constants."""
    from agree.symbolic.raft.bmc import K_AEREQ, K_AERESP, K_RVREQ, K_RVRESP
    if m.mtype == RVREQ:
        return self.msg(K_RVREQ, m.mterm, m.msource, m.mdest, f1=m.mlast_log_term,
                        f2=m.mlast_log_index)
    if m.mtype == RVRESP:
        return self.msg(K_RVRESP, m.mterm, m.msource, m.mdest, flag=m.mvote_granted)
    if m.mtype == AEREQ:
        e = m.mentries[0] if m.mentries else Entry(0, 0)
        return self.msg(K_AEREQ, m.mterm, m.msource, m.mdest, flag=bool(m.mentries),
                        f1=m.mprev_log_index, f2=m.mprev_log_term, f3=e.term, f4=e.value,
                        f5=m.mcommit_index)
    return self.msg(K_AERESP, m.mterm, m.msource, m.mdest, flag=m.msuccess,
                    f1=m.mmatch_index)


def decode(self: RaftBmc, model: z3.ModelRef, s: State) -> RaftState:
    """The (projected) explicit state a model gives s."""
    return read(self, lambda x: model.eval(x, model_completion=True), s)


def read(self: RaftBmc, value: Any, s: State) -> RaftState:
    """The explicit state of s, ``value`` giving each scalar's value (a model's
    evaluation, or ``z3.simplify`` for a state of constants)."""
    from agree.symbolic.raft.bmc import K_AEREQ, K_RVREQ, K_RVRESP, ROLE_NAMES
    def i(x: Any) -> int:
        return int(value(x).as_long())

    def b(x: Any) -> bool:
        return bool(z3.is_true(value(x)))

    srv = self.srv
    logs = tuple(tuple(Entry(i(s.lterm[a][x - 1]), i(s.lval[a][x - 1]))
                       for x in range(1, i(s.llen[a]) + 1)) for a in srv)
    msgs: list[Any] = []
    for m in s.msgs:
        if not b(m.valid):
            continue
        kind, term, src, dst = i(m.kind), i(m.term), i(m.src), i(m.dst)
        if kind == K_RVREQ:
            msgs.append(RequestVoteRequest(RVREQ, term, i(m.f1), i(m.f2), src, dst))
        elif kind == K_RVRESP:
            msgs.append(RequestVoteResponse(RVRESP, term, b(m.flag), (), src, dst))
        elif kind == K_AEREQ:
            ents = (Entry(i(m.f3), i(m.f4)),) if b(m.flag) else ()
            msgs.append(AppendEntriesRequest(AEREQ, term, i(m.f1), i(m.f2), ents, (),
                                             i(m.f5), src, dst))
        else:
            msgs.append(AppendEntriesResponse(AERESP, term, b(m.flag), i(m.f1), src, dst))
    voted = tuple(None if i(v) == self.nil else i(v) for v in s.voted)
    return RaftState(
        messages=tuple(sorted(msgs)),
        elections=frozenset(Election(t + 1, a, (), frozenset(), ())
                            for t, row in enumerate(s.elected) for a in srv if b(row[a])),
        all_logs=frozenset(), current_term=tuple(i(x) for x in s.term),
        state=tuple(ROLE_NAMES[i(r)] for r in s.role), voted_for=voted, log=logs,
        commit_index=tuple(i(x) for x in s.commit),
        votes_responded=tuple(frozenset(j for j in srv if b(r[j])) for r in s.vresp),
        votes_granted=tuple(frozenset(j for j in srv if b(g[j])) for g in s.vgrant),
        voter_log=((),) * self.n,
        next_index=tuple(tuple(i(x) for x in row) for row in s.nxt),
        match_index=tuple(tuple(i(x) for x in row) for row in s.match),
        restart_count=i(s.restarts), committed=frozenset())
