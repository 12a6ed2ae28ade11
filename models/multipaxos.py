"""Multi-Paxos: a log of Paxos instances (slots) with a leader per ballot that runs
phase 1 once for all slots, then phase 2 alone for each slot.

Grounded on Chand, Liu and Stoller's ``MultiPaxos.tla`` ("Formal Verification of
Multi-Paxos for Distributed Consensus", FM 2016; the TLA+ Examples' MultiPaxos,
with variables ``msgs``, ``aVoted``, ``aBal``, ``pBal``) and on Lamport's Paxos.tla
as ported in models/paxos.py, whose conventions it keeps: ``msgs`` is the set of
every message ever sent (loss and duplication need no modelling), the leader of a
ballot is implicit, a value is *chosen* in a slot when a quorum sent 2b messages for
it in one ballot. One promise ``max_bal[a]`` covers every slot, as in both.

Where it differs from Chand-Liu-Stoller, to model Multi-Paxos as it runs (Paxos Made
Simple §3, and impl/paxos/multi.py):

* **the leader is distinguished and recovers once**: Chand-Liu-Stoller's Phase2a
  sends one 2a per ballot carrying every decree at once (``ProposeDecrees``). Here
  the leader of ballot ``b`` first *becomes leader* (``BecomeLeader(b, Q)``): from
  the 1b messages of a quorum Q it records, per slot, the value of the
  highest-ballot vote reported (``leaders[b]``), once. Afterwards it sends 2a
  messages one slot at a time (``Phase2a(b, s, v)``) without phase 1 again: a
  recovered slot must get its recovered value, a free slot any value (a client's,
  or a no-op to fill a hole). A leader change is a new ballot, whose phase 1 runs
  again.
* **phase 1 from the first slot not known chosen**: ``Phase1a(b, f)`` asks for the
  votes of slots ``f..`` only, enabled when every slot below ``f`` is chosen (the
  leader learned them, Paxos Made Simple §3); its leader never proposes below
  ``f``. The 1b reports the acceptor's latest vote in each of those slots (CLS:
  every vote, ``aVoted``).
* **a learned value may be re-proposed**: a leader may also propose in a slot a
  value already chosen there (impl/paxos/multi.py does, for a slot it learned while
  recovering); voting for the only value that can ever be chosen is harmless.
* ``pBal`` (the proposers' current ballots) is left out, as Paxos.tla leaves it
  out: ballot ``b`` belongs to acceptor ``b mod n`` (its owner), and each ballot's
  leader is one process.

Acceptors are ``0..n-1`` (shown ``a1..``), slots ``1..slots``, ballots
``0..max_ballot``, client values ``0..k-1`` (shown ``v1..``) and the no-op ``-1``
(shown ``noop``); quorums are the majorities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from agree.models.paxos import majorities, put
from agree.spec import Spec, SpecError, action, indexed, per_state

__all__ = ["CLOSED", "NOOP", "NO_VOTE", "M1a", "M1b", "M2a", "M2b", "MultiPaxos", "MultiPaxosState",
           "Vote", "show_value"]

NOOP = -1  #: the no-op value a leader fills a hole with
CLOSED = -2  #: in a leader's recovery: a slot below its phase 1 (known chosen)
NO_VOTE: tuple[int, int | None] = (-1, None)

#: An acceptor's latest vote in one slot: (ballot, value), (-1, None) before any.
Vote = tuple[int, int | None]


def show_value(v: int | None) -> str:
    """Values read v1, v2, ...; the no-op reads noop; no value reads None."""
    if v is None:
        return "None"
    return "noop" if v == NOOP else f"v{v + 1}"


class M1a(NamedTuple):
    """Phase 1a: the leader of ballot ``bal`` asks for the votes of slots ``first..``."""

    bal: int
    first: int
    type: str = "1a"

    def __str__(self) -> str:
        return f"1a bal={self.bal} first={self.first}"


class M1b(NamedTuple):
    """Phase 1b: acceptor ``acc`` joins ballot ``bal`` and reports its latest vote in
    each slot from ``first`` on: ``(slot, ballot, value)`` for the slots it voted in."""

    acc: int
    bal: int
    first: int
    votes: tuple[tuple[int, int, int], ...]
    type: str = "1b"

    def __str__(self) -> str:
        shown = ", ".join(f"s{s}:{b}/{show_value(v)}" for s, b, v in self.votes)
        return f"1b a{self.acc + 1} bal={self.bal} first={self.first} votes=[{shown}]"


class M2a(NamedTuple):
    """Phase 2a: the leader of ballot ``bal`` asks for votes for ``val`` in ``slot``."""

    bal: int
    slot: int
    val: int
    type: str = "2a"

    def __str__(self) -> str:
        return f"2a bal={self.bal} slot={self.slot} val={show_value(self.val)}"


class M2b(NamedTuple):
    """Phase 2b: acceptor ``acc`` voted for ``val`` in ``slot``, ballot ``bal``."""

    acc: int
    bal: int
    slot: int
    val: int
    type: str = "2b"

    def __str__(self) -> str:
        return f"2b a{self.acc + 1} bal={self.bal} slot={self.slot} val={show_value(self.val)}"


class MultiPaxosState(NamedTuple):
    max_bal: tuple[int, ...]  # per acceptor: the ballot promised (one for all slots)
    votes: tuple[tuple[Vote, ...], ...]  # per acceptor, per slot (1.. at index 0..)
    #: per ballot: None before its leader recovered, else per slot CLOSED, None (free)
    #: or the value it must propose there
    leaders: tuple[tuple[int | None, ...] | None, ...]
    msgs: frozenset[Any]  # of M1a | M1b | M2a | M2b, every message ever sent


class Index(NamedTuple):
    """What the message set says, in one pass (read-only by convention)."""

    first: dict[int, int]  # ballot -> the first slot of its 1a
    joined: dict[int, dict[int, M1b]]  # ballot -> acceptor -> its 1b
    proposed: dict[tuple[int, int], int]  # (ballot, slot) -> the value of its 2a
    voters: dict[tuple[int, int, int], set[int]]  # (slot, ballot, value) -> acceptors
    chosen: tuple[frozenset[int], ...]  # per slot (index slot-1): the values chosen


def _sorted_msgs(s: MultiPaxosState, kind: str) -> list[Any]:
    return sorted((m for m in s.msgs if m.type == kind), key=tuple)


class MultiPaxos(Spec[MultiPaxosState]):
    """Multi-Paxos: a log of slots, one phase 1 per leader (ballot) for all of them."""

    name: ClassVar[str] = "multipaxos"
    description: ClassVar[str] = (
        "Multi-Paxos: a log of slots, a leader per ballot recovers every slot in one "
        "phase 1 and then runs phase 2 alone")
    param_help: ClassVar[dict[str, str]] = {
        "acceptors": "number of acceptors (quorums are majorities)",
        "slots": "number of log slots",
        "values": "number of client values (the no-op comes on top)",
        "max_ballot": "ballots are 0..max_ballot; ballot b belongs to acceptor b mod n",
    }
    names: ClassVar[dict[str, str]] = {"acceptors": "a", "values": "v"}
    param_max: ClassVar[dict[str, int]] = {"acceptors": 9, "slots": 9, "values": 9,
                                           "max_ballot": 30}
    #: Acceptors are interchangeable (no guard of this spec reads a ballot's owner), and
    #: so are client values (the no-op is not one of them: it is fixed).
    symmetry: ClassVar[tuple[str, ...]] = ("acceptors", "values")

    def __init__(self, acceptors: int = 3, slots: int = 2, values: int = 1,
                 max_ballot: int = 1) -> None:
        if acceptors < 1:
            raise SpecError("--acceptors must be at least 1")
        if slots < 1:
            raise SpecError("--slots must be at least 1")
        if values < 1:
            raise SpecError("--values must be at least 1")
        if max_ballot < 0:
            raise SpecError("--max-ballot must be 0 or more")
        self.acceptors_n = acceptors
        self.slots_n = slots
        self.values_n = values
        self.max_ballot = max_ballot
        self.acceptors: Sequence[int] = range(acceptors)
        self.slots: Sequence[int] = range(1, slots + 1)
        self.firsts: Sequence[int] = range(1, slots + 2)
        self.values: Sequence[int] = range(values)
        self.proposable: Sequence[int] = (*range(values), NOOP)
        self.ballots: Sequence[int] = range(max_ballot + 1)
        self.quorums = majorities(acceptors)
        #: The quorums a leader recovers from: the smallest majorities. A leader acts on
        #: the first majority of promises to arrive (impl/paxos/multi.py does); one more
        #: report changes nothing that matters, and each would be another state.
        self.leader_quorums = tuple(q for q in self.quorums if len(q) == acceptors // 2 + 1)

    def owner(self, b: int) -> int:
        """The acceptor whose process leads ballot ``b``."""
        return b % self.acceptors_n

    def init(self) -> Iterable[MultiPaxosState]:
        n, k = self.acceptors_n, self.slots_n
        yield MultiPaxosState(max_bal=(-1,) * n, votes=((NO_VOTE,) * k,) * n,
                              leaders=(None,) * (self.max_ballot + 1), msgs=frozenset())

    @per_state
    def index(self, s: MultiPaxosState) -> Index:
        """One pass over ``msgs`` per state, shared by the actions and the properties."""
        first: dict[int, int] = {}
        joined: dict[int, dict[int, M1b]] = {}
        proposed: dict[tuple[int, int], int] = {}
        voters: dict[tuple[int, int, int], set[int]] = {}
        for m in s.msgs:
            kind = m.type
            if kind == "2b":
                voters.setdefault((m.slot, m.bal, m.val), set()).add(m.acc)
            elif kind == "2a":
                proposed[(m.bal, m.slot)] = m.val
            elif kind == "1b":
                joined.setdefault(m.bal, {})[m.acc] = m
            else:
                first[m.bal] = m.first
        chosen: list[set[int]] = [set() for _ in self.slots]
        smallest = self.acceptors_n // 2 + 1
        for (slot, _, val), accs in voters.items():
            if len(accs) >= smallest:
                chosen[slot - 1].add(val)
        return Index(first, joined, proposed, voters, tuple(frozenset(c) for c in chosen))

    # Phase1a(b, f): the leader of ballot b begins it, asking every acceptor for its
    # votes in slots f.. (once per ballot); every slot below f is chosen (it learned them).
    @action(b="ballots", f="firsts")
    def phase1a(self, s: MultiPaxosState, b: int, f: int) -> MultiPaxosState | None:
        ix = self.index(s)
        if b in ix.first or not all(ix.chosen[slot - 1] for slot in range(1, f)):
            return None
        return self.step(s, msgs=s.msgs | {M1a(bal=b, first=f)})

    # Phase1b(a, m): acceptor a receives a 1a of a ballot above its promise, promises
    # (for every slot) and reports its latest vote in each slot the 1a asks about.
    @action(a="acceptors", m=lambda self, s: _sorted_msgs(s, "1a"))
    def phase1b(self, s: MultiPaxosState, a: int, m: M1a) -> MultiPaxosState | None:
        if not m.bal > s.max_bal[a]:
            return None
        reply = M1b(acc=a, bal=m.bal, first=m.first, votes=self.report(s, a, m.first))
        return self.step(s, max_bal=put(s.max_bal, a, m.bal), msgs=s.msgs | {reply})

    def report(self, s: MultiPaxosState, a: int, first: int,
               ) -> tuple[tuple[int, int, int], ...]:
        """Acceptor a's latest vote in each slot from ``first`` on, where it voted."""
        return tuple((slot, b, v) for slot, (b, v) in enumerate(s.votes[a], 1)
                     if slot >= first and v is not None)

    # BecomeLeader(b, Q): the leader of ballot b has the 1b messages of quorum Q and
    # recovers every slot at once: the value of the highest-ballot vote reported in it,
    # or free where none is. Phase 1 is not run again in ballot b.
    @action(b="ballots", q="leader_quorums")
    def become_leader(self, s: MultiPaxosState, b: int, q: frozenset[int],
                      ) -> MultiPaxosState | None:
        if s.leaders[b] is not None:
            return None
        ix = self.index(s)
        joined = ix.joined.get(b)
        if joined is None or not all(a in joined for a in q):
            return None
        first = ix.first[b]
        recovered = self.recover(s, b, first, [joined[a] for a in sorted(q)])
        return self.step(s, leaders=put(s.leaders, b, recovered))

    def recover(self, s: MultiPaxosState, b: int, first: int, reports: list[M1b],
                ) -> tuple[int | None, ...]:
        """Per slot: CLOSED below ``first``; else the value of the highest-ballot vote the
        reports carry, or None (free) if none."""
        best: dict[int, tuple[int, int]] = {}
        for m in reports:
            for slot, vb, v in m.votes:
                if slot not in best or vb > best[slot][0]:
                    best[slot] = (vb, v)
        return tuple(CLOSED if slot < first else (best[slot][1] if slot in best else None)
                     for slot in self.slots)

    # Phase2a(b, s, v): the leader of ballot b, recovered, asks for votes for v in slot s
    # (once per ballot and slot): its recovered value there, any value if the slot is
    # free, or a value already chosen there.
    @action(b="ballots", slot="slots", v="proposable")
    def phase2a(self, s: MultiPaxosState, b: int, slot: int, v: int,
                ) -> MultiPaxosState | None:
        rec = s.leaders[b]
        if rec is None:
            return None
        must = rec[slot - 1]
        if must == CLOSED:
            return None
        ix = self.index(s)
        if (b, slot) in ix.proposed:
            return None
        if must is not None and v != must and v not in ix.chosen[slot - 1]:
            return None
        return self.step(s, msgs=s.msgs | {M2a(bal=b, slot=slot, val=v)})

    # Phase2b(a, m): acceptor a receives a 2a of a ballot it has not promised to skip,
    # votes as asked in that slot, and announces the vote. A repeated vote is a stutter.
    @action(a="acceptors", m=lambda self, s: _sorted_msgs(s, "2a"))
    def phase2b(self, s: MultiPaxosState, a: int, m: M2a) -> MultiPaxosState | None:
        if not m.bal >= s.max_bal[a]:
            return None
        return self.vote(s, a, m)

    def vote(self, s: MultiPaxosState, a: int, m: M2a) -> MultiPaxosState:
        """Acceptor a votes for m's value in m's slot and ballot."""
        vote = M2b(acc=a, bal=m.bal, slot=m.slot, val=m.val)
        mine = s.votes[a]
        if s.max_bal[a] == m.bal and mine[m.slot - 1] == (m.bal, m.val) and vote in s.msgs:
            return s
        return self.step(s, max_bal=put(s.max_bal, a, max(s.max_bal[a], m.bal)),
                         votes=put(s.votes, a, put(mine, m.slot - 1, (m.bal, m.val))),
                         msgs=s.msgs | {vote})

    # -- symmetry and reading ----------------------------------------------

    def permute(self, state: MultiPaxosState, perms: Mapping[str, Sequence[int]],
                ) -> MultiPaxosState:
        pa = perms.get("acceptors", range(self.acceptors_n))
        pv = perms.get("values", range(self.values_n))
        inv = [0] * len(pa)
        for i, p in enumerate(pa):
            inv[p] = i

        def val(v: Any) -> Any:
            if isinstance(v, frozenset):  # a variant's set of values a leader may take
                return frozenset(val(x) for x in v)
            return v if v is None or v < 0 else pv[v]

        def msg(m: Any) -> Any:
            if isinstance(m, M1b):
                return m._replace(acc=pa[m.acc],
                                  votes=tuple((sl, b, val(v)) for sl, b, v in m.votes))
            if isinstance(m, M2a):
                return m._replace(val=val(m.val))
            if isinstance(m, M2b):
                return m._replace(acc=pa[m.acc], val=val(m.val))
            return m

        return MultiPaxosState(
            max_bal=tuple(state.max_bal[inv[i]] for i in range(len(pa))),
            votes=tuple(tuple((b, val(v)) for b, v in state.votes[inv[i]])
                        for i in range(len(pa))),
            leaders=tuple(None if r is None else tuple(val(v) for v in r)
                          for r in state.leaders),
            msgs=frozenset(msg(m) for m in state.msgs))

    def show(self, domain: str, value: Any) -> str:
        if isinstance(value, tuple) and hasattr(value, "type"):
            return f"<{value}>"
        if isinstance(value, frozenset):
            return "{" + ", ".join(f"a{a + 1}" for a in sorted(value)) + "}"
        if domain == "proposable":
            return show_value(value)
        return super().show(domain, value)

    def view(self, state: MultiPaxosState) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out.update(indexed("max_bal", state.max_bal, "a"))
        for a, mine in enumerate(state.votes):
            for slot, (b, v) in enumerate(mine, 1):
                out[f"votes[a{a + 1}][s{slot}]"] = "none" if v is None else f"{b}/{show_value(v)}"
        for b, rec in enumerate(state.leaders):
            if rec is not None:
                out[f"leaders[{b}]"] = " ".join(
                    f"s{slot}:" + ("closed" if v == CLOSED else "free" if v is None
                                   else show_value(v))
                    for slot, v in enumerate(rec, 1))
        out["msgs"] = frozenset(str(m) for m in state.msgs)
        return out
