"""Seeded bugs for measuring the harness: each a patch that breaks one Raft rule in
impl/raft (a bugs.SeededBug, applied with bugs.seeded).

They follow the bug zoo (models/zoo/raft.py) into the implementation: the same
mistakes, made in the code rather than the spec. Conformance must catch each.
"""

from __future__ import annotations

from typing import Any

from agree.conformance.bugs import SeededBug
from agree.impl.raft import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    HardState,
    PreVoteRequest,
    PreVoteResponse,
    RaftCore,
    Ready,
    RequestVoteRequest,
    RequestVoteResponse,
    Role,
    Snapshot,
)
from agree.impl.raft.election import Election
from agree.impl.raft.membership import Membership
from agree.impl.raft.reads import Reads
from agree.impl.raft.replication import Replication
from agree.impl.raft.snapshot import RaftLog
from agree.impl.storage import MemoryStorage

__all__ = ["ACCEPT_STALE_TERM", "COMMIT_OLD_TERM", "COUNTS_BEFORE_CATCH_UP", "HINT_AS_MATCH",
           "KEEP_OLD_VOTES",
           "LEADER_NO_STEP_DOWN", "PRE_VOTE_ANY_LOG", "READ_WITHOUT_HEARTBEAT",
           "SNAPSHOT_DROPS_AN_ENTRY", "TERM_NOT_PERSISTED", "TRUNCATE_ON_MATCH", "VOTE_ANY_LOG",
           "VOTE_NOT_PERSISTED"]


def _save_without_vote(self: MemoryStorage, ready: Ready) -> None:
    hs = ready.hard_state
    if hs is not None:
        ready = Ready(HardState(hs.current_term, None), ready.first_index, ready.entries,
                      ready.messages, ready.committed, ready.events)
    _ORIGINAL_SAVE(self, ready)


def _save_without_term(self: MemoryStorage, ready: Ready) -> None:
    hs = ready.hard_state
    if hs is not None:
        ready = Ready(HardState(self.hard_state.current_term, hs.voted_for), ready.first_index,
                      ready.entries, ready.messages, ready.committed, ready.events)
    _ORIGINAL_SAVE(self, ready)


def _commit_by_counting(self: RaftCore) -> None:
    for k in range(self.last_index, self._commit_index, -1):
        agree = 1 + sum(1 for j in self._peers() if self._match_index[j] >= k)
        if 2 * agree > self._n:
            self._commit_index = k
            self._event("AdvanceCommitIndex", i=self._id)
            break


def _vote_any_log(self: RaftCore, m: RequestVoteRequest) -> None:
    i, j = self._id, m.source
    grant = m.term == self._current_term and self._voted_for in (None, j)
    if grant:
        self._voted_for = j
        self._reset_timer()
    self._event("HandleRequestVoteRequest", i=i, j=j, m=m)
    self._out.append(RequestVoteResponse(self._current_term, grant, i, j))


def _truncate_on_match(self: RaftCore, m: AppendEntriesRequest) -> None:
    _ORIGINAL_HANDLE_AE(self, m)
    end = m.prev_log_index + len(m.entries)
    if (m.term == self._current_term and self._role is Role.FOLLOWER
            and self._out and isinstance(self._out[-1], AppendEntriesResponse)
            and self._out[-1].success and self.last_index > end):
        del self._log[end:]
        self._mark_unstable(end + 1)


def _accept_stale_term(self: RaftCore, m: AppendEntriesRequest) -> None:
    if m.term < self._current_term and self._role is Role.FOLLOWER:
        m = m._replace(term=self._current_term)
    _ORIGINAL_HANDLE_AE(self, m)


def _keep_old_votes(self: RaftCore) -> None:
    granted = set(self._votes_granted)
    if self._role is Role.LEADER:
        return
    _ORIGINAL_CAMPAIGN(self)
    if self._role is Role.CANDIDATE:
        self._votes_granted |= granted
        if self._is_quorum(self._votes_granted):
            self._become_leader()


def _no_step_down(self: RaftCore, m: Any) -> None:
    if self._role is Role.LEADER:
        self._current_term = m.term
        self._voted_for = None
        return
    _ORIGINAL_UPDATE_TERM(self, m)


def _hint_as_match(self: RaftCore, m: AppendEntriesResponse) -> int:
    """The leader trusts the hint too far: it takes everything before the index it
    backs up to as matched (the follower's log merely *has* entries there)."""
    target = _ORIGINAL_BACKUP_TO(self, m)
    j = m.source
    self._match_index[j] = max(self._match_index[j], target - 1)
    return target


def _read_without_heartbeat(self: RaftCore) -> None:
    """ReadIndex without the heartbeat round: a read is answered at the commit index as
    soon as an entry of the term is committed, on the leader's belief that it leads."""
    if self._role is not Role.LEADER:
        self._drop_reads()
        return
    if self.term_at(self._commit_index) != self._current_term:
        return
    self._reads_out += [(rid, self._commit_index) for rid, _, _ in self._pending_reads]
    self._pending_reads = []


