"""Single-decree Paxos: a port of Lamport's ``Paxos.tla`` (TLA+ Examples).

Read it beside the original. Acceptors keep ``max_bal`` (the highest ballot
they promised or voted in), and ``<<max_vbal, max_val>>``, their vote with the
highest ballot (``<<-1, None>>`` before any vote). ``msgs`` is the set of
every message ever sent: nothing is removed, receiving does not consume, and
loss and duplication need no modelling, since for safety a lost message is a
message never received. There is a leader per ballot, implicit: the ballot b
leader performs Phase1a(b) and Phase2a(b, v). Learners are left out; a value
is *chosen* when a quorum sent 2b messages for the same ballot and value.

Acceptors are ``0..n-1`` (shown ``a1..``), values ``0..k-1`` (shown ``v1..``),
ballots ``0..max_ballot``; quorums are the majorities. An action returns
``self.step(s, var=value, ...)`` (the primed variables; the others UNCHANGED),
or ``s`` itself when the step changes nothing (a stutter).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any, ClassVar, NamedTuple

from agree.spec import (
    Spec,
    SpecError,
    StateSpace,
    action,
    indexed,
    one_of,
    per_state,
    states,
    subset_of,
    tuple_of,
)

__all__ = ["M1a", "M1b", "M2a", "M2b", "Message", "Paxos", "PaxosState", "message_universe",
           "show_value"]

NONE = None  # Paxos.tla's None: "an unspecified value that is not a ballot number"


def show_value(v: int | None) -> str:
    """Values read v1, v2, ...; no value reads None."""
    return "None" if v is None else f"v{v + 1}"


class M1a(NamedTuple):
    """Phase 1a: the ballot ``bal`` leader asks acceptors to join ballot ``bal``."""

    bal: int
    type: str = "1a"

    def __str__(self) -> str:
        return f"1a bal={self.bal}"


class M1b(NamedTuple):
    """Phase 1b: acceptor ``acc`` joins ballot ``bal`` and reports its latest vote."""

    acc: int
    bal: int
    mbal: int
    mval: int | None
    type: str = "1b"

    def __str__(self) -> str:
        return f"1b a{self.acc + 1} bal={self.bal} mbal={self.mbal} mval={show_value(self.mval)}"


class M2a(NamedTuple):
    """Phase 2a: the ballot ``bal`` leader asks acceptors to vote for ``val``."""

    bal: int
    val: int
    type: str = "2a"

    def __str__(self) -> str:
        return f"2a bal={self.bal} val={show_value(self.val)}"


class M2b(NamedTuple):
    """Phase 2b: acceptor ``acc`` voted for ``val`` in ballot ``bal``."""

    acc: int
    bal: int
    val: int
    type: str = "2b"

    def __str__(self) -> str:
        return f"2b a{self.acc + 1} bal={self.bal} val={show_value(self.val)}"


Message = M1a | M1b | M2a | M2b


class PaxosState(NamedTuple):
    max_bal: tuple[int, ...]
    max_vbal: tuple[int, ...]
    max_val: tuple[int | None, ...]
    msgs: frozenset[Any]  # of M1a | M1b | M2a | M2b, every message ever sent


def put(t: tuple[Any, ...], i: int, v: Any) -> tuple[Any, ...]:
    """``[t EXCEPT ![i] = v]``."""
    return (*t[:i], v, *t[i + 1 :])


def message_universe(acceptors: int, values: int, max_ballot: int) -> tuple[Message, ...]:
    """Paxos.tla's Message set for the constants: every well-typed message, by kind then
    ballot."""
    accs, vals, bals = range(acceptors), range(values), range(max_ballot + 1)
    reports = [(-1, None), *((b, v) for b in bals for v in vals)]
    return (*(M1a(b) for b in bals),
            *(M1b(a, b, mb, mv) for b in bals for a in accs for (mb, mv) in reports),
            *(M2a(b, v) for b in bals for v in vals),
            *(M2b(a, b, v) for b in bals for a in accs for v in vals))


def majorities(n: int) -> tuple[frozenset[int], ...]:
    """Every set of more than half of ``0..n-1``, smallest first."""
    return tuple(
        frozenset(q) for k in range(n // 2 + 1, n + 1) for q in combinations(range(n), k)
    )


def _sorted_msgs(s: PaxosState, kind: str) -> list[Any]:
    return sorted((m for m in s.msgs if m.type == kind), key=tuple)


class Paxos(Spec[PaxosState]):
    """Lamport's Paxos.tla: single-decree Paxos with a message set."""

    name: ClassVar[str] = "paxos"
    description: ClassVar[str] = (
        "Lamport's Paxos.tla: single-decree Paxos, messages as a grow-only set")
    param_help: ClassVar[dict[str, str]] = {
        "acceptors": "number of acceptors (quorums are majorities)",
        "values": "number of values that may be proposed",
        "max_ballot": "ballots are 0..max_ballot",
    }
    names: ClassVar[dict[str, str]] = {"acceptors": "a", "values": "v"}
    param_max: ClassVar[dict[str, int]] = {"acceptors": 15, "values": 100, "max_ballot": 100}
    symmetry: ClassVar[tuple[str, ...]] = ("acceptors", "values")

    def __init__(self, acceptors: int = 3, values: int = 2, max_ballot: int = 2) -> None:
        if acceptors < 1:
            raise SpecError("--acceptors must be at least 1")
        if values < 1:
            raise SpecError("--values must be at least 1")
        if max_ballot < 0:
            raise SpecError("--max-ballot must be 0 or more")
        self.acceptors_n = acceptors
        self.values_n = values
        self.max_ballot = max_ballot
        self.acceptors: Sequence[int] = range(acceptors)
        self.values: Sequence[int] = range(values)
        self.ballots: Sequence[int] = range(max_ballot + 1)
        self.typed_ballots = frozenset(range(-1, max_ballot + 1))  # Ballot \cup {-1}
        self.quorums = majorities(acceptors)

    def init(self) -> Iterable[PaxosState]:
        n = self.acceptors_n
        yield PaxosState(max_bal=(-1,) * n, max_vbal=(-1,) * n, max_val=(NONE,) * n,
                         msgs=frozenset())

    # Phase1a(b): the ballot b leader sends a 1a message, beginning ballot b.
    # Always enabled; sending a message already sent changes nothing.
    @action(b="ballots")
    def phase1a(self, s: PaxosState, b: int) -> PaxosState | None:
        m = M1a(bal=b)
        if m in s.msgs:
            return s  # a stutter (see agree.spec: the state itself, no copy)
        return self.step(s, msgs=s.msgs | {m})

    # Phase2a(b, v): the ballot b leader asks for votes for v. Enabled when it
    # has not yet sent a 2a for ballot b, and 1b messages of ballot b from a
    # quorum Q show v safe: none of Q voted before b, or v is the value of the
    # vote with the highest ballot among those Q reported. This conjunct is the
    # heart of the algorithm.
    @action(b="ballots", v="values")
    def phase2a(self, s: PaxosState, b: int, v: int) -> PaxosState | None:
        sent_2a, joined = self.phase1b_index(s)
        if b in sent_2a:
            return None
        reports = joined.get(b)
        if reports is None or not any(self.shows_safe(q, reports, v) for q in self.quorums):
            return None
        return self.step(s, msgs=s.msgs | {M2a(bal=b, val=v)})

    @per_state
    def phase1b_index(self, s: PaxosState) -> tuple[set[int], dict[int, dict[int, list[M1b]]]]:
        """The ballots that have a 2a message, and per ballot the 1b messages by
        acceptor (one each in Paxos; a buggy variant may send several). One pass
        over msgs per state (per_state), though Phase2a asks once per (b, v)."""
        sent_2a: set[int] = set()
        joined: dict[int, dict[int, list[M1b]]] = {}
        for m in s.msgs:
            if m.type == "2a":
                sent_2a.add(m.bal)
            elif m.type == "1b":
                joined.setdefault(m.bal, {}).setdefault(m.acc, []).append(m)
        return sent_2a, joined

    def shows_safe(self, q: frozenset[int], joined: dict[int, list[M1b]], v: int) -> bool:
        """Every acceptor of q sent a 1b; none reported a vote, or the highest
        reported vote is for v (Paxos.tla's Q1b / Q1bv condition)."""
        top, top_vals = -1, set()
        for a in q:
            reports = joined.get(a)
            if not reports:
                return False
            for m in reports:
                if m.mbal > top:
                    top, top_vals = m.mbal, {m.mval}
                elif m.mbal == top and top >= 0:
                    top_vals.add(m.mval)
        return top == -1 or v in top_vals

    # Phase1b(a): acceptor a receives a 1a message of a ballot above any it has
    # joined, promises not to vote below it (max_bal), and answers with its
    # latest vote.
    @action(a="acceptors", m=lambda self, s: _sorted_msgs(s, "1a"))
    def phase1b(self, s: PaxosState, a: int, m: M1a) -> PaxosState | None:
        if not m.bal > s.max_bal[a]:
            return None
        reply = M1b(acc=a, bal=m.bal, mbal=s.max_vbal[a], mval=s.max_val[a])
        return self.step(s, max_bal=put(s.max_bal, a, m.bal), msgs=s.msgs | {reply})

    # Phase2b(a): acceptor a receives a 2a message of a ballot it has not
    # promised to skip (bal >= max_bal[a]) and votes as asked, recording the
    # vote and announcing it in a 2b message. Repeating a vote is a stutter.
    @action(a="acceptors", m=lambda self, s: _sorted_msgs(s, "2a"))
    def phase2b(self, s: PaxosState, a: int, m: M2a) -> PaxosState | None:
        if not m.bal >= s.max_bal[a]:
            return None
        vote = M2b(acc=a, bal=m.bal, val=m.val)
        if (s.max_bal[a], s.max_vbal[a], s.max_val[a]) == (m.bal, m.bal, m.val) and vote in s.msgs:
            return s  # a repeated vote changes nothing: a stutter, the state itself
        return self.step(s, max_bal=put(s.max_bal, a, m.bal), max_vbal=put(s.max_vbal, a, m.bal),
                         max_val=put(s.max_val, a, m.val), msgs=s.msgs | {vote})

    # -- TypeOK as a set (for `agree prove` of a spec file: agree.induction) ---

    def state_space(self) -> StateSpace:
        """Paxos.tla's TypeOK: ballots in Ballot \\cup {-1}, values in Value \\cup {None},
        msgs a subset of Message."""
        n, ballots = self.acceptors_n, one_of(sorted(self.typed_ballots))
        return states(PaxosState, max_bal=tuple_of(n, ballots), max_vbal=tuple_of(n, ballots),
                      max_val=tuple_of(n, one_of((NONE, *self.values))),
                      msgs=subset_of(message_universe(n, self.values_n, self.max_ballot)))

    # -- symmetry and reading ----------------------------------------------

    def permute(self, state: PaxosState, perms: Any) -> PaxosState:
        pa = perms.get("acceptors", range(self.acceptors_n))
        pv = perms.get("values", range(self.values_n))
        inv = [0] * len(pa)
        for i, p in enumerate(pa):
            inv[p] = i

        def val(v: int | None) -> int | None:
            return None if v is None else pv[v]

        def msg(m: Message) -> Message:
            if isinstance(m, M1b):
                return m._replace(acc=pa[m.acc], mval=val(m.mval))
            if isinstance(m, M2a):
                return m._replace(val=pv[m.val])
            if isinstance(m, M2b):
                return m._replace(acc=pa[m.acc], val=pv[m.val])
            return m

        return PaxosState(
            max_bal=tuple(state.max_bal[inv[i]] for i in range(len(pa))),
            max_vbal=tuple(state.max_vbal[inv[i]] for i in range(len(pa))),
            max_val=tuple(val(state.max_val[inv[i]]) for i in range(len(pa))),
            msgs=frozenset(msg(m) for m in state.msgs),
        )

    def show(self, domain: str, value: Any) -> str:
        if isinstance(value, tuple) and hasattr(value, "type"):
            return f"<{value}>"
        return super().show(domain, value)

    def view(self, state: PaxosState) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out.update(indexed("max_bal", state.max_bal, "a"))
        out.update(indexed("max_vbal", state.max_vbal, "a"))
        out.update(indexed("max_val", state.max_val, "a", show_value))
        out["msgs"] = frozenset(str(m) for m in state.msgs)
        return out
