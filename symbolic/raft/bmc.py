"""A finite, quantifier-free encoding of Ongaro's raft.tla (models/raft.py) for bounded
model checking (``agree bmc``): every state variable a scalar, every action unfolded
over concrete parameters.

symbolic/raft/encoding.py is the prove encoding (arrays, quantifiers, unbounded terms);
its bounded mode reaches about six steps a minute. This one is built for a finite
configuration (the explicit spec's parameters) and for the SAT core:

* per server: ``term``, ``role`` (0 follower, 1 candidate, 2 leader), ``voted``
  (``n`` = Nil), ``commit``, ``llen``; each log as ``max_log + 1`` slots of entry
  ``lterm``/``lval`` (0 past the log's end, so equal logs are equal slots); per pair
  ``vresp``/``vgrant`` (Bools), ``nxt``/``match``; ``elected[t-1][i]`` the pairs
  (term, leader) of the history ``elections``; ``restarts`` (MCraftBR's counter).
* the message bag as ``max_messages + 1`` slots (a step may take the bag one past the
  constraint; such a state is checked, not expanded, as TLC does), each a valid bit,
  a kind and the fields of all four kinds (unused ones 0). Valid slots come first:
  a new message goes to slot 0 (the others move up), a removed one closes its gap
  (those after it move down), so no step indexes a slot symbolically and a bag has
  one layout per order of arrival.
* a message handler is one disjunct per (slot, recipient), its branches separate
  disjuncts; reads of a symbolic index (a log entry, next_index) are If-chains over
  the concrete positions; updates of a symbolic server (the sender of a response)
  are per-position Ifs. No arrays, no quantifiers.

``next`` is the disjunction of every (action, parameters) choice, guarded by the state
constraint on the pre-state. Decoded states are the explicit states *projected* like
symbolic/raft/encoding.py's (``project``: no ``mlog``, ``all_logs``, ``voter_log`` or
election details, none of which an action reads); symbolic/bmc.py replays every Z3
trace on the explicit spec, so a trace is reported only if Raft itself takes it.
Zoo variants (symbolic/raft/bmc_zoo.py) override the step their explicit twin does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations
from typing import Any, NamedTuple

import z3  # type: ignore[import-untyped]

from agree.models.raft_types import (
    CANDIDATE,
    FOLLOWER,
    LEADER,
    RaftState,
)
from agree.symbolic.raft.encoding import project
from agree.symbolic.z3base import Conjunct, Encoding

__all__ = ["C", "Choice", "F", "L", "Msg", "RaftBmc", "State", "leaves", "put"]

F, C, L = 0, 1, 2
ROLE_NAMES = (FOLLOWER, CANDIDATE, LEADER)
K_RVREQ, K_RVRESP, K_AEREQ, K_AERESP = 0, 1, 2, 3


class Msg(NamedTuple):
    """One slot of the bag: RequestVote request (f1 last term, f2 last index), response
    (flag granted), AppendEntries request (f1 prev index, f2 prev term, flag an entry,
    f3/f4 its term/value, f5 commit), response (flag success, f1 match)."""

    valid: Any
    kind: Any
    term: Any
    src: Any
    dst: Any
    flag: Any
    f1: Any
    f2: Any
    f3: Any
    f4: Any
    f5: Any


class State(NamedTuple):
    term: tuple[Any, ...]
    role: tuple[Any, ...]
    voted: tuple[Any, ...]
    commit: tuple[Any, ...]
    llen: tuple[Any, ...]
    lterm: tuple[tuple[Any, ...], ...]
    lval: tuple[tuple[Any, ...], ...]
    vresp: tuple[tuple[Any, ...], ...]
    vgrant: tuple[tuple[Any, ...], ...]
    nxt: tuple[tuple[Any, ...], ...]
    match: tuple[tuple[Any, ...], ...]
    elected: tuple[tuple[Any, ...], ...]
    restarts: Any
    msgs: tuple[Msg, ...]


class Choice(NamedTuple):
    """One disjunct of Next: the action's label, its guard and the next state."""

    label: str
    guard: Any
    new: State


def leaves(x: Any) -> Iterator[Any]:
    """Every scalar of a state (or part of one), in a fixed order."""
    if isinstance(x, tuple):
        for y in x:
            yield from leaves(y)
    else:
        yield x


