"""`agree validate` of runs with membership changes: which spec the logs are held to.

A run whose logs carry membership events (AddServer, RemoveServer, or a leader's
catch-up of a learner: AddLearner, CaughtUp, GiveUpLearner), or whose
``InitialConfiguration`` lines name fewer voters than there are servers, is held to
models/raft_reconfig.py, as the simulator conformance holds it (raft_adapter.py's
mapping with ``spec_class`` RaftReconfig): a configuration entry is a ``ConfigEntry``,
AddServer / RemoveServer are its actions, the learner events no step, and an
AppendEntries to a server outside the leader's configuration is raft.tla's without the
membership guard, labelled ``AppendEntries[learner_catch_up]``. Its safety properties
(``configurations_overlap_in_term`` besides raft.tla's) are checked on every state.

raft-reconfig's initial configuration is the servers s1..sk: the logs' initial voters
must be the first k servers (every server when no line names them). Any other run is
held to models/raft.py, exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agree.conformance.event_log import EventLogs
from agree.conformance.matcher import Hint
from agree.conformance.raft_adapter import LEARNER_EVENTS, RaftMapping
from agree.models.raft_reconfig import RaftReconfig
from agree.properties.raft import SAFETY
from agree.properties.raft_reconfig import SAFETY_RECONFIG
from agree.spec import Property
from agree.traces.trace import TraceError

__all__ = ["MEMBERSHIP_EVENTS", "SpecChoice", "choose_spec", "mapping_for", "safety_for",
           "send_hint"]

#: The events of a membership change (impl/raft/membership.py; agree.eventlog.MEMBERSHIP)
MEMBERSHIP_EVENTS = frozenset({"AddServer", "RemoveServer"}) | LEARNER_EVENTS


@dataclass(frozen=True)
class SpecChoice:
    """The spec a run is held to: ``members`` None is raft.tla (models/raft.py), k is
    raft-reconfig with s1..sk voting at first; ``why`` says which and why, for the report."""

    members: int | None
    why: str


def _servers(voters: Sequence[int]) -> str:
    return "{" + ", ".join(f"s{v + 1}" for v in voters) + "}"


def choose_spec(logs: EventLogs) -> SpecChoice:
    """raft-reconfig when the logs carry membership events or fewer initial voters than
    servers, else raft.tla; a TraceError (one line) when the servers' initial
    configurations differ or are not raft-reconfig's s1..sk."""
    n = len(logs.nodes)
    configs = {voters for voters, _ in logs.initial.values()}
    if len(configs) > 1:
        a, b = sorted(configs)[:2]
        raise TraceError(f"the servers' logs name different initial voters ({_servers(a)} "
                         f"and {_servers(b)}): one cluster starts with one configuration")
    voters = next(iter(configs)) if configs else tuple(range(n))
    event = next((e.action for batches in logs.nodes for b in batches for e in b.events
                  if e.action in MEMBERSHIP_EVENTS), None)
    if event is None and len(voters) == n:
        return SpecChoice(None, "the Raft spec")
    if voters != tuple(range(len(voters))):
        raise TraceError(f"the initial voters {_servers(voters)} are not the first servers "
                         f"s1..s{len(voters)}: raft-reconfig starts with those (number the "
                         "servers so that the initial voters come first)")
    reason = (f"membership events ({event})" if event is not None
              else f"{len(voters)} initial voters of {n} servers")
    return SpecChoice(len(voters), f"raft-reconfig ({reason}; initial voters "
                                   f"{_servers(voters)} of {n} servers)")


def mapping_for(n: int, max_batch: int, members: int | None) -> RaftMapping:
    """The mapping onto raft.tla (members None) or onto raft-reconfig."""
    if members is None:
        return RaftMapping(n, 1, max_batch)
    return RaftMapping(n, 1, max_batch, RaftReconfig, members=members, max_restarts=-1)


def safety_for(members: int | None) -> tuple[Property, ...]:
    """The safety properties checked on every state the merge passes through."""
    return SAFETY if members is None else SAFETY_RECONFIG


def send_hint(mapping: RaftMapping, label: str, i: Any, j: Any) -> Hint:
    """RequestVote(i, j) or AppendEntries(i, j); under raft-reconfig an AppendEntries to
    a learner (outside i's configuration) is the learner_catch_up step."""
    hint = mapping.on_server(label, i, j)
    return mapping.catch_up(hint, i, j) if label == "AppendEntries" else hint
