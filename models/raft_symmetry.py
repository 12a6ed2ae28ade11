"""Renaming servers (and values) in a Raft state: the ``permute`` of models/raft.py.

raft.tla's configurations declare ``Symmetry == Permutations(Server)`` in
MCraft; a renaming must reach every place a server id occurs, or the
symmetry test (checker/symmetry.py) refuses the run:

* per-server variables are re-indexed (``new[p[i]] = old[i]``), and
  ``next_index``/``match_index`` in both dimensions;
* ids held as values: ``voted_for``, ``votes_responded``, ``votes_granted``,
  the voters of ``voter_log``, every message's ``msource``/``mdest``, each
  election's ``eleader``, ``evotes`` and ``evoter_log``;
* sorted containers (the message bag, ``voter_log``) are sorted again, so the
  image is the very value the spec would have built.

Values occur only in log entries (logs, ``all_logs``, messages' ``mentries``
and ``mlog``, the histories' logs and ``committed``). No action or property
names a particular value or compares values by order, so renaming values is
sound too; with one value (the reference configurations) it is the identity.

Speed: a state is renamed once per group element each time the checker
fingerprints it, so messages and elections (which recur across states) are
renamed through small memo tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agree.models.raft_types import (
    AEREQ,
    RVREQ,
    RVRESP,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Committed,
    Election,
    Entry,
    Log,
    RaftState,
    RequestVoteRequest,
    RequestVoteResponse,
    VoterLog,
)

__all__ = ["RaftPermuter"]

_MEMO = 1 << 15  # entries per memo table before it is cleared


class RaftPermuter:
    """Renames the ids of Raft states; one per spec, holding memo tables per renaming."""

    def __init__(self, servers: int) -> None:
        self.n = servers
        self._msgs: dict[tuple[Any, ...], dict[Any, Any]] = {}
        self._elections: dict[tuple[Any, ...], dict[frozenset[Election], frozenset[Election]]] = {}

    def __call__(self, s: RaftState, ps: Sequence[int] | None,
                 pv: Sequence[int] | None) -> RaftState:
        """The state with server ``i`` renamed ``ps[i]`` and value ``v`` renamed ``pv[v]``
        (``None``: that domain is left as it is)."""
        n = self.n
        p: tuple[int, ...] = tuple(ps) if ps is not None else tuple(range(n))
        vp: tuple[int, ...] | None = tuple(pv) if pv is not None else None
        if vp is not None and vp == tuple(range(len(vp))):
            vp = None
        inv = [0] * n
        for i, j in enumerate(p):
            inv[j] = i

        def lg(x: Log) -> Log:
            return x if vp is None else tuple(Entry(e.term, vp[e.value]) for e in x)

        def voters(vl: VoterLog) -> VoterLog:
            return tuple(sorted((p[v], lg(x)) for v, x in vl))

        def ids(xs: frozenset[int]) -> frozenset[int]:
            return frozenset(p[x] for x in xs) if xs else xs

        def srv(v: int | None) -> int | None:
            return None if v is None else p[v]

        def matrix(rows: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
            return tuple(tuple(rows[a][inv[b]] for b in range(n)) for a in inv)

        key = (p, vp)
        memo = self._msgs.get(key)
        if memo is None or len(memo) >= _MEMO:
            memo = self._msgs[key] = {}
        msgs = []
        for m in s.messages:
            pm = memo.get(m)
            if pm is None:
                pm = memo[m] = _message(m, p, lg)
            msgs.append(pm)
        msgs.sort()

        elections = s.elections
        if elections:
            emem = self._elections.get(key)
            if emem is None or len(emem) >= _MEMO:
                emem = self._elections[key] = {}
            pe = emem.get(elections)
            if pe is None:
                pe = emem[elections] = frozenset(
                    Election(e.eterm, p[e.eleader], lg(e.elog), ids(e.evotes),
                             voters(e.evoter_log)) for e in elections)
            elections = pe

        all_logs = s.all_logs if vp is None else frozenset(lg(x) for x in s.all_logs)
        committed = s.committed
        if vp is not None and committed:
            committed = frozenset(Committed(c.cindex, lg((c.centry,))[0], c.cterm)
                                  for c in committed)
        return RaftState(
            messages=tuple(msgs), elections=elections, all_logs=all_logs,
            current_term=tuple(s.current_term[k] for k in inv),
            state=tuple(s.state[k] for k in inv),
            voted_for=tuple(srv(s.voted_for[k]) for k in inv),
            log=tuple(lg(s.log[k]) for k in inv),
            commit_index=tuple(s.commit_index[k] for k in inv),
            votes_responded=tuple(ids(s.votes_responded[k]) for k in inv),
            votes_granted=tuple(ids(s.votes_granted[k]) for k in inv),
            voter_log=tuple(voters(s.voter_log[k]) if s.voter_log[k] else () for k in inv),
            next_index=matrix(s.next_index), match_index=matrix(s.match_index),
            restart_count=s.restart_count, committed=committed)


def _message(m: Any, p: tuple[int, ...], lg: Any) -> Any:
    """One message with its servers (and the values of its entries) renamed."""
    src, dst = p[m.msource], p[m.mdest]
    if m.mtype == RVREQ:
        return RequestVoteRequest(m.mtype, m.mterm, m.mlast_log_term, m.mlast_log_index,
                                  src, dst)
    if m.mtype == RVRESP:
        return RequestVoteResponse(m.mtype, m.mterm, m.mvote_granted, lg(m.mlog), src, dst)
    if m.mtype == AEREQ:
        return AppendEntriesRequest(m.mtype, m.mterm, m.mprev_log_index, m.mprev_log_term,
                                    lg(m.mentries), lg(m.mlog), m.mcommit_index, src, dst)
    return AppendEntriesResponse(m.mtype, m.mterm, m.msuccess, m.mmatch_index, src, dst)
