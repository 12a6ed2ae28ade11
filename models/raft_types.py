"""The values of the Raft spec (models/raft.py): log entries, the four messages of
raft.tla, the proof-only history records, the state, and the message bag.

Message fields use raft.tla's names in snake case with the ``m`` prefix kept
(``mterm``, ``mlast_log_term``, ``mprev_log_index``, ``mentries``,
``mcommit_index``, ``msource``, ``mdest``...); ``mtype`` is the message kind
(``"RequestVoteRequest"``...). Servers are ints ``0..n-1`` shown ``s1..``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

__all__ = [
    "AEREQ",
    "AERESP",
    "CANDIDATE",
    "FOLLOWER",
    "LEADER",
    "RVREQ",
    "RVRESP",
    "AppendEntriesRequest",
    "AppendEntriesResponse",
    "Bag",
    "Committed",
    "Election",
    "Entry",
    "Log",
    "Message",
    "RaftState",
    "RequestVoteRequest",
    "RequestVoteResponse",
    "VoteCast",
    "VoterLog",
    "bag_counts",
    "last_term",
    "message_head",
    "put",
    "show_log",
    "with_message",
    "without_message",
]

# Server states (raft.tla's constants Follower, Candidate, Leader); Nil is None.
FOLLOWER = "Follower"
CANDIDATE = "Candidate"
LEADER = "Leader"


class Entry(NamedTuple):
    """A log entry: the term it was created in and the client's value."""

    term: int
    value: int

    def __str__(self) -> str:
        return f"{self.term}:v{self.value + 1}"


Log = tuple[Entry, ...]


def show_log(log: Sequence[Entry]) -> str:
    """A log reads ``[1:v1, 2:v1]`` (term:value per entry)."""
    return "[" + ", ".join(str(e) for e in log) + "]"


def last_term(log: Log) -> int:
    """LastTerm: the term of the last entry, or 0 for an empty log."""
    return log[-1].term if log else 0


def message_head(m: Any) -> str:
    """How every message reads first: ``s1->s2 RequestVoteRequest term=2``."""
    return f"s{m.msource + 1}->s{m.mdest + 1} {type(m).__name__} term={m.mterm}"


class RequestVoteRequest(NamedTuple):
    """Candidate ``msource`` asks ``mdest`` for its vote in ``mterm``."""

    mtype: str
    mterm: int
    mlast_log_term: int
    mlast_log_index: int
    msource: int
    mdest: int

    def __str__(self) -> str:
        return f"{message_head(self)} last={self.mlast_log_index}/{self.mlast_log_term}"


class RequestVoteResponse(NamedTuple):
    """``msource`` grants or refuses its vote; ``mlog`` (proof only) is its log."""

    mtype: str
    mterm: int
    mvote_granted: bool
    mlog: Log
    msource: int
    mdest: int

    def __str__(self) -> str:
        verdict = "granted" if self.mvote_granted else "denied"
        return f"{message_head(self)} {verdict} log={show_log(self.mlog)}"


class AppendEntriesRequest(NamedTuple):
    """Leader ``msource`` sends entries after ``mprev_log_index``/``mprev_log_term``;
    ``mlog`` (proof only) is the leader's whole log."""

    mtype: str
    mterm: int
    mprev_log_index: int
    mprev_log_term: int
    mentries: Log
    mlog: Log
    mcommit_index: int
    msource: int
    mdest: int

    def __str__(self) -> str:
        return (f"{message_head(self)} "
                f"prev={self.mprev_log_index}/{self.mprev_log_term} "
                f"commit={self.mcommit_index} entries={show_log(self.mentries)} "
                f"log={show_log(self.mlog)}")


class AppendEntriesResponse(NamedTuple):
    """``msource`` accepted (up to ``mmatch_index``) or rejected an AppendEntries."""

    mtype: str
    mterm: int
    msuccess: bool
    mmatch_index: int
    msource: int
    mdest: int

    def __str__(self) -> str:
        verdict = "success" if self.msuccess else "failure"
        return f"{message_head(self)} {verdict} match={self.mmatch_index}"


