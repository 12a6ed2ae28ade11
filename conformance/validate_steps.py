"""`agree validate`'s spec steps for one batch: what a server's Ready claims, as hints.

The merge (validate_logs.py) decides which batch comes next; this part says, for one
batch, which spec steps its events stand for (with the declared deviations' variants),
which messages it receives and sends as compared keys (a reply's term left out under
replies_without_term, a snapshot's prefix by its length and last term), and what its
State line is as the spec's variables of its server (its log rebuilt from the
``log_from`` suffixes, a snapshot installed as the prefix it replaces).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from agree.conformance.deviations import (
    FAST_BACKUP,
    REPLIES_WITHOUT_TERM,
    Deviation,
    expand,
)
from agree.conformance.event_log import Batch, b64
from agree.conformance.matcher import Hint
from agree.conformance.raft_adapter import EVENT_ACTION, LEARNER_EVENTS, PRE_VOTE, STEP_DOWN
from agree.conformance.raft_messages import message_key, prefix_key, spec_entry, spec_message_key
from agree.conformance.raft_replay import show_key
from agree.conformance.validate_membership import mapping_for, send_hint
from agree.impl.raft import Event
from agree.impl.raft.messages import Entry
from agree.models.raft_types import (
    AERESP,
    RVRESP,
    RaftState,
    with_message,
    without_message,
)
from agree.spec import Transition

__all__ = ["SENDS", "BatchSteps"]

#: The events that send a request
SENDS = ("RequestVote", "AppendEntries")
#: State fields an implementation that does not keep them may leave out
_OPTIONAL = ("votes_responded", "votes_granted", "next_index", "match_index")


class BatchSteps:
    """The spec, the merge's spec state, and the hints of a batch's events from there."""

    def __init__(self, n: int, max_batch: int, deviations: Sequence[Deviation],
                 members: int | None = None) -> None:
        """``members``: None holds the run to raft.tla, k to raft-reconfig with s1..sk
        voting at first (validate_membership.py)."""
        self.n = n
        self.mapping = mapping_for(n, max_batch, members)
        self.spec = self.mapping.spec
        self.deviations = tuple(deviations)
        self.termless = any(d.name == REPLIES_WITHOUT_TERM for d in self.deviations)
        self.state: RaftState = next(iter(self.spec.init()))
        #: each server's log as the spec's entries, as far as the merge has come
        self.logs: list[tuple[Any, ...]] = [() for _ in range(n)]
        #: how many receives of each message key the logs still hold
        self.receives: Counter[tuple[Any, ...]] = Counter()

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
            suffix = tuple(spec_entry(self.mapping.codec, Entry(int(t), b64(v, b.where)))
                           for t, v in st["log_suffix"])
            log = log[:int(st["log_from"]) - 1] + suffix

        def opt(name: str, make: Any) -> Any:
            return make(st[name]) if name in st else None
        return (st["current_term"], st["role"], st["voted_for"],
                tuple(log), st["commit_index"],
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
            elif e.action not in LEARNER_EVENTS:  # a leader's catch-up bookkeeping
                hints.append(self.hint_of(e))
        return hints

    def prefix_of(self, key: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The entries of the request in flight a snapshot key stands for (None: none)."""
        for m in self.state.messages:
            if self.norm(spec_message_key(m)) == key:
                return tuple(m.mentries)
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
        blind_send = sent is None and base.label in SENDS

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
        if label in SENDS:
            sent = self.key(args["m"]) if "m" in args else None
            return self.deviate(send_hint(self.mapping, label, args["i"], args["j"]), sent)
        if "m" in args:
            hint = self.on_message(label, self.key(args["m"]))
            if "hint" in args:
                return _hinted(hint, args["m"], int(args["hint"]))  # type: ignore[call-overload]
            return hint
        return self.deviate(self.mapping.hint_of(e))


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
