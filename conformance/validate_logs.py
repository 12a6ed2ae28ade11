"""`agree validate LOG...`: are the event logs of a real run a behaviour of the Raft spec?

`agree serve --event-log FILE` (or any writer of the schema) appends, after every
Ready, the protocol events of that Ready (raft.tla action names, messages as on the
wire) and then one ``State`` line with the server's variables. Each server's log is in its own
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

Snapshots (agree's own servers, impl/raft/snapshot.py; the declared deviation
snapshot_prefix): a ``SendSnapshot`` is the leader's AppendEntries of the log prefix
the snapshot replaces, known in the logs only by its length and last term
(raft_adapter.prefix_key, applied to both sides); the follower's ``InstallSnapshot`` is
the spec's handling of that request to the end (one entry per step, then the reply),
merged as one step, and its log is that prefix (taken from the request in flight)
followed by what it kept.

Reading (event_log.py) checks every line against the versioned schema first. Declared
deviations (deviations.py) add, for the spec steps they name, variants the merge may
take instead; without any, agree's own server's (monotonic_commit_index) are declared.
The first batch that fits nowhere is refused with the closest attempt (the Restart
the merge inferred included), what went wrong in plain words where it can say (a term
that went backwards over a restart...), and the file:line of the batch and of the last
batches that matched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agree.conformance.deviations import (
    FAST_BACKUP,
    PERSISTED_COMMIT_INDEX,
    REPLIES_WITHOUT_TERM,
    Deviation,
    expand,
    resolve,
)
from agree.conformance.event_log import Batch, b64, max_batch_of, read_logs
from agree.conformance.explain import diff, plain
from agree.conformance.matcher import Hint, Match, Mismatch, check_properties, match_step
from agree.conformance.raft_adapter import (
    EVENT_ACTION,
    PRE_VOTE,
    STEP_DOWN,
    RaftMapping,
    message_key,
    prefix_key,
    spec_message_key,
)
from agree.conformance.raft_replay import show_key
from agree.impl.raft import Event
from agree.models.raft_types import (
    AERESP,
    RVRESP,
    Entry,
    RaftState,
    with_message,
    without_message,
)
from agree.properties.raft import SAFETY
from agree.spec import Transition

__all__ = ["Batch", "Report", "max_batch_of", "read_logs", "validate", "validate_files"]

_SENDS = ("RequestVote", "AppendEntries")
#: State fields an implementation that does not keep them may leave out
_OPTIONAL = ("votes_responded", "votes_granted", "next_index", "match_index")


@dataclass
class Report:
    ok: bool
    text: str
    batches: int = 0
    steps: int = 0
    notes: list[str] = field(default_factory=list)
    coverage: dict[str, int] = field(default_factory=dict)


class _Validator:
    def __init__(self, nodes: list[list[Batch]], max_batch: int,
                 deviations: Sequence[Deviation]) -> None:
        self.nodes = nodes
        self.n = len(nodes)
        self.mapping = RaftMapping(self.n, 1, max_batch)
        self.spec = self.mapping.spec
        self.deviations = tuple(deviations)
        self.termless = any(d.name == REPLIES_WITHOUT_TERM for d in self.deviations)
        self.props = [p for p in SAFETY if p.kind in ("invariant", "action")]
        self.state: RaftState = next(iter(self.spec.init()))
        self.logs: list[tuple[Any, ...]] = [() for _ in range(self.n)]
        self.pos = [0] * self.n
        self.receives: Counter[tuple[Any, ...]] = Counter()
        for batches in nodes:
            for b in batches:
                self.receives.update(self.received(b))
        self.steps = 0
        self.coverage: Counter[str] = Counter()
        self.notes: list[str] = []
        self.done = 0
        # what the merge was before each batch it applied: where a send the logs lack
        # was still possible (its sender has moved on since), the search goes back there
        self.history: list[tuple[Any, ...]] = []
        self.matched: list[str | None] = [None] * self.n  # each server's last batch merged
        self.last: str | None = None  # the last batch merged

    # -- messages ----------------------------------------------------------------

    def norm(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        """A message key as compared: a reply's term left out under replies_without_term."""
        if self.termless and key[0] in (RVRESP, AERESP):
            return (key[0], 0, *key[2:])
        return prefix_key(key)

    def key(self, m: Any) -> tuple[Any, ...]:
        """An implementation message's key."""
        return self.norm(message_key(self.mapping.codec, m))

    def mapping_keys(self, s: RaftState) -> list[tuple[Any, ...]]:
        return [self.norm(spec_message_key(m)) for m in s.messages]

    def received(self, b: Batch) -> list[tuple[Any, ...]]:
        return [self.norm(k) for k in b.received(self.mapping)]

    # -- the batch's state ---------------------------------------------------------

    def node_vars(self, b: Batch) -> tuple[Any, ...]:
        """The batch's State as the spec's variables of its server (None: not logged,
        not compared)."""
        st = b.state
        log = self.logs[b.node]
        for e in b.events:  # a snapshot installed: the prefix it replaces, then the rest
            if e.action == "InstallSnapshot":
                prefix = self.prefix_of(self.key(dict(e.args)["m"]))
                if prefix is not None:
                    log = prefix + log[len(prefix):]
        if "log_from" in st:
            suffix = tuple((int(t), self.mapping.codec.decode(b64(v, b.where)))
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

    # -- hints ---------------------------------------------------------------------

    def hints(self, b: Batch) -> list[Hint]:
        hints: list[Hint] = []
        bag = Counter(self.mapping_keys(self.state))
        for e, m in b.deliveries():
            if m is not None:
                key = self.key(m)
                self.receives[key] -= 1
                if bag[key] == 1 and self.receives[key] > 0:
                    hints.append(self.on_message("DuplicateMessage", key))
                    bag[key] += 1
                bag[key] -= 1
            if e.action == "InstallSnapshot":
                hints.append(self.installs(self.key(dict(e.args)["m"])))
            else:
                hints.append(self.hint_of(e))
        return hints

    def prefix_of(self, key: tuple[Any, ...]) -> tuple[tuple[int, Any], ...] | None:
        """The entries of the request in flight a snapshot key stands for (None: none)."""
        for m in self.state.messages:
            if self.norm(spec_message_key(m)) == key:
                return tuple((e.term, e.value) for e in m.mentries)
        return None

    def installs(self, key: tuple[Any, ...]) -> Hint:
        """A snapshot installed: the spec's HandleAppendEntriesRequest steps on the
        prefix's request, followed until it is answered, as one merged step."""
        step = self.on_message("HandleAppendEntriesRequest", key)

        def pending(s: RaftState) -> int:
            return self.mapping_keys(s).count(key)

        def follow(s: RaftState, t: Transition[Any], left: int,
                   ) -> Iterator[Transition[Any]]:
            if pending(t.state) < pending(s) or left == 0:
                yield t
                return
            for t2 in step.candidates(t.state):
                yield from follow(s, Transition(t2.action, t.args, t2.state), left - 1)

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            bound = 2 * max(len(lg) for lg in s.log) + 2 * (key[5] + 1)
            for t in step.candidates(s):
                for end in follow(s, t, bound):
                    if pending(end.state) < pending(s):
                        yield Transition(replace(end.action, label=(
                            "HandleAppendEntriesRequest[snapshot_prefix]")), end.args,
                            end.state)
        return Hint("HandleAppendEntriesRequest", candidates, show_key(key))

    def deviate(self, base: Hint, sent: tuple[Any, ...] | None = None) -> Hint:
        """base's candidates and their variants under the declared deviations; with
        ``sent``, only those that send exactly that message."""
        spec, devs = self.spec, self.deviations
        blind_send = sent is None and base.label in _SENDS

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            before = self.mapping_keys(s).count(sent) if sent is not None else 0
            seen: set[RaftState] = set()
            for t in base.candidates(s):
                for v in expand(spec, devs, s, t):
                    if sent is not None:
                        if self.mapping_keys(v.state).count(sent) > before:
                            yield v
                        continue
                    if not blind_send:
                        yield v
                        continue
                    # a send the log does not spell out: variants that differ only in
                    # the message sent look alike to every State line; the first stands
                    # for them (log sends with their message to tell them apart)
                    alike = v.state._replace(messages=())
                    if alike not in seen:
                        seen.add(alike)
                        yield v
        return Hint(base.label, candidates, base.note)

    def on_message(self, label: str, key: tuple[Any, ...]) -> Hint:
        """A step of ``label`` on (a copy of) the message with this (compared) key; under
        replies_without_term, a reply of an older term handled as of the receiver's."""
        act = self.spec.action(label)
        handles_reply = self.termless and label in ("HandleRequestVoteResponse",
                                                    "HandleAppendEntriesResponse")

        def candidates(s: RaftState) -> Iterator[Transition[Any]]:
            for m in dict.fromkeys(s.messages):
                if self.norm(spec_message_key(m)) != key:
                    continue
                nxt = act.fn(s, m)
                if nxt is not None:
                    yield Transition(act, (m,), nxt)
                elif handles_reply and m.mterm < s.current_term[m.mdest]:
                    now = m._replace(mterm=s.current_term[m.mdest])
                    nxt = act.fn(s._replace(messages=with_message(
                        now, without_message(m, s.messages))), now)
                    if nxt is not None:
                        yield Transition(replace(act, label=f"{label}[{REPLIES_WITHOUT_TERM}]"),
                                         (m,), nxt)
        return self.deviate(Hint(label, candidates, show_key(key)))

    def hint_of(self, e: Event) -> Hint:
        """The spec step an event claims; a send that names its message (as
        agree.eventlog writes it) only by a step that sends exactly that message."""
        label = EVENT_ACTION[e.action]
        args = dict(e.args)
        if e.action == STEP_DOWN:
            return self.deviate(self.mapping.step_down(args["i"]))
        if e.action == PRE_VOTE:
            return self.deviate(self.mapping.pre_vote_term(args["i"], args["j"],
                                                           args["term"]))
        if label in _SENDS:
            sent = self.key(args["m"]) if "m" in args else None
            return self.deviate(self.mapping.on_server(label, args["i"], args["j"]), sent)
        if "m" in args:
            hint = self.on_message(label, self.key(args["m"]))
            if "hint" in args:
                return _hinted(hint, args["m"], int(args["hint"]))  # type: ignore[call-overload]
            return hint
        return self.deviate(self.mapping.hint_of(e))

    # -- one batch -------------------------------------------------------------------

    def try_batch(self, b: Batch) -> Match | str:
        """Apply b if its messages are in flight and the spec reaches its State; else why not."""
        bag = Counter(self.mapping_keys(self.state))
        need = Counter(self.received(b))
        if any(bag[k] == 0 for k in need):
            return "waiting"
        saved = self.receives.copy()
        target = self.node_vars(b)
        project = self.project_node(b)
        logged_restart = any(e.action == "Restart" for e in b.events)
        attempts: list[tuple[bool, Mismatch]] = []
        for restart in (False,) if logged_restart else (False, True):
            self.receives = saved.copy()
            hints = self.hints(b)
            if restart:
                hints.insert(0, self.deviate(self.mapping.on_server("Restart", b.node)))
            result = match_step(self.spec, self.state, hints, target, project,
                                lambda a, c: diff(a, c, b.node, self.mapping.codec),
                                blind_depth=0)
            if isinstance(result, Match):
                return result
            attempts.append((restart or logged_restart, result))
        self.receives = saved
        return self.refusal(b, target, attempts)

    def refusal(self, b: Batch, target: tuple[Any, ...],
                attempts: list[tuple[bool, Mismatch]]) -> str:
        """Why b fits nowhere: a plain sentence where one applies, the closest attempt
        (with the Restart the merge inferred), and where the last matches were."""
        i, s = b.node, self.state
        went_back = target[0] < s.current_term[i]  # only a restart can explain it
        restarted, closest = min(attempts, key=lambda a: (  # the one that got furthest
            not a[0] if went_back else False, len(a[1].hints) - len(a[1].followed),
            len(a[1].differences), a[0]))
        why = plain(i, s, target, restarted, closest.reached,
                     PERSISTED_COMMIT_INDEX in {d.name for d in self.deviations})
        inferred = restarted and not any(e.action == "Restart" for e in b.events)
        steps = ", ".join(t.label for t in closest.followed) or "none"
        lines = [why or f"s{i + 1} took a step the spec does not allow",
                 f"  refused: {b.where}, s{i + 1}'s batch (events: "
                 f"{', '.join(e.action for e in b.events) or 'none'})"
                 + (", after a Restart the merge inferred" if inferred else ""),
                 f"  closest attempt: {steps}"]
        if closest.stuck_at is not None:
            lines.append(f"  no spec step takes {closest.stuck_at} there")
        if closest.differences:
            lines.append("  where it ends, the spec and the log differ:")
            lines += [f"    {d}" for d in closest.differences]
        lines.append(f"  last batch that matched: {self.last or 'none'}"
                     + (f"; s{i + 1}'s last: {self.matched[i]}"
                        if self.matched[i] not in (None, self.last) else ""))
        return "\n".join(lines)

    # -- the merge -------------------------------------------------------------------

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
                    steps = ", ".join(t.label for t in result.steps[:bad[1] + 1])
                    return Report(False, f"{b.where}: property {bad[0]} is violated by "
                                  f"s{i + 1}'s batch (spec steps: {steps})\n"
                                  f"  last batch that matched: {self.last or 'none'}\n",
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
                                + "; ".join(self.waiting())
                                + f"\n  last batch that matched: {self.last or 'none'}"]
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
                missing = [k for k in self.received(b) if not bag[k]]
                out.append(f"s{i + 1} at {b.where}"
                           + (f" needs {show_key(missing[0])}" if missing else ""))
                if missing and missing[0][0] in (RVRESP, AERESP) and any(
                        e.action in _SENDS and dict(e.args).get("j") == missing[0][-2]
                        for e in b.events):
                    out[-1] += (f" (a reply to a request this same batch sends to "
                                f"s{missing[0][-2] + 1}? end a batch, with its State line, "
                                "before its requests are answered)")
        return out

    def snapshot(self) -> tuple[Any, ...]:
        return (self.state, list(self.pos), list(self.logs), self.receives.copy(),
                self.steps, self.coverage.copy(), self.done, len(self.notes),
                list(self.matched), self.last)

    def restore(self, snap: tuple[Any, ...]) -> None:
        (self.state, pos, logs, receives, self.steps, coverage, self.done, notes,
         matched, self.last) = snap
        self.pos, self.logs, self.receives = list(pos), list(logs), receives.copy()
        self.coverage, self.matched = coverage.copy(), list(matched)
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
                missing += [(key, i) for key in self.received(self.nodes[i][self.pos[i]])
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
        for label in _SENDS:
            hint = self.deviate(self.mapping.on_server(label, source, i), key)
            for t in hint.candidates(state):
                return t
        return None

    def apply_steps(self, steps: list[Transition[Any]]) -> None:
        if steps:
            self.state = steps[-1].state
        self.steps += len(steps)
        self.coverage.update(t.action.label for t in steps)

    def apply(self, b: Batch, steps: list[Transition[Any]]) -> None:
        self.apply_steps(steps)
        self.logs[b.node] = tuple((e.term, e.value) for e in self.state.log[b.node])
        self.pos[b.node] += 1
        self.matched[b.node] = self.last = f"{b.where} (s{b.node + 1})"


def _hinted(hint: Hint, m: Any, next_index: int) -> Hint:
    """A failure reply carrying the follower's hint: fast_backup's variants only with the
    next_index the hint names (the others could not have been taken)."""
    i, j = m.dest, m.source

    def candidates(s: RaftState) -> Iterator[Transition[Any]]:
        for t in hint.candidates(s):
            if f"[{FAST_BACKUP}]" not in t.action.label or \
                    t.state.next_index[i][j] == next_index:
                yield t
    return Hint(hint.label, candidates, hint.note)


def validate(nodes: list[list[Batch]], max_batch: int,
             deviations: Sequence[str] | None = None) -> Report:
    """Search an interleaving of the servers' batches that is a behaviour of the spec,
    with the declared deviations (None: agree's own server's)."""
    return _Validator(nodes, max_batch, resolve(deviations)).run()


def validate_files(paths: Sequence[str], max_batch: int | None = None,
                   deviations: Sequence[str] | None = None) -> Report:
    """Read, schema-check, merge and validate event logs; the report's text says what was
    found. ``max_batch`` None: from the logs; ``deviations`` None: agree's own server's
    (deviations.DEFAULT), ``["none"]``: none; a ValueError names an unknown one."""
    declared = resolve(deviations)
    termless = any(d.name == REPLIES_WITHOUT_TERM for d in declared)
    nodes, notes = read_logs(list(paths), termless_replies=termless)
    batch = max_batch or max_batch_of(nodes)
    report = _Validator(nodes, batch, declared).run()
    notes = notes + report.notes
    head = [f"note: {n}" for n in notes]
    names = ", ".join(d.name for d in declared) or "none (raft.tla exactly)"
    if report.ok:
        head.append(f"{len(paths)} logs, {len(nodes)} servers: {report.batches} Ready batches "
                    f"merged into {report.steps} spec steps; the run is a behaviour of the "
                    "Raft spec and every safety property holds")
        head.append(f"deviations declared: {names}; entries per AppendEntries: {batch}")
        head += [f"  {label:<46} {count}" for label, count in report.coverage.items()]
        report.text = "\n".join(head) + "\n"
    else:
        report.text = "\n".join([*head, report.text.rstrip("\n"),
                                  f"({report.batches} batches merged before it; deviations "
                                  f"declared: {names})"]) + "\n"
    report.notes = notes
    return report


