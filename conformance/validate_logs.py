"""`agree validate LOG...`: are the event logs of a real run a behaviour of the Raft spec?

`agree serve --event-log FILE` appends, after every Ready, the protocol events
of that Ready (raft.tla action names, messages as on the wire) and then one
``State`` line with the server's variables. Each server's log is in its own
order; there is no global clock. Validation merges the logs by searching for an
interleaving of the servers' Ready batches that the spec allows:

* a batch is tried only once every message it receives is in flight in the spec
  state (causality), and then judged like a conformance step: its events are the
  hints, and the server's ``State`` line, mapped as in raft_adapter.py, must be
  what the spec steps reach (its log rebuilt from the ``log_from`` suffixes);
* steps the logs do not show are searched for where needed: ``Restart(i)`` when a
  batch only fits a server that came back from storage (a killed and restarted
  process appends to the same file), ``DuplicateMessage(m)`` when a message is
  received again while it is the last copy in flight (the logs do not say whether
  the sender sent it twice, as a leader repeats an identical heartbeat, so this
  may add copies that were in fact sent again: harmless, since a spare copy in
  flight enables nothing else); messages never received simply stay in flight
  (raft.tla's network may hold them forever; DropMessage is never required);
* every safety property is checked on every spec state passed through.

A trailing batch without its State line (a process killed mid-write) is ignored,
with a note. The first batch that fits nowhere is reported with its differences.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agree.conformance.matcher import Hint, Match, check_properties, match_step
from agree.conformance.raft_adapter import (
    RaftMapping,
    keep_commit_index,
    message_key,
    spec_message_key,
)
from agree.conformance.raft_replay import show_key
from agree.impl.raft import Event
from agree.impl.wire import CodecError, decode_payload
from agree.models.raft_types import Entry, RaftState
from agree.properties.raft import SAFETY
from agree.spec import Transition
from agree.traces.trace import TraceError

__all__ = ["Batch", "Report", "read_logs", "validate", "validate_files"]

_SENDS = ("RequestVote", "AppendEntries")
#: State fields an implementation that does not keep them may leave out
_OPTIONAL = ("votes_responded", "votes_granted", "next_index", "match_index")


@dataclass
class Batch:
    """One Ready of one server: its events, and its variables after them."""

    node: int
    events: list[Event]
    state: dict[str, Any]
    where: str  # file:line of the State line

    def received(self, mapping: RaftMapping) -> list[tuple[Any, ...]]:
        """Keys of the messages from other servers this batch receives, once per delivery."""
        out: list[tuple[Any, ...]] = []
        last: Any = None
        for e in self.events:
            m = dict(e.args).get("m")
            if m is not None and m != last and getattr(m, "source", self.node) != self.node:
                out.append(message_key(mapping.codec, m))  # type: ignore[arg-type]
            last = m
        return out


@dataclass
class Report:
    ok: bool
    text: str
    batches: int = 0
    steps: int = 0
    notes: list[str] = field(default_factory=list)
    coverage: dict[str, int] = field(default_factory=dict)


def _b64(value: Any, where: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise TraceError(f"{where}: bad base64 value {value!r}") from None


def _event(obj: dict[str, Any], where: str) -> Event:
    args: list[tuple[str, object]] = []
    for name, value in dict(obj.get("args") or {}).items():
        if name == "m":
            try:
                msg = decode_payload(value) if isinstance(value, dict) else None
            except (CodecError, KeyError) as exc:
                raise TraceError(f"{where}: bad message: {exc}") from None
            if msg is None or isinstance(msg, dict):
                raise TraceError(f"{where}: argument m is not a Raft message")
            args.append((name, msg))
        elif name == "v":
            args.append((name, _b64(value, where)))
        else:
            args.append((name, value))
    return Event(str(obj["action"]), tuple(args))


def read_logs(paths: Sequence[str]) -> tuple[list[list[Batch]], list[str]]:
    """Each server's batches in its own order (servers by id), and notes."""
    per: dict[int, list[Batch]] = {}
    notes: list[str] = []
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise TraceError(f"cannot read {path}: {exc}") from None
        pending: dict[int, list[Event]] = {}
        for k, line in enumerate(lines, 1):
            where = f"{path}:{k}"
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                node, action = int(obj["node"]), str(obj["action"])
            except (ValueError, KeyError, TypeError):
                if k == len(lines):
                    notes.append(f"{where}: a truncated last line was ignored")
                    continue
                raise TraceError(f"{where}: not an event-log line (JSON with node and "
                                 "action)") from None
            if action == "State":
                per.setdefault(node, []).append(Batch(node, pending.pop(node, []),
                                                      dict(obj.get("args") or {}), where))
            else:
                pending.setdefault(node, []).append(_event(obj, where))
        for node, events in sorted(pending.items()):
            notes.append(f"{path}: {len(events)} trailing events of s{node + 1} without their "
                         "State line were ignored (process killed mid-write?)")
    if not per:
        raise TraceError("the logs hold no State lines: were they written by "
                         "`agree serve --event-log`?")
    n = max(per) + 1
    for batches in per.values():  # servers that never wrote a State line count too
        for b in batches:
            n = max(n, len(b.state.get("next_index") or ()), len(b.state.get("match_index") or ()))
            for e in b.events:
                m = dict(e.args).get("m")
                if m is not None:
                    n = max(n, getattr(m, "source", 0) + 1, getattr(m, "dest", 0) + 1)
    return [per.get(k, []) for k in range(n)], notes


