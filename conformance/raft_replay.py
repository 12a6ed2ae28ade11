"""A raft.tla trace (raft or a raft-* zoo variant) driven through impl/raft.

The implementation fuses steps that raft.tla keeps apart, and raft.tla allows
schedules the implementation never makes. The replay maps one onto the other with
these rules (the *step mapping*):

1. **Eager steps** (one choice, a run of spec steps). An environment choice makes
   the implementation take several spec steps at once: a timeout is Timeout,
   RequestVote(i, i), its handling and the reply's, then RequestVote(i, j) for every
   other j; a delivered vote may make a leader (BecomeLeader, then AppendEntries to
   every follower, AdvanceCommitIndex); a delivered message is handled whole
   (UpdateTerm and the handler; every append and conflicting entry removed, and the
   reply, where raft.tla takes one per step). The steps the trace has not taken yet
   are *pending*: a later trace step is matched by a pending step of the same action,
   message, acting server and term of that server (steps of an older term are gone
   for good), a send only by one that sent the same message. Meanwhile the acting
   server is compared with the trace's state *advanced by* the pending steps (re-run
   through the correct spec, whose steps they are).
2. **Deferred steps** (one spec step, no choice yet). The implementation's candidate
   votes for itself as it times out, where raft.tla's votes when its own request
   reaches it, possibly never (it may even grant another candidate first); and a
   delivered message is handled at once with the UpdateTerm it causes. So a trace's
   Timeout(i), and its UpdateTerm at a follower or candidate, wait until i acts on its
   own (a send, a leader's step, its own message) or handles a message stale for the
   trace; then i's timer fires, or the message is delivered, as needed to reach the
   trace's term. A leader's UpdateTerm is taken at once (a leader must step down
   there). Meanwhile i is compared on its log and commit index, and once the terms
   agree on its vote and role (a follower may stand for the trace's candidate).
3. **Its own vote**. The implementation's candidate has voted for itself where the
   trace's may not have yet (rule 2): that difference is allowed; it shows when the
   trace's server votes for another in that term. A trace's steps on a message from a
   server to itself (its RequestVote, the reply, losing or copying them) have no
   counterpart in flight: matched by the pending fused steps, else the trace's alone,
   except counting one's own vote of another term (the implementation counts it only
   in its own term).
4. **Commit index**. The implementation's leader advances its commit index as soon as
   it can (raft.tla's AdvanceCommitIndex may come later, or not at all): its commit
   index, and the one its AppendEntries requests carry, may be higher than the
   trace's, never lower.
5. **The network**. A message the trace loses stays in flight, never delivered (the
   same to every server). Where the trace handles a message but leaves it in flight
   (UpdateTerm, a candidate stepping down, one append of several), or may send it
   again (RequestVote), the replay keeps a copy: the network's duplicate; a
   RequestVote sent again is that copy.

Everything else is one trace step, one environment choice (Restart: crash and
restart; ClientRequest: a proposal; a handler: deliver the message; Duplicate: the
network's; AppendEntries: a heartbeat tick when no pending send matches). The
conformance harness judges every choice as usual, so the implementation stays a
behaviour of the correct spec throughout. The replay stops at the first trace step
the implementation does not take, or after which the acting server's current_term,
state, voted_for, log or commit_index differ from the trace's (as above): for a
bug-zoo trace, where the correct implementation refuses the buggy behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agree.conformance.harness import ConformanceFailure
from agree.conformance.raft_driver import RaftConformance
from agree.conformance.raft_messages import (
    SnapshotPrefix,
    message_key,
    spec_message,
    spec_message_key,
)
from agree.conformance.replay_impl import Rebuild, ReplayResult, plain, replay_config
from agree.models.raft_reconfig import ConfigEntry
from agree.models.raft_types import (
    AEREQ,
    AERESP,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    RVREQ,
    Entry,
    RaftState,
    bag_counts,
)
from agree.spec import Transition
from agree.traces.trace import Trace

__all__ = ["replay_raft"]

_VAR_NAMES = ("current_term", "state", "voted_for", "log", "commit_index")
_RECEIPTS = {"UpdateTerm", "HandleRequestVoteRequest", "HandleRequestVoteResponse",
             "DropStaleResponse", "HandleAppendEntriesRequest", "HandleAppendEntriesResponse"}
_SENDS = {"RequestVote", "AppendEntries"}
#: Receipts whose effect is on persistent state only (and a reply): still pending when
#: their server restarts, as the trace may take them after the restart to the same effect.
_DURABLE = {"UpdateTerm", "HandleRequestVoteRequest"}
_COMMIT = 5  # the commit index's place in an AppendEntries request's key


def loose(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A message key without an AppendEntries request's commit index (rule 4)."""
    return key[:_COMMIT] + key[_COMMIT + 1:] if key[0] == AEREQ else key


