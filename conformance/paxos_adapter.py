"""The Paxos adapter: impl/paxos's single-decree nodes held to models/paxos.py.

The refinement mapping (:meth:`PaxosCluster.mapped`), per acceptor a:

===============  ==============================================================
spec variable    implementation
===============  ==============================================================
max_bal[a]       ``node.acceptor.max_bal`` as a number (below); None -> -1; while a
                 is down: its persisted AcceptorState
max_vbal[a]      ``node.acceptor.max_vbal`` likewise
max_val[a]       ``node.acceptor.max_val``, bytes ``b"0"``, ``b"1"``... -> 0, 1...
msgs             every message any node ever sent, itself included: Prepare ->
                 1a, Promise -> 1b, Accept -> 2a, Accepted -> 2b (Nack has no
                 counterpart: a hint for proposers, not a protocol step)
===============  ==============================================================

Ballots: the implementation's ``Ballot(round, node)`` orders by round, then node;
``(round - 1) * n + node`` is an order-preserving number, the spec's ballot.
Paxos.tla's ``msgs`` is a history variable (every message sent, none ever
removed); the adapter keeps it by observing every message a node hands to
``_deliver``, including those a node delivers to itself without the network
(:class:`ObservedNode`, a subclass that records, the only hook needed).

The spec has no proposers' or learners' state, no network and no crashes: what
a crashed node loses is proposer and learner state, so crash and restart are
stutters as long as the acceptor's state was persisted. The hints are the new
messages in the order sent: a first 1a is Phase1a(b), a promise Phase1b(a, 1a),
a first 2a Phase2a(b, v), a vote Phase2b(a, 2a); a message already in ``msgs``
(the same 2a to every acceptor) is no new step.
"""

from __future__ import annotations

from typing import Any

from agree.conformance.bag_cluster import BagCluster
from agree.conformance.codec import ValueCodec
from agree.conformance.harness import ConformanceFailure, Recorder
from agree.conformance.matcher import Hint, Match, action_hint
from agree.impl.paxos import (
    Accept,
    Accepted,
    AcceptorState,
    Ballot,
    Nack,
    PaxosMessage,
    PaxosNode,
    Prepare,
    Promise,
)
from agree.models.paxos import M1a, M1b, M2a, M2b, Paxos, PaxosState, show_value
from agree.properties.paxos import INDUCTIVE, SAFETY, chosen
from agree.traces.text import render_text

__all__ = ["ObservedNode", "PaxosCluster", "PaxosMapping"]


class ObservedNode(PaxosNode):
    """A PaxosNode that records every message it sends (to itself as well).

    With ``loopback``, a message the node sends itself goes out through the network
    like any other (the bag), instead of being handled at once; the handlers are the
    node's own. Every behaviour of the plain node is one of the loopback node (the one
    that delivers such a message first), and the loopback node's self-addressed
    promises and votes can be scheduled where a spec trace has them (trace replay)."""

    def __init__(self, node_id: int, n: int, acceptor: AcceptorState | None = None,
                 loopback: bool = False) -> None:
        self.sent: list[PaxosMessage] = []
        self.loopback = loopback
        super().__init__(node_id, n, acceptor)

    def step(self, m: PaxosMessage) -> None:
        if self.loopback and m.source == m.dest == self.id:
            PaxosNode._deliver(self, m)  # the network brings it back: handle it now
            return
        super().step(m)

    def _deliver(self, m: PaxosMessage) -> None:
        if m.source == self.id:
            self.sent.append(m)
            if self.loopback and m.dest == self.id:
                self._out.append(m)
                return
        super()._deliver(m)


class PaxosMapping:
    """Ballots, values and messages of the implementation as the spec's."""

    def __init__(self, n: int, values: int, max_round: int,
                 spec_class: type[Paxos] = Paxos) -> None:
        self.n = n
        self.max_round = max_round
        self.spec = spec_class(acceptors=n, values=values, max_ballot=max_round * n - 1)
        self.codec = ValueCodec()

    def ballot(self, b: Ballot | None) -> int:
        return -1 if b is None else (b.round - 1) * self.n + b.node

    def value(self, v: bytes | None) -> int | None:
        return None if v is None else self.codec.decode(v)

    def message(self, m: PaxosMessage) -> Any:
        """The spec message an implementation message is (None for Nack)."""
        if isinstance(m, Prepare):
            return M1a(self.ballot(m.ballot))
        if isinstance(m, Promise):
            return M1b(m.source, self.ballot(m.ballot), self.ballot(m.max_vbal),
                       self.value(m.max_val))
        if isinstance(m, Accept):
            return M2a(self.ballot(m.ballot), self.codec.decode(m.value))
        if isinstance(m, Accepted):
            return M2b(m.source, self.ballot(m.ballot), self.codec.decode(m.value))
        assert isinstance(m, Nack)
        return None

    def hint(self, spec_msg: Any) -> Hint:
        """The spec step that sends ``spec_msg``."""
        spec = self.spec

        def step(label: str, *args: Any) -> Hint:
            answers = args[1] if label in ("Phase1b", "Phase2b") else None
            return action_hint(spec, label, args, str(spec_msg), answers)

        if isinstance(spec_msg, M1a):
            return step("Phase1a", spec_msg.bal)
        if isinstance(spec_msg, M1b):
            return step("Phase1b", spec_msg.acc, M1a(spec_msg.bal))
        if isinstance(spec_msg, M2a):
            return step("Phase2a", spec_msg.bal, spec_msg.val)
        return step("Phase2b", spec_msg.acc, M2a(spec_msg.bal, spec_msg.val))