class _Validator:
    def __init__(self, nodes: list[list[Batch]], max_batch: int) -> None:
        self.nodes = nodes
        self.n = len(nodes)
        self.mapping = RaftMapping(self.n, 1, max_batch)
        self.spec = self.mapping.spec
        self.props = [p for p in SAFETY if p.kind in ("invariant", "action")]
        self.state: RaftState = next(iter(self.spec.init()))
        self.logs: list[tuple[Any, ...]] = [() for _ in range(self.n)]
        self.pos = [0] * self.n
        self.receives: Counter[tuple[Any, ...]] = Counter()
        for batches in nodes:
            for b in batches:
                self.receives.update(b.received(self.mapping))
        self.steps = 0
        self.coverage: Counter[str] = Counter()
        self.notes: list[str] = []
        self.done = 0
        # what the merge was before each batch it applied: where a send the logs lack
        # was still possible (its sender has moved on since), the search goes back there
        self.history: list[tuple[Any, ...]] = []

    def node_vars(self, b: Batch) -> tuple[Any, ...]:
        """The batch's State as the spec's variables of its server (None: not logged,
        not compared)."""
        st = b.state
        log = self.logs[b.node]
        if "log_from" in st:
            suffix = tuple((int(t), self.mapping.codec.decode(_b64(v, b.where)))
                           for t, v in st["log_suffix"])
            log = log[:int(st["log_from"]) - 1] + suffix

        def opt(name: str, make: Any) -> Any:
            return make(st[name]) if name in st else None
        return (st["current_term"], st["role"], st["voted_for"],
                tuple(Entry(t, v) for t, v in log), st["commit_index"],
                opt("votes_responded", frozenset), opt("votes_granted", frozenset),
                opt("next_index", tuple), opt("match_index", tuple))

    def project_node(self, b: Batch) -> Any:
        i = b.node
        keep = [name in b.state for name in _OPTIONAL]

        def project(s: RaftState) -> tuple[Any, ...]:
            opt = [v if k else None for v, k in zip(
                (s.votes_responded[i], s.votes_granted[i], s.next_index[i], s.match_index[i]),
                keep, strict=True)]
            return (s.current_term[i], s.state[i], s.voted_for[i], s.log[i], s.commit_index[i],
                    *opt)
        return project

    def hints(self, b: Batch) -> list[Hint]:
        hints: list[Hint] = []
        bag = Counter(self.mapping_keys(self.state))
        last: Any = None
        for e in b.events:
            m = dict(e.args).get("m")
            if m is not None and m != last and getattr(m, "source", b.node) != b.node:
                key = message_key(self.mapping.codec, m)  # type: ignore[arg-type]
                self.receives[key] -= 1
                if bag[key] == 1 and self.receives[key] > 0:
                    hints.append(self.mapping.on_message("DuplicateMessage", key))
                    bag[key] += 1
                bag[key] -= 1
            last = m
            hints.append(self.hint_of(e))
        return hints

    def hint_of(self, e: Event) -> Hint:
        """The spec step an event claims; a send that names its message (an
        agree.eventlog writer's) only by a step that sends exactly that message."""
        if e.action not in _SENDS or "m" not in dict(e.args):
            return self.mapping.hint_of(e)
        args = dict(e.args)
        key = message_key(self.mapping.codec, args["m"])  # type: ignore[arg-type]
        base = self.mapping.on_server(e.action, args["i"], args["j"])

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            before = Counter(self.mapping_keys(s))[key]
            for t in base.candidates(s):
                if Counter(self.mapping_keys(t.state))[key] > before:
                    yield t
        return Hint(e.action, candidates, show_key(key))

    @staticmethod
    def mapping_keys(s: RaftState) -> list[tuple[Any, ...]]:
        return [spec_message_key(m) for m in s.messages]

    def try_batch(self, b: Batch) -> Match | str:
        """Apply b if its messages are in flight and the spec reaches its State; else why not."""
        bag = Counter(self.mapping_keys(self.state))
        need = Counter(b.received(self.mapping))
        if any(bag[k] == 0 for k in need):
            return "waiting"
        saved = self.receives.copy()
        target = self.node_vars(b)
        project = self.project_node(b)
        for restart in (False, True):
            self.receives = saved.copy()
            hints = self.hints(b)
            if restart:
                hints.insert(0, self.mapping.on_server("Restart", b.node))
            result = match_step(self.spec, self.state, hints, target, project,
                                lambda a, c: _diff(a, c, b.node), keep_commit_index,
                                blind_depth=0)
            if isinstance(result, Match):
                return result
            if not restart:
                first = result
        self.receives = saved
        hint_labels = ", ".join(first.hints) or "none"
        return (f"{b.where}: s{b.node + 1}'s batch (events: {hint_labels}) is no step of the "
                f"spec; " + "; ".join(first.differences or [f"stuck at {first.stuck_at}"]))

    def run(self) -> Report:
        total = sum(len(x) for x in self.nodes)
        while self.done < total:
            progressed = False
            problems: list[str] = []
            for i in range(self.n):
                if self.pos[i] >= len(self.nodes[i]):
                    continue
                b = self.nodes[i][self.pos[i]]
                result = self.try_batch(b)
                if isinstance(result, str):
                    if result != "waiting":
                        problems.append(result)
                    continue
                bad = check_properties(self.spec, self.props, self.state, result.steps)
                if bad is not None:
                    return Report(False, f"{b.where}: property {bad[0]} is violated\n",
                                  self.done, self.steps)
                self.history.append(self.snapshot())
                self.apply(b, result.steps)
                self.done += 1
                progressed = True
            if not progressed and not problems and self.unlogged_send():
                continue
            if not progressed:
                if not problems:
                    problems = ["every server waits for a message never sent (nor one its "
                                "sender could have sent without logging it): "
                                + "; ".join(self.waiting())]
                return Report(False, "NOT a behaviour of the spec: " + problems[0] + "\n",
                              self.done, self.steps)
        return Report(True, "", self.done, self.steps, notes=self.notes,
                      coverage=dict(sorted(self.coverage.items())))

    def waiting(self) -> list[str]:
        """Each server's next batch and the first message it needs that is not in flight."""
        bag = Counter(self.mapping_keys(self.state))
        out = []
        for i in range(self.n):
            if self.pos[i] < len(self.nodes[i]):
                b = self.nodes[i][self.pos[i]]
                missing = [k for k in b.received(self.mapping) if not bag[k]]
                out.append(f"s{i + 1} at {b.where}"
                           + (f" needs {show_key(missing[0])}" if missing else ""))
        return out

    def snapshot(self) -> tuple[Any, ...]:
        return (self.state, list(self.pos), list(self.logs), self.receives.copy(),
                self.steps, self.coverage.copy(), self.done, len(self.notes))

    def restore(self, snap: tuple[Any, ...]) -> None:
        (self.state, pos, logs, receives, self.steps, coverage, self.done, notes) = snap
        self.pos, self.logs, self.receives = list(pos), list(logs), receives.copy()
        self.coverage = coverage.copy()
        del self.notes[notes:]

    def unlogged_send(self) -> bool:
        """Every server waits for a message: take one spec step of the message's sender
        that sends it, as a step the sender did not log (a process killed between sending
        and logging). Only sends (RequestVote, AppendEntries) qualify. If the sender can
        no longer send it (it has moved on: a candidate became leader, a leader's
        next_index moved), the merge goes back to the latest point where it could, takes
        the send there, and merges the batches since again."""
        missing = []
        bag = Counter(self.mapping_keys(self.state))
        for i in range(self.n):
            if self.pos[i] < len(self.nodes[i]):
                missing += [(key, i) for key in self.nodes[i][self.pos[i]].received(self.mapping)
                            if not bag[key]]
        for back in range(len(self.history) + 1):
            state = self.state if back == 0 else self.history[-back][0]
            for key, i in missing:
                send = self.sending(state, key, i)
                if send is None:
                    continue
                if back:
                    self.restore(self.history[-back])
                    del self.history[-back:]
                label, source = send.action.label, key[-2]
                self.notes.append(f"an unlogged {label}(s{source + 1}, s{i + 1}) was "
                                  f"assumed: s{i + 1} receives it, s{source + 1} never "
                                  "logged sending it (killed before logging?)")
                self.apply_steps([send])
                return True
        return False

    def sending(self, state: RaftState, key: tuple[Any, ...], i: int,
                ) -> Transition[Any] | None:
        """The spec step of key's sender that sends key (to i) from state, if one."""
        source = key[-2]
        for label in ("AppendEntries", "RequestVote"):
            act = self.spec.action(label)
            nxt = act.fn(state, source, i)
            if nxt is not None and key in self.mapping_keys(nxt):
                return Transition(act, (source, i), nxt)
        return None

    def apply_steps(self, steps: list[Transition[Any]]) -> None:
        if steps:
            self.state = steps[-1].state
        self.steps += len(steps)
        self.coverage.update(t.action.label for t in steps)

    def apply(self, b: Batch, steps: list[Transition[Any]]) -> None:
        if steps:
            self.state = steps[-1].state
        self.logs[b.node] = tuple((e.term, e.value) for e in self.state.log[b.node])
        self.pos[b.node] += 1
        self.steps += len(steps)
        self.coverage.update(t.action.label for t in steps)


