"""The Multi-Paxos adapter: impl/paxos/multi.py's nodes held to models/multipaxos.py.

The refinement mapping (:meth:`MultiPaxosCluster.mapped`), per acceptor a and slot s:

================  =============================================================
spec variable     implementation
================  =============================================================
max_bal[a]        ``node.max_bal`` as a number (below); None -> -1; while a is
                  down: its persisted max_bal
votes[a][s]       ``node.votes[s]`` as (ballot, value); none -> (-1, None); while
                  a is down: its persisted votes. Values: ``b"0"``, ``b"1"``...
                  -> 0, 1...; the no-op ``b""`` -> -1
msgs              every message any node ever sent, itself included: MPrepare
                  -> 1a (its ``first_slot`` the 1a's ``first``), MPromise -> 1b
                  (the ``first`` of its ballot's 1a), MAccept -> 2a, MAccepted
                  -> 2b (MNack and MHeartbeat have no counterpart: hints for
                  proposers and followers, not protocol steps)
leaders[b]        not mapped: the implementation keeps no record of what its
                  leader recovered; the hint says when it became leader
                  (``BecomeLeader(b, Q)``, Q the promises it had), and the spec
                  then judges every 2a it sends against its own recovery
================  =============================================================

Ballots: ``Ballot(round, node)`` orders by round, then node; ``(round - 1) * n + node``
is an order-preserving number, the spec's ballot, owned by acceptor ``node`` (the
spec's ``b mod n``). Slots are bounded by the spec's ``slots``: the environment proposes
only while the leader's next slot is within them.

The spec has no learners, network, timers or crashes: what a crash loses is proposer
and learner state, so crash and restart are stutters as long as the acceptor's state
was persisted. A value a node learned must be chosen in the spec state. The hints are
the node's new messages in the order sent, and its becoming leader before its first 2a.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

from agree.conformance.bag_cluster import BagCluster
from agree.conformance.codec import ValueCodec
from agree.conformance.harness import ConformanceFailure, Recorder
from agree.conformance.matcher import Hint, Match, action_hint
from agree.impl.paxos import (
    NOOP,
    Ballot,
    MAccept,
    MAccepted,
    MPrepare,
    MPromise,
    MultiMessage,
    MultiPaxosNode,
    NotLeader,
    Vote,
)
from agree.models.multipaxos import (
    NO_VOTE,
    M1a,
    M1b,
    M2a,
    M2b,
    MultiPaxos,
    MultiPaxosState,
    show_value,
)
from agree.models.multipaxos import NOOP as SPEC_NOOP
from agree.properties.multipaxos import SAFETY, chosen
from agree.traces.text import render_text

__all__ = ["Lead", "MultiPaxosCluster", "MultiPaxosMapping", "ObservedMultiNode"]


class Lead(tuple[Ballot, frozenset[int]]):
    """A marker in a node's sent list: it became leader of a ballot with these promises."""


class ObservedMultiNode(MultiPaxosNode):
    """A MultiPaxosNode that records every message it sends (to itself as well), and
    the moment it becomes leader of a ballot (before that ballot's first 2a)."""

    def __init__(self, node_id: int, n: int, max_bal: Ballot | None = None,
                 votes: tuple[Vote, ...] = ()) -> None:
        self.sent: list[MultiMessage | Lead] = []
        self.announced: set[Ballot] = set()
        super().__init__(node_id, n, random.Random(node_id), max_bal=max_bal, votes=votes)

    def announce(self) -> None:
        """Record that this node leads its ballot, once per ballot."""
        if self.is_leader and self.ballot is not None and self.ballot not in self.announced:
            self.announced.add(self.ballot)
            self.sent.append(Lead((self.ballot, frozenset(self._promises))))

    def _deliver(self, m: MultiMessage) -> None:
        if m.source == self.id:
            if isinstance(m, MAccept):
                self.announce()
            self.sent.append(m)
        super()._deliver(m)