def _pre_vote_any_log(self: RaftCore, m: PreVoteRequest) -> None:
    """PreVote granted without the log comparison."""
    if m.term > self._current_term and self._in_lease():
        return
    grant = m.term > self._current_term
    self._out.append(PreVoteResponse(m.term if grant else self._current_term, grant,
                                     self._id, m.source))
def _compact_one_too_many(self: RaftLog, snapshot: Snapshot) -> None:
    """Compaction off by one: the entry right after the snapshot goes too (it is in
    neither the snapshot nor the log any more)."""
    _ORIGINAL_COMPACT(self, snapshot)
    del self._entries[:1]


def _count_before_catch_up(self: RaftCore, voters: frozenset[int], change: int) -> int:
    """The leader counts a voter it adds as holding its whole log, the new configuration
    entry included, from the moment it adds it (not from its replies)."""
    for j in voters - self.voters:
        self._match_index[j] = self.last_index + 1
    return _ORIGINAL_APPEND_CONFIG(self, voters, change)


_ORIGINAL_APPEND_CONFIG = Membership._append_config
_ORIGINAL_SAVE = MemoryStorage.save
_ORIGINAL_COMPACT = RaftLog.compact
_ORIGINAL_BACKUP_TO = RaftCore._backup_to
_ORIGINAL_HANDLE_AE = RaftCore._handle_append_entries_request
_ORIGINAL_CAMPAIGN = RaftCore.campaign
_ORIGINAL_UPDATE_TERM = RaftCore._update_term

# Each bug is referenced from its protocol's bundle (protocols/catalog.py): from the zoo
# variant that makes the same mistake in the spec, or from the protocol if none does.
VOTE_NOT_PERSISTED = SeededBug("vote-not-persisted", "figure 2: votedFor is persistent state",
                               MemoryStorage, "save", _save_without_vote)
TERM_NOT_PERSISTED = SeededBug("term-not-persisted",
                               "figure 2: currentTerm is persistent state",
                               MemoryStorage, "save", _save_without_term)
COMMIT_OLD_TERM = SeededBug("commit-old-term",
                            "§5.4.2: never commit an earlier term's entry by counting",
                            RaftCore, "_advance_commit_index", _commit_by_counting)
VOTE_ANY_LOG = SeededBug("vote-any-log", "§5.4.1: vote only for an at-least-as-up-to-date log",
                         RaftCore, "_handle_request_vote_request", _vote_any_log)
TRUNCATE_ON_MATCH = SeededBug("truncate-on-match", "§5.3: truncate only on a conflict, never "
                              "on matching entries", RaftCore, "_handle_append_entries_request",
                              _truncate_on_match)
ACCEPT_STALE_TERM = SeededBug("accept-stale-term", "§5.1: reject a request of an older term",
                              RaftCore, "_handle_append_entries_request", _accept_stale_term)
KEEP_OLD_VOTES = SeededBug("keep-old-votes", "§5.2: a new election starts with no votes",
                           RaftCore, "campaign", _keep_old_votes)
LEADER_NO_STEP_DOWN = SeededBug("leader-no-step-down",
                                "§5.1: a leader seeing a newer term becomes follower",
                                RaftCore, "_update_term", _no_step_down)
SNAPSHOT_DROPS_AN_ENTRY = SeededBug("snapshot-drops-an-entry",
                                    "thesis ch. 5: a snapshot replaces exactly the log prefix "
                                    "it covers", RaftLog, "compact", _compact_one_too_many)
HINT_AS_MATCH = SeededBug("hint-as-match", "§5.3: a rejection's hint moves next_index only; "
                          "match_index comes from successful replies",
                          Replication, "_backup_to", _hint_as_match)

# Bugs in what raft.tla does not model (no bundle lists them, so the conformance budget
# does not measure them): the chaos checks catch the first (tests/test_chaos.py), the
# PreVote tests the second (tests/test_election.py); the third both conformance against
# raft-reconfig (RaftConformance(voters=3)) and the chaos schedules with membership
# changes (their commit-quorum check) catch (tests/test_membership.py).
READ_WITHOUT_HEARTBEAT = SeededBug("read-without-heartbeat",
                                   "thesis §6.4: a ReadIndex read waits for a heartbeat round "
                                   "confirming the leadership", Reads, "_release_reads",
                                   _read_without_heartbeat)
PRE_VOTE_ANY_LOG = SeededBug("pre-vote-any-log",
                             "thesis §9.6: a pre-vote, like a vote, needs an up-to-date log",
                             Election, "_handle_pre_vote_request", _pre_vote_any_log)
COUNTS_BEFORE_CATCH_UP = SeededBug("counts-before-catch-up",
                                   "thesis §4.2.1: a new server counts towards commitment "
                                   "only for what it has stored (its replies say)",
                                   Membership, "_append_config", _count_before_catch_up)