def _diff(spec_side: tuple[Any, ...], log_side: tuple[Any, ...], i: int) -> list[str]:
    names = ("current_term", "state", "voted_for", "log", "commit_index", "votes_responded",
             "votes_granted", "next_index", "match_index")
    return [f"{name}[s{i + 1}]: spec {a}, log {c}"
            for name, a, c in zip(names, spec_side, log_side, strict=True) if a != c]


def validate(nodes: list[list[Batch]], max_batch: int) -> Report:
    """Search an interleaving of the servers' batches that is a behaviour of the spec."""
    return _Validator(nodes, max_batch).run()


def validate_files(paths: Sequence[str], max_batch: int | None = None) -> Report:
    """Read, merge and validate event logs; the report's text says what was found."""
    nodes, notes = read_logs(paths)
    report = validate(nodes, max_batch or 64)
    notes = notes + report.notes
    head = [f"note: {n}" for n in notes]
    if report.ok:
        head.append(f"{len(paths)} logs, {len(nodes)} servers: {report.batches} Ready batches "
                    f"merged into {report.steps} spec steps; the run is a behaviour of the "
                    "Raft spec and every safety property holds")
        head += [f"  {label:<46} {count}" for label, count in report.coverage.items()]
        report.text = "\n".join(head) + "\n"
    else:
        report.text = "\n".join([*head, report.text.rstrip("\n"),
                                  f"({report.batches} batches merged before it)"]) + "\n"
    report.notes = notes
    return report

