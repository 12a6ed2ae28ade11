"""Sans-IO Raft: the protocol core and its values (no IO; drivers live elsewhere)."""

from agree.impl.raft.config import Config, NotLeader, RandomSource
from agree.impl.raft.core import RaftCore
from agree.impl.raft.membership import MembershipError, decode_config, encode_config
from agree.impl.raft.messages import (
    NOOP,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    Event,
    HardState,
    InstallSnapshotRequest,
    Message,
    PreVoteRequest,
    PreVoteResponse,
    Ready,
    RequestVoteRequest,
    RequestVoteResponse,
    Role,
    Snapshot,
)

__all__ = [
    "NOOP",
    "AppendEntriesRequest",
    "AppendEntriesResponse",
    "Config",
    "Entry",
    "Event",
    "HardState",
    "InstallSnapshotRequest",
    "MembershipError",
    "Message",
    "NotLeader",
    "PreVoteRequest",
    "PreVoteResponse",
    "RaftCore",
    "RandomSource",
    "Ready",
    "RequestVoteRequest",
    "RequestVoteResponse",
    "Role",
    "Snapshot",
    "decode_config",
    "encode_config",
]
