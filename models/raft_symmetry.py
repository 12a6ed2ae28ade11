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

import itertools
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from agree.models.raft_types import (
    AEREQ,
    RVRESP,
    Election,
    Entry,
    Log,
    RaftState,
    VoterLog,
)

__all__ = ["RaftPermuter"]

_MEMO = 1 << 15  # entries per memo table (the message table is cleared when full)


class RaftPermuter:
    """Renames the ids of Raft states; one per spec, holding memo tables per renaming."""

    def __init__(self, servers: int, configs: bool = False) -> None:
        self.n = servers
        self.configs = configs  # logs may hold configuration entries (models/raft_reconfig.py)
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        self._by_id: dict[int, tuple[Any, _Plan]] = {}  # the checker reuses its group's dicts

    def __call__(self, s: RaftState, perms: Mapping[str, Sequence[int]]) -> RaftState:
        """The state with server ``i`` renamed ``perms["servers"][i]`` and value ``v``
        renamed ``perms["values"][v]`` (a domain not in ``perms`` is left as it is)."""
        known = self._by_id.get(id(perms))
        if known is not None and known[0] is perms:
            return known[1].apply(s)
        ps, pv = perms.get("servers"), perms.get("values")
        key = (None if ps is None else tuple(ps), None if pv is None else tuple(pv))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self.n, *key, configs=self.configs)
        if len(self._by_id) > 4096:
            self._by_id.clear()
        self._by_id[id(perms)] = (perms, plan)  # holding perms keeps its id from being reused
        return plan.apply(s)


class _Plan:
    """One renaming, with what it needs precomputed and its memo tables."""

    def __init__(self, n: int, ps: tuple[int, ...] | None, pv: tuple[int, ...] | None,
                 configs: bool = False) -> None:
        p = ps if ps is not None else tuple(range(n))
        self.p = p
        self.vp = None if pv is None or pv == tuple(range(len(pv))) else pv
        # Configuration entries (value < 0, a ``members`` field) name servers: with them,
        # logs change under a renaming of servers too.
        self.configs = configs and p != tuple(range(n))
        self.renames_logs = self.vp is not None or self.configs
        self.logs: dict[Log, Log] = {}
        inv = [0] * n
        for i, j in enumerate(p):
            inv[j] = i
        # reindex(t) = (t[inv[0]], t[inv[1]], ...): new position p[i] holds old t[i]
        self.reindex: Any = (lambda t: (t[0],)) if n == 1 else itemgetter(*inv)
        self.server: dict[int | None, int | None] = {None: None, **dict(enumerate(p))}
        subsets = itertools.chain.from_iterable(
            itertools.combinations(range(n), k) for k in range(n + 1))
        self.sets = {frozenset(xs): frozenset(p[x] for x in xs) for xs in subsets}
        self.msgs: dict[Any, Any] = {}
        self.elections: dict[frozenset[Election], frozenset[Election]] = {}
        self.voters: dict[VoterLog, VoterLog] = {(): ()}

    def log(self, x: Log) -> Log:
        if not self.renames_logs:
            return x
        out = self.logs.get(x)
        if out is None:
            out = tuple(map(self.entry, x))
            if len(self.logs) < _MEMO:
                self.logs[x] = out
        return out

    def entry(self, e: Any) -> Any:
        if e.value < 0:  # a configuration entry: rename its members
            return e._replace(members=tuple(sorted(self.p[m] for m in e.members)))
        vp = self.vp
        return e if vp is None else Entry(term=e.term, value=vp[e.value])

    def voter_log(self, vl: VoterLog) -> VoterLog:
        out = self.voters.get(vl)
        if out is None:
            p, log = self.p, self.log
            out = tuple(sorted((p[v], log(x)) for v, x in vl))
            if len(self.voters) < _MEMO:
                self.voters[vl] = out
        return out

    def apply(self, s: RaftState) -> RaftState:
        reindex = self.reindex
        memo = self.msgs
        if len(memo) >= _MEMO:
            memo.clear()
        msgs = []
        for m in s.messages:
            pm = memo.get(m)
            if pm is None:
                pm = memo[m] = _message(m, self.p, self.log)
            msgs.append(pm)
        if len(msgs) > 1:
            msgs.sort()

        elections = s.elections
        if elections:
            pe = self.elections.get(elections)
            if pe is None:
                p, log, ids = self.p, self.log, self.sets.__getitem__
                pe = frozenset(e._replace(eleader=p[e.eleader], elog=log(e.elog),
                                          evotes=ids(e.evotes),
                                          evoter_log=self.voter_log(e.evoter_log))
                               for e in elections)
                if len(self.elections) < _MEMO:
                    self.elections[elections] = pe
            elections = pe

        all_logs, committed, logs = s.all_logs, s.committed, reindex(s.log)
        if self.renames_logs:
            log = self.log
            all_logs = frozenset(map(log, all_logs))
            logs = tuple(map(log, logs))
            committed = frozenset(c._replace(centry=log((c.centry,))[0]) for c in committed)
        server, ids, voters = self.server.__getitem__, self.sets.__getitem__, self.voter_log
        # RaftState._make: the fields in declaration order (models/raft_types.py)
        return RaftState._make((
            tuple(msgs), elections, all_logs,
            reindex(s.current_term), reindex(s.state),
            tuple(map(server, reindex(s.voted_for))), logs, reindex(s.commit_index),
            tuple(map(ids, reindex(s.votes_responded))),
            tuple(map(ids, reindex(s.votes_granted))),
            tuple(map(voters, reindex(s.voter_log))),
            tuple(map(reindex, reindex(s.next_index))),
            tuple(map(reindex, reindex(s.match_index))),
            s.restart_count, committed,
            frozenset(v._replace(vvoter=self.p[v.vvoter]) for v in s.votes_cast)))


def _message(m: Any, p: tuple[int, ...], lg: Any) -> Any:
    """One message with its servers (and the values of its entries) renamed."""
    src, dst = p[m.msource], p[m.mdest]
    if m.mtype in (RVRESP, AEREQ):
        m = m._replace(mlog=lg(m.mlog))
    if m.mtype == AEREQ:
        m = m._replace(mentries=lg(m.mentries))
    return m._replace(msource=src, mdest=dst)