def put(t: Sequence[Any], i: int, v: Any) -> tuple[Any, ...]:
    out = list(t)
    out[i] = v
    return tuple(out)


def put2(t: Sequence[Sequence[Any]], i: int, j: int, v: Any) -> tuple[tuple[Any, ...], ...]:
    return tuple(put(row, j, v) if k == i else tuple(row) for k, row in enumerate(t))


class RaftBmc(Encoding[RaftState, State]):
    """raft.tla for one finite configuration, scalars only (see the module doc)."""

    spec_name = "raft"

    def __init__(self, servers: int = 2, values: int = 1, max_term: int = 2, max_log: int = 1,
                 max_messages: int = 2, max_restarts: int = -1, bits: int | None = None,
                 start: RaftState | None = None) -> None:
        self.n, self.nv = servers, values
        self.max_term, self.max_log = max_term, max_log
        self.max_messages, self.max_restarts = max_messages, max_restarts
        #: 0: Z3 integers; else bit-vectors of this width (signed compares, so one bit
        #: of headroom: every value here is below 2 ** (bits - 1)). None: the narrowest
        #: such width for the configuration (bit-vectors and the QF_BV solver were 3-10x
        #: faster than integers on the zoo; benchmarks/bmc_zoo.py).
        top = max(max_term + 2, max_log + 3, servers + 1, values, max_restarts + 2, 4)
        self.bits = top.bit_length() + 1 if bits is None else bits
        #: The logic to ask Z3 for (``z3base.solver_for``).
        self.logic = "QF_BV" if self.bits else None
        #: The initial state: Raft's, or a reachable state to search from (--from).
        self.start = start
        self.nil = servers
        self.srv = range(servers)
        self.slots = range(max_messages + 1)
        self.idx = range(1, max_log + 2)  # log indexes a (post-)state can hold
        self.majority = servers // 2 + 1
        self.assumptions = (
            f"servers: {servers}, values: {values}; bounded: terms <= {max_term}, logs <= "
            f"{max_log}, messages <= {max_messages}, restarts "
            f"{'unbounded' if max_restarts < 0 else f'<= {max_restarts}'}",
            "one entry per AppendEntries (raft.tla)")

    # -- scalars ---------------------------------------------------------------------

    def num(self, name: str) -> Any:
        return z3.Int(name) if not self.bits else z3.BitVec(name, self.bits)

    def k(self, v: int) -> Any:
        """A numeric constant of the encoding's sort."""
        return z3.IntVal(v) if not self.bits else z3.BitVecVal(v, self.bits)

    def zero_msg(self) -> Msg:
        z = self.k(0)
        return Msg(z3.BoolVal(False), z, z, z, z, z3.BoolVal(False), z, z, z, z, z)

    def msg(self, kind: int, term: Any, src: Any, dst: Any, *, flag: Any = False,
            f1: Any = 0, f2: Any = 0, f3: Any = 0, f4: Any = 0, f5: Any = 0) -> Msg:
        def n(x: Any) -> Any:
            return x if z3.is_expr(x) else self.k(x)
        return Msg(z3.BoolVal(True), self.k(kind), n(term), n(src), n(dst),
                   flag if z3.is_expr(flag) else z3.BoolVal(flag),
                   n(f1), n(f2), n(f3), n(f4), n(f5))

    def fresh_state(self, tag: str) -> State:
        srv, num = self.srv, self.num

        def vec(name: str) -> tuple[Any, ...]:
            return tuple(num(f"{name}{i}@{tag}") for i in srv)

        def mat(name: str, cols: Sequence[int], mk: Any = None) -> tuple[tuple[Any, ...], ...]:
            mk = mk or num
            return tuple(tuple(mk(f"{name}{i}.{c}@{tag}") for c in cols) for i in srv)

        def bmat(name: str) -> tuple[tuple[Any, ...], ...]:
            return tuple(tuple(z3.Bool(f"{name}{i}.{j}@{tag}") for j in srv) for i in srv)

        msgs = tuple(Msg._make([z3.Bool(f"mv{k}@{tag}"),
                                *(num(f"m{f}{k}@{tag}") for f in ("kind", "term", "src", "dst")),
                                z3.Bool(f"mflag{k}@{tag}"),
                                *(num(f"m{f}{k}@{tag}") for f in ("f1", "f2", "f3", "f4", "f5"))])
                     for k in self.slots)
        return State(
            term=vec("term"), role=vec("role"), voted=vec("voted"), commit=vec("commit"),
            llen=vec("llen"), lterm=mat("lterm", self.idx), lval=mat("lval", self.idx),
            vresp=bmat("vresp"), vgrant=bmat("vgrant"), nxt=mat("nxt", srv),
            match=mat("match", srv),
            elected=tuple(tuple(z3.Bool(f"el{t}.{i}@{tag}") for i in srv)
                          for t in range(1, self.max_term + 1)),
            restarts=num(f"restarts@{tag}"), msgs=msgs)

    def equal(self, s: State, t: State) -> z3.BoolRef:
        return z3.And([a == b for a, b in zip(leaves(s), leaves(t), strict=True)])

    # -- explicit states ---------------------------------------------------------------

    def concrete(self, state: RaftState) -> State:
        """An explicit state as Z3 constants (its bag in sorted order)."""
        from agree.symbolic.raft.bmc_explicit import concrete
        return concrete(self, state)

    def decode(self, model: z3.ModelRef, s: State, bound: int = 0) -> RaftState:
        """The (projected) explicit state a model gives s (``bound`` is unused: every
        variable here is finite)."""
        from agree.symbolic.raft.bmc_explicit import decode
        return decode(self, model, s)

    def read(self, value: Any, s: State) -> RaftState:
        """The explicit state of s, ``value`` giving each scalar's value (a model's
        evaluation, or ``z3.simplify`` for a state of constants)."""
        from agree.symbolic.raft.bmc_explicit import read
        return read(self, value, s)

    def project(self, state: RaftState) -> RaftState:
        return project(state)

    # -- Init, constraint, Next ------------------------------------------------------------

    def init(self, s: State) -> z3.BoolRef:
        from agree.models.raft import Raft
        st = self.start or next(iter(Raft(servers=self.n, values=self.nv).init()))
        return self.equal(s, self.concrete(st))

    def constraint(self, s: State) -> z3.BoolRef:
        """MCraft's StateConstraint on a pre-state (the last slot free: messages <= max)."""
        return z3.And(z3.Not(s.msgs[-1].valid),
                      *(t <= self.max_term for t in s.term),
                      *(x <= self.max_log for x in s.llen))

    def next(self, s: State, t: State, tag: str) -> z3.BoolRef:
        return z3.And(self.constraint(s),
                      z3.Or([z3.And(c.guard, self.equal(t, c.new)) for c in self.choices(s)]))

    def choices(self, s: State) -> list[Choice]:
        """Every (action, parameters) disjunct of Next from s, in raft.tla's order."""
        out: list[Choice] = []
        for i in self.srv:
            out += self.restart(s, i)
            out += self.timeout(s, i)
            out += [c for j in self.srv for c in self.request_vote(s, i, j)]
            out += self.become_leader(s, i)
            out += [c for v in range(self.nv) for c in self.client_request(s, i, v)]
            out += self.advance_commit_index(s, i)
            out += [c for j in self.srv if j != i for c in self.append_entries(s, i, j)]
        for k in self.slots[:-1]:  # the last slot is free in a pre-state
            for i in self.srv:
                m = s.msgs[k]
                at = z3.And(m.valid, m.dst == i)
                for c in (*self.update_term(s, k, i), *self.handle_rv_request(s, k, i),
                          *self.drop_stale_response(s, k, i),
                          *self.handle_rv_response(s, k, i),
                          *self.handle_ae_request(s, k, i),
                          *self.handle_ae_response(s, k, i)):
                    out.append(c._replace(guard=z3.And(at, c.guard)))
            m = s.msgs[k]
            out.append(Choice("DuplicateMessage", m.valid,
                              s._replace(msgs=self.add(s.msgs, m))))
            out.append(Choice("DropMessage", m.valid, s._replace(msgs=self.remove(s.msgs, k))))
        return out

    # -- helpers ---------------------------------------------------------------------------

    def add(self, msgs: tuple[Msg, ...], m: Msg) -> tuple[Msg, ...]:
        """The bag with m in slot 0 and the others one slot up (the last slot is free)."""
        return (m, *msgs[:-1])

    def remove(self, msgs: tuple[Msg, ...], k: int) -> tuple[Msg, ...]:
        """The bag without slot k (the slots after it one down)."""
        return (*msgs[:k], *msgs[k + 1:], self.zero_msg())

    def entry_term(self, s: State, i: int, x: Any) -> Any:
        """The term of entry x (symbolic, 1-based) of log i; 0 outside the log slots."""
        out: Any = self.k(0)
        for p in self.idx:
            out = z3.If(x == p, s.lterm[i][p - 1], out)
        return out

    def entry_val(self, s: State, i: int, x: Any) -> Any:
        out: Any = self.k(0)
        for p in self.idx:
            out = z3.If(x == p, s.lval[i][p - 1], out)
        return out

    def last_term(self, s: State, i: int) -> Any:
        return self.entry_term(s, i, s.llen[i])

    def quorum(self, member: Any) -> z3.BoolRef:
        """Some majority of servers all satisfy ``member``."""
        return z3.Or([z3.And([member(j) for j in q])
                      for q in combinations(self.srv, self.majority)])

    def row(self, value: Any) -> tuple[Any, ...]:
        return tuple(value for _ in self.srv)

    def set_log(self, s: State, i: int, length: Any, terms: Sequence[Any],
                vals: Sequence[Any]) -> State:
        return s._replace(llen=put(s.llen, i, length), lterm=put(s.lterm, i, tuple(terms)),
                          lval=put(s.lval, i, tuple(vals)))

    # -- server actions ------------------------------------------------------------------------

    def restart(self, s: State, i: int) -> list[Choice]:
        guard: Any = z3.BoolVal(True)
        count = s.restarts
        if self.max_restarts >= 0:
            guard, count = s.restarts < self.max_restarts, s.restarts + 1
        no = z3.BoolVal(False)
        t = s._replace(role=put(s.role, i, self.k(F)), vresp=put(s.vresp, i, self.row(no)),
                       vgrant=put(s.vgrant, i, self.row(no)),
                       nxt=put(s.nxt, i, self.row(self.k(1))),
                       match=put(s.match, i, self.row(self.k(0))),
                       commit=put(s.commit, i, self.k(0)), restarts=count)
        return [Choice("Restart", guard, self.restarted(s, t, i))]

    def restarted(self, s: State, t: State, i: int) -> State:
        """Restart's next state (zoo variants forget more)."""
        return t

    def timeout(self, s: State, i: int) -> list[Choice]:
        no = z3.BoolVal(False)
        t = s._replace(role=put(s.role, i, self.k(C)), term=put(s.term, i, s.term[i] + 1),
                       voted=put(s.voted, i, self.k(self.nil)),
                       vresp=put(s.vresp, i, self.row(no)), vgrant=put(s.vgrant, i, self.row(no)))
        return [Choice("Timeout", s.role[i] != L, t)]

    def request_vote(self, s: State, i: int, j: int) -> list[Choice]:
        m = self.msg(K_RVREQ, s.term[i], i, j, f1=self.last_term(s, i), f2=s.llen[i])
        return [Choice("RequestVote", z3.And(s.role[i] == C, z3.Not(s.vresp[i][j])),
                       s._replace(msgs=self.add(s.msgs, m)))]

    def become_leader(self, s: State, i: int) -> list[Choice]:
        el = tuple(put(row, i, z3.Or(row[i], s.term[i] == t))
                   for t, row in enumerate(s.elected, 1))
        t = s._replace(role=put(s.role, i, self.k(L)), nxt=put(s.nxt, i, self.row(s.llen[i] + 1)),
                       match=put(s.match, i, self.row(self.k(0))), elected=el)
        return [Choice("BecomeLeader",
                       z3.And(s.role[i] == C, self.quorum(lambda j: s.vgrant[i][j])), t)]

    def client_request(self, s: State, i: int, v: int) -> list[Choice]:
        x = s.llen[i] + 1
        terms = [z3.If(x == p, s.term[i], s.lterm[i][p - 1]) for p in self.idx]
        vals = [z3.If(x == p, self.k(v), s.lval[i][p - 1]) for p in self.idx]
        return [Choice("ClientRequest", s.role[i] == L, self.set_log(s, i, x, terms, vals))]

    def agreed(self, s: State, i: int, x: int) -> z3.BoolRef:
        """Index x is in leader i's log and a quorum (i and followers matching x) has it."""
        return z3.And(x <= s.llen[i], self.quorum(
            lambda j: z3.BoolVal(True) if j == i else s.match[i][j] >= x))

    def new_commit_index(self, s: State, i: int) -> Any:
        """The agreed index if its entry is of the current term, else commit unchanged."""
        out: Any = s.commit[i]
        for x in range(1, self.max_log + 1):  # ascending: the highest agreed index wins
            ok = z3.If(s.lterm[i][x - 1] == s.term[i], self.k(x), s.commit[i])
            out = z3.If(self.agreed(s, i, x), ok, out)
        return out

    def advance_commit_index(self, s: State, i: int) -> list[Choice]:
        t = s._replace(commit=put(s.commit, i, self.new_commit_index(s, i)))
        return [Choice("AdvanceCommitIndex", s.role[i] == L, t)]

    def commit_to_send(self, s: State, i: int, last: Any) -> Any:
        return z3.If(s.commit[i] < last, s.commit[i], last)

    def append_entries(self, s: State, i: int, j: int) -> list[Choice]:
        nxt = s.nxt[i][j]
        prev = nxt - 1
        has = nxt <= s.llen[i]
        last = z3.If(has, nxt, s.llen[i])
        m = self.msg(K_AEREQ, s.term[i], i, j, flag=has, f1=prev,
                     f2=self.entry_term(s, i, prev),
                     f3=z3.If(has, self.entry_term(s, i, nxt), self.k(0)),
                     f4=z3.If(has, self.entry_val(s, i, nxt), self.k(0)),
                     f5=self.commit_to_send(s, i, last))
        return [Choice("AppendEntries", s.role[i] == L, s._replace(msgs=self.add(s.msgs, m)))]

    # -- message handlers (slot k, recipient i) ----------------------------------------------

    def update_term(self, s: State, k: int, i: int) -> list[Choice]:
        m = s.msgs[k]
        t = s._replace(term=put(s.term, i, m.term), role=put(s.role, i, self.k(F)),
                       voted=put(s.voted, i, self.k(self.nil)))
        return [Choice("UpdateTerm", m.term > s.term[i], self.term_updated(s, t, i))]

    def term_updated(self, s: State, t: State, i: int) -> State:
        """UpdateTerm's next state (a zoo variant keeps a leader a leader)."""
        return t

    def log_ok_for_vote(self, s: State, i: int, m: Msg) -> Any:
        lt = self.last_term(s, i)
        return z3.Or(m.f1 > lt, z3.And(m.f1 == lt, m.f2 >= s.llen[i]))

    def handle_rv_request(self, s: State, k: int, i: int) -> list[Choice]:
        m = s.msgs[k]
        grant = z3.And(m.term == s.term[i], self.log_ok_for_vote(s, i, m),
                       z3.Or(s.voted[i] == self.nil, s.voted[i] == m.src))
        reply = self.msg(K_RVRESP, s.term[i], i, m.src, flag=grant)
        t = s._replace(voted=put(s.voted, i, z3.If(grant, m.src, s.voted[i])),
                       msgs=self.add(self.remove(s.msgs, k), reply))
        return [Choice("HandleRequestVoteRequest",
                       z3.And(m.kind == K_RVREQ, m.term <= s.term[i]), t)]

    def drop_stale_response(self, s: State, k: int, i: int) -> list[Choice]:
        m = s.msgs[k]
        return [Choice("DropStaleResponse",
                       z3.And(z3.Or(m.kind == K_RVRESP, m.kind == K_AERESP), m.term < s.term[i]),
                       s._replace(msgs=self.remove(s.msgs, k)))]

    def tally_ok(self, s: State, i: int, m: Msg) -> Any:
        return m.term == s.term[i]

    def handle_rv_response(self, s: State, k: int, i: int) -> list[Choice]:
        m = s.msgs[k]
        resp = tuple(z3.Or(s.vresp[i][j], m.src == j) for j in self.srv)
        gr = tuple(z3.Or(s.vgrant[i][j], z3.And(m.flag, m.src == j)) for j in self.srv)
        t = s._replace(vresp=put(s.vresp, i, resp), vgrant=put(s.vgrant, i, gr),
                       msgs=self.remove(s.msgs, k))
        return [Choice("HandleRequestVoteResponse",
                       z3.And(m.kind == K_RVRESP, self.tally_ok(s, i, m)), t)]

    def handle_ae_request(self, s: State, k: int, i: int) -> list[Choice]:
        m = s.msgs[k]
        label = "HandleAppendEntriesRequest"
        term, role, llen = s.term[i], s.role[i], s.llen[i]
        prev = m.f1
        log_ok = z3.Or(prev == 0, z3.And(prev > 0, prev <= llen,
                                         m.f2 == self.entry_term(s, i, prev)))
        ours = z3.And(m.kind == K_AEREQ, m.term <= term)
        reject = z3.Or(m.term < term, z3.And(role == F, z3.Not(log_ok)))
        no = self.msg(K_AERESP, term, i, m.src, flag=False, f1=0)
        out = [Choice(label, z3.And(ours, reject),
                      s._replace(msgs=self.add(self.remove(s.msgs, k), no))),
               Choice(label, z3.And(ours, z3.Not(reject), role == C),
                      s._replace(role=put(s.role, i, self.k(F))))]
        accept = z3.And(ours, z3.Not(reject), role == F)
        x = prev + 1
        append = z3.And(m.flag, llen < x)
        conflict = z3.And(m.flag, llen >= x, self.entry_term(s, i, x) != m.f3)
        terms = [z3.If(x == p, m.f3, s.lterm[i][p - 1]) for p in self.idx]
        vals = [z3.If(x == p, m.f4, s.lval[i][p - 1]) for p in self.idx]
        out.append(Choice(label, z3.And(accept, append), self.set_log(s, i, x, terms, vals)))
        cut = [z3.If(llen == p, self.k(0), s.lterm[i][p - 1]) for p in self.idx]
        cutv = [z3.If(llen == p, self.k(0), s.lval[i][p - 1]) for p in self.idx]
        out.append(Choice(label, z3.And(accept, conflict),
                          self.set_log(s, i, llen - 1, cut, cutv)))
        yes = self.msg(K_AERESP, term, i, m.src, flag=True,
                       f1=prev + z3.If(m.flag, self.k(1), self.k(0)))
        done = s._replace(commit=put(s.commit, i, m.f5),
                          msgs=self.add(self.remove(s.msgs, k), yes))
        out.append(Choice(label, z3.And(accept, z3.Not(append), z3.Not(conflict)),
                          self.append_done(s, done, i, m)))
        return out

    def append_done(self, s: State, t: State, i: int, m: Msg) -> State:
        """The "already done" branch's next state (a zoo variant also truncates)."""
        return t

    def handle_ae_response(self, s: State, k: int, i: int) -> list[Choice]:
        m = s.msgs[k]
        guard = z3.And(m.kind == K_AERESP, m.term == s.term[i])
        nx, mt = list(s.nxt[i]), list(s.match[i])
        for j in self.srv:
            here = m.src == j
            back = z3.If(s.nxt[i][j] - 1 > 1, s.nxt[i][j] - 1, self.k(1))
            nx[j] = z3.If(here, z3.If(m.flag, m.f1 + 1, back), s.nxt[i][j])
            mt[j] = z3.If(z3.And(here, m.flag), m.f1, s.match[i][j])
        t = s._replace(nxt=put(s.nxt, i, tuple(nx)), match=put(s.match, i, tuple(mt)),
                       msgs=self.remove(s.msgs, k))
        return [Choice("HandleAppendEntriesResponse", guard, t)]

    # -- safety --------------------------------------------------------------------------

    def safety(self, s: State) -> list[Conjunct]:
        from agree.symbolic.raft.bmc_safety import safety
        return safety(self, s)

    def invariants(self, s: State) -> list[Conjunct]:
        return self.safety(s)