Message = RequestVoteRequest | RequestVoteResponse | AppendEntriesRequest | AppendEntriesResponse
RVREQ, RVRESP = "RequestVoteRequest", "RequestVoteResponse"
AEREQ, AERESP = "AppendEntriesRequest", "AppendEntriesResponse"
Bag = tuple[Any, ...]  # a multiset: sorted messages, each repeated as often as it is in flight
VoterLog = tuple[tuple[int, Log], ...]  # a function voter -> log, as sorted pairs


class Election(NamedTuple):
    """History (proof only): a successful election, recorded by BecomeLeader."""

    eterm: int
    eleader: int
    elog: Log
    evotes: frozenset[int]
    evoter_log: VoterLog


class Committed(NamedTuple):
    """History (proof only, ``history=True``): entry ``centry`` at ``cindex`` committed by a leader
    of term ``cterm``."""

    cindex: int
    centry: Entry
    cterm: int


class VoteCast(NamedTuple):
    """History (proof only, ``history=True``): voter ``vvoter`` granted its first vote of
    term ``vterm`` (HandleRequestVoteRequest with ``voted_for`` Nil) with a log whose last
    term was ``vlast_term`` and length ``vlast_index``. Kept after the response is lost
    (``voter_log`` only has the tallied ones): the summary Verdi's ``votesWithLog`` needs,
    since the up-to-date check reads only those two numbers."""

    vterm: int
    vvoter: int
    vlast_term: int
    vlast_index: int


class RaftState(NamedTuple):
    """raft.tla's variables; per-server ones are tuples indexed by server."""

    messages: Bag
    elections: frozenset[Election]  # history, proof only
    all_logs: frozenset[Log]  # history, proof only: every log ever seen
    current_term: tuple[int, ...]
    state: tuple[str, ...]
    voted_for: tuple[int | None, ...]
    log: tuple[Log, ...]
    commit_index: tuple[int, ...]
    votes_responded: tuple[frozenset[int], ...]
    votes_granted: tuple[frozenset[int], ...]
    voter_log: tuple[VoterLog, ...]  # history, proof only
    next_index: tuple[tuple[int, ...], ...]
    match_index: tuple[tuple[int, ...], ...]
    restart_count: int  # MCraftBR's counter; stays 0 unless max_restarts >= 0
    committed: frozenset[Committed]  # history, proof only; empty unless history=True
    # history, proof only; empty unless history=True (a default: older callers build 15)
    votes_cast: frozenset[VoteCast] = frozenset()

    @staticmethod
    def omit_at_default() -> tuple[str, ...]:
        """Fields written to traces only when not at their default (traces/trace.py
        ``record_fields``): traces saved before ``votes_cast`` existed still replay."""
        return ("votes_cast",)


def put(t: tuple[Any, ...], i: int, v: Any) -> tuple[Any, ...]:
    """``[t EXCEPT ![i] = v]``: ``t`` itself when it already holds ``v`` there (most
    updates of a step write the value a variable has: the checker then sees the variable
    unchanged, and nothing is built)."""
    if t[i] == v:
        return t
    out = list(t)
    out[i] = v
    return tuple(out)


def with_message(m: Any, bag: Bag) -> Bag:
    """WithMessage: the bag with one more ``m``."""
    if not bag:
        return (m,)
    return tuple(sorted((*bag, m)))


def without_message(m: Any, bag: Bag) -> Bag:
    """WithoutMessage: the bag with one ``m`` fewer (none left: m leaves the domain)."""
    if m not in bag:
        return bag
    k = bag.index(m)
    return bag[:k] + bag[k + 1:]


def bag_counts(bag: Bag) -> dict[Any, int]:
    """The bag as a function from message to count (raft.tla's representation)."""
    out: dict[Any, int] = {}
    for m in bag:
        out[m] = out.get(m, 0) + 1
    return out
