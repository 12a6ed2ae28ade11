"""Sans-IO Raft: the protocol core and its values (no IO; drivers live elsewhere)."""

from agree.impl.raft.core import Config, NotLeader, RaftCore, RandomSource
from agree.impl.raft.messages import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    Event,
    HardState,
    Message,
    NOOP,
    Ready,
    RequestVoteRequest,
    RequestVoteResponse,
    Role,
)

__all__ = [
    "AppendEntriesRequest",
    "AppendEntriesResponse",
    "Config",
    "Entry",
    "Event",
    "HardState",
    "Message",
    "NOOP",
    "NotLeader",
    "RaftCore",
    "RandomSource",
    "Ready",
    "RequestVoteRequest",
    "RequestVoteResponse",
    "Role",
]
