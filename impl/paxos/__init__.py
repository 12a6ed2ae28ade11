"""Sans-IO Paxos: single-decree (Lamport's Paxos.tla names) and a Multi-Paxos log."""

from agree.impl.paxos.multi import (
    NOOP,
    MAccept,
    MAccepted,
    MHeartbeat,
    MNack,
    MPrepare,
    MPromise,
    MultiMessage,
    MultiPaxosNode,
    MultiReady,
    NotLeader,
    Vote,
)
from agree.impl.paxos.single import (
    Accept,
    Accepted,
    AcceptorState,
    Ballot,
    Nack,
    PaxosMessage,
    PaxosNode,
    PaxosReady,
    Prepare,
    Promise,
)

__all__ = [
    "NOOP", "Accept", "Accepted", "AcceptorState", "Ballot", "MAccept", "MAccepted",
    "MHeartbeat", "MNack", "MPrepare", "MPromise", "MultiMessage", "MultiPaxosNode",
    "MultiReady", "Nack", "NotLeader", "PaxosMessage", "PaxosNode", "PaxosReady", "Prepare",
    "Promise", "Vote",
]
