"""A Paxos.tla trace (paxos or a paxos-* zoo variant) driven through impl/paxos.

Ballot b of the spec is ballot ``(b // n + 1, b % n)`` of the implementation:
node ``b % n`` proposes it. The step mapping: a node of impl/paxos is proposer and
acceptor at once and handles the messages it sends itself at once, so its own
promise, and its own vote, happen inside its proposer's step where Paxos.tla has
separate Phase1b and Phase2b steps, possibly much later or never. The replay runs
the nodes with *loopback* (paxos_adapter.ObservedNode): a message to itself goes
through the network like any other, handled by the node's own handlers when the
replay delivers it. Every behaviour of the plain node is one of the loopback node
(the one that delivers such messages first), so this widens the schedules, never
the node's logic, and each spec step becomes environment choices:

* ``Phase1a(b)``: nothing yet. The proposer starts ballot b when the trace first
  needs it (a promise or a 2a of b), proposing the value the trace's ``Phase2a(b, v)``
  will ask for.
* ``Phase1b(a, 1a b)``: deliver the proposer's Prepare to acceptor a.
* ``Phase2a(b, v)``: deliver to the proposer the promises of a quorum whose reports
  make it propose v (any quorum if none does); the implementation picks the value
  itself, and it must be v.
* ``Phase2b(a, 2a b v)``: deliver the proposer's Accept to acceptor a.
* ``Restart(a)`` (zoo only): crash and restart node a.

The replay stops at the first step the implementation does not take, or after which
the acting acceptor's ``max_bal``, ``max_vbal`` and ``max_val`` differ from the trace's.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

from agree.conformance.harness import ConformanceFailure
from agree.conformance.paxos_adapter import PaxosCluster
from agree.conformance.replay_impl import Rebuild, ReplayResult, plain
from agree.impl.paxos import Promise
from agree.models.paxos import PaxosState, show_value
from agree.traces.trace import Trace

__all__ = ["replay_paxos"]


def _sid(action: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (action, *(plain(a) for a in args))


class _PaxosReplayer:
    def __init__(self, trace: Trace) -> None:
        p = trace.params
        self.trace = trace
        self.n = int(p["acceptors"])
        max_round, values = int(p["max_ballot"]) // self.n + 2, int(p["values"])
        self.c = PaxosCluster(self.n, values, max_round=max_round, loopback=True)
        self.rebuild = Rebuild("from agree.conformance.paxos_adapter import PaxosCluster",
                               f"PaxosCluster({self.n}, {values}, max_round={max_round}, "
                               "loopback=True)")
        self.pending: Counter[tuple[Any, ...]] = Counter()
        self.started: set[int] = set()
        self.choices: list[tuple[str, tuple[Any, ...]]] = []
        self.last = "no choice yet"

    def choose(self, name: str, *args: Any) -> None:
        self.choices.append((name, tuple(plain(a) for a in args)))
        match = getattr(self.c, name)(*args)
        for t in match.steps:
            self.pending[_sid(t.action.label, t.args)] += 1
        self.last = f"{name}: " + (", ".join(t.label for t in match.steps) or "a stutter")

    def ballot(self, b: int) -> tuple[int, int]:
        return (b // self.n + 1, b % self.n)

    def value_for(self, b: int, after: int) -> int:
        for step in self.trace.steps[after:]:
            if step.action == "Phase2a" and step.args[0] == b:
                return int(step.args[1])
        return 0

    def start(self, b: int, at: int) -> str:
        if b in self.started:
            return ""
        round_, k = self.ballot(b)
        node = self.c.nodes[k]
        if node is None:
            return f"n{k + 1}, the proposer of ballot {b}, is down"
        if node._round >= round_:
            return (f"n{k + 1} has seen round {node._round} already, so it cannot start "
                    f"ballot {b} (round {round_})")
        self.started.add(b)
        self.choose("propose_in", k, round_, self.value_for(b, at))
        return ""

    def deliver(self, kind: str, b: int, source: int, dest: int) -> str:
        try:
            self.choose("deliver_key", kind, self.ballot(b), source, dest)
        except LookupError as exc:
            return f"the implementation has {exc}"
        return ""

    def gather(self, b: int, v: int) -> str:
        """Deliver to ballot b's proposer the promises of a quorum whose reports make it
        propose v (the highest vote reported, or its own value if none voted); any quorum
        if none does, so that the implementation shows what it proposes instead."""
        k = b % self.n
        ballot = self.ballot(b)
        promises = {m.source: m for m in self.c.bag if isinstance(m, Promise)
                    and m.dest == k and tuple(m.ballot) == ballot}
        quorums = [q for size in range(self.n // 2 + 1, self.n + 1)
                   for q in combinations(sorted(promises), size)]
        if not quorums:
            return "the proposer never has promises from a quorum"
        own = self.c.mapping.codec.encode(self.value_for(b, 0))

        def proposes(q: tuple[int, ...]) -> bytes | None:
            votes = [(p.max_vbal, p.max_val) for p in (promises[a] for a in q)
                     if p.max_vbal is not None]
            return max(votes)[1] if votes else own

        wanted = self.c.mapping.codec.encode(v)
        q = next((q for q in quorums if proposes(q) == wanted), quorums[0])
        for a in q:
            why = self.deliver("Promise", b, a, k)
            if why or any(s[0] == "Phase2a" and s[1] == b for s in self.pending):
                return why
        return ""

    def act(self, n: int, action: str, args: tuple[Any, ...]) -> str:
        if action == "Phase1b":
            a, m = args
            return self.start(m.bal, n) or (
                "" if self.pending[_sid(action, args)] else
                self.deliver("Prepare", m.bal, m.bal % self.n, a))
        if action == "Phase2a":
            b, v = args
            why = self.start(b, n)
            if why or any(s[0] == "Phase2a" and s[1] == b for s in self.pending):
                return why
            return self.gather(b, int(v))
        if action == "Phase2b":
            a, m = args
            return self.start(m.bal, n) or (
                "" if self.pending[_sid(action, args)] else
                self.deliver("Accept", m.bal, m.bal % self.n, a))
        if action == "Restart":
            self.choose("crash", args[0])
            self.choose("restart", args[0])
        return ""

    def run(self) -> ReplayResult:
        tr = self.trace
        result = ReplayResult(tr.spec, len(tr.steps), 0, self.rebuild,
                              params=dict(tr.params))
        states: list[PaxosState] = tr.states
        for n, step in enumerate(tr.steps):
            if step.action == "Phase1a" or states[n + 1] == states[n]:
                result.followed = n + 1  # started when needed; or a stutter of the trace's
                continue
            sid = _sid(step.action, step.args)
            try:
                why = "" if self.pending[sid] else self.act(n, step.action, step.args)
            except ConformanceFailure as exc:
                why = "it breaks the spec: " + exc.text.splitlines()[0]
            if not why and step.action != "Restart" and not self.pending[sid]:
                why = self.refused(step.action, step.args)
            if why:
                return self._stop(result, n, step.label, why)
            if self.pending[sid]:
                self.pending[sid] -= 1
            if step.action != "Phase2a":
                diffs = self.differences(int(step.args[0]), states[n + 1])
                if diffs:
                    return self._stop(result, n, step.label, "; ".join(diffs))
            result.followed = n + 1
        result.choices = self.choices
        return result

    def refused(self, action: str, args: tuple[Any, ...]) -> str:
        """What the implementation does instead of the trace's step."""
        if action in ("Phase1b", "Phase2b"):
            a, m = int(args[0]), args[1]
            promised = self.c.recorder.state.max_bal[a]
            what = (f"promise ballot {m.bal}" if action == "Phase1b"
                    else f"vote for {show_value(m.val)} in ballot {m.bal}")
            return (f"it has a{a + 1} refuse (it has promised ballot {promised}) where the "
                    f"trace has it {what}")
        b, v = int(args[0]), int(args[1])
        taken = [s for s in self.pending if s[0] == "Phase2a" and s[1] == b]
        if taken:
            return (f"it proposes {show_value(taken[-1][2])} in ballot {b} where the trace "
                    f"proposes {show_value(v)}")
        return (f"it proposes nothing in ballot {b} where the trace proposes {show_value(v)} "
                f"(its last choice, {self.last})")

    def differences(self, a: int, post: PaxosState) -> list[str]:
        """Where acceptor a of the implementation and of the trace differ."""
        s = self.c.recorder.state
        out = []
        for name in ("max_bal", "max_vbal", "max_val"):
            x, y = getattr(post, name)[a], getattr(s, name)[a]
            if x != y:
                out.append(f"it has {name}[a{a + 1}] = {_show(name, y)} where the trace has "
                           f"{_show(name, x)}")
        return out

    def _stop(self, result: ReplayResult, n: int, label: str, why: str) -> ReplayResult:
        result.followed, result.label, result.reason = n, label, why
        result.choices = self.choices
        s = self.c.recorder.state
        result.expected = {"max_bal": s.max_bal, "max_vbal": s.max_vbal, "max_val": s.max_val}
        return result


def _show(name: str, v: Any) -> str:
    return show_value(v) if name == "max_val" else str(v)


def replay_paxos(trace: Trace) -> ReplayResult:
    """Drive impl/paxos through a Paxos.tla-family trace."""
    return _PaxosReplayer(trace).run()