def covers(impl_key: tuple[Any, ...], trace_key: tuple[Any, ...]) -> bool:
    """The implementation's message stands for the trace's (equal, or an AppendEntries
    request with a commit index at least the trace's)."""
    if loose(impl_key) != loose(trace_key):
        return False
    return impl_key[0] != AEREQ or bool(impl_key[_COMMIT] >= trace_key[_COMMIT])


def _sid(action: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (action.split("[", 1)[0],
            *(plain(loose(spec_message_key(a))) if hasattr(a, "mtype") else a for a in args))


def _key(m: Any) -> tuple[Any, ...]:
    key: tuple[Any, ...] = plain(spec_message_key(m))
    return key


def _actor(args: tuple[Any, ...]) -> int:
    for a in args:
        if hasattr(a, "mtype"):
            return int(a.mdest)
    return int(args[0])


def _sent(before: RaftState, after: RaftState) -> tuple[Any, ...] | None:
    """The key of the message a step added to the bag, if one."""
    old, new = bag_counts(before.messages), bag_counts(after.messages)
    for m, k in new.items():
        if k > old.get(m, 0):
            key: tuple[Any, ...] = plain(spec_message_key(m))
            return key
    return None


def show_key(key: tuple[Any, ...]) -> str:
    """A message key as the spec shows the message, without the proof-only log."""
    if key[0] == AEREQ and isinstance(key[4], SnapshotPrefix):
        p = key[4]
        return (f"s{key[-2] + 1}->s{key[-1] + 1} AppendEntriesRequest term={key[1]} "
                f"prev=0/0 commit={key[5]} entries=[the {p.length} committed entries, the "
                f"last of term {p.last_term}] (a snapshot)")
    if key[0] == AEREQ:
        key = (*key[:4], tuple(Entry(*e) if len(e) == 2 else ConfigEntry(*e)
                               for e in key[4]), *key[5:])
    text = str(spec_message(key))
    return text.removesuffix(" log=[]") if key[0] != AERESP else text


def _vars(s: RaftState, i: int) -> tuple[Any, ...]:
    return (s.current_term[i], s.state[i], s.voted_for[i], s.log[i], s.commit_index[i])


def _show(name: str, v: Any) -> str:
    if name == "voted_for":
        return "Nil" if v is None else f"s{v + 1}"
    if name == "log":
        return "[" + ", ".join(f"{e.term}:v{e.value + 1}" for e in v) + "]"
    return str(v)


@dataclass
class _Pending:
    sid: tuple[Any, ...]
    actor: int
    term: int  # the actor's term when the implementation took the step
    epoch: int  # the actor's restarts by then
    sent: tuple[Any, ...] | None
    transition: Transition[Any]


class _RaftReplayer:
    def __init__(self, trace: Trace) -> None:
        p = trace.params
        self.trace = trace
        self.n = int(p["servers"])
        values, batch = int(p["values"]), int(p.get("entries_per_append", 1))
        self.c = RaftConformance(self.n, values, config=replay_config(batch))
        self.rebuild = Rebuild("from agree.conformance.raft_driver import RaftConformance\n"
                               "from agree.conformance.replay_impl import replay_config",
                               f"RaftConformance({self.n}, {values}, "
                               f"config=replay_config({batch}))")
        self.pending: list[_Pending] = []
        # rule 2: per server, the trace's Timeouts and UpdateTerms not taken yet
        # (kind, message key or None, the trace's term after it)
        self.owed: dict[int, list[tuple[str, tuple[Any, ...] | None, int]]] = {}
        self.epoch = [0] * self.n
        self.choices: list[tuple[str, tuple[Any, ...]]] = []
        self.last = "no choice yet"

    # -- the implementation ------------------------------------------------------

    def impl(self) -> RaftState:
        state: RaftState = self.c.recorder.state
        return state

    def choose(self, name: str, *args: Any) -> None:
        """One environment choice on the driver, its spec steps recorded as pending."""
        self.choices.append((name, tuple(plain(a) for a in args)))
        before = self.impl()
        match = getattr(self.c, name)(*args)
        for t in match.steps:
            i = _actor(t.args)
            label = t.action.label
            if label == "Restart":
                self.epoch[i] += 1
            self.pending.append(_Pending(_sid(label, t.args), i, before.current_term[i],
                                         self.epoch[i], _sent(before, t.state), t))
            before = t.state
        self.last = f"{name}: " + (", ".join(t.label for t in match.steps) or "a stutter")

    def find_message(self, key: tuple[Any, ...]) -> int | None:
        codec = self.c.mapping.codec
        keys = [plain(message_key(codec, m)) for m in self.c.sim.bag]
        for k, mk in enumerate(keys):
            if mk == key:
                return k
        for k, mk in enumerate(keys):
            if covers(mk, key):
                return k
        return None

    # -- matching ----------------------------------------------------------------

    def take(self, action: str, args: tuple[Any, ...], pre: RaftState,
             sent: tuple[Any, ...] | None) -> bool:
        """Consume the pending step that matches the trace's step (rule 1)."""
        sid, i = _sid(action, args), _actor(args)
        key = _key(args[0]) if args and hasattr(args[0], "mtype") else None
        for k, p in enumerate(self.pending):
            if (p.sid == sid and p.actor == i
                    and (p.term == pre.current_term[i] or action == "Restart"
                         or i in self.owed)
                    and (p.epoch == self.epoch[i] or action in _DURABLE)
                    and (sent is None or (p.sent is not None and covers(p.sent, sent)))
                    and (key is None or covers(_key(p.transition.args[0]), key))):
                del self.pending[k]
                return True
        return False

    def advanced(self, post: RaftState) -> RaftState:
        """The trace's state advanced by the live pending steps (rule 1), re-run in the
        order the implementation took them through the spec it is held to (the correct
        one: they are its steps); pending steps of an older term are dropped."""
        self.pending = [p for p in self.pending if p.term >= post.current_term[p.actor]
                        and (p.epoch == self.epoch[p.actor] or p.sid[0] in _DURABLE)]
        state = post
        for p in self.pending:
            act = self.c.spec.action(p.transition.action.label.split("[", 1)[0])
            args = p.transition.args
            if args and hasattr(args[0], "mtype"):
                key = _key(args[0])
                same = [m for m in dict.fromkeys(state.messages) if covers(key, _key(m))]
                same.sort(key=lambda m: _key(m) != key)  # the same message first
                if not same:
                    continue
                args = (same[0], *args[1:])
            nxt = act.fn(state, *args)
            if nxt is not None:
                state = nxt
        return state

    def differences(self, i: int, post: RaftState) -> list[str]:
        """Where server i of the implementation and of the trace differ (rules 1-4)."""
        impl = _vars(self.impl(), i)
        trace = _vars(self.advanced(post), i)
        if i in self.owed:
            names = ["log", "commit_index"]
            if impl[0] == trace[0]:
                names.append("voted_for")
                if (trace[1], impl[1]) != (CANDIDATE, FOLLOWER):
                    names.append("state")
        else:
            names = list(_VAR_NAMES)
        out = []
        for name in names:
            k = _VAR_NAMES.index(name)
            a, b = trace[k], impl[k]
            if a == b or (name == "commit_index" and b > a):
                continue
            if name == "voted_for" and (a, b) == (None, i) and impl[0] == trace[0]:
                continue  # rule 3: its own vote, which the trace's server has not cast
            out.append(f"it has {name}[s{i + 1}] = {_show(name, b)} where the trace has "
                       f"{_show(name, a)}")
        return out

    # -- the environment's choices ---------------------------------------------

    def act(self, action: str, args: tuple[Any, ...], pre: RaftState, post: RaftState) -> str:
        """Make the implementation take the step, if a choice can; '' or why not."""
        if action == "Restart":
            self.choose("crash", args[0])
            self.choose("restart", args[0])
        elif action == "ClientRequest":
            self.choose("propose", args[0], args[1])
        elif action == "AppendEntries":
            self.choose("tick", args[0])  # a heartbeat (heartbeat_ticks=1)
        elif action in _RECEIPTS or action == "DuplicateMessage":
            m = args[0]
            key = plain(spec_message_key(m))
            k = self.find_message(key)
            if k is None and m.mtype == AEREQ:
                self.choose("tick", m.msource)
                k = self.find_message(key)
            if k is None:
                why = f"it has no message {show_key(key)} in flight"
                if m.msource == m.mdest:
                    why += (f" (the implementation handles s{m.mdest + 1}'s vote for itself "
                            "as part of its timeout: such messages never travel)")
                return why
            stays = bag_counts(post.messages).get(m, 0) >= bag_counts(pre.messages).get(m, 0)
            if action != "DuplicateMessage" and (m.mtype == RVREQ or stays):
                self.spare(k)  # rule 5
            verb = "duplicate" if action == "DuplicateMessage" else "deliver"
            self.choose(verb, k)
        return ""

    def realise(self, i: int) -> None:
        """Take i's deferred steps, in the trace's order: fire its timer, or deliver the
        message of a newer term, unless the implementation is at that term already."""
        for kind, key, term in self.owed.pop(i, []):
            if self.impl().current_term[i] >= term:
                continue
            if kind == "Timeout":
                self.choose("timeout", i)
            elif key is not None and (k := self.find_message(key)) is not None:
                self.spare(k)  # the trace handles the message later
                self.choose("deliver", self.find_message(key))

    def to_itself(self, action: str, m: Any, pre: RaftState) -> str:
        """A step on a message from a server to itself that no fused step of the
        implementation matched (rule 3): the trace's alone, unless it counts a vote of
        another term."""
        if action == "HandleRequestVoteResponse" and m.mterm != pre.current_term[m.mdest]:
            i = m.mdest
            return (f"it counts s{i + 1}'s vote for itself of term {m.mterm} only in term "
                    f"{m.mterm}, as part of timing out, where the trace counts it in term "
                    f"{pre.current_term[i]}")
        return ""

    def spare(self, k: int) -> None:
        """Keep a copy of the k-th message in flight (the network's duplicate): raft.tla's
        candidate may send a RequestVote again, the implementation never does."""
        mark = len(self.pending)
        self.choose("duplicate", k)
        del self.pending[mark:]

    def resend(self, sent: tuple[Any, ...]) -> str:
        """A RequestVote sent again: the network's duplicate of the copy in flight (the
        implementation does not resend), if there is one."""
        k = self.find_message(sent)
        if k is None:
            return f"it sends nothing where the trace sends {show_key(sent)} again"
        self.spare(k)
        return ""

    def refused(self, action: str, args: tuple[Any, ...], pre: RaftState,
                post: RaftState, sent: tuple[Any, ...] | None) -> str:
        """What the implementation does instead of the trace's step."""
        i = _actor(args)
        if sent is not None:
            mine = [p.sent for p in self.pending if p.actor == i and p.sid[0] == action
                    and p.sent is not None and p.sent[-1] == sent[-1]]
            if mine:
                return (f"it sends {show_key(mine[-1])} where the trace sends "
                        f"{show_key(sent)}")
            return f"it sends nothing where the trace sends {show_key(sent)}"
        if action == "AdvanceCommitIndex":
            return (f"it keeps commit_index[s{i + 1}] = {self.impl().commit_index[i]} where "
                    f"the trace advances it to {post.commit_index[i]}")
        did = [p.sid[0] for p in self.pending if p.actor == i][-3:]
        return (f"it does {', '.join(did) or 'nothing'} where the trace does {action} "
                f"(its last choice, {self.last})")

    # -- the replay --------------------------------------------------------------

    def run(self) -> ReplayResult:
        tr = self.trace
        result = ReplayResult(tr.spec, len(tr.steps), 0, self.rebuild,
                              params=dict(tr.params))
        states = tr.states
        for n, step in enumerate(tr.steps):
            pre, post = states[n], states[n + 1]
            action, args = step.action.split("[", 1)[0], step.args  # no deviation's tag
            i = _actor(args)
            try:
                why = self.follow(action, args, pre, post)
            except ConformanceFailure as exc:
                why = "it breaks the spec: " + exc.text.splitlines()[0]
            if not why:
                diffs = self.differences(i, post)
                why = "; ".join(diffs)
                if not diffs and i in self.owed and _vars(self.impl(), i) == _vars(post, i):
                    del self.owed[i]  # the deferred steps' effect is reached
            if why:
                return self._stop(result, n, step.label, why)
            result.followed = n + 1
        result.choices = self.choices
        return result

    def follow(self, action: str, args: tuple[Any, ...], pre: RaftState,
               post: RaftState) -> str:
        """Take the trace's step on the implementation; '' or what it does instead."""
        i = _actor(args)
        if action == "Timeout" or (action == "UpdateTerm" and pre.state[i] != LEADER):
            key = plain(spec_message_key(args[0])) if action == "UpdateTerm" else None
            self.owed.setdefault(i, []).append((action, key, post.current_term[i]))  # rule 2
            return ""
        if action == "DropMessage":
            return ""  # rule 5: the message stays in flight, never delivered
        own = action not in _RECEIPTS or args[0].msource == i
        stale = action in _RECEIPTS and args[0].mterm < pre.current_term[i]
        if i in self.owed and (own or stale) and action not in ("DuplicateMessage", "Restart"):
            self.realise(i)
        sent = _sent(pre, post) if action in _SENDS else None
        if self.take(action, args, pre, sent):
            return ""
        m = args[0] if args and hasattr(args[0], "mtype") else None
        if (m is not None and m.msource == m.mdest) or (sent is not None and sent[-1] == i
                                                        and action == "RequestVote"):
            return self.to_itself(action, m, pre)
        if action == "RequestVote" and sent is not None:
            return self.resend(sent)
        why = self.act(action, args, pre, post)
        if why:
            return why
        if self.take(action, args, pre, sent):
            return ""
        if action == "DuplicateMessage":
            return ""
        if action == "AdvanceCommitIndex" and post.commit_index == pre.commit_index:
            return ""  # a stutter of the trace's: nothing to take
        return self.refused(action, args, pre, post, sent)

    def _stop(self, result: ReplayResult, n: int, label: str, why: str) -> ReplayResult:
        result.followed, result.label, result.reason = n, label, why
        result.choices = self.choices
        s = self.impl()
        result.expected = {name: plain(getattr(s, name)) for name in _VAR_NAMES}
        return result


def replay_raft(trace: Trace) -> ReplayResult:
    """Drive impl/raft through a Raft-family trace (raft or a raft-* zoo variant)."""
    return _RaftReplayer(trace).run()
