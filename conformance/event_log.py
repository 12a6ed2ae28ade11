"""Reading Raft event logs: every line checked against the versioned schema, then batched.

The schemas (conformance/schemas/*.schema.json, package data, JSON Schema draft-07,
which validators in most languages read) are the contract for writers in any language;
agree.eventlog writes lines they accept, and so does ``agree serve --event-log``.

A log is read line by line. The first line that is not JSON, or that the schema
refuses, is an error naming file:line and what is wrong: fastjsonschema's message, the
path in the line and the rule broken. (fastjsonschema compiles the schema to Python:
some 15 times faster than jsonschema on these lines, which matters for long runs.) An
empty log, a log with no State line, and a last line cut short are errors too, never a
silent pass. Events after a server's last State line (a process killed before it
finished the batch, and so before it sent anything of it) are ignored with a note.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import fastjsonschema

from agree.conformance.raft_adapter import RaftMapping
from agree.conformance.raft_messages import message_key
from agree.impl.raft import Event
from agree.impl.raft.messages import AppendEntriesResponse, RequestVoteResponse
from agree.impl.wire import CodecError, decode_payload
from agree.traces.trace import TraceError

__all__ = ["SCHEMAS", "Batch", "EventLogs", "b64", "line_error", "max_batch_of",
           "read_event_logs", "read_logs", "schema"]

#: protocol -> the schema file of its event log (version 1)
SCHEMAS = {"raft": "raft-event-log.v1.schema.json", "paxos": "paxos-event-log.v1.schema.json"}
_REPLIES = {"RequestVoteResponse", "AppendEntriesResponse"}


@cache
def schema(protocol: str = "raft") -> dict[str, Any]:
    """The JSON Schema of a protocol's event log, as shipped in the package."""
    text = resources.files("agree.conformance").joinpath("schemas", SCHEMAS[protocol])
    loaded: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return loaded


@cache
def _validator(protocol: str) -> Any:
    return fastjsonschema.compile(schema(protocol))


def line_error(obj: Any, protocol: str = "raft") -> str | None:
    """What is wrong with one parsed line under the schema (None: nothing), as
    ``args.m.term must be bigger than or equal to 1``."""
    try:
        _validator(protocol)(obj)
    except fastjsonschema.JsonSchemaValueException as exc:
        text = str(exc.message).removeprefix("data.").removeprefix("data ")
        return f"the line {text}" if text.startswith("must") else text
    return None


@dataclass
class Batch:
    """One Ready of one server: its events, and its variables after them."""

    node: int
    events: list[Event]
    state: dict[str, Any]
    where: str  # file:line of the State line

    def deliveries(self) -> Iterator[tuple[Event, Any]]:
        """Each event with the message from another server it receives (None: none, or
        the same delivery as the event before: UpdateTerm then its handler are one)."""
        last: Any = None
        for e in self.events:
            m = dict(e.args).get("m")
            new = m is not None and m != last and getattr(m, "source", self.node) != self.node
            yield e, (m if new else None)
            last = m

    def received(self, mapping: RaftMapping) -> list[tuple[Any, ...]]:
        """Keys of the messages from other servers this batch receives, once per delivery."""
        return [message_key(mapping.codec, m)
                for _, m in self.deliveries() if m is not None]


def b64(value: Any, where: str) -> bytes:
    """A base64 value of the log (a TraceError naming the line if it is not one)."""
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise TraceError(f"{where}: bad base64 value {value!r}") from None


def _message(value: dict[str, Any], where: str, termless: bool) -> Any:
    without_term = value.get("t") in _REPLIES and "term" not in value
    if without_term:
        if not termless:
            raise TraceError(f"{where}: a {value['t']} without a term (declare the "
                             "replies_without_term deviation if your replies carry none)")
        value = {**value, "term": 1}  # a placeholder: the validator matches it by the rest
    try:
        msg = decode_payload(value)
    except (CodecError, KeyError) as exc:
        raise TraceError(f"{where}: bad message: {exc}") from None
    if isinstance(msg, dict):
        raise TraceError(f"{where}: argument m is not a Raft message")
    if without_term:
        assert isinstance(msg, (RequestVoteResponse, AppendEntriesResponse))
        return msg._replace(term=0)
    return msg


def _event(obj: dict[str, Any], where: str, termless: bool) -> Event:
    args: list[tuple[str, object]] = []
    for name, value in dict(obj.get("args") or {}).items():
        if name == "m":
            args.append((name, _message(value, where, termless)))
            if isinstance(value, dict) and "hint" in value:  # fast_backup's next_index
                args.append(("hint", value["hint"]))
        elif name == "v":
            args.append((name, b64(value, where)))
        else:
            args.append((name, value))
    return Event(str(obj["action"]), tuple(args))


