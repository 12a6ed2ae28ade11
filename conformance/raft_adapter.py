"""The Raft adapter: impl/raft's cores, in the simulator, held to models/raft.py.

The refinement mapping (one function, :meth:`RaftMapping.map_sim`), per server i:

==================  ==========================================================
spec variable       implementation (``core = sim.nodes[i].core``)
==================  ==========================================================
current_term[i]     ``core.current_term``; while i is down: the stored hard state
state[i]            ``core.role.value``; down: Follower
voted_for[i]        ``core.voted_for``; down: the stored hard state
log[i]              the snapshot's prefix, then ``core.log``, values decoded by
                    :class:`ValueCodec`; down: the stored snapshot and log
commit_index[i]     ``core.commit_index``; down: 0
votes_responded[i]  ``core.votes_responded``; down: {}
votes_granted[i]    ``core.votes_granted``; down: {}
next_index[i]       ``core.next_index``; down: 1 for every server
match_index[i]      ``core.match_index``; down: 0 for every server
messages            the simulator's bag, each message field by field (``term`` ->
                    ``mterm``...), counted with multiplicity
==================  ==========================================================

A crashed server is mapped to what it would be right after restarting, so the
crash is raft.tla's ``Restart(i)`` and the restart a stutter; what a crashed
server would lose is exactly what Restart resets. Messages that the simulator
loses (the destination down, or across a partition) are ``DropMessage`` steps;
partition and heal change nothing the spec sees (stutters).

History variables are not mapped: ``elections``, ``all_logs``, ``voter_log``,
``committed`` and every message's proof-only ``mlog`` are taken from the spec
steps matched so far (they are functions of the behaviour, which the spec
computes as it goes). The comparison is on the *projection* of a spec state,
the state without them (:func:`project`).

Documented deviations (impl/raft/core.py says them): a follower never lowers its
commit_index, where raft.tla sets it to the leader's value even when a reordered,
older AppendEntries carries a lower one. :func:`keep_commit_index` rewrites such a
spec step to keep the old commit_index and labels it ``[commit_index kept]``. The
recovery machinery is held to the catalogue's (deviations.py) ``ADAPTER_DEVIATIONS``:
an AppendEntries event names its message, taken only by a step (or batched_entries
variant) that sends exactly it; a HandleAppendEntriesResponse event names the
next_index the leader took, and a failure reply's fast_backup variant must take that
one (a late reply's: the one it had). The rejection's hint fields and the ReadIndex
``read_ctx`` are not raft.tla's and are left out of the mapped message.

PreVote and CheckQuorum (impl/raft/election.py): pre-vote messages are not raft.tla's
and are left out of the mapped bag (:func:`is_spec_message`); handling one changes no
spec variable, unless a quorum of pre-votes starts the real election (Timeout and the
rest, as its events say), or a refusal of a higher term makes the pre-candidate a
follower in that term (event ``PreVoteTerm``): the declared deviation pre_vote_term,
raft.tla's UpdateTerm to a term the refuser holds. A CheckQuorum step-down is the
declared deviation check_quorum_step_down: the leader's Restart(i) keeping its
commit_index.

Membership changes (impl/raft/membership.py, with ``spec_class`` RaftReconfig): a
configuration entry maps onto raft-reconfig's ``ConfigEntry`` (:func:`spec_entry`), the
events AddServer and RemoveServer onto its actions, the learner events onto no step
(:data:`LEARNER_EVENTS`), and an AppendEntries to a server outside the leader's
configuration (the learner's catch-up, which raft-reconfig leaves out) onto raft.tla's
AppendEntries without the membership guard, labelled :data:`LEARNER_CATCH_UP`.

Snapshots (impl/raft/snapshot.py) are mapped onto the log prefix they replace: a
snapshot at index s stands for the s entries committed at 1..s (the ones the nodes
applied there, ``Simulator.applied_at``; State Machine Safety is checked on every
apply), so compaction changes nothing the spec sees (a stutter). An
InstallSnapshotRequest in flight is the AppendEntries of that prefix (prev_log_index
0, commit index s): the leader sending it is the catalogue's snapshot_prefix variant
of AppendEntries, and the follower installing it the raft.tla steps of handling that
request, as many as it takes (one per entry appended or removed, then the reply). A
server restarts with its snapshot's entries committed: the catalogue's
persisted_commit_index (a crashed server is mapped with that commit index).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from agree.conformance.codec import ValueCodec
from agree.conformance.deviations import (
    BATCHED_ENTRIES,
    CHECK_QUORUM_STEP_DOWN,
    FAST_BACKUP,
    MONOTONIC_MATCH_INDEX,
    PERSISTED_COMMIT_INDEX,
    PRE_VOTE_TERM,
    SNAPSHOT_PREFIX,
    expand,
    kept_commit_index,
    resolve,
)
from agree.conformance.matcher import Hint
from agree.conformance.raft_messages import (
    Projection,
    is_spec_message,
    message_key,
    spec_log,
    spec_message,
    spec_message_key,
)
from agree.impl.raft import (
    Entry,
    Event,
    Message,
    RaftCore,
    Snapshot,
)
from agree.impl.sim import Simulator
from agree.models import raft_types as rt
from agree.models.raft import Raft
from agree.models.raft_reconfig import RaftReconfig
from agree.models.raft_types import RaftState
from agree.spec import Transition

__all__ = [
    "ADAPTER_DEVIATIONS",
    "EVENT_ACTION",
    "LEARNER_CATCH_UP",
    "LEARNER_EVENTS",
    "PRE_VOTE",
    "STEP_DOWN",
    "RaftMapping",
    "keep_commit_index",
]

#: The declared deviations impl/raft's recovery takes (besides keep_commit_index).
ADAPTER_DEVIATIONS = (BATCHED_ENTRIES, FAST_BACKUP, MONOTONIC_MATCH_INDEX, SNAPSHOT_PREFIX,
                      PERSISTED_COMMIT_INDEX, CHECK_QUORUM_STEP_DOWN, PRE_VOTE_TERM)

#: The event (and step label) of a CheckQuorum step-down (impl/raft/election.py).
STEP_DOWN = "CheckQuorumStepDown"

#: The event (and step label) of a refused pre-vote's term taken (impl/raft/election.py).
PRE_VOTE = "PreVoteTerm"

#: A leader's learner bookkeeping (impl/raft/membership.py): no spec variable changes.
LEARNER_EVENTS = frozenset({"AddLearner", "CaughtUp", "GiveUpLearner"})

#: The label of an AppendEntries to a learner: raft.tla's AppendEntries(i, j) for a j
#: outside i's configuration, which raft-reconfig does not send (it has no catch-up).
LEARNER_CATCH_UP = "AppendEntries[learner_catch_up]"

#: Implementation event -> the raft.tla action it is a step of.
EVENT_ACTION: dict[str, str] = {
    "Timeout": "Timeout",
    "RequestVote": "RequestVote",
    "BecomeLeader": "BecomeLeader",
    "ClientRequest": "ClientRequest",
    "AdvanceCommitIndex": "AdvanceCommitIndex",
    "AppendEntries": "AppendEntries",
    "UpdateTerm": "UpdateTerm",
    "HandleRequestVoteRequest": "HandleRequestVoteRequest",
    "HandleRequestVoteResponse": "HandleRequestVoteResponse",
    "DropStaleResponse": "DropStaleResponse",
    "RejectAppendEntriesRequest": "HandleAppendEntriesRequest",
    "ReturnToFollowerState": "HandleAppendEntriesRequest",
    "ConflictAppendEntriesRequest": "HandleAppendEntriesRequest",
    "NoConflictAppendEntriesRequest": "HandleAppendEntriesRequest",
    "AcceptAppendEntriesRequest": "HandleAppendEntriesRequest",
    "HandleAppendEntriesResponse": "HandleAppendEntriesResponse",
    STEP_DOWN: "Restart",  # step_down(): a Restart only check_quorum_step_down rewrites
    PRE_VOTE: "UpdateTerm",  # pre_vote_term(): a stutter only pre_vote_term rewrites
    "SendSnapshot": "AppendEntries",
    "InstallSnapshot": "HandleAppendEntriesRequest",
    "RejectInstallSnapshot": "HandleAppendEntriesRequest",
    # membership changes (impl/raft/membership.py), held to models/raft_reconfig.py
    "AddServer": "AddServer",
    "RemoveServer": "RemoveServer",
    # written by other implementations (agree.eventlog), never by impl/raft
    "Restart": "Restart",
    "HandleAppendEntriesRequest": "HandleAppendEntriesRequest",
}


def keep_commit_index(prev: RaftState, t: Transition[Any]) -> Transition[Any]:
    """The documented deviation (the catalogue's monotonic_commit_index, as a rewrite):
    a follower handling an older AppendEntries keeps its higher commit_index (raft.tla
    would lower it)."""
    state = kept_commit_index(prev, t)
    if state is None:
        return t
    return Transition(replace(t.action, label="HandleAppendEntriesRequest[commit_index kept]"),
                      t.args, state)


class RaftMapping:
    """The spec to hold the cluster to, the mapping onto it, and the hints from events."""

    def __init__(self, n: int, values: int, max_batch: int,
                 spec_class: type[Raft] = Raft, **spec_args: Any) -> None:
        self.n = n
        # The bounds are TLC's state constraint, which conformance does not apply: set
        # high so that a saved trace replays through `agree trace` unconstrained.
        self.spec = spec_class(servers=n, values=values, entries_per_append=max_batch,
                               history=True, max_term=99, max_log=99, max_messages=999,
                               **spec_args)
        self.codec = ValueCodec()
        self.deviations = resolve(ADAPTER_DEVIATIONS)
        #: the entry committed at each index (the simulator's applied_at, shared)
        self.committed: dict[int, Entry] = {}

    def prefix(self, s: int) -> list[Entry]:
        """The entries 1..s a snapshot at index s replaces: those committed there."""
        missing = [k for k in range(1, s + 1) if k not in self.committed]
        if missing:
            raise AssertionError(f"a snapshot at index {s} covers index {missing[0]}, "
                                 "which no node applied")
        return [self.committed[k] for k in range(1, s + 1)]

    def key(self, m: Message) -> tuple[Any, ...]:
        """`message_key` with this mapping's codec and snapshot prefixes."""
        return message_key(self.codec, m, self.prefix)

    def _whole_log(self, snapshot: Snapshot | None, kept: Iterable[Entry]) -> rt.Log:
        prefix = self.prefix(snapshot.index) if snapshot is not None else []
        return spec_log(self.codec, [*prefix, *kept])

    def map_core(self, core: RaftCore | None, hard: Any, stored: Sequence[Entry],
                 snapshot: Snapshot | None = None) -> tuple[Any, ...]:
        """One server's variables (a crashed one: as right after a restart)."""
        n = self.n
        if core is None:
            return (hard.current_term, rt.FOLLOWER, hard.voted_for,
                    self._whole_log(snapshot, stored),
                    snapshot.index if snapshot is not None else 0,
                    frozenset(), frozenset(), (1,) * n, (0,) * n)
        return (core.current_term, core.role.value, core.voted_for,
                self._whole_log(core.snapshot, core.log), core.commit_index,
                core.votes_responded, core.votes_granted, core.next_index, core.match_index)

    def map_sim(self, sim: Simulator) -> Projection:
        """THE refinement mapping: the simulator's cluster as a spec state projection."""
        self.committed = sim.applied_at
        per = []
        for node in sim.nodes:
            hard, stored = node.storage.load()
            per.append(self.map_core(node.core, hard, stored, node.storage.load_snapshot()))
        columns = tuple(tuple(row[c] for row in per) for c in range(9))
        bag = tuple(sorted(self.key(m) for m in sim.bag if is_spec_message(m)))
        return (*columns, bag)

    # -- hints -----------------------------------------------------------------

    def on_message(self, label: str, key: tuple[Any, ...]) -> Hint:
        """A step of action ``label`` on (a copy of) the spec message with this key."""
        act = self.spec.action(label)

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            for m in dict.fromkeys(s.messages):
                if spec_message_key(m) == key:
                    nxt = act.fn(s, m)
                    if nxt is not None:
                        yield Transition(act, (m,), nxt)
        return Hint(label, candidates, str(spec_message(key)))

    def on_server(self, label: str, *args: Any) -> Hint:
        """A step of a server action with fixed arguments."""
        act = self.spec.action(label)

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            nxt = act.fn(s, *args)
            if nxt is not None:
                yield Transition(act, tuple(args), nxt)
        return Hint(label, candidates)

    def restart(self, i: int, commit_index: int) -> Hint:
        """Restart(i), keeping ``commit_index`` (a snapshot's index: persisted_commit_index;
        0 is raft.tla's own step)."""
        base = self.on_server("Restart", i)

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            for t in base.candidates(s):
                for v in expand(self.spec, self.deviations, s, t):
                    if v.state.commit_index[i] == commit_index:
                        yield v
        return Hint("Restart", candidates)

    def _sends(self, i: Any, j: Any, key: tuple[Any, ...]) -> Hint:
        """AppendEntries(i, j) sending exactly the message ``key`` (raft.tla's step, or
        its batched_entries variant: a heartbeat, a one-entry probe)."""
        base = self.catch_up(self.on_server("AppendEntries", i, j), i, j)

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            before = rt.bag_counts(s.messages)
            for t in base.candidates(s):
                for v in expand(self.spec, self.deviations, s, t):
                    after = rt.bag_counts(v.state.messages)
                    if any(spec_message_key(m) == key and k > before.get(m, 0)
                           for m, k in after.items()):
                        yield v
        return Hint("AppendEntries", candidates, str(spec_message(key)))

    def catch_up(self, base: Hint, i: Any, j: Any) -> Hint:
        """base, or, under raft-reconfig when j is outside i's configuration (a learner
        being caught up), raft.tla's AppendEntries(i, j) labelled LEARNER_CATCH_UP: the
        one step the implementation takes that raft-reconfig leaves out."""
        spec = self.spec
        if not isinstance(spec, RaftReconfig):
            return base
        act = spec.action("AppendEntries")

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            if j in spec.config(s, i):
                yield from base.candidates(s)
                return
            nxt = Raft.append_entries(spec, s, i, j)
            if nxt is not None:
                yield Transition(replace(act, label=LEARNER_CATCH_UP), (i, j), nxt)
        return Hint(base.label, candidates, base.note)

    def step_down(self, i: Any) -> Hint:
        """A CheckQuorum step-down of i: raft.tla's Restart(i), labelled as the step-down
        so that only the check_quorum_step_down deviation rewrites it (a real restart
        keeps no commit index under it)."""
        base = self.on_server("Restart", i)

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            for t in base.candidates(s):
                yield Transition(replace(t.action, label=STEP_DOWN), t.args, t.state)
        return Hint(STEP_DOWN, candidates)

    def pre_vote_term(self, i: Any, j: Any, term: Any) -> Hint:
        """A refused pre-vote's term taken by i: no raft.tla step (a stutter labelled
        PreVoteTerm), so that only the pre_vote_term deviation's UpdateTerm fits it."""
        servers = self.spec.action("Restart").domains[0][1]
        update = self.spec.action("UpdateTerm")  # its domain shows a term as a number
        act = replace(update, label=PRE_VOTE, domains=(
            ("i", servers), ("j", servers), ("term", update.domains[0][1])))

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            yield Transition(act, (i, j, term), s)
        return Hint(PRE_VOTE, candidates)

    def _expanded(self, base: Hint) -> Hint:
        """base's steps and their variants under the adapter's deviations."""

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            for t in base.candidates(s):
                yield from expand(self.spec, self.deviations, s, t)
        return Hint(base.label, candidates, base.note)

    def _backs_up(self, base: Hint, m: Any, next_index: Any) -> Hint:
        """HandleAppendEntriesResponse taking next_index[i][j] = ``next_index``: raft.tla's
        step or its fast_backup / monotonic_match_index variants that do."""
        i, j = m.dest, m.source

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            for t in base.candidates(s):
                for v in expand(self.spec, self.deviations, s, t):
                    if v.state.next_index[i][j] == next_index:
                        yield v
        return Hint(base.label, candidates, base.note)

    def hints_of(self, event: Event, state: RaftState) -> list[Hint]:
        """The spec steps an implementation trace event claims, from spec state `state`
        (the one before the rule): one, except for a snapshot installed, which is as
        many raft.tla steps as handling the prefix's AppendEntries takes there."""
        if event.action in LEARNER_EVENTS:
            return []
        if event.action != "InstallSnapshot":
            return [self.hint_of(event)]
        key = self.key(event.get("m"))  # type: ignore[arg-type]
        hint = self.on_message("HandleAppendEntriesRequest", key)
        return [hint] * self._handling_steps(state, key)

    def _handling_steps(self, s: RaftState, key: tuple[Any, ...]) -> int:
        """How many HandleAppendEntriesRequest steps the spec takes to consume the
        request `key` from s (after UpdateTerm, if its term is newer): one per entry
        appended or removed, then the reply."""
        found = [m for m in s.messages if spec_message_key(m) == key]
        if not found:
            return 1
        m = found[0]
        i = m.mdest
        if m.mterm > s.current_term[i]:
            s = self.spec.action("UpdateTerm").fn(s, m) or s
        handle = self.spec.action("HandleAppendEntriesRequest").fn
        before = rt.bag_counts(s.messages).get(m, 0)
        steps = 0
        while steps <= self.spec.max_log + 2 * len(m.mentries) + 2:
            nxt = handle(s, m)
            if nxt is None:
                break
            s, steps = nxt, steps + 1
            if rt.bag_counts(s.messages).get(m, 0) < before:
                break
        return max(steps, 1)

    def hint_of(self, event: Event) -> Hint:
        """The spec step an implementation trace event claims."""
        label = EVENT_ACTION.get(event.action)
        if label is None:
            raise ValueError(f"unknown implementation event {event.action!r}")
        names = [k for k, _ in event.args]
        if label == "AppendEntries" and "m" in names:
            return self._sends(event.get("i"), event.get("j"),
                               self.key(event.get("m")))  # type: ignore[arg-type]
        if "m" in names:
            hint = self.on_message(label, self.key(event.get("m")))  # type: ignore[arg-type]
            if label == "HandleAppendEntriesResponse" and "next_index" in names:
                return self._backs_up(hint, event.get("m"), event.get("next_index"))
            return hint
        if event.action == STEP_DOWN:
            return self._expanded(self.step_down(event.get("i")))
        if event.action == PRE_VOTE:
            return self._expanded(self.pre_vote_term(event.get("i"), event.get("j"),
                                                     event.get("term")))
        if label == "ClientRequest":
            value = event.get("v")
            assert isinstance(value, bytes)
            return self.on_server(label, event.get("i"), self.codec.decode(value))
        return self.on_server(label, *(v for _, v in event.args))