class MultiPaxosMapping:
    """Ballots, values and messages of the implementation as the spec's."""

    def __init__(self, n: int, slots: int, values: int, max_round: int) -> None:
        self.n = n
        self.max_round = max_round
        self.spec = MultiPaxos(acceptors=n, slots=slots, values=values,
                               max_ballot=max_round * n - 1)
        self.codec = ValueCodec()
        self.first: dict[int, int] = {}  # spec ballot -> the first slot of its 1a

    def ballot(self, b: Ballot | None) -> int:
        return -1 if b is None else (b.round - 1) * self.n + b.node

    def value(self, v: bytes) -> int:
        return SPEC_NOOP if v == NOOP else self.codec.decode(v)

    def message(self, m: MultiMessage) -> Any:
        """The spec message an implementation message is (None for MNack, MHeartbeat)."""
        if isinstance(m, MPrepare):
            self.first.setdefault(self.ballot(m.ballot), m.first_slot)
            return M1a(self.ballot(m.ballot), m.first_slot)
        if isinstance(m, MPromise):
            b = self.ballot(m.ballot)
            return M1b(m.source, b, self.first.get(b, 1),
                       tuple((v.slot, self.ballot(v.ballot), self.value(v.value))
                             for v in sorted(m.votes)))
        if isinstance(m, MAccept):
            return M2a(self.ballot(m.ballot), m.slot, self.value(m.value))
        if isinstance(m, MAccepted):
            return M2b(m.source, self.ballot(m.ballot), m.slot, self.value(m.value))
        return None

    def hint(self, spec_msg: Any) -> Hint:
        """The spec step that sends ``spec_msg``, or (a Lead) makes a node leader."""
        spec = self.spec

        def step(label: str, *args: Any) -> Hint:
            answers = args[1] if label in ("Phase1b", "Phase2b") else None
            return action_hint(spec, label, args, str(spec_msg), answers)

        if isinstance(spec_msg, Lead):
            ballot, promised = spec_msg
            return step("BecomeLeader", self.ballot(ballot), promised)
        if isinstance(spec_msg, M1a):
            return step("Phase1a", spec_msg.bal, spec_msg.first)
        if isinstance(spec_msg, M1b):
            return step("Phase1b", spec_msg.acc, M1a(spec_msg.bal, spec_msg.first))
        if isinstance(spec_msg, M2a):
            return step("Phase2a", spec_msg.bal, spec_msg.slot, spec_msg.val)
        return step("Phase2b", spec_msg.acc, M2a(spec_msg.bal, spec_msg.slot, spec_msg.val))


Projected = tuple[tuple[int, ...], tuple[tuple[Any, ...], ...], frozenset[Any]]


def _project(s: MultiPaxosState) -> Projected:
    return s.max_bal, s.votes, s.msgs


def _diff(spec_side: Projected, impl_side: Projected) -> list[str]:
    out = []
    for a, (x, y) in enumerate(zip(spec_side[0], impl_side[0], strict=True)):
        if x != y:
            out.append(f"max_bal[a{a + 1}]: spec {x}, implementation {y}")
    for a, (xs, ys) in enumerate(zip(spec_side[1], impl_side[1], strict=True)):
        for slot, (x, y) in enumerate(zip(xs, ys, strict=True), 1):
            if x != y:
                out.append(f"votes[a{a + 1}][s{slot}]: spec {x[0]}/{show_value(x[1])}, "
                           f"implementation {y[0]}/{show_value(y[1])}")
    only_spec = sorted(str(m) for m in spec_side[2] - impl_side[2])
    only_impl = sorted(str(m) for m in impl_side[2] - spec_side[2])
    if only_spec or only_impl:
        out.append(f"msgs: spec only {only_spec}, implementation only {only_impl}")
    return out


def _unproject(mapped: Projected, reached: MultiPaxosState) -> MultiPaxosState:
    return MultiPaxosState(mapped[0], mapped[1], reached.leaders, mapped[2])


