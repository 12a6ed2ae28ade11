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

Membership changes (validate_membership.py): logs with membership events, or whose
``InitialConfiguration`` lines name fewer voters than servers, are held to
raft-reconfig (its safety properties too), as the simulator conformance holds them.

This file is the merge; validate_steps.py says what one batch's events are as spec
steps and its State line as spec variables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agree.conformance.deviations import (
    PERSISTED_COMMIT_INDEX,
    REPLIES_WITHOUT_TERM,
    Deviation,
    resolve,
)
from agree.conformance.event_log import Batch, max_batch_of, read_event_logs, read_logs
from agree.conformance.explain import diff, plain
from agree.conformance.matcher import Match, Mismatch, check_properties, match_step
from agree.conformance.raft_replay import show_key
from agree.conformance.validate_membership import choose_spec, safety_for, send_hint
from agree.conformance.validate_steps import SENDS, BatchSteps
from agree.models.raft_types import AERESP, RVRESP, RaftState
from agree.spec import Transition

__all__ = ["Batch", "Report", "max_batch_of", "read_logs", "validate", "validate_files"]



@dataclass
class Report:
    ok: bool
    text: str
    batches: int = 0
    steps: int = 0
    notes: list[str] = field(default_factory=list)
    coverage: dict[str, int] = field(default_factory=dict)


class _Validator(BatchSteps):
    def __init__(self, nodes: list[list[Batch]], max_batch: int,
                 deviations: Sequence[Deviation], members: int | None = None) -> None:
        super().__init__(len(nodes), max_batch, deviations, members)
        self.nodes = nodes
        self.props = [p for p in safety_for(members) if p.kind in ("invariant", "action")]
        self.pos = [0] * self.n
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
                        e.action in SENDS and dict(e.args).get("j") == missing[0][-2]
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
        for label in SENDS:
            hint = self.deviate(send_hint(self.mapping, label, source, i), key)
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
        self.logs[b.node] = tuple(self.state.log[b.node])
        self.pos[b.node] += 1
        self.matched[b.node] = self.last = f"{b.where} (s{b.node + 1})"



def validate(nodes: list[list[Batch]], max_batch: int,
             deviations: Sequence[str] | None = None, members: int | None = None) -> Report:
    """Search an interleaving of the servers' batches that is a behaviour of the spec,
    with the declared deviations (None: agree's own server's); ``members`` k: of
    raft-reconfig with s1..sk voting at first (None: of raft.tla)."""
    return _Validator(nodes, max_batch, resolve(deviations), members).run()


def validate_files(paths: Sequence[str], max_batch: int | None = None,
                   deviations: Sequence[str] | None = None) -> Report:
    """Read, schema-check, merge and validate event logs; the report's text says what was
    found. ``max_batch`` None: from the logs; ``deviations`` None: agree's own server's
    (deviations.DEFAULT), ``["none"]``: none; a ValueError names an unknown one."""
    declared = resolve(deviations)
    termless = any(d.name == REPLIES_WITHOUT_TERM for d in declared)
    logs = read_event_logs(list(paths), termless_replies=termless)
    nodes, notes = logs.nodes, logs.notes
    spec = choose_spec(logs)
    batch = max_batch or max_batch_of(nodes)
    report = _Validator(nodes, batch, declared, spec.members).run()
    notes = notes + report.notes
    head = [f"note: {n}" for n in notes]
    names = ", ".join(d.name for d in declared) or "none (raft.tla exactly)"
    if report.ok:
        head.append(f"{len(paths)} logs, {len(nodes)} servers: {report.batches} Ready batches "
                    f"merged into {report.steps} spec steps; the run is a behaviour of "
                    f"{spec.why} and every safety property holds")
        head.append(f"deviations declared: {names}; entries per AppendEntries: {batch}")
        head += [f"  {label:<46} {count}" for label, count in report.coverage.items()]
        report.text = "\n".join(head) + "\n"
    else:
        report.text = "\n".join([*head, report.text.rstrip("\n"),
                                  f"({report.batches} batches merged before it; deviations "
                                  f"declared: {names}"
                                  + ("" if spec.members is None else f"; held to {spec.why}")
                                  + ")"]) + "\n"
    report.notes = notes
    return report


