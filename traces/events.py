"""Who sent what to whom: the message events of a trace, shared by every renderer.

Works on ``spec.view`` alone, so any spec gets a sequence chart. Nodes are the
ids in view keys (``max_bal[a1]`` is about node ``a1``) and the acting
parameter of each step (an argument from a named id domain). Message
collections are the view's sets (grow-only message sets, as in Paxos.tla) and
bags (``dict`` message -> count, as in raft.tla). Per step:

* a message that appears (or whose count grows) is a **send**, by the step's
  actor, or a **duplicate** when the step takes that very message as argument;
* a message the step takes as argument is a **delivery** to the actor (or
  to the message's destination); in a bag, a decrease not explained by a
  delivery, or by an action named like ``Drop``/``Lose``, is a **drop**.

A message reading ``s1->s2 ...`` names its endpoints; otherwise the sender is
the actor that sent it and the receiver the actor that takes it. Messages
without a destination (broadcast into a set) are drawn into the ``net``
column. ``env`` stands for steps with no acting node (a ballot's leader in
Paxos.tla). Message text is exactly the view's, so every renderer shows a
message the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agree.spec import Spec, SpecError
from agree.traces.trace import Trace

__all__ = ["ENV", "NET", "Event", "StepEvents", "message_keys", "node_of_key", "trace_events"]

ENV = "env"
NET = "net"
_KEY_NODE = re.compile(r"\[([A-Za-z]+\d+)\]$")
_ENDPOINTS = re.compile(r"^([A-Za-z]+\d+)->([A-Za-z]+\d+)\b")
_DROP = re.compile(r"drop|lose|loss|discard", re.IGNORECASE)
_DUP = re.compile(r"dup", re.IGNORECASE)
_MESSAGES = re.compile(r"msg|message|network|channel", re.IGNORECASE)


@dataclass(frozen=True)
class Event:
    """One arrow or mark: ``kind`` is send, deliver, drop, duplicate, local (a step of one
    node), or interact (a step of two nodes that moves no message, ``message`` is the action)."""

    kind: str
    src: str
    dst: str
    message: str = ""

    @property
    def note(self) -> str:
        """The words a diagram writes beside the event: none for a local step, the action
        for an interaction, else the kind and the message (``send Prepare(1)``)."""
        if self.kind == "local":
            return ""
        return self.message if self.kind == "interact" else f"{self.kind} {self.message}"


@dataclass
class StepEvents:
    """The events of step ``n`` (1-based), its actor, and the nodes whose state changed."""

    n: int
    label: str
    actor: str
    events: list[Event] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def node_of_key(key: str) -> str | None:
    """``max_bal[a1]`` -> ``a1``; None for a key about no node (``msgs``)."""
    m = _KEY_NODE.search(key)
    return m.group(1) if m else None


def message_keys(view: Mapping[str, Any]) -> list[str]:
    """The view keys holding messages: sets or bags about no single node, not history
    variables; those named like messages when there are several."""
    keys = [k for k, v in view.items() if isinstance(v, frozenset | set | Mapping)
            and node_of_key(k) is None and "(history)" not in k]
    named = [k for k in keys if _MESSAGES.search(k)]
    return named or keys


def _collections(view: Mapping[str, Any], keys: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key in keys:
        value = view.get(key)
        if isinstance(value, frozenset | set):
            out[key] = {str(m): 1 for m in value}
        elif isinstance(value, Mapping):
            out[key] = {str(m): int(c) for m, c in value.items()}
    return out


def _actors(spec: Spec[Any], action: str, args: tuple[Any, ...], known: set[str]) -> list[str]:
    """The step's node arguments (ids of nodes the state is about), the actor first."""
    try:
        domains = spec.action(action).domains
    except SpecError:
        return []
    out = []
    for (_, dom), arg in zip(domains, args, strict=False):
        if isinstance(dom, str) and dom in spec.names and isinstance(arg, int):
            shown = spec.show(dom, arg)
            if shown in known:
                out.append(shown)
    return out


def _node_order(spec: Spec[Any], nodes: set[str]) -> list[str]:
    prefixes = list(dict.fromkeys(spec.names.values()))

    def key(n: str) -> tuple[int, str, int]:
        m = re.match(r"([A-Za-z]+)(\d+)$", n)
        if n == ENV:
            return (-1, "", 0)
        if n == NET:
            return (len(prefixes) + 1, "", 0)
        if not m:
            return (len(prefixes), n, 0)
        p = m.group(1)
        return (prefixes.index(p) if p in prefixes else len(prefixes), p, int(m.group(2)))

    return sorted(nodes, key=key)


def trace_events(spec: Spec[Any], trace: Trace) -> tuple[list[str], list[StepEvents]]:
    """The columns (nodes, in order) and the events of every step."""
    views = [spec.view(s) for s in trace.states]
    nodes: set[str] = {n for k in views[0] for n in [node_of_key(k)] if n}
    view_nodes = set(nodes)
    mkeys = message_keys(views[0])
    sender: dict[str, str] = {}  # message -> who first sent it
    out: list[StepEvents] = []
    for n, step in enumerate(trace.steps, 1):
        prev, cur = views[n - 1], views[n]
        involved = _actors(spec, step.action, step.args, view_nodes)
        actor = involved[0] if involved else None
        if actor:
            nodes.add(actor)
        who = actor or ENV
        before, after = _collections(prev, mkeys), _collections(cur, mkeys)
        args = {str(a) for a in step.args}
        present = {m for bag in before.values() for m, c in bag.items() if c > 0}
        delivered = sorted(args & present)
        events: list[Event] = []
        dropping = bool(_DROP.search(step.action))
        duplicating = bool(_DUP.search(step.action))

        def ends(m: str, default_src: str, default_dst: str) -> tuple[str, str]:
            e = _ENDPOINTS.match(m)
            if e:
                nodes.update(e.groups())
                return e.group(1), e.group(2)
            return sender.get(m, default_src), default_dst

        for m in delivered:
            src, dst = ends(m, ENV, who)
            if dropping:
                events.append(Event("drop", src, dst, m))
            elif not duplicating:
                events.append(Event("deliver", src, dst, m))
        for key in sorted(set(before) | set(after)):
            a, b = before.get(key, {}), after.get(key, {})
            for m in sorted(set(a) | set(b)):
                d = b.get(m, 0) - a.get(m, 0)
                if d > 0:
                    kind = "duplicate" if m in args else "send"
                    src, dst = ends(m, who, NET)
                    if kind == "send":
                        sender.setdefault(m, src)
                    if dst == NET:
                        nodes.add(NET)
                    events += [Event(kind, src, dst, m)] * d
                elif d < 0 and m not in delivered:
                    src, dst = ends(m, ENV, NET)
                    if dst == NET:
                        nodes.add(NET)
                    events += [Event("drop", src, dst, m)] * (-d)
        if not events and actor:
            # no message moved: another node argument acts on the actor directly
            events += [Event("interact", other, actor, step.action) for other in involved[1:]]
            events += [] if involved[1:] else [Event("local", actor, actor)]
        if not actor and any(e.src == ENV for e in events):
            nodes.add(ENV)
        changed = sorted({node for k in cur if prev.get(k) != cur.get(k)
                          for node in [node_of_key(k)] if node})
        out.append(StepEvents(n, step.label, who, events, changed))
    for se in out:
        for e in se.events:
            nodes.update({e.src, e.dst})
    return _node_order(spec, nodes), out
