"""A PreVote mistake (models/raft_prevote.py): a candidate that counts pre-votes.

etcd-io/raft's ``stepCandidate`` counts only the answers of its own phase ("while in
StateCandidate, we may get stale MsgPreVoteResp messages in this term from our
pre-candidate state"): a pre-vote promises nothing, the voter is free to vote for
another. Counting a late pre-vote of its new term as a vote lets two candidates win one
term (election safety).
"""

from __future__ import annotations

from typing import ClassVar

from agree.models.raft_prevote import PreVoteResponse, RaftPreVote
from agree.models.raft_types import CANDIDATE, RaftState, put, without_message

__all__ = ["CountPreVotesRaft"]


class CountPreVotesRaft(RaftPreVote):
    """A candidate counts a granted pre-vote of its term as a vote (etcd's stepCandidate
    guards against it)."""

    name: ClassVar[str] = "raft-prevote-counts-prevotes"

    def handle_pre_vote_response(self, s: RaftState, m: PreVoteResponse) -> RaftState | None:
        i, j = m.mdest, m.msource
        if s.state[i] == CANDIDATE and m.mvote_granted and m.mterm == s.current_term[i]:
            return self.step(
                s, votes_responded=put(s.votes_responded, i, s.votes_responded[i] | {j}),
                votes_granted=put(s.votes_granted, i, s.votes_granted[i] | {j}),
                messages=without_message(m, s.messages))
        return super().handle_pre_vote_response(s, m)
