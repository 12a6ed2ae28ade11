"""Single-decree Paxos with explicit proposers, for liveness: dueling proposers.

Paxos.tla has no proposers (a leader per ballot is implicit) and bounded
ballots, so every behaviour stops; it cannot show livelock. Here proposers
``p1..`` are explicit, and a proposer that finds itself preempted (an acceptor
has promised a higher ballot) starts a new, higher ballot. With two
proposers they can preempt each other forever, and nothing is chosen
(FLP in miniature); with a single (distinguished) proposer and fair delivery
a value is eventually chosen.

Messages are not modelled as a set: each acceptor reacts to a proposer's
current phase directly (``Promise(a, p)`` is "a receives p's prepare and
answers", ``Accept(a, p)`` is "a receives p's proposal and votes"). Fair
delivery is weak fairness of those actions, per acceptor and proposer.

Ballots are compared only, and a new one is "higher than every ballot in
use", so the state keeps them normalised to ``0..k-1`` in order. That makes
the state space finite while leaving every behaviour intact (renaming ballots
monotonically is a bisimulation: every guard compares ballots only), so the
livelock is a genuine cycle of the graph, not an artefact of a bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, NamedTuple

from agree.models.paxos import put, show_value
from agree.spec import (
    Fact,
    Property,
    Spec,
    SpecError,
    Witness,
    action,
    eventually,
    indexed,
    invariant,
    leads_to,
    property_of,
)

__all__ = ["PROPERTIES", "LivenessPaxos", "LivenessState"]

IDLE, PREPARING, PROPOSING = 0, 1, 2
PHASES = ("idle", "preparing", "proposing")


class LivenessState(NamedTuple):
    # acceptor variables (Paxos.tla)
    max_bal: tuple[int, ...]
    max_vbal: tuple[int, ...]
    max_val: tuple[int | None, ...]
    # proposer variables
    bal: tuple[int, ...]  # the ballot proposer p runs (-1 before its first)
    phase: tuple[int, ...]  # IDLE, PREPARING or PROPOSING
    promised: tuple[frozenset[int], ...]  # acceptors that joined p's ballot
    reported: tuple[tuple[int, int | None], ...]  # the highest vote they reported (vbal, val)
    proposal: tuple[int | None, ...]  # the value p asks acceptors to accept
    accepted: tuple[frozenset[int], ...]  # acceptors that accepted p's proposal
    # learner
    chosen: frozenset[int]  # values a proposer learned were accepted by a quorum


def _normalise(s: LivenessState) -> LivenessState:
    """Rename ballots in use to 0..k-1, keeping their order (see the module doc)."""
    used = sorted({b for b in (*s.max_bal, *s.max_vbal, *s.bal, *(r[0] for r in s.reported))
                   if b >= 0})
    if used == list(range(len(used))):
        return s
    m = {b: i for i, b in enumerate(used)}
    m[-1] = -1
    return s._replace(
        max_bal=tuple(m[b] for b in s.max_bal), max_vbal=tuple(m[b] for b in s.max_vbal),
        bal=tuple(m[b] for b in s.bal),
        reported=tuple((m[vb], v) for (vb, v) in s.reported))


class LivenessPaxos(Spec[LivenessState]):
    """Paxos with explicit proposers that retry when preempted: dueling proposers."""

    name: ClassVar[str] = "paxos-liveness"
    description: ClassVar[str] = (
        "Paxos with explicit proposers that start a higher ballot when preempted "
        "(liveness: dueling proposers)")
    param_help: ClassVar[dict[str, str]] = {
        "acceptors": "acceptors, quorums are majorities (with 2 proposers, 3 acceptors give "
                     "238,881 states)",
        "proposers": "number of proposers; proposer p proposes value v<p> unless told otherwise",
    }
    names: ClassVar[dict[str, str]] = {"acceptors": "a", "proposers": "p", "values": "v"}
    param_max: ClassVar[dict[str, int]] = {"acceptors": 15, "proposers": 15, "values": 100}
    weak_fairness: ClassVar[tuple[str, ...]] = ("Prepare", "Promise", "Propose", "Accept",
                                                "Learn")

    def __init__(self, acceptors: int = 2, proposers: int = 2) -> None:
        if acceptors < 1 or proposers < 1:
            raise SpecError("need --acceptors >= 1 and --proposers >= 1")
        self.acceptors_n, self.proposers_n = acceptors, proposers
        self.acceptors: Sequence[int] = range(acceptors)
        self.proposers: Sequence[int] = range(proposers)
        self.values: Sequence[int] = range(proposers)

    def quorum(self, accs: Iterable[int]) -> bool:
        return 2 * len(set(accs)) > self.acceptors_n

    def init(self) -> Iterable[LivenessState]:
        n, k = self.acceptors_n, self.proposers_n
        yield LivenessState(max_bal=(-1,) * n, max_vbal=(-1,) * n, max_val=(None,) * n,
                            bal=(-1,) * k, phase=(IDLE,) * k, promised=(frozenset(),) * k,
                            reported=((-1, None),) * k, proposal=(None,) * k,
                            accepted=(frozenset(),) * k, chosen=frozenset())

    def preempted(self, s: LivenessState, p: int) -> bool:
        """Some acceptor promised a ballot above p's: p's ballot cannot succeed."""
        return any(b > s.bal[p] for b in s.max_bal)

    # Prepare(p): proposer p, idle or preempted, while nothing is chosen, starts a
    # ballot higher than every ballot in use and asks the acceptors to join it.
    @action(p="proposers")
    def prepare(self, s: LivenessState, p: int) -> LivenessState | None:
        if s.chosen or not (s.phase[p] == IDLE or self.preempted(s, p)):
            return None
        top = max((*s.max_bal, *s.bal), default=-1)
        return _normalise(s._replace(
            bal=put(s.bal, p, top + 1), phase=put(s.phase, p, PREPARING),
            promised=put(s.promised, p, frozenset()), reported=put(s.reported, p, (-1, None)),
            proposal=put(s.proposal, p, None),
            accepted=put(s.accepted, p, frozenset())))

    # Promise(a, p): acceptor a receives p's prepare for a ballot above any it
    # joined, joins it, and answers with its latest vote.
    @action(a="acceptors", p="proposers")
    def promise(self, s: LivenessState, a: int, p: int) -> LivenessState | None:
        if s.phase[p] != PREPARING or not s.bal[p] > s.max_bal[a]:
            return None
        vote = (s.max_vbal[a], s.max_val[a])
        best = vote if vote[0] > s.reported[p][0] else s.reported[p]
        return _normalise(s._replace(max_bal=put(s.max_bal, a, s.bal[p]),
                                     promised=put(s.promised, p, s.promised[p] | {a}),
                                     reported=put(s.reported, p, best)))

    # Propose(p): p, holding promises from a quorum, proposes the value of the
    # highest vote reported, or its own value v<p> if none voted.
    @action(p="proposers")
    def propose(self, s: LivenessState, p: int) -> LivenessState | None:
        if s.phase[p] != PREPARING or not self.quorum(s.promised[p]):
            return None
        reported = s.reported[p][1]
        value = p if reported is None else reported
        return s._replace(phase=put(s.phase, p, PROPOSING), proposal=put(s.proposal, p, value))

    # Accept(a, p): acceptor a receives p's proposal and votes for it, unless it
    # has promised a higher ballot.
    @action(a="acceptors", p="proposers")
    def accept(self, s: LivenessState, a: int, p: int) -> LivenessState | None:
        if s.phase[p] != PROPOSING or s.bal[p] < s.max_bal[a] or a in s.accepted[p]:
            return None
        return s._replace(max_bal=put(s.max_bal, a, s.bal[p]),
                          max_vbal=put(s.max_vbal, a, s.bal[p]),
                          max_val=put(s.max_val, a, s.proposal[p]),
                          accepted=put(s.accepted, p, s.accepted[p] | {a}))

    # Learn(p): p's proposal was accepted by a quorum: its value is chosen.
    @action(p="proposers")
    def learn(self, s: LivenessState, p: int) -> LivenessState | None:
        v = s.proposal[p]
        if s.phase[p] != PROPOSING or v is None or v in s.chosen or not self.quorum(
                s.accepted[p]):
            return None
        return s._replace(chosen=s.chosen | {v})

    def view(self, state: LivenessState) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out.update(indexed("max_bal", state.max_bal, "a"))
        out.update(indexed("max_vbal", state.max_vbal, "a"))
        out.update(indexed("max_val", state.max_val, "a", show_value))
        out.update(indexed("bal", state.bal, "p"))
        out.update(indexed("phase", state.phase, "p", lambda x: PHASES[x]))
        out.update(indexed("promised", state.promised, "p", lambda acc: "{" + ", ".join(
            f"a{a + 1}" for a in sorted(acc)) + "}"))
        out.update(indexed("reported", state.reported, "p",
                           lambda r: f"{r[0]}/{show_value(r[1])}"))
        out.update(indexed("proposal", state.proposal, "p", show_value))
        out.update(indexed("accepted", state.accepted, "p", lambda acc: "{" + ", ".join(
            f"a{a + 1}" for a in sorted(acc)) + "}"))
        out["chosen"] = "{" + ", ".join(show_value(v) for v in sorted(state.chosen)) + "}"
        return out


def _chosen(v: int) -> Callable[[LivenessState], bool]:
    return lambda st: v in st.chosen


@invariant
def agreement(spec: LivenessPaxos, s: LivenessState) -> bool | Witness:
    """At most one value is chosen."""
    if len(s.chosen) <= 1:
        return True
    v1, v2 = sorted(s.chosen)[:2]
    f1, f2 = (Fact(f"{show_value(v)} chosen", _chosen(v)) for v in (v1, v2))
    return Witness(f"two values are chosen, {show_value(v1)} and {show_value(v2)}",
                   [(f1, ", ", f2)], {"chosen": (v1, v2)})


@eventually
def value_chosen(spec: LivenessPaxos, s: LivenessState) -> bool:
    """Eventually some value is chosen (under the declared weak fairness)."""
    return bool(s.chosen)


def _proposing(spec: LivenessPaxos, s: LivenessState) -> bool:
    return any(ph == PROPOSING for ph in s.phase)


@leads_to(_proposing)
def proposal_chosen(spec: LivenessPaxos, s: LivenessState) -> bool:
    """A proposal made (some proposer in phase 2) leads to a chosen value."""
    return bool(s.chosen)


PROPERTIES: tuple[Property, ...] = tuple(property_of(f) for f in (
    agreement, value_chosen, proposal_chosen))
