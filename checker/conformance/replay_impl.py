"""`agree trace replay FILE --impl`: drive the implementation through a spec trace.

Each spec step is turned into the environment's choice that makes the
implementation take it (Raft: Timeout -> the node's timer fires, a handler of
message m -> deliver m, Restart -> crash and restart, ClientRequest -> a
proposal, DropMessage / DuplicateMessage -> the network's; Paxos:
ratified in paxos_replay.py). Steps the implementation takes on its own
(RequestVote, BecomeLeader, AppendEntries, AdvanceCommitIndex, the candidate's
vote for itself) are not choices: the replay checks that the implementation
took them, eagerly or now (an AppendEntries may be provoked by a heartbeat).

The conformance harness judges every choice as usual, so the implementation
stays a behaviour of the correct spec throughout. The replay stops at the first
step the implementation does not take, or after which the acting server's
variables (current_term, state, voted_for, log, commit_index) differ from the
trace's, unless the trace reaches the implementation's values within a few
steps (the implementation is merely ahead: it did at once what the trace does
a little later). For a bug-zoo trace, that is where the correct implementation
refuses the buggy behaviour.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agree.checker.conformance.harness import ConformanceFailure
from agree.checker.conformance.raft_adapter import message_key, spec_message_key
from agree.checker.conformance.raft_driver import RaftConformance
from agree.checker.spec import Transition
from agree.impl.raft import Config
from agree.models.raft_types import AEREQ, RaftState
from agree.traces.trace import Trace

__all__ = ["ReplayResult", "plain", "regression_test", "replay_config", "replay_raft",
           "step_id"]

LOOKAHEAD = 12
_ENV = {"Timeout", "Restart", "ClientRequest", "UpdateTerm", "HandleRequestVoteRequest",
        "HandleRequestVoteResponse", "DropStaleResponse", "HandleAppendEntriesRequest",
        "HandleAppendEntriesResponse", "DropMessage", "DuplicateMessage"}


@dataclass
class ReplayResult:
    """How far the implementation followed the trace, and the choices that drove it."""

    spec: str
    steps: int  # steps in the trace
    followed: int  # steps the implementation followed
    reason: str = ""  # why it stopped ("" if it followed every step)
    label: str = ""  # the step it did not follow
    choices: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    expected: dict[str, Any] = field(default_factory=dict)  # impl values at the divergence
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.followed < self.steps

    def text(self) -> str:
        if not self.diverged:
            return (f"the implementation follows all {self.steps} steps of the {self.spec} "
                    f"trace ({len(self.choices)} environment choices)\n")
        return (f"the implementation follows steps 1-{self.followed} of {self.steps}, then "
                f"refuses step {self.followed + 1}: {self.label}\n  {self.reason}\n")


def plain(v: Any) -> Any:
    """A value with NamedTuples turned into plain tuples (so its repr is valid Python)."""
    if isinstance(v, tuple):
        return tuple(plain(x) for x in v)
    if isinstance(v, frozenset):
        return frozenset(plain(x) for x in v)
    return v


def step_id(label: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """A step as (action, arguments), messages without their proof-only history."""
    base = label.split("[", 1)[0]
    return (base, *(plain(spec_message_key(a)) if hasattr(a, "mtype") else a for a in args))


def _actor(action: str, args: tuple[Any, ...]) -> int:
    for a in args:
        if hasattr(a, "mtype"):
            return int(a.mdest)
    return int(args[0])


def _node_vars(s: RaftState, i: int) -> tuple[Any, ...]:
    return (s.current_term[i], s.state[i], s.voted_for[i], s.log[i], s.commit_index[i])


_VAR_NAMES = ("current_term", "state", "voted_for", "log", "commit_index")


def replay_config(max_batch: int) -> Config:
    """No spontaneous timeouts (followers are never ticked; 1000 ticks anyway); a leader
    sends heartbeats on every tick, so an AppendEntries can be provoked by one tick."""
    return Config(election_ticks=1000, heartbeat_ticks=1, max_batch=max_batch, trace=True)


class _RaftReplayer:
    def __init__(self, trace: Trace) -> None:
        p = trace.params
        self.trace = trace
        self.config = replay_config(int(p.get("entries_per_append", 1)))
        self.c = RaftConformance(int(p["servers"]), int(p["values"]), config=self.config)
        self.pending: Counter[tuple[Any, ...]] = Counter()
        self.choices: list[tuple[str, tuple[Any, ...]]] = []
        self.last = "no choice yet"

    def choose(self, name: str, *args: Any) -> list[Transition[Any]]:
        """One environment choice on the driver, recorded for a regression test."""
        self.choices.append((name, tuple(plain(a) for a in args)))
        match = getattr(self.c, name)(*args)
        steps: list[Transition[Any]] = list(match.steps)
        self.last = f"{name}: " + (", ".join(t.label for t in steps) or "a stutter")
        for t in steps:
            self.pending[step_id(t.action.label, t.args)] += 1
        return steps

    def find(self, key: tuple[Any, ...]) -> int | None:
        codec = self.c.mapping.codec
        for k, m in enumerate(self.c.sim.bag):
            if plain(message_key(codec, m)) == key:
                return k
        return None

    def act(self, action: str, args: tuple[Any, ...]) -> str:
        """Make the implementation take the step, if a choice can; '' or why not."""
        if action == "Timeout":
            self.choose("timeout", args[0])
        elif action == "Restart":
            self.choose("crash", args[0])
            self.choose("restart", args[0])
        elif action == "ClientRequest":
            self.choose("propose", args[0], args[1])
        elif action == "AppendEntries":
            self.choose("tick", args[0])  # a heartbeat (heartbeat_ticks=1)
        elif action in _ENV:
            m = args[0]
            key = plain(spec_message_key(m))
            k = self.find(key)
            if k is None and m.mtype == AEREQ:
                self.choose("tick", m.msource)
                k = self.find(key)
            if k is None:
                return f"the implementation has no message {m} in flight"
            verb = {"DropMessage": "drop_key", "DuplicateMessage": "duplicate_key"}.get(
                action, "deliver_key")
            self.choose(verb, key)
        return ""

    def run(self) -> ReplayResult:
        tr = self.trace
        result = ReplayResult(tr.spec, len(tr.steps), 0, params=dict(tr.params))
        states = tr.states
        for n, step in enumerate(tr.steps):
            sid = step_id(step.action, step.args)
            try:
                if self.pending[sid] == 0:
                    why = self.act(step.action, step.args)
                    if why:
                        return self._stop(result, n, step.label, why)
                if self.pending[sid] == 0:
                    return self._stop(result, n, step.label,
                                      "the implementation does not take this step here "
                                      f"(its last choice, {self.last})")
            except ConformanceFailure as exc:
                return self._stop(result, n, step.label, "the implementation broke the spec: "
                                  + exc.text.splitlines()[0])
            self.pending[sid] -= 1
            i = _actor(step.action, step.args)
            impl = _node_vars(self.c.recorder.state, i)
            later = [_node_vars(s, i) for s in states[n + 1:n + 2 + LOOKAHEAD]]
            if impl not in later:
                diffs = [f"{name}[s{i + 1}]: trace {a}, implementation {b}"
                         for name, a, b in zip(_VAR_NAMES, later[0], impl, strict=True)
                         if a != b]
                why = "; ".join(diffs)
                if step.action == "Timeout" and later[0][2] is None and impl[2] == i:
                    why += (" (the implementation's candidate votes for itself as part of "
                            "timing out; in this trace it has not voted yet)")
                return self._stop(result, n, step.label, why)
            result.followed = n + 1
        result.choices = self.choices
        return result

    def _stop(self, result: ReplayResult, n: int, label: str, why: str) -> ReplayResult:
        result.followed, result.label, result.reason = n, label, why
        result.choices = self.choices
        s = self.c.recorder.state
        result.expected = {name: plain(getattr(s, name)) for name in _VAR_NAMES}
        return result


def replay_raft(trace: Trace) -> ReplayResult:
    """Drive impl/raft through a Raft-family trace (raft or a raft-* zoo variant)."""
    return _RaftReplayer(trace).run()


def regression_test(result: ReplayResult, source: str, name: str) -> str:
    """A pytest module that repeats the replay's environment choices on the implementation
    (each judged by the conformance harness) and pins what the implementation did where it
    left the trace."""
    p = result.params
    if "acceptors" in p:
        imports = "from agree.checker.conformance.paxos_adapter import PaxosCluster"
        build = (f"PaxosCluster({int(p['acceptors'])}, {int(p['values'])}, "
                 f"max_round={int(p['max_ballot']) // int(p['acceptors']) + 2})")
    else:
        imports = ("from agree.checker.conformance.raft_driver import RaftConformance\n"
                   "from agree.checker.conformance.replay_impl import replay_config")
        build = (f"RaftConformance({int(p['servers'])}, {int(p['values'])}, "
                 f"config=replay_config({int(p.get('entries_per_append', 1))}))")
    lines = [
        f'"""Regression: {source} replayed on the implementation.',
        "",
        "Generated by `agree trace replay --impl --save-test`. "
        + (f"The implementation refuses step {result.followed + 1} ({result.label}):"
           if result.diverged else "The implementation follows the whole trace."),
        *([f"{result.reason}."] if result.diverged else []),
        '"""',
        "",
        imports,
        "from agree.checker.conformance.replay_impl import plain",
        "",
        "",
        f"def test_{name}() -> None:",
        f"    c = {build}",
    ]
    lines += [f"    c.{verb}({', '.join(repr(a) for a in args)})" for verb, args in result.choices]
    lines.append("    s = c.recorder.state")
    for var, value in result.expected.items():
        lines.append(f"    assert plain(s.{var}) == {plain(value)!r}")
    return "\n".join(lines) + "\n"
