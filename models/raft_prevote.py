"""raft.tla with etcd's PreVote and CheckQuorum: the safety side (models/raft.py's port).

The options follow etcd-io/raft's raft.go (``Step``, ``campaign``,
``becomePreCandidate``, ``stepCandidate``, ``stepLeader``'s ``MsgCheckQuorum``);
models/raft_liveness.py holds their liveness, and its docstring says where etcd differs
from Ongaro's thesis (§9.6, §4.2.3, §6.2). Here, with ``prevote``:

* ``Timeout(i)`` makes i a *pre-candidate*: its term and vote unchanged, its tally reset.
* ``RequestPreVote(i, j)`` sends j a PreVoteRequest for term ``current_term + 1`` (with
  i's last log term and index), until j has answered.
* ``HandlePreVoteRequest``: j never changes its term or vote for it (raft.tla's
  UpdateTerm skips it). It grants if i's log is at least as up-to-date as its own and
  the request's term is above its own, or equal to it while j has voted for no one else
  (etcd adds "and follows no leader": no variable here says so, so this grants more
  often, a superset of etcd's behaviours). The answer carries the request's term when
  granted, j's term when not.
* ``HandlePreVoteResponse``: a refusal carrying a term above i's makes i a follower in
  it first (UpdateTerm; etcd's ``becomeFollower``); a refusal of i's own term (j's log
  is more up-to-date) is noted as an answer (raft.tla's votesResponded, etcd's
  ``poll``), so i does not ask j again. A pre-candidate counts a grant of its term or
  above (etcd's ``poll``: a late grant of this term counts too); anything else is
  discarded. A candidate never counts pre-votes, nor a pre-candidate votes.
* ``BecomeCandidate(i)``: a pre-candidate with pre-votes from a quorum starts raft.tla's
  election (raft.tla's Timeout: term + 1, no vote yet).
* A pre-candidate that receives an AppendEntries of its term becomes a follower, as a
  candidate does.

With ``check_quorum``, ``CheckQuorum(i)``: a leader steps down to follower in its term
(untimed, whenever: it may not have heard from a quorum). CheckQuorum's lease (a server
that follows a live leader ignores vote requests) removes only message receipts, which
the lossy network already allows (DropMessage), so it adds no behaviour to check here.

With both options off, every state has exactly raft.tla's steps (the TLC-pinned
counts of ``raft`` hold; tests/test_raft_prevote.py checks it). etcd answers a stale
AppendEntries only with one of the options on; raft.tla always does, which is kept.

Not modelled: etcd's "lost" pre-campaign (a quorum of refusals makes a pre-candidate a
follower in its term; here it waits for its next timeout), and leadership transfer.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from agree.models.raft import Raft, messages_of_type
from agree.models.raft_types import (
    AEREQ,
    FOLLOWER,
    LEADER,
    RVRESP,
    RaftState,
    last_term,
    message_head,
    put,
    with_message,
    without_message,
)
from agree.spec import action

__all__ = ["PRECANDIDATE", "PVREQ", "PVRESP", "PreVoteRequest", "PreVoteResponse",
           "RaftPreVote"]

PRECANDIDATE = "PreCandidate"
PVREQ, PVRESP = "PreVoteRequest", "PreVoteResponse"


class PreVoteRequest(NamedTuple):
    """Pre-candidate ``msource`` asks ``mdest`` whether it would vote for it in ``mterm``
    (its term + 1)."""

    mtype: str
    mterm: int
    mlast_log_term: int
    mlast_log_index: int
    msource: int
    mdest: int

    def __str__(self) -> str:
        return f"{message_head(self)} last={self.mlast_log_index}/{self.mlast_log_term}"


class PreVoteResponse(NamedTuple):
    """``msource`` would vote (``mterm`` the request's) or would not (``mterm`` its own)."""

    mtype: str
    mterm: int
    mvote_granted: bool
    msource: int
    mdest: int

    def __str__(self) -> str:
        verdict = "granted" if self.mvote_granted else "denied"
        return f"{message_head(self)} {verdict}"



class RaftPreVote(Raft):
    """raft.tla with etcd's PreVote and CheckQuorum as options (both on by default)."""

    name: ClassVar[str] = "raft-prevote"
    description: ClassVar[str] = (
        "raft.tla with etcd's PreVote and CheckQuorum: a timed-out server campaigns only "
        "after a quorum would vote for it; a leader may step down")
    param_help: ClassVar[dict[str, str]] = {
        **Raft.param_help,
        "prevote": "etcd's PreVote (off: raft.tla's Timeout)",
        "check_quorum": "etcd's CheckQuorum: a leader may step down in its term",
    }

    def __init__(self, servers: int = 2, values: int = 1, max_term: int = 2, max_log: int = 1,
                 max_messages: int = 2, max_restarts: int = -1, entries_per_append: int = 1,
                 history: bool = False, prevote: bool = True, check_quorum: bool = True,
                 ) -> None:
        super().__init__(servers=servers, values=values, max_term=max_term, max_log=max_log,
                         max_messages=max_messages, max_restarts=max_restarts,
                         entries_per_append=entries_per_append, history=history)
        self.prevote, self.check_quorum = prevote, check_quorum

    # Timeout(i): with PreVote, i becomes a pre-candidate (its term and vote kept).
    @action(i="servers")
    def timeout(self, s: RaftState, i: int) -> RaftState | None:
        if not self.prevote:
            return super().timeout(s, i)
        if s.state[i] == LEADER:
            return None
        return self.step(s, state=put(s.state, i, PRECANDIDATE),
                         votes_responded=put(s.votes_responded, i, frozenset()),
                         votes_granted=put(s.votes_granted, i, frozenset()),
                         voter_log=put(s.voter_log, i, ()))

    # RequestPreVote(i, j): pre-candidate i asks j (itself included), until j answered.
    @action(i="servers", j="servers")
    def request_pre_vote(self, s: RaftState, i: int, j: int) -> RaftState | None:
        if s.state[i] != PRECANDIDATE or j in s.votes_responded[i]:
            return None
        lg = s.log[i]
        m = PreVoteRequest(mtype=PVREQ, mterm=s.current_term[i] + 1,
                           mlast_log_term=last_term(lg), mlast_log_index=len(lg),
                           msource=i, mdest=j)
        return self.step(s, messages=with_message(m, s.messages))

    # BecomeCandidate(i): a pre-candidate with pre-votes from a quorum campaigns for
    # real: raft.tla's Timeout (term + 1, no vote yet, tally reset).
    @action(i="servers")
    def become_candidate(self, s: RaftState, i: int) -> RaftState | None:
        if s.state[i] != PRECANDIDATE or not self.is_quorum(s.votes_granted[i]):
            return None
        return super().timeout(s, i)

    # UpdateTerm: not for a PreVoteRequest, nor a granted PreVoteResponse (etcd "never
    # changes our term in response to a PreVote"); a refusal's term is adopted.
    @action(m=lambda spec, s: list(dict.fromkeys(s.messages)))
    def update_term(self, s: RaftState, m: Any) -> RaftState | None:
        if m.mtype == PVREQ or (m.mtype == PVRESP and m.mvote_granted):
            return None
        return super().update_term(s, m)

    # HandlePreVoteRequest: j answers without changing its term or vote.
    @action(m=messages_of_type(PVREQ))
    def handle_pre_vote_request(self, s: RaftState, m: PreVoteRequest) -> RaftState | None:
        i, j = m.mdest, m.msource
        term = s.current_term[i]
        grant = self.log_ok_for_vote(s, i, m) and (  # type: ignore[arg-type]
            m.mterm > term or (m.mterm == term and s.voted_for[i] in (None, j)))
        reply = PreVoteResponse(mtype=PVRESP, mterm=m.mterm if grant else term,
                                mvote_granted=grant, msource=i, mdest=j)
        return self.step(s, messages=without_message(m, with_message(reply, s.messages)))

    # HandlePreVoteResponse: a pre-candidate counts a grant of its term or above, and
    # notes a refusal of its term as an answer (raft.tla's votesResponded: no resending);
    # any other pre-vote answer (once a refusal's term is adopted) is discarded.
    @action(m=messages_of_type(PVRESP))
    def handle_pre_vote_response(self, s: RaftState, m: PreVoteResponse) -> RaftState | None:
        i, j = m.mdest, m.msource
        if m.mterm > s.current_term[i] and not m.mvote_granted:
            return None  # UpdateTerm first
        if s.state[i] != PRECANDIDATE or m.mterm < s.current_term[i]:
            return self.step(s, messages=without_message(m, s.messages))
        if not m.mvote_granted:  # a refusal of its term: j has answered (etcd's poll)
            return self.step(s, votes_responded=put(s.votes_responded, i,
                                                    s.votes_responded[i] | {j}),
                             messages=without_message(m, s.messages))
        return self.step(s, votes_responded=put(s.votes_responded, i, s.votes_responded[i] | {j}),
                         votes_granted=put(s.votes_granted, i, s.votes_granted[i] | {j}),
                         messages=without_message(m, s.messages))

    # HandleRequestVoteResponse: a pre-candidate does not count (late) votes.
    @action(m=messages_of_type(RVRESP))
    def handle_request_vote_response(self, s: RaftState, m: Any) -> RaftState | None:
        if s.state[m.mdest] == PRECANDIDATE and m.mterm == s.current_term[m.mdest]:
            return self.step(s, messages=without_message(m, s.messages))
        return super().handle_request_vote_response(s, m)

    # HandleAppendEntriesRequest: a pre-candidate of the request's term becomes a follower.
    @action(m=messages_of_type(AEREQ))
    def handle_append_entries_request(self, s: RaftState, m: Any) -> RaftState | None:
        i = m.mdest
        if s.state[i] == PRECANDIDATE and m.mterm == s.current_term[i]:
            return self.step(s, state=put(s.state, i, FOLLOWER))
        return super().handle_append_entries_request(s, m)

    # CheckQuorum(i): leader i, not having heard from a quorum, steps down in its term.
    @action("CheckQuorum", i="servers")
    def check_quorum_step_down(self, s: RaftState, i: int) -> RaftState | None:
        if not self.check_quorum or s.state[i] != LEADER:
            return None
        return self.step(s, state=put(s.state, i, FOLLOWER))

