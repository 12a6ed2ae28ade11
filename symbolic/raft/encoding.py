"""Z3 encoding of Ongaro's raft.tla (models/raft.py): state, actions, explicit states.

For n servers (an enumeration), terms and log indexes unbounded integers, values
an enumeration (or an uninterpreted sort for proofs). The Z3 state is the
explicit state *projected* onto what the protocol reads (``project``):

* per server: ``term``, ``role``, ``voted`` (None or a server), ``commit``,
  ``restarts`` (MCraftBR's counter); per pair: ``vresp``/``vgrant`` (votes
  responded/granted as Boolean matrices), ``next_idx``, ``match_idx``;
* each log as a length ``llen[i]`` and two arrays ``lterm[i][k]``/``lval[i][k]``
  for k in 1..llen[i] (outside that range they hold 0 / the first value, so two
  equal logs are equal arrays);
* the message bag as one count per message kind and field tuple: ``rvreq[src,
  dst, term, last_term, last_index]``, ``rvresp[src, dst, term, granted]``,
  ``aereq[src, dst, term, prev_index, prev_term, entry, commit]`` (entry: none or
  one (term, value): raft.tla sends at most one; ``entries_per_append`` must be
  1), ``aeresp[src, dst, term, success, match]``; multiplicities are exact (a
  count, not a set), and ``inflight`` is their sum (BagCardinality);
* ``elected[t, i]``: the pairs (term, leader) of the history variable ``elections``.

Abstracted (dropped by the projection): the proof-only history no action reads:
``all_logs``, ``voter_log``, the ``mlog`` field of messages, and the
``elog``/``evotes``/``evoter_log`` fields of elections; ``history=True`` (the
``committed`` history) is not encoded. Since no guard or update reads them,
the projected transition system is the explicit one up to that projection;
tests hold the two against each other.

``proof=True`` (for ``agree prove``) updates the bags with lambdas and leaves
quantifiers over terms and indexes as quantifiers; ``proof=False`` (BMC and
tests) uses stores and unfolds them over the bounded ranges of the
configuration, and ``next`` includes the explicit spec's state constraint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations
from typing import Any, NamedTuple

import z3  # type: ignore[import-untyped]

from agree.models.raft_types import (
    AEREQ,
    AERESP,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    RVREQ,
    RVRESP,
    Election,
    RaftState,
)
from agree.symbolic.raft.messages import RaftSorts
from agree.symbolic.z3base import Case, Conjunct, Encoding, fresh

__all__ = ["RaftVars", "RaftZ3", "project"]

Int, Bool = z3.IntSort(), z3.BoolSort()
ROLES = (FOLLOWER, CANDIDATE, LEADER)


class RaftVars(NamedTuple):
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


BAGS = ("rvreq", "rvresp", "aereq", "aeresp")
KIND_OF = {"rvreq": RVREQ, "rvresp": RVRESP, "aereq": AEREQ, "aeresp": AERESP}


def project(state: RaftState) -> RaftState:
    """The explicit state without the history no action reads (what Z3 encodes)."""
    n = len(state.current_term)
    msgs = tuple(sorted(m._replace(mlog=()) if hasattr(m, "mlog") else m
                        for m in state.messages))
    return state._replace(
        messages=msgs, all_logs=frozenset(), voter_log=((),) * n,
        elections=frozenset(Election(e.eterm, e.eleader, (), frozenset(), ())
                            for e in state.elections))


class RaftZ3(RaftSorts, Encoding[RaftState, RaftVars]):
    """raft.tla in Z3 for ``servers`` servers (see the module doc)."""

    spec_name = "raft"

    def __init__(self, servers: int = 3, values: int | None = None, *, proof: bool = True,
                 max_term: int = 3, max_log: int = 2, max_messages: int = 2,
                 max_restarts: int = -1, part: str = "all") -> None:
        if part not in ("all", "election", "complete"):
            raise ValueError("part must be 'all', 'election' or 'complete'")
        self.part = part
        super().__init__(servers, values, proof=proof, max_term=max_term, max_log=max_log)
        self.max_messages = max_messages
        self.max_restarts = max_restarts
        k = servers // 2 + 1
        self.majorities = [tuple(self.srv[i] for i in q)
                           for q in combinations(range(servers), k)]
        self.assumptions = (
            f"servers: {servers}, quorums the majorities",
            "terms, log indexes and lengths: unbounded integers" if proof else
            f"bounded: terms <= {max_term}, logs <= {max_log}, messages <= {max_messages}",
            "values: any (uninterpreted sort)" if values is None else f"values: {values}",
            "one entry per AppendEntries (raft.tla); Restart "
            + ("unbounded" if max_restarts < 0 else f"at most {max_restarts} times"),
            "history variables all_logs, voter_log, mlog, election logs/votes: not encoded "
            "(no action reads them)" if part != "complete" else
            "history (history=True): each term's leader log as it grows and the highest "
            "index each term committed; all_logs, voter_log, mlog, election votes: not "
            "encoded (no action reads them)",
        )

    # -- state -----------------------------------------------------------------

    def fresh_state(self, tag: str) -> RaftVars:
        S, E = self.S, self.ent
        return RaftVars(
            z3.Array(f"term@{tag}", S, Int), z3.Array(f"role@{tag}", S, self.Role),
            z3.Array(f"voted@{tag}", S, self.sopt), z3.Array(f"commit@{tag}", S, Int),
            z3.Array(f"llen@{tag}", S, Int), z3.Array(f"lterm@{tag}", S, Int, Int),
            z3.Array(f"lval@{tag}", S, Int, self.V),
            z3.Array(f"vresp@{tag}", S, S, Bool), z3.Array(f"vgrant@{tag}", S, S, Bool),
            z3.Array(f"next@{tag}", S, S, Int), z3.Array(f"match@{tag}", S, S, Int),
            z3.Array(f"rvreq@{tag}", S, S, Int, Int, Int, Int),
            z3.Array(f"rvresp@{tag}", S, S, Int, Bool, Int),
            z3.Array(f"aereq@{tag}", S, S, Int, Int, Int, E, Int, Int),
            z3.Array(f"aeresp@{tag}", S, S, Int, Bool, Int, Int),
            z3.Int(f"inflight@{tag}"), z3.Array(f"elected@{tag}", Int, S, Bool),
            z3.Int(f"restarts@{tag}"))

    def init(self, s: RaftVars) -> z3.BoolRef:
        return self.equal(s, self.concrete_init())

    def concrete_init(self) -> RaftVars:
        n = self.n
        init = RaftState((), frozenset(), frozenset(), (1,) * n, (FOLLOWER,) * n, (None,) * n,
                         ((),) * n, (0,) * n, (frozenset(),) * n, (frozenset(),) * n,
                         ((),) * n, ((1,) * n,) * n, ((0,) * n,) * n, 0, frozenset())
        return self.concrete(init)

    # -- helpers over servers ---------------------------------------------------

    def row(self, arr: Any, i: Any, value: Callable[[Any], Any]) -> Any:
        """``arr`` with row i set to value(j) for every server j."""
        for j in self.srv:
            arr = z3.Store(arr, i, j, value(j))
        return arr

    def quorum(self, member: Callable[[Any], z3.BoolRef]) -> z3.BoolRef:
        """Some majority's members all satisfy ``member`` (more than half do)."""
        return z3.Or([z3.And([member(j) for j in q]) for q in self.majorities])

    def last_term(self, s: RaftVars, i: Any) -> Any:
        return z3.If(s.llen[i] > 0, s.lterm[i, s.llen[i]], 0)

    def term_at(self, s: RaftVars, i: Any, k: Any) -> Any:
        """The term of entry k of log i, 0 for k = 0 (raft.tla's prevLogTerm of index 0)."""
        return z3.If(k > 0, s.lterm[i, k], 0)

    def bump(self, bag: Any, idx: Sequence[Any], delta: int) -> Any:
        """The bag with ``delta`` more copies of the message ``idx``."""
        if not self.proof:
            return z3.Store(bag, *idx, bag[tuple(idx)] + delta)
        xs = [fresh("x", bag.sort().domain_n(k)) for k in range(len(idx))]
        hit = z3.And([x == i for x, i in zip(xs, idx, strict=True)])
        return z3.Lambda(xs, z3.If(hit, bag[tuple(xs)] + delta, bag[tuple(xs)]))

    def msg_params(self, kind: str, tag: str) -> list[Any]:
        return [z3.Const(f"{kind}.{k}@{tag}", srt)
                for k, srt in enumerate(self.bag_sorts(kind))]

    # -- actions ---------------------------------------------------------------

    LABELS = ("Restart", "Timeout", "RequestVote", "BecomeLeader", "ClientRequest",
              "AdvanceCommitIndex", "AppendEntries", "UpdateTerm",
              "HandleRequestVoteRequest", "DropStaleResponse", "HandleRequestVoteResponse",
              "HandleAppendEntriesRequest", "HandleAppendEntriesResponse",
              "DuplicateMessage", "DropMessage")

    def action_labels(self) -> tuple[str, ...]:
        return self.LABELS if self.max_restarts != 0 else self.LABELS[1:]

    def update(self, label: str, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        name = "".join("_" + c.lower() if c.isupper() else c for c in label)[1:]
        fn: Callable[[RaftVars, str], tuple[z3.BoolRef, RaftVars]] = getattr(self, "a_" + name)
        return fn(s, tag)

    def server(self, name: str, tag: str) -> Any:
        return z3.Const(f"{name}@{tag}", self.S)

    def a_restart(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        i = self.server("i", tag)
        guard: z3.BoolRef = z3.BoolVal(True)
        restarts = s.restarts
        if self.max_restarts >= 0:
            guard, restarts = s.restarts < self.max_restarts, s.restarts + 1
        return guard, s._replace(
            role=z3.Store(s.role, i, self.F),
            vresp=self.row(s.vresp, i, lambda j: z3.BoolVal(False)),
            vgrant=self.row(s.vgrant, i, lambda j: z3.BoolVal(False)),
            next_idx=self.row(s.next_idx, i, lambda j: z3.IntVal(1)),
            match_idx=self.row(s.match_idx, i, lambda j: z3.IntVal(0)),
            commit=z3.Store(s.commit, i, 0), restarts=restarts)

    def a_timeout(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        i = self.server("i", tag)
        return s.role[i] != self.L, s._replace(
            role=z3.Store(s.role, i, self.C), term=z3.Store(s.term, i, s.term[i] + 1),
            voted=z3.Store(s.voted, i, self.nil),
            vresp=self.row(s.vresp, i, lambda j: z3.BoolVal(False)),
            vgrant=self.row(s.vgrant, i, lambda j: z3.BoolVal(False)))

    def a_request_vote(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        i, j = self.server("i", tag), self.server("j", tag)
        m = (i, j, s.term[i], self.last_term(s, i), s.llen[i])
        return z3.And(s.role[i] == self.C, z3.Not(s.vresp[i, j])), s._replace(
            rvreq=self.bump(s.rvreq, m, 1), inflight=s.inflight + 1)

    def a_become_leader(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        i = self.server("i", tag)
        guard = z3.And(s.role[i] == self.C, self.quorum(lambda j: s.vgrant[i, j]))
        return guard, s._replace(
            role=z3.Store(s.role, i, self.L),
            next_idx=self.row(s.next_idx, i, lambda j: s.llen[i] + 1),
            match_idx=self.row(s.match_idx, i, lambda j: z3.IntVal(0)),
            elected=self.set_elected(s.elected, s.term[i], i))

    def set_elected(self, elected: Any, t: Any, i: Any) -> Any:
        if not self.proof:
            return z3.Store(elected, t, i, True)
        x, y = fresh("t", Int), fresh("l", self.S)
        return z3.Lambda([x, y], z3.Or(elected[x, y], z3.And(x == t, y == i)))

    def a_client_request(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        i, v = self.server("i", tag), z3.Const(f"v@{tag}", self.V)
        k = s.llen[i] + 1
        return s.role[i] == self.L, s._replace(
            llen=z3.Store(s.llen, i, k), lterm=z3.Store(s.lterm, i, k, s.term[i]),
            lval=z3.Store(s.lval, i, k, v))

    def agree_index(self, s: RaftVars, i: Any) -> Any:
        """The highest index a quorum (leader i and followers by match_index) stores:
        min(llen[i], the largest index that enough other servers' match reaches)."""
        need = self.n // 2  # other servers needed besides i
        if need == 0:
            return s.llen[i]

        def for_leader(a: Any) -> Any:
            others = [b for b in self.srv if not z3.eq(a, b)]
            best: Any = None
            for group in combinations(others, need):
                low = s.match_idx[a, group[0]]
                for b in group[1:]:
                    low = z3.If(s.match_idx[a, b] < low, s.match_idx[a, b], low)
                best = low if best is None else z3.If(low > best, low, best)
            top = z3.If(best < s.llen[a], best, s.llen[a])
            return z3.If(top > 0, top, 0)

        out = for_leader(self.srv[-1])
        for a in reversed(self.srv[:-1]):
            out = z3.If(i == a, for_leader(a), out)
        return out

    def new_commit_index(self, s: RaftVars, i: Any) -> Any:
        top = self.agree_index(s, i)
        return z3.If(z3.And(top > 0, s.lterm[i, top] == s.term[i]), top, s.commit[i])

    def a_advance_commit_index(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        i = self.server("i", tag)
        return s.role[i] == self.L, s._replace(
            commit=z3.Store(s.commit, i, self.new_commit_index(s, i)))

    def commit_to_send(self, s: RaftVars, i: Any, last: Any) -> Any:
        return z3.If(s.commit[i] < last, s.commit[i], last)

    def a_append_entries(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        i, j = self.server("i", tag), self.server("j", tag)
        nxt = s.next_idx[i, j]
        has = nxt <= s.llen[i]
        entry = z3.If(has, self.ent_of(s.lterm[i, nxt], s.lval[i, nxt]), self.noent)
        last = z3.If(has, nxt, s.llen[i])
        m = (i, j, s.term[i], nxt - 1, self.term_at(s, i, nxt - 1), entry,
             self.commit_to_send(s, i, last))
        return z3.And(i != j, s.role[i] == self.L), s._replace(
            aereq=self.bump(s.aereq, m, 1), inflight=s.inflight + 1)

    # Receive(m): the handlers. i = m.mdest, j = m.msource.

    def any_message(self, s: RaftVars, kinds: Sequence[str], tag: str,
                    ) -> tuple[Any, dict[str, list[Any]], Any, Any]:
        """A message in flight of one of ``kinds``: (selector, fields per kind, dest,
        term); the selector k says which kind (its index in ``kinds``)."""
        k = z3.Int(f"kind@{tag}")
        fields = {kind: self.msg_params(kind, tag) for kind in kinds}
        dest: Any = fields[kinds[-1]][1]
        term: Any = fields[kinds[-1]][2]
        for n in reversed(range(len(kinds) - 1)):
            f = fields[kinds[n]]
            dest, term = z3.If(k == n, f[1], dest), z3.If(k == n, f[2], term)
        return k, fields, dest, term

    def in_flight(self, s: RaftVars, kinds: Sequence[str], k: Any,
                  fields: dict[str, list[Any]]) -> z3.BoolRef:
        return z3.Or([z3.And(k == n, getattr(s, kind)[tuple(fields[kind])] > 0)
                      for n, kind in enumerate(kinds)])

    def change_one(self, s: RaftVars, kinds: Sequence[str], k: Any,
                   fields: dict[str, list[Any]], delta: int) -> RaftVars:
        bags = {kind: z3.If(k == n, self.bump(getattr(s, kind), fields[kind], delta),
                            getattr(s, kind)) for n, kind in enumerate(kinds)}
        return s._replace(inflight=s.inflight + delta, **bags)

    def a_update_term(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        k, fields, i, t = self.any_message(s, BAGS, tag)
        guard = z3.And(self.in_flight(s, BAGS, k, fields), t > s.term[i])
        return guard, s._replace(term=z3.Store(s.term, i, t), role=z3.Store(s.role, i, self.F),
                                 voted=z3.Store(s.voted, i, self.nil))

    def log_ok_for_vote(self, s: RaftVars, i: Any, last_term: Any, last_index: Any,
                        ) -> z3.BoolRef:
        lt = self.last_term(s, i)
        return z3.Or(last_term > lt, z3.And(last_term == lt, last_index >= s.llen[i]))

    def a_handle_request_vote_request(self, s: RaftVars, tag: str,
                                      ) -> tuple[z3.BoolRef, RaftVars]:
        m = self.msg_params("rvreq", tag)
        j, i, t, lt, li = m
        grant = z3.And(t == s.term[i], self.log_ok_for_vote(s, i, lt, li),
                       z3.Or(s.voted[i] == self.nil, s.voted[i] == self.some(j)))
        reply = (i, j, s.term[i], grant)
        return z3.And(s.rvreq[tuple(m)] > 0, t <= s.term[i]), s._replace(
            voted=z3.If(grant, z3.Store(s.voted, i, self.some(j)), s.voted),
            rvreq=self.bump(s.rvreq, m, -1), rvresp=self.bump(s.rvresp, reply, 1))

    def a_drop_stale_response(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        kinds = ("rvresp", "aeresp")
        k, fields, i, t = self.any_message(s, kinds, tag)
        guard = z3.And(self.in_flight(s, kinds, k, fields), t < s.term[i])
        return guard, self.change_one(s, kinds, k, fields, -1)

    def tally_ok(self, s: RaftVars, i: Any, t: Any) -> z3.BoolRef:
        """HandleRequestVoteResponse's condition on the response's term."""
        return t == s.term[i]

    def a_handle_request_vote_response(self, s: RaftVars, tag: str,
                                       ) -> tuple[z3.BoolRef, RaftVars]:
        m = self.msg_params("rvresp", tag)
        j, i, t, granted = m
        return z3.And(s.rvresp[tuple(m)] > 0, self.tally_ok(s, i, t)), s._replace(
            vresp=z3.Store(s.vresp, i, j, True),
            vgrant=z3.If(granted, z3.Store(s.vgrant, i, j, True), s.vgrant),
            rvresp=self.bump(s.rvresp, m, -1), inflight=s.inflight - 1)

    def append_branches(self, s: RaftVars, tag: str) -> dict[str, z3.BoolRef]:
        """HandleAppendEntriesRequest's branches (the request of ``tag``'s parameters):
        reject, step down (a candidate), and the accept branch's append, conflict and
        done. Given the action's guard, exactly one holds (the prover splits on them)."""
        _j, i, t, prev, prev_term, entry, _c = self.msg_params("aereq", tag)
        role, lg_len = s.role[i], s.llen[i]
        log_ok = z3.Or(prev == 0, z3.And(prev > 0, prev <= lg_len,
                                         prev_term == s.lterm[i, prev]))
        reject = z3.Or(t < s.term[i], z3.And(role == self.F, z3.Not(log_ok)))
        accept = z3.And(z3.Not(reject), role == self.F)
        index = prev + 1
        has = self.is_ent(entry)
        append = z3.And(accept, has, lg_len < index)
        conflict = z3.And(accept, has, lg_len >= index, s.lterm[i, index] != self.eterm(entry))
        done = z3.And(accept, z3.Not(append), z3.Not(conflict))
        return {"reject": reject, "step down": z3.And(z3.Not(reject), role == self.C),
                "append": append, "conflict": conflict, "done": done}

    def a_handle_append_entries_request(self, s: RaftVars, tag: str,
                                        ) -> tuple[z3.BoolRef, RaftVars]:
        m = self.msg_params("aereq", tag)
        j, i, t, prev, _prev_term, entry, mcommit = m
        role, lg_len = s.role[i], s.llen[i]
        b = self.append_branches(s, tag)
        reject, append, conflict, done = b["reject"], b["append"], b["conflict"], b["done"]
        has = self.is_ent(entry)
        reply = z3.Or(reject, done)
        # The reply: a failure (reject) or, when done, a success up to the last entry.
        answer = (i, j, s.term[i], z3.Not(reject), z3.If(reject, 0, prev + z3.If(has, 1, 0)))
        llen, lterm, lval = self.done_log(s, m)
        llen = z3.If(append, z3.Store(s.llen, i, lg_len + 1),
                     z3.If(conflict, z3.Store(s.llen, i, lg_len - 1), z3.If(done, llen, s.llen)))
        lterm = z3.If(append, z3.Store(s.lterm, i, lg_len + 1, self.eterm(entry)),
                      z3.If(conflict, z3.Store(s.lterm, i, lg_len, 0),
                            z3.If(done, lterm, s.lterm)))
        lval = z3.If(append, z3.Store(s.lval, i, lg_len + 1, self.evalue(entry)),
                     z3.If(conflict, z3.Store(s.lval, i, lg_len, self.v0),
                           z3.If(done, lval, s.lval)))
        new = s._replace(
            role=z3.If(z3.And(z3.Not(reject), role == self.C), z3.Store(s.role, i, self.F),
                       s.role),
            llen=llen, lterm=lterm, lval=lval,
            commit=z3.If(done, z3.Store(s.commit, i, mcommit), s.commit),
            aereq=z3.If(reply, self.bump(s.aereq, m, -1), s.aereq),
            aeresp=z3.If(reply, self.bump(s.aeresp, answer, 1), s.aeresp))
        guard = z3.And(s.aereq[tuple(m)] > 0, t <= s.term[i],
                       z3.Or(reject, role != self.L))
        return guard, new

    def done_log(self, s: RaftVars, m: Sequence[Any]) -> tuple[Any, Any, Any]:
        """The log arrays after the "already done" branch (raft.tla: unchanged)."""
        return s.llen, s.lterm, s.lval

    def a_handle_append_entries_response(self, s: RaftVars, tag: str,
                                         ) -> tuple[z3.BoolRef, RaftVars]:
        m = self.msg_params("aeresp", tag)
        j, i, t, success, match = m
        back = z3.If(s.next_idx[i, j] - 1 > 1, s.next_idx[i, j] - 1, 1)
        return z3.And(s.aeresp[tuple(m)] > 0, t == s.term[i]), s._replace(
            next_idx=z3.Store(s.next_idx, i, j, z3.If(success, match + 1, back)),
            match_idx=z3.If(success, z3.Store(s.match_idx, i, j, match), s.match_idx),
            aeresp=self.bump(s.aeresp, m, -1), inflight=s.inflight - 1)

    def a_duplicate_message(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        k, fields, _i, _t = self.any_message(s, BAGS, tag)
        return self.in_flight(s, BAGS, k, fields), self.change_one(s, BAGS, k, fields, 1)

    def a_drop_message(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        k, fields, _i, _t = self.any_message(s, BAGS, tag)
        return self.in_flight(s, BAGS, k, fields), self.change_one(s, BAGS, k, fields, -1)

    # -- the state constraint (bounded BMC) -----------------------------------

    def constraint(self, s: RaftVars) -> z3.BoolRef:
        """MCraft's StateConstraint, as the explicit spec applies it."""
        return z3.And(s.inflight <= self.max_messages,
                      *(z3.And(s.term[i] <= self.max_term, s.llen[i] <= self.max_log)
                        for i in self.srv))

    def next(self, s: RaftVars, t: RaftVars, tag: str) -> z3.BoolRef:
        step = super().next(s, t, tag)
        return step if self.proof else z3.And(self.constraint(s), step)

    # -- invariants (symbolic/raft/invariant.py) -------------------------------

    def invariants(self, s: RaftVars) -> list[Conjunct]:
        from agree.symbolic.raft.invariant import inductive
        return inductive(self, s)

    def safety(self, s: RaftVars) -> list[Conjunct]:
        from agree.symbolic.raft.invariant import safety
        return safety(self, s)

    def step_safety(self, s: RaftVars, t: RaftVars) -> list[Conjunct]:
        from agree.symbolic.raft.invariant import step_safety
        return step_safety(self, s, t)

    # -- explicit states ---------------------------------------------------------

    def cases(self, label: str | None, conjunct: str, s: RaftVars, t: RaftVars | None,
              tag: str, goal: z3.BoolRef | None = None) -> list[Case] | None:
        """The splits of symbolic/raft/cases.py (proofs only)."""
        from agree.symbolic.raft.cases import raft_cases
        return raft_cases(self, label, conjunct, goal, s, tag) if self.proof else None

    def concrete(self, state: RaftState) -> RaftVars:
        from agree.symbolic.raft.messages import concrete
        return concrete(self, project(state))

    def bounded(self, s: RaftVars, bound: int) -> z3.BoolRef:
        from agree.symbolic.raft.messages import bounded
        return bounded(self, s, bound)

    def decode(self, model: z3.ModelRef, s: RaftVars, bound: int) -> RaftState:
        from agree.symbolic.raft.messages import decode
        return decode(self, model, s)

    def explicit_params(self, model: z3.ModelRef, bound: int) -> dict[str, Any]:
        """Bounds that admit every state ``bounded`` allows (so an explicit search of
        them that does not meet a decoded pre-state really rules it out)."""
        from agree.symbolic.raft.messages import SLOTS
        values = self.values_n or max(1, len(self.vd.universe(model)))
        return {"servers": self.n, "values": values, "max_term": bound + 1,
                "max_log": bound + 1, "max_messages": 4 * SLOTS * 2,
                "max_restarts": self.max_restarts}

    def project(self, state: RaftState) -> RaftState:
        return project(state)