class EventLogs(NamedTuple):
    """What the logs hold: each server's batches, notes, and the initial configuration
    its ``InitialConfiguration`` line gives (node -> (voters, servers or None))."""

    nodes: list[list[Batch]]
    notes: list[str]
    initial: dict[int, tuple[tuple[int, ...], int | None]]


def read_logs(paths: list[str], termless_replies: bool = False,
              ) -> tuple[list[list[Batch]], list[str]]:
    """Each server's batches in its own order (servers by id), and notes; a TraceError
    at the first line the schema refuses. ``termless_replies``: replies may leave out
    their term (the replies_without_term deviation; such a term reads as 0)."""
    logs = read_event_logs(paths, termless_replies)
    return logs.nodes, logs.notes


def read_event_logs(paths: list[str], termless_replies: bool = False) -> EventLogs:
    """`read_logs`, with the initial configurations the logs record (a TraceError if a
    server records two different ones)."""
    per: dict[int, list[Batch]] = {}
    notes: list[str] = []
    initial: dict[int, tuple[tuple[int, ...], int | None]] = {}
    first: dict[int, str] = {}
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TraceError(f"cannot read {path}: {exc}") from None
        lines = text.splitlines()
        if not any(line.strip() for line in lines):
            raise TraceError(f"{path}: the event log is empty")
        pending: dict[int, list[Event]] = {}
        states = 0
        for k, line in enumerate(lines, 1):
            where = f"{path}:{k}"
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                if k == len(lines) and not text.endswith("\n"):
                    raise TraceError(f"{where}: the last line is cut short (a truncated log: "
                                     "its writer killed mid-line?)") from None
                raise TraceError(f"{where}: not an event-log line (not JSON)") from None
            problem = line_error(obj)
            if problem is not None:
                raise TraceError(f"{where}: not an event-log line of the schema "
                                 f"({SCHEMAS['raft']}): {problem}")
            node, action = int(obj["node"]), str(obj["action"])
            if action == "InitialConfiguration":
                args = dict(obj["args"])
                config = (tuple(sorted(args["voters"])), args.get("servers"))
                if initial.setdefault(node, config) != config:
                    raise TraceError(f"{where}: s{node + 1}'s initial configuration "
                                     f"{_show_config(config)} is not the one at {first[node]} "
                                     f"({_show_config(initial[node])})")
                first.setdefault(node, where)
                continue
            if action == "State":
                states += 1
                per.setdefault(node, []).append(Batch(node, pending.pop(node, []),
                                                      dict(obj["args"]), where))
            else:
                pending.setdefault(node, []).append(_event(obj, where, termless_replies))
        if not states:
            raise TraceError(f"{path}: no State line: not one batch was finished (each "
                             "batch ends with its server's State line)")
        for node, events in sorted(pending.items()):
            notes.append(f"{path}: {len(events)} trailing events of s{node + 1} without their "
                         "State line were ignored (process killed mid-batch?)")
    n = max([*per, *(v for voters, _ in initial.values() for v in voters)]) + 1
    n = max([n, *(servers for _, servers in initial.values() if servers is not None)])
    for batches in per.values():  # servers that never wrote a State line count too
        for b in batches:
            n = max(n, len(b.state.get("next_index") or ()),
                    len(b.state.get("match_index") or ()))
            for e in b.events:
                m = dict(e.args).get("m")
                if m is not None:
                    n = max(n, getattr(m, "source", 0) + 1, getattr(m, "dest", 0) + 1)
    return EventLogs([per.get(k, []) for k in range(n)], notes, initial)


def _show_config(config: tuple[tuple[int, ...], int | None]) -> str:
    voters, servers = config
    text = "{" + ", ".join(f"s{v + 1}" for v in voters) + "}"
    return text + (f" of {servers} servers" if servers is not None else "")


def max_batch_of(nodes: list[list[Batch]]) -> int:
    """The most entries any AppendEntries request in the logs carries (at least 1): the
    servers' batch size as far as the logs show it (a request with fewer entries had no
    more to send, so this is the spec's entries_per_append that fits)."""
    most = 1
    for batches in nodes:
        for b in batches:
            for e in b.events:
                m = dict(e.args).get("m")
                entries = getattr(m, "entries", None)
                if entries is not None:
                    most = max(most, len(entries))
    return most
