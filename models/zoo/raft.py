"""The Raft bug zoo: known Raft mistakes, each a small variant of raft.tla.

Each class overrides one step of :class:`~agree.models.raft.Raft` (an action,
or the helper only that action uses) and says which rule of the Raft paper it
breaks and where the mistake is described. ``agree list`` shows them;
``agree check raft-<name>`` finds the shortest counterexample in the smallest
configuration our search found (``benchmarks/zoo_search.py``); the registry
holds that configuration as the entry's defaults.
"""

from __future__ import annotations

from typing import Any, ClassVar

from agree.models.raft import Raft
from agree.models.raft_types import (
    LEADER,
    AppendEntriesRequest,
    RaftState,
    RequestVoteRequest,
    RequestVoteResponse,
    put,
)

__all__ = [
    "CommitOldTermRaft", "CommitPastEntriesRaft", "ForgetTermRaft", "ForgetVoteRaft",
    "LeaderIgnoresTermRaft", "StaleVotesRaft", "TruncateOnStaleAppendRaft", "VoteAnyLogRaft",
]


class CommitOldTermRaft(Raft):
    """A leader commits an entry of an earlier term once a quorum stores it.

    Breaks Raft §5.4.2 (figure 8): "Raft never commits log entries from previous
    terms by counting replicas"; a later leader may still overwrite such an entry.
    Found in LogCabin (issue #44, 2013). AdvanceCommitIndex drops the check
    ``log[i][N].term = currentTerm[i]``."""

    name: ClassVar[str] = "raft-commit-old-term"

    def new_commit_index(self, s: RaftState, i: int) -> int:
        top = self.agree_index(s, i)
        return top if top > 0 else s.commit_index[i]


class ForgetVoteRaft(Raft):
    """A server forgets whom it voted for when it restarts.

    Breaks figure 2's persistent state ("updated on stable storage before
    responding to RPCs"): after a restart it votes again in the same term, so two
    leaders win one term. ongardie/raft.tla's Raft_Term_Not_Persisted.tla and
    PR #5; akka-raft #62; hashicorp/raft #661. Restart also resets votedFor."""

    name: ClassVar[str] = "raft-forget-vote"

    def restart(self, s: RaftState, i: int) -> RaftState | None:
        t = super().restart(s, i)
        return None if t is None else t._replace(voted_for=put(t.voted_for, i, None))


class ForgetTermRaft(Raft):
    """A server forgets its current term when it restarts (it comes back in term 1).

    Breaks figure 2's persistent state: its remembered vote now belongs to an old
    term, so a request of the term it voted in makes it adopt that term afresh,
    clear the vote and vote again. ongardie/raft.tla PR #5 ("if term hasn't been
    persisted, more than one node can become leader in one term"). Restart resets
    currentTerm to 1."""

    name: ClassVar[str] = "raft-forget-term"

    def restart(self, s: RaftState, i: int) -> RaftState | None:
        t = super().restart(s, i)
        return None if t is None else t._replace(current_term=put(t.current_term, i, 1))


class VoteAnyLogRaft(Raft):
    """A server grants its vote without checking that the candidate's log is at least
    as up-to-date as its own.

    Breaks Raft §5.4.1 (the election restriction): a candidate missing committed
    entries can win, and as leader overwrite them. HandleRequestVoteRequest drops
    logOk."""

    name: ClassVar[str] = "raft-vote-any-log"

    def log_ok_for_vote(self, s: RaftState, i: int, m: RequestVoteRequest) -> bool:
        return True


class LeaderIgnoresTermRaft(Raft):
    """A leader that sees a higher term adopts it but stays leader.

    Breaks figure 2 ("if RPC request or response contains term T > currentTerm:
    set currentTerm = T, convert to follower", §5.1): the old leader is now a
    leader of the new term beside the one elected in it. UpdateTerm keeps a
    leader's state."""

    name: ClassVar[str] = "raft-leader-ignores-term"

    def update_term(self, s: RaftState, m: Any) -> RaftState | None:
        i = m.mdest
        t = super().update_term(s, m)
        if t is None or s.state[i] != LEADER:
            return t
        return t._replace(state=s.state)


class StaleVotesRaft(Raft):
    """A candidate counts votes granted in an older term.

    Breaks §5.2 (a candidate wins with votes from a majority *for the same term*):
    a vote a server gave in an earlier election is counted again after it voted
    for someone else in the new term. akka-raft #45/#46 (found by DEMi).
    HandleRequestVoteResponse tallies responses of any term up to the current one."""

    name: ClassVar[str] = "raft-stale-votes"

    def handle_request_vote_response(self, s: RaftState, m: RequestVoteResponse,
                                     ) -> RaftState | None:
        if m.mterm > s.current_term[m.mdest]:
            return None
        return self.tally_vote(s, m)


class TruncateOnStaleAppendRaft(Raft):
    """A follower cuts its log after the last entry of every AppendEntries it accepts,
    even a stale one whose entries it already has.

    Breaks figure 2, AppendEntries step 3: delete an existing entry and those after
    it only "if an existing entry conflicts with a new one"; a delayed request
    must not erase entries appended since, which may be committed (etcd and
    hashicorp/raft both guard this). HandleAppendEntriesRequest, "already done"
    branch, truncates the log to mprev_log_index + Len(mentries)."""

    name: ClassVar[str] = "raft-truncate-on-stale-append"

    def append_done(self, s: RaftState, m: AppendEntriesRequest) -> RaftState:
        t = super().append_done(s, m)
        i = m.mdest
        keep = m.mprev_log_index + len(m.mentries)
        return t._replace(log=put(t.log, i, t.log[i][:keep]))


class CommitPastEntriesRaft(Raft):
    """A follower takes the leader's commit index without capping it at the last entry
    the request brought.

    Breaks figure 2, AppendEntries step 5 (commitIndex = min(leaderCommit, index of
    last new entry)): the follower counts as committed entries it does not hold, or
    holds different versions of. In raft.tla the cap is computed by the sender
    (mcommitIndex = Min({commitIndex[i], lastEntry})), so this variant sends the
    leader's commit index uncapped."""

    name: ClassVar[str] = "raft-commit-past-entries"

    def commit_to_send(self, s: RaftState, i: int, last: int) -> int:
        return s.commit_index[i]