class MultiPaxosCluster(BagCluster):
    """n Multi-Paxos nodes over a bag network, every step judged by the spec."""

    def __init__(self, n: int = 3, slots: int = 2, values: int = 2, max_round: int = 3) -> None:
        self.n = n
        self.slots = slots
        self.mapping = MultiPaxosMapping(n, slots, values, max_round)
        self.spec = self.mapping.spec
        self.nodes: list[ObservedMultiNode | None] = [ObservedMultiNode(k, n) for k in range(n)]
        self.stored: list[tuple[Ballot | None, dict[int, Vote]]] = [(None, {}) for _ in range(n)]
        self.bag: list[MultiMessage] = []
        self.msgs: set[Any] = set()
        self.isolated: int | None = None  # a node cut off from the others (messages lost)
        self.recorder = Recorder(self.spec, SAFETY, _project, _diff, _unproject)
        self.recorder.check_initial(self.mapped())

    # -- environment choices -------------------------------------------------------

    def campaign(self, i: int) -> Match:
        """Node i's election timeout fires: phase 1 in its next ballot (within the bound)."""
        node = self.nodes[i]
        if node is not None and node._round < self.mapping.max_round:
            node.campaign()
        return self._after(i, f"campaign at n{i + 1}")

    def propose(self, i: int, v: int) -> Match:
        """A client asks node i to append value v (phase 2 alone, if it leads)."""
        node = self.nodes[i]
        if node is not None and node.next_slot <= self.slots:
            with contextlib.suppress(NotLeader):
                node.propose(self.mapping.codec.encode(v))
        return self._after(i, f"propose v{v + 1} at n{i + 1}")

    def isolate(self, i: int) -> Match:
        """Cut node i off: until heal, every message from or to it is lost on delivery."""
        self.isolated = i
        return self._after(None, f"isolate n{i + 1}")

    def heal(self) -> Match:
        self.isolated = None
        return self._after(None, "heal")

    def _cut(self, m: Any) -> bool:
        """One end of ``m`` is isolated: it is lost on delivery."""
        return self.isolated in (m.source, m.dest) and m.source != m.dest

    def restart(self, i: int) -> Match:
        if self.nodes[i] is None:
            bal, votes = self.stored[i]
            self.nodes[i] = ObservedMultiNode(i, self.n, bal, tuple(votes.values()))
        return self._after(None, f"restart n{i + 1}")

    # -- queries -------------------------------------------------------------------

    def mapped(self) -> Projected:
        """THE refinement mapping: the cluster as the spec's mapped variables."""
        mp = self.mapping
        bals, votes = [], []
        for k, nd in enumerate(self.nodes):
            bal, mine = (nd.max_bal, nd.votes) if nd is not None else self.stored[k]
            bals.append(mp.ballot(bal))
            votes.append(tuple((mp.ballot(mine[s].ballot), mp.value(mine[s].value))
                               if s in mine else NO_VOTE for s in range(1, self.slots + 1)))
        return tuple(bals), tuple(votes), frozenset(self.msgs)

    # -- machinery -----------------------------------------------------------------

    def _after(self, i: int | None, rule: str) -> Match:
        hints = []
        node = self.nodes[i] if i is not None else None
        if node is not None:
            node.announce()  # a leader with nothing to recover sends no 2a
            for m in node.sent:
                if isinstance(m, Lead):
                    hints.append(self.mapping.hint(m))
                    continue
                sm = self.mapping.message(m)
                if sm is not None and sm not in self.msgs:
                    self.msgs.add(sm)
                    hints.append(self.mapping.hint(sm))
            node.sent.clear()
            ready = node.ready()
            bal, votes = self.stored[node.id]
            self.stored[node.id] = (ready.max_bal if ready.max_bal is not None else bal,
                                    {**votes, **{v.slot: v for v in ready.votes}})
            self.bag.extend(ready.messages)
        match = self.recorder.judge(rule, hints, self.mapped())
        self._check_learned()
        return match

    def _check_learned(self) -> None:
        """A value a node learned in a slot must be chosen there in the spec state."""
        spec_chosen = chosen(self.spec, self.recorder.state)
        for k, nd in enumerate(self.nodes):
            if nd is None:
                continue
            for slot, value in sorted(nd.chosen.items()):
                v = self.mapping.value(value)
                if slot > self.slots or v not in spec_chosen[slot - 1]:
                    trace = self.recorder.trace("learned_is_chosen", "invariant")
                    text = (f"n{k + 1} learned {show_value(v)} in slot {slot}, which the spec "
                            "does not consider chosen there\n\n"
                            + render_text(self.spec, trace))
                    raise ConformanceFailure("property", text, trace)