def _diff(spec_side: PaxosState, impl_side: PaxosState) -> list[str]:
    out = []
    for name in ("max_bal", "max_vbal", "max_val"):
        for a, (x, y) in enumerate(zip(getattr(spec_side, name), getattr(impl_side, name),
                                       strict=True)):
            if x != y:
                show = show_value if name == "max_val" else str
                out.append(f"{name}[a{a + 1}]: spec {show(x)}, implementation {show(y)}")
    only_spec = sorted(str(m) for m in spec_side.msgs - impl_side.msgs)
    only_impl = sorted(str(m) for m in impl_side.msgs - spec_side.msgs)
    if only_spec or only_impl:
        out.append(f"msgs: spec only {only_spec}, implementation only {only_impl}")
    return out


def _project(s: PaxosState) -> PaxosState:
    return s


class PaxosCluster(BagCluster):
    """n single-decree Paxos nodes over a bag network, every step judged by the spec."""

    def __init__(self, n: int = 3, values: int = 2, max_round: int = 6,
                 spec_class: type[Paxos] = Paxos, loopback: bool = False) -> None:
        self.n = n
        self.loopback = loopback
        self.values = values
        self.mapping = PaxosMapping(n, values, max_round, spec_class)
        self.spec = self.mapping.spec
        self.nodes: list[ObservedNode | None] = [ObservedNode(k, n, loopback=loopback)
                                                 for k in range(n)]
        self.stored = [AcceptorState() for _ in range(n)]
        self.bag: list[PaxosMessage] = []
        self.msgs: set[Any] = set()
        self.chosen: dict[int, bytes] = {}
        self.recorder = Recorder(self.spec, (*SAFETY, *INDUCTIVE), _project, _diff,
                                 lambda mapped, _history: mapped)
        self.recorder.check_initial(self.mapped())

    # -- environment choices -------------------------------------------------------

    def propose(self, i: int, v: int) -> Match:
        """Node i starts a ballot (phase 1) to propose value v."""
        node = self.nodes[i]
        if node is not None and self.round() < self.mapping.max_round:
            node.propose(self.mapping.codec.encode(v))
        return self._after(i, f"propose v{v + 1} at n{i + 1}")

    def propose_in(self, i: int, round_: int, v: int) -> Match:
        """Node i starts ballot (round_, i) for value v: the environment decides when a
        proposer starts and, here, which round it picks (the implementation would take the
        next round above those it has seen; replaying a trace needs that one)."""
        node = self.nodes[i]
        if node is not None and node._round < round_:
            node._round = round_ - 1
            node.propose(self.mapping.codec.encode(v))
        return self._after(i, f"propose v{v + 1} at n{i + 1} in round {round_}")

    def deliver_key(self, kind: str, ballot: tuple[int, int], source: int, dest: int) -> Match:
        """Deliver the first message in flight of this kind, ballot, source and destination."""
        for k, m in enumerate(self.bag):
            if (type(m).__name__, tuple(m.ballot), m.source, m.dest) == (kind, ballot, source,
                                                                          dest):
                return self.deliver(k)
        raise LookupError(f"no {kind} of ballot {ballot} from n{source + 1} to n{dest + 1} "
                          "in flight")

    def restart(self, i: int) -> Match:
        if self.nodes[i] is None:
            self.nodes[i] = ObservedNode(i, self.n, self.stored[i], self.loopback)
        return self._after(None, f"restart n{i + 1}")

    # -- queries -------------------------------------------------------------------

    def round(self) -> int:
        return max((nd._round for nd in self.nodes if nd is not None), default=0)

    def mapped(self) -> PaxosState:
        """THE refinement mapping: the cluster as a spec state."""
        mp = self.mapping
        accs = [nd.acceptor if nd is not None else self.stored[k]
                for k, nd in enumerate(self.nodes)]
        return PaxosState(tuple(mp.ballot(a.max_bal) for a in accs),
                          tuple(mp.ballot(a.max_vbal) for a in accs),
                          tuple(mp.value(a.max_val) for a in accs), frozenset(self.msgs))

    # -- machinery -----------------------------------------------------------------

    def _after(self, i: int | None, rule: str) -> Match:
        hints = []
        node = self.nodes[i] if i is not None else None
        if node is not None:
            for m in node.sent:
                sm = self.mapping.message(m)
                if sm is not None and sm not in self.msgs:
                    self.msgs.add(sm)
                    hints.append(self.mapping.hint(sm))
            node.sent.clear()
            ready = node.ready()
            if ready.acceptor is not None:
                self.stored[node.id] = ready.acceptor
            self.bag.extend(ready.messages)
            if ready.chosen is not None:
                self.chosen.setdefault(node.id, ready.chosen)
        match = self.recorder.judge(rule, hints, self.mapped())
        self._check_learned()
        return match

    def _check_learned(self) -> None:
        """A value a node learned must be chosen in the spec state (a quorum voted it)."""
        spec_chosen = chosen(self.spec, self.recorder.state)
        for k, v in sorted(self.chosen.items()):
            if self.mapping.value(v) not in spec_chosen:
                trace = self.recorder.trace("learned_is_chosen", "invariant")
                text = (f"n{k + 1} learned {show_value(self.mapping.value(v))}, which the spec "
                        f"does not consider chosen\n\n" + render_text(self.spec, trace))
                raise ConformanceFailure("property", text, trace)
