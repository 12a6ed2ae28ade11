"""The Raft cluster driven one environment choice at a time, every step judged.

:class:`RaftConformance` wraps impl/sim.py's :class:`Simulator` (cores with trace
events on). Each method is one choice of the environment: deliver, drop or
duplicate a message in flight, tick a node, fire its election timer, crash,
restart, partition, heal, a client proposal. After each, the cluster is mapped
onto the spec (raft_adapter.py) and the recorder asks the spec whether that was
one of its steps (harness.py); a step it does not allow raises ConformanceFailure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from agree.conformance.harness import Recorder
from agree.conformance.matcher import Hint, Match
from agree.conformance.raft_adapter import RaftMapping, keep_commit_index
from agree.conformance.raft_messages import (
    Projection,
    diff,
    is_spec_message,
    project,
    spec_message,
)
from agree.impl.raft import Config, MembershipError
from agree.impl.sim import Simulator
from agree.models.raft import Raft
from agree.models.raft_reconfig import RaftReconfig
from agree.models.raft_types import RaftState
from agree.properties.raft import SAFETY
from agree.properties.raft_reconfig import SAFETY_RECONFIG

__all__ = ["RaftConformance", "harness_config"]


def harness_config(max_batch: int = 2, elections: bool = False) -> Config:
    """Short timers so elections happen within a few rules; trace events on;
    ``elections``: PreVote and CheckQuorum on (off: raft.tla's elections)."""
    return Config(election_ticks=3, heartbeat_ticks=2, max_batch=max_batch, trace=True,
                  pre_vote=elections, check_quorum=elections)


class RaftConformance:
    """A simulated Raft cluster whose every step is checked against models/raft.py."""

    def __init__(self, n: int = 3, values: int = 2, seed: int = 0,
                 config: Config | None = None, spec_class: type[Raft] = Raft,
                 snapshot_every: int = 0, voters: int | None = None) -> None:
        """``voters``: membership changes, held to models/raft_reconfig.py, the servers
        0..voters-1 voting at first (None: a fixed configuration, models/raft.py)."""
        self.config = config or harness_config()
        spec_args: dict[str, Any] = {}
        safety = SAFETY
        if voters is not None:
            self.config = replace(self.config, voters=tuple(range(voters)))
            spec_class, safety = RaftReconfig, SAFETY_RECONFIG
            spec_args = {"members": voters, "max_restarts": -1}
        self.sim = Simulator(n, seed, self.config, snapshot_every)
        self.mapping = RaftMapping(n, values, self.config.max_batch, spec_class, **spec_args)
        self.mapping.committed = self.sim.applied_at
        self.spec = self.mapping.spec
        self.values = values
        self.recorder = Recorder(self.spec, safety, project, diff, self._unproject,
                                 keep_commit_index)
        self._seen_events = 0
        self.recorder.check_initial(self.mapping.map_sim(self.sim))

    # -- environment choices -------------------------------------------------------

    def deliver(self, k: int) -> Match:
        """Deliver the k-th message in flight (lost if its destination is down or cut off)."""
        m = self.sim.bag[k]
        key = self.mapping.key(m)
        arrived = self.sim.deliver(k)
        hints = self._event_hints()
        if not is_spec_message(m):  # a pre-vote: no spec step unless it starts an election
            return self._judge(f"deliver {type(m).__name__} s{m.source + 1} -> s{m.dest + 1}"
                               + ("" if arrived else " (lost)"), hints)
        rule = f"deliver {spec_message(key)}"
        if not arrived:
            return self._judge(f"{rule} (lost)", [self.mapping.on_message("DropMessage", key)])
        if not hints:  # consumed without effect (a leader ignoring its own term's request)
            hints = [self.mapping.on_message("DropMessage", key)]
        return self._judge(rule, hints)

    def drop(self, k: int) -> Match:
        """Lose the k-th message in flight."""
        m = self.sim.drop(k)
        if not is_spec_message(m):
            return self._judge(f"drop {type(m).__name__}", [])
        key = self.mapping.key(m)
        return self._judge(f"drop {spec_message(key)}",
                           [self.mapping.on_message("DropMessage", key)])

    def duplicate(self, k: int) -> Match:
        """The network delivers another copy of the k-th message later."""
        m = self.sim.duplicate(k)
        if not is_spec_message(m):
            return self._judge(f"duplicate {type(m).__name__}", [])
        key = self.mapping.key(m)
        return self._judge(f"duplicate {spec_message(key)}",
                           [self.mapping.on_message("DuplicateMessage", key)])

    def deliver_key(self, key: tuple[Any, ...]) -> Match:
        """Deliver the first message in flight that is the spec message ``key`` (no mlog)."""
        return self.deliver(self._index_of(key))

    def drop_key(self, key: tuple[Any, ...]) -> Match:
        return self.drop(self._index_of(key))

    def duplicate_key(self, key: tuple[Any, ...]) -> Match:
        return self.duplicate(self._index_of(key))

    def _index_of(self, key: tuple[Any, ...]) -> int:
        for k, m in enumerate(self.sim.bag):
            if self.mapping.key(m) == key:
                return k
        raise LookupError(f"no message {spec_message(key)} in flight")

    def tick(self, i: int) -> Match:
        """One tick of node i's clock (heartbeats, or its election timer)."""
        self.sim.tick(i)
        return self._judge(f"tick s{i + 1}", self._event_hints())

    def timeout(self, i: int) -> Match:
        """Node i's election timer fires now."""
        self.sim.timeout(i)
        return self._judge(f"timeout s{i + 1}", self._event_hints())

    def propose(self, i: int, v: int) -> Match:
        """A client asks node i to append value v (refused unless i leads)."""
        index = self.sim.propose(i, self.mapping.codec.encode(v))
        what = "accepted" if index is not None else "refused"
        return self._judge(f"propose v{v + 1} at s{i + 1} ({what})", self._event_hints())

    def add_server(self, i: int, j: int) -> Match:
        """An administrator asks node i to add server j (it catches j up first; refused
        unless i leads and may change the configuration now)."""
        return self._change(i, j, add=True)

    def remove_server(self, i: int, j: int) -> Match:
        """An administrator asks node i to remove server j."""
        return self._change(i, j, add=False)

    def _change(self, i: int, j: int, add: bool) -> Match:
        try:
            cid = self.sim.add_server(i, j) if add else self.sim.remove_server(i, j)
        except MembershipError:
            cid = None
        what = "accepted" if cid is not None else "refused"
        return self._judge(f"{'add' if add else 'remove'} s{j + 1} at s{i + 1} ({what})",
                           self._event_hints())

    def crash(self, i: int) -> Match:
        """Node i crashes, keeping only what it persisted: raft.tla's Restart(i)."""
        was_up = self.sim.nodes[i].up
        self.sim.crash(i)
        snapshot = self.sim.nodes[i].storage.load_snapshot()
        commit = snapshot.index if snapshot is not None else 0
        hints = [self.mapping.restart(i, commit)] if was_up else []
        return self._judge(f"crash s{i + 1}", hints)

    def restart(self, i: int) -> Match:
        """Node i comes back from storage (mapped as restarted already: a stutter)."""
        self.sim.restart(i)
        return self._judge(f"restart s{i + 1}", self._event_hints())

    def partition(self, group: Iterable[int]) -> Match:
        """Cut ``group`` off from the rest (nothing the spec sees changes)."""
        members = sorted(set(group))
        self.sim.partition(members)
        shown = "{" + ", ".join(f"s{k + 1}" for k in members) + "}"
        return self._judge(f"partition {shown} from the rest", [])

    def heal(self) -> Match:
        """Everyone can talk to everyone again."""
        self.sim.heal()
        return self._judge("heal", [])

    # -- queries -------------------------------------------------------------------

    @property
    def bag_size(self) -> int:
        return len(self.sim.bag)

    def up(self, i: int) -> bool:
        return self.sim.nodes[i].up

    # -- machinery -----------------------------------------------------------------

    def _event_hints(self) -> list[Hint]:
        events = self.sim.events[self._seen_events:]
        self._seen_events = len(self.sim.events)
        return [h for _, e in events for h in self.mapping.hints_of(e, self.recorder.state)]

    def _judge(self, rule: str, hints: list[Hint]) -> Match:
        self._seen_events = len(self.sim.events)
        return self.recorder.judge(rule, hints, self.mapping.map_sim(self.sim))

    def _unproject(self, mapped: Projection, history_from: RaftState) -> RaftState:
        """The mapped implementation state as a full spec state (history from the spec,
        messages with an empty mlog), for display."""
        (term, role, voted, log, commit, responded, granted, nxt, match, bag) = mapped
        messages = tuple(sorted(spec_message(k) for k in bag))
        fields: dict[str, Any] = {
            "current_term": term, "state": role, "voted_for": voted, "log": log,
            "commit_index": commit, "votes_responded": responded, "votes_granted": granted,
            "next_index": nxt, "match_index": match, "messages": messages}
        return history_from._replace(**fields)
