"""Raft messages and states as the spec sees them: the keys conformance compares.

An implementation message (impl/raft) becomes the raft.tla message it is, without the
proof-only ``mlog`` (:func:`message_key`; an InstallSnapshotRequest becomes the
AppendEntries of the prefix it replaces), a log entry the spec's entry (a configuration
entry raft-reconfig's ConfigEntry), and a spec state its :func:`project` ion: the mapped
variables without the history. :func:`diff` says, one line per variable, where two
projections differ. Used by the Raft adapter (raft_adapter.py), the replay of event
logs (raft_replay.py) and `agree validate` (validate_steps.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from agree.conformance.codec import ValueCodec
from agree.impl.raft import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    InstallSnapshotRequest,
    Message,
    PreVoteRequest,
    PreVoteResponse,
    RequestVoteRequest,
    RequestVoteResponse,
    decode_config,
)
from agree.models import raft_types as rt
from agree.models.raft_reconfig import CONFIG, ConfigEntry
from agree.models.raft_types import RaftState

__all__ = [
    "Projection",
    "SnapshotPrefix",
    "diff",
    "is_spec_message",
    "message_key",
    "prefix_key",
    "project",
    "spec_entry",
    "spec_log",
    "spec_message",
    "spec_message_key",
]

#: A spec state without its history variables (and messages without ``mlog``).
Projection = tuple[Any, ...]


def spec_log(codec: ValueCodec, log: Iterable[Entry]) -> rt.Log:
    """A log (or a message's entries) as the spec's."""
    return tuple(spec_entry(codec, e) for e in log)


def spec_entry(codec: ValueCodec, e: Entry) -> Any:
    """A log entry as the spec's: a configuration entry (impl/raft/membership.py) as
    raft-reconfig's ConfigEntry, any other as raft.tla's Entry of the decoded value."""
    voters = decode_config(e.value)
    if voters is not None:
        return ConfigEntry(e.term, CONFIG, tuple(sorted(voters)))
    return rt.Entry(e.term, codec.decode(e.value))


def is_spec_message(m: Message) -> bool:
    """False for the messages raft.tla does not have (PreVote's)."""
    return not isinstance(m, (PreVoteRequest, PreVoteResponse))


#: The committed entries 1..s a snapshot at index s replaces.
Prefix = Callable[[int], Sequence[Entry]]


class SnapshotPrefix(NamedTuple):
    """In a message key, the entries of an AppendEntries from index 1 named only by how
    many there are and the last one's term: a snapshot's prefix, whose entries a reader
    of event logs does not know (the committed ones: Log Matching fixes them)."""

    length: int
    last_term: int


def message_key(codec: ValueCodec, m: Message, prefix: Prefix | None = None,
                ) -> tuple[Any, ...]:
    """An implementation message as the spec message it is, without the proof-only mlog
    (a pre-vote message, which is none, as its own kind; an InstallSnapshotRequest: the
    AppendEntries of the prefix, which `prefix` gives; without it the entries are a
    :class:`SnapshotPrefix`, see :func:`prefix_key`)."""
    if not is_spec_message(m):
        return (type(m).__name__, *m)
    if isinstance(m, InstallSnapshotRequest):
        s = m.last_included_index
        entries: Any = (SnapshotPrefix(s, m.last_included_term) if prefix is None
                        else spec_log(codec, prefix(s)))
        return (rt.AEREQ, m.term, 0, 0, entries, s, m.source, m.dest)
    if isinstance(m, RequestVoteRequest):
        return (rt.RVREQ, m.term, m.last_log_term, m.last_log_index, m.source, m.dest)
    if isinstance(m, RequestVoteResponse):
        return (rt.RVRESP, m.term, m.vote_granted, m.source, m.dest)
    if isinstance(m, AppendEntriesRequest):
        return (rt.AEREQ, m.term, m.prev_log_index, m.prev_log_term,
                spec_log(codec, m.entries), m.commit_index, m.source, m.dest)
    assert isinstance(m, AppendEntriesResponse)
    return (rt.AERESP, m.term, m.success, m.match_index, m.source, m.dest)


def prefix_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """An AppendEntries key from index 1 whose commit index is its last entry (what a
    snapshot maps onto) with its entries as a :class:`SnapshotPrefix`; any other key as
    it is. Applied to both sides, it lets an InstallSnapshot read from an event log meet
    the spec's AppendEntries of the prefix."""
    if (key[0] == rt.AEREQ and key[2] == 0 and isinstance(key[4], tuple) and key[4]
            and not isinstance(key[4], SnapshotPrefix) and key[5] == len(key[4])):
        return (*key[:4], SnapshotPrefix(len(key[4]), key[4][-1].term), *key[5:])
    return key


def spec_message_key(m: Any) -> tuple[Any, ...]:
    """A spec message without its proof-only mlog field."""
    if m.mtype in (rt.RVRESP, rt.AEREQ):
        return tuple(v for f, v in zip(m._fields, m, strict=True) if f != "mlog")
    return tuple(m)


def spec_message(key: tuple[Any, ...]) -> Any:
    """The spec message of a key, with an empty mlog (for display only)."""
    kind = key[0]
    if kind == rt.RVREQ:
        return rt.RequestVoteRequest(*key)
    if kind == rt.RVRESP:
        return rt.RequestVoteResponse(*key[:3], (), *key[3:])  # type: ignore[call-arg]
    if kind == rt.AEREQ:
        return rt.AppendEntriesRequest(*key[:5], (), *key[5:])  # type: ignore[call-arg]
    return rt.AppendEntriesResponse(*key)


def project(s: RaftState) -> Projection:
    """The spec state's mapped variables (everything but the history)."""
    return (s.current_term, s.state, s.voted_for, s.log, s.commit_index, s.votes_responded,
            s.votes_granted, s.next_index, s.match_index,
            tuple(sorted(spec_message_key(m) for m in s.messages)))


_NAMES = ("current_term", "state", "voted_for", "log", "commit_index", "votes_responded",
          "votes_granted", "next_index", "match_index", "messages")


def diff(spec_side: Projection, impl_side: Projection) -> list[str]:
    """Where the spec's state and the implementation's differ, one line per variable."""
    out = []
    for name, a, b in zip(_NAMES, spec_side, impl_side, strict=True):
        if a == b:
            continue
        if name == "messages":
            ka, kb = set(a), set(b)
            out.append(f"messages: spec only {[str(spec_message(k)) for k in sorted(ka - kb)]}, "
                       f"implementation only {[str(spec_message(k)) for k in sorted(kb - ka)]}")
            continue
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                out.append(f"{name}[s{i + 1}]: spec {_show(x)}, implementation {_show(y)}")
    return out


def _show(v: Any) -> str:
    if isinstance(v, frozenset):
        return "{" + ", ".join(f"s{x + 1}" for x in sorted(v)) + "}"
    if isinstance(v, tuple) and v and isinstance(v[0], rt.Entry):
        return rt.show_log(v)
    return str(v)
