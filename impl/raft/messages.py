"""Raft's values: log entries, the four messages of raft.tla, hard state, and Ready.

Field names follow raft.tla without the `m` prefix (`mterm` -> `term`,
`mprevLogIndex` -> `prev_log_index`), so a conformance harness maps a message
onto the spec's record field by field. raft.tla's history-only `mlog` fields
are left out: a real system has no use for them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "NOOP",
    "AppendEntriesRequest",
    "AppendEntriesResponse",
    "Entry",
    "Event",
    "HardState",
    "InstallSnapshotRequest",
    "Message",
    "PreVoteRequest",
    "PreVoteResponse",
    "Ready",
    "RequestVoteRequest",
    "RequestVoteResponse",
    "Role",
    "Snapshot",
]


class Role(enum.Enum):
    """A server's role; the values are raft.tla's constant names."""

    FOLLOWER = "Follower"
    CANDIDATE = "Candidate"
    LEADER = "Leader"


class Entry(NamedTuple):
    """One log entry: the term in which a leader created it, and an opaque command."""

    term: int
    value: bytes


class RequestVoteRequest(NamedTuple):
    """Candidate `source` asks `dest` for its vote in `term` (Raft §5.2)."""

    term: int
    last_log_term: int
    last_log_index: int
    source: int
    dest: int


class RequestVoteResponse(NamedTuple):
    """`source` answers a RequestVoteRequest from `dest`."""

    term: int
    vote_granted: bool
    source: int
    dest: int


class AppendEntriesRequest(NamedTuple):
    """Leader `source` sends `dest` the entries after prev_log_index (Raft §5.3).

    An empty `entries` is a heartbeat. The core sends at most `Config.max_batch`
    entries; raft.tla sends at most one (use max_batch=1 to match it exactly).
    """

    term: int
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    commit_index: int
    source: int
    dest: int
    read_ctx: int = 0
    """The leader's newest ReadIndex read when it sent this (impl/raft/reads.py); the
    reply echoes it. Not raft.tla's: the conformance mapping leaves it out."""


class AppendEntriesResponse(NamedTuple):
    """`source` answers an AppendEntriesRequest from `dest`.

    A rejection for a log mismatch also says which request it rejects and where the
    leader should look next (thesis §5.3, etcd's rejectHint): ``reject_index`` is the
    request's prev_log_index; ``hint_term`` the term of the follower's entry there and
    ``hint_index`` the first index of that term in its log, or, when its log is shorter,
    ``hint_term`` 0 and ``hint_index`` its last index. All three are 0 otherwise. They
    are not raft.tla's (its reply has none): the conformance mapping leaves them out.
    """

    term: int
    success: bool
    match_index: int
    source: int
    dest: int
    reject_index: int = 0
    hint_index: int = 0
    hint_term: int = 0
    read_ctx: int = 0


class PreVoteRequest(NamedTuple):
    """`source` asks `dest` whether it would vote for it in `term` (its current term + 1)
    before it starts an election (thesis §9.6, etcd's MsgPreVote). Not raft.tla's: it
    changes nobody's term or vote (impl/raft/election.py)."""

    term: int
    last_log_term: int
    last_log_index: int
    source: int
    dest: int


class PreVoteResponse(NamedTuple):
    """`source` answers a PreVoteRequest from `dest`: granted with the request's term,
    refused with its own."""

    term: int
    vote_granted: bool
    source: int
    dest: int


class InstallSnapshotRequest(NamedTuple):
    """Leader `source` sends `dest` its snapshot (Raft thesis §5.1; one chunk, no offset).

    `data` is the state machine after applying the log up to `last_included_index`,
    whose entry has term `last_included_term`. The reply is an AppendEntriesResponse
    with `match_index` = last_included_index (or a rejection of a stale term): in
    raft.tla's terms the snapshot stands for the AppendEntries of the log prefix it
    replaces (conformance/deviations.py: snapshot_prefix).
    """

    term: int
    last_included_index: int
    last_included_term: int
    data: bytes
    source: int
    dest: int
    voters: tuple[int, ...] | None = None
    """The configuration in force at last_included_index (impl/raft/membership.py)."""


@dataclass(frozen=True)
class Snapshot:
    """The state machine after the entry at `index` (of `term`): replaces log[1..index].

    `voters` is the configuration in force at `index` (impl/raft/membership.py; None:
    the initial one), since the entry that set it may be among those replaced."""

    index: int
    term: int
    data: bytes
    voters: tuple[int, ...] | None = None


#: The value of the entry a new leader appends at the start of its term (thesis §6.4):
#: a real log entry, a ClientRequest in raft.tla's terms, that no state machine applies
#: (the KV skips it as "not a command").
NOOP = b""

Message = (RequestVoteRequest | RequestVoteResponse | AppendEntriesRequest
           | AppendEntriesResponse | PreVoteRequest | PreVoteResponse
           | InstallSnapshotRequest)


class HardState(NamedTuple):
    """What a server must persist besides its log: currentTerm and votedFor (Raft fig. 2)."""

    current_term: int = 1
    voted_for: int | None = None


class Event(NamedTuple):
    """A protocol step, named after the raft.tla action it corresponds to.

    `args` holds the action's parameters as (name, value) pairs, e.g.
    ``Event("RequestVote", (("i", 0), ("j", 2)))``; message-handling events carry
    the message under "m".
    """

    action: str
    args: tuple[tuple[str, object], ...]

    def get(self, name: str) -> object:
        """The value of argument `name` (KeyError if absent)."""
        for key, value in self.args:
            if key == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True)
class Ready:
    """Everything the driver must do after feeding the core input, in this order.

    1. persist: if `snapshot` is not None (one a leader sent), store it and delete the
       stored log up to its index; if `hard_state` is not None, store it; delete the
       stored log from index `first_index` on and store `entries` there (`first_index`
       is None when the log did not change). Do all in one durable write.
    2. send `messages` (only after step 1 is durable: persist before send; under
       Config.async_persist a leader's AppendEntries and InstallSnapshot requests may
       go first, thesis §10.2.1, and the driver reports the write with log_persisted).
    3. restore the state machine from `snapshot` if there is one, then apply
       `committed` ((index, entry) pairs in index order). This may also go before
       step 1 is durable (committed entries are on a majority's disks), in Ready order.
    4. answer `reads` ((read id, read index) pairs, impl/raft/reads.py): a read whose
       index is not None may be served once the state machine has applied that index;
       one whose index is None was refused (leadership lost), the client should retry.
    5. answer `changes` ((change id, index, why) triples, impl/raft/membership.py): a
       membership change whose configuration entry is at `index` is done once that index
       is committed (in this Ready's `committed` or a later one's, with the term it was
       appended in); one whose index is None was given up, `why` says why.
    """

    hard_state: HardState | None = None
    first_index: int | None = None
    entries: tuple[Entry, ...] = ()
    messages: tuple[Message, ...] = ()
    committed: tuple[tuple[int, Entry], ...] = ()
    events: tuple[Event, ...] = field(default=())
    reads: tuple[tuple[int, int | None], ...] = ()
    snapshot: Snapshot | None = None
    changes: tuple[tuple[int, int | None, str | None], ...] = ()

    def must_persist(self) -> bool:
        """True if step 1 has anything to write."""
        return (self.hard_state is not None or self.first_index is not None
                or self.snapshot is not None)

    def is_empty(self) -> bool:
        """True if there is nothing at all to do."""
        return not (self.must_persist() or self.messages or self.committed or self.events
                    or self.reads or self.changes)
