"""A KV server's event log lines: a Ready's events and the State line after it
(agree.eventlog's writer, the same as any other implementation's).

The State line is taken when the Ready is (`ready_state`) and written once the Ready's
write is durable (`log_ready`), before the messages it held back are sent: so a
process killed in between never leaves a receive whose send is missing from the logs,
and the state logged is the one the Ready left, whatever the core did meanwhile.
"""

from __future__ import annotations

import base64
from typing import Any

from agree.eventlog import EventLogWriter
from agree.impl.raft import Event, RaftCore, Ready
from agree.impl.wire import message_to_json

__all__ = ["event_args", "log_ready", "ready_state"]


def event_args(event: Event) -> dict[str, Any]:
    """An Event's arguments as JSON values: messages as on the wire, values in base64."""
    args: dict[str, Any] = {}
    for name, value in event.args:
        if name == "next_index":  # the next_index a leader took from a reply
            if not args["m"]["success"]:  # a rejection's: fast_backup's hint
                args["m"]["hint"] = value
            continue
        if isinstance(value, bytes):
            args[name] = base64.b64encode(value).decode()
        elif isinstance(value, tuple) and hasattr(value, "_fields"):
            args[name] = message_to_json(value)  # type: ignore[arg-type]
        else:
            args[name] = value
    return args


def ready_state(core: RaftCore, ready: Ready) -> dict[str, Any]:
    """The State line's arguments for `ready`, as the core is right after it."""
    suffix = None
    if ready.first_index is not None:
        suffix = [(e.term, e.value) for e in ready.entries]
    return {"current_term": core.current_term, "role": core.role.value,
            "voted_for": core.voted_for, "commit_index": core.commit_index,
            "votes_responded": core.votes_responded, "votes_granted": core.votes_granted,
            "next_index": core.next_index, "match_index": core.match_index,
            "log_from": ready.first_index, "log_suffix": suffix}


def log_ready(writer: EventLogWriter, ready: Ready, state: dict[str, Any]) -> None:
    """The Ready's events, then its State line (OSError if the log cannot be written)."""
    for event in ready.events:
        writer.event(event.action, **event_args(event))
    writer.state(**state)
