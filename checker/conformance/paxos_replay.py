"""A Paxos.tla trace (paxos or a paxos-* zoo variant) driven through impl/paxos.

Ballot b of the spec is ballot ``(b // n + 1, b % n)`` of the implementation:
node ``b % n`` proposes it. Each spec step becomes environment choices:

* ``Phase1a(b)``: nothing yet. The proposer starts ballot b when the trace first
  needs it (a promise or a 2a of b), proposing the value the trace's ``Phase2a(b, v)``
  will ask for. It then promises its own ballot at once, as its own acceptor.
* ``Phase1b(a, 1a b)``: deliver the proposer's Prepare to acceptor a.
* ``Phase2a(b, v)``: deliver the promises of ballot b to the proposer until it sends
  its Accept. The implementation picks the value itself, and it must be v.
* ``Phase2b(a, 2a b v)``: deliver the proposer's Accept to acceptor a.
* ``Restart(a)`` (zoo only): crash and restart node a.

The replay stops at the first step the implementation does not take, or after which
the acting acceptor's ``max_bal``, ``max_vbal`` and ``max_val`` differ from the trace's
(unless the trace reaches them within a few steps).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agree.checker.conformance.harness import ConformanceFailure
from agree.checker.conformance.paxos_adapter import PaxosCluster
from agree.checker.conformance.replay_impl import LOOKAHEAD, ReplayResult, plain
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
        max_round = int(p["max_ballot"]) // self.n + 2
        self.c = PaxosCluster(self.n, int(p["values"]), max_round=max_round)
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

    def act(self, n: int, action: str, args: tuple[Any, ...]) -> str:
        if action == "Phase1b":
            a, m = args
            return self.start(m.bal, n) or (
                "" if self.pending[_sid(action, args)] else
                self.deliver("Prepare", m.bal, m.bal % self.n, a))
        if action == "Phase2a":
            b, _ = args
            why = self.start(b, n)
            k = b % self.n
            while not why and not any(s[0] == "Phase2a" and s[1] == b for s in self.pending):
                promises = [m for m in self.c.bag if type(m).__name__ == "Promise"
                            and m.dest == k and tuple(m.ballot) == self.ballot(b)]
                if not promises:
                    return "the proposer never has promises from a quorum"
                why = self.deliver("Promise", b, promises[0].source, k)
            return why
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
        result = ReplayResult(tr.spec, len(tr.steps), 0, params=dict(tr.params))
        states: list[PaxosState] = tr.states
        for n, step in enumerate(tr.steps):
            if step.action == "Phase1a":
                result.followed = n + 1
                continue
            sid = _sid(step.action, step.args)
            try:
                why = "" if self.pending[sid] else self.act(n, step.action, step.args)
            except ConformanceFailure as exc:
                why = "the implementation broke the spec: " + exc.text.splitlines()[0]
            if not why and step.action != "Restart" and not self.pending[sid]:
                why = ("the implementation does not take this step here (its last choice, "
                       f"{self.last})")
                if step.action in ("Phase1b", "Phase2b"):
                    a = int(step.args[0])
                    why += (f": a{a + 1} has promised ballot "
                            f"{self.c.recorder.state.max_bal[a]} already")
                else:
                    taken = [s for s in self.pending if s[0] == step.action]
                    why += f"; it took {taken[-1]}" if taken else ""
            if why:
                return self._stop(result, n, step.label, why)
            if self.pending[sid]:
                self.pending[sid] -= 1
            if step.action != "Phase2a":
                a = int(step.args[0])
                s = self.c.recorder.state
                impl = (s.max_bal[a], s.max_vbal[a], s.max_val[a])
                later = [(t.max_bal[a], t.max_vbal[a], t.max_val[a])
                         for t in states[n + 1:n + 2 + LOOKAHEAD]]
                if impl not in later:
                    names = ("max_bal", "max_vbal", "max_val")
                    diffs = [f"{nm}[a{a + 1}]: trace {_show(nm, x)}, implementation "
                             f"{_show(nm, y)}"
                             for nm, x, y in zip(names, later[0], impl, strict=True) if x != y]
                    return self._stop(result, n, step.label, "; ".join(diffs))
            result.followed = n + 1
        result.choices = self.choices
        return result

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
