"""PreVote and CheckQuorum: elections that a partitioned server cannot disrupt (etcd's).

Mixed into RaftCore, both on by default (``Config.pre_vote``, ``Config.check_quorum``),
with etcd's semantics (etcd-io/raft raft.go, thesis §9.6):

* **PreVote.** When its election timer fires, a server first asks its peers whether
  they *would* vote for it in its term + 1 (``PreVoteRequest``), changing neither its
  term nor its vote; only a quorum of yeses starts the real election (``campaign``).
  A peer says yes if the candidate's log is at least as up-to-date as its own and
  it could vote for it: the request's term is above its own, or it has voted for it,
  or it has voted for nobody and knows no leader. Nobody's term changes on a
  pre-vote, so a server that was cut off cannot come back with a higher term and
  depose a healthy leader.
* **CheckQuorum.** A leader that has not heard from a quorum (itself included) during
  an election timeout steps down to follower, keeping its term; its clients can go
  to a leader that can commit. And a server that heard from a leader less than an
  election timeout ago (a leader itself, always) is *in lease*: it ignores
  RequestVote and PreVote requests of a higher term, without taking their term.

A refused pre-vote carries the refuser's term, and a pre-vote of a lower term is
refused (not dropped) with it; a refusal of a higher term makes the pre-candidate (any
server, as etcd's Step does) a follower in that term, with no vote. etcd relies on it
to break a deadlock: a server with the most up-to-date log but a lower term (it ignored
the higher-term RequestVotes while in lease) asks for pre-votes its peers of higher
terms refuse, and refuses theirs (their logs are behind); only taking their term lets
its next pre-vote be granted. That step is not one of raft.tla's (pre-vote messages are
not the spec's): it is the declared deviation pre_vote_term (conformance/deviations.py),
raft.tla's UpdateTerm with a term some server holds, logged as ``PreVoteTerm``.

One difference from etcd, to keep every other step one of raft.tla's: a pre-candidate
stays what it was (a follower, or a candidate that keeps its term and vote) rather than
a role of its own. In raft.tla's terms a pre-vote is otherwise no step at all (its
messages are not the spec's; the conformance mapping leaves them out), an ignored
RequestVote is a message the network lost, and a CheckQuorum step-down is the declared
deviation check_quorum_step_down (conformance/deviations.py): the leader's Restart(i)
that keeps its commit_index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from agree.impl.raft.messages import (
    AppendEntriesRequest,
    AppendEntriesResponse,
    Message,
    PreVoteRequest,
    PreVoteResponse,
    RequestVoteRequest,
    Role,
)

if TYPE_CHECKING:
    from agree.impl.raft.config import Config

__all__ = ["Election"]


class _Core(Protocol):
    """What the election rules read and move of RaftCore (the mixin's self type)."""

    config: Config
    _id: int
    _n: int
    _current_term: int
    _role: Role
    _voted_for: int | None
    _leader_hint: int | None
    _elapsed: int
    _out: list[Message]
    _next_index: list[int]
    _match_index: list[int]
    _votes_responded: set[int]
    _votes_granted: set[int]
    _pre_voting: bool
    _pre_granted: set[int]
    _pre_refused: set[int]
    _recent_active: set[int]
    _quorum_elapsed: int

    @property
    def last_index(self) -> int: ...
    def term_at(self, index: int) -> int: ...
    def campaign(self) -> None: ...
    def _peers(self) -> tuple[int, ...]: ...
    def _is_quorum(self, servers: set[int]) -> bool: ...
    def _reset_timer(self) -> None: ...
    def _event(self, action: str, **args: object) -> None: ...
    def _log_ok(self, last_log_term: int, last_log_index: int) -> bool: ...
    def _in_lease(self) -> bool: ...
    def _step_down(self) -> None: ...
    def _become_follower(self, term: int) -> None: ...
    def _drop_reads(self) -> None: ...
    def _handle_pre_vote_request(self, m: PreVoteRequest) -> None: ...
    def _handle_pre_vote_response(self, m: PreVoteResponse) -> None: ...


class Election:
    """RaftCore's PreVote and CheckQuorum rules."""

    # RaftCore's attributes these rules assign (RaftCore.__init__ sets them)
    _role: Role
    _leader_hint: int | None
    _pre_voting: bool
    _pre_granted: set[int]
    _pre_refused: set[int]
    _recent_active: set[int]
    _quorum_elapsed: int
    _votes_responded: set[int]
    _votes_granted: set[int]
    _next_index: list[int]
    _match_index: list[int]

    @property
    def pre_candidate(self: _Core) -> bool:
        """True while this server waits for pre-votes (its role is unchanged meanwhile)."""
        return self._pre_voting

    def election_timer_fired(self: _Core) -> None:
        """The election timer fired: a pre-vote first (Config.pre_vote), else campaign()."""
        if self._role is Role.LEADER:
            return
        if not self.config.pre_vote:
            self.campaign()
            return
        i = self._id
        self._pre_voting = True
        self._pre_granted = {i}
        self._pre_refused = set()
        self._leader_hint = None
        self._reset_timer()
        if self._is_quorum(self._pre_granted):
            self._pre_voting = False
            self.campaign()
            return
        last = self.last_index
        for j in self._peers():
            self._out.append(PreVoteRequest(self._current_term + 1, self.term_at(last), last,
                                            i, j))

    def _log_ok(self: _Core, last_log_term: int, last_log_index: int) -> bool:
        """The candidate's log is at least as up-to-date as ours (§5.4.1)."""
        last = self.last_index
        mine = self.term_at(last)
        return last_log_term > mine or (last_log_term == mine and last_log_index >= last)

    def _in_lease(self: _Core) -> bool:
        """CheckQuorum's lease: we heard from a leader (or are one) within an election
        timeout, so we take no vote request of a higher term (etcd's inLease)."""
        return (self.config.check_quorum and self._leader_hint is not None
                and self._elapsed < self.config.election_ticks)

    def _ignores(self: _Core, m: Message) -> bool:
        """Steps that come before the spec's: True if m is handled here (a pre-vote
        message) or ignored (a vote request in lease), so raft.tla's rules must not see
        it. Also: a leader notes who answers it (CheckQuorum), and a request from a
        leader of our term or a newer one ends a pre-vote."""
        if isinstance(m, PreVoteRequest):
            self._handle_pre_vote_request(m)
            return True
        if isinstance(m, PreVoteResponse):
            self._handle_pre_vote_response(m)
            return True
        if isinstance(m, RequestVoteRequest) and m.term > self._current_term \
                and self._in_lease():
            return True
        if isinstance(m, AppendEntriesResponse) and self._role is Role.LEADER \
                and m.term == self._current_term:
            self._recent_active.add(m.source)
        if isinstance(m, AppendEntriesRequest) and m.term >= self._current_term:
            self._pre_voting = False
        if m.term > self._current_term:
            self._pre_voting = False
        return False

    def _handle_pre_vote_request(self: _Core, m: PreVoteRequest) -> None:
        """Answer whether we would vote for m.source in m.term; change nothing."""
        i, j = self._id, m.source
        if m.term > self._current_term and self._in_lease():
            return  # etcd: in lease, not even a refusal
        # etcd answers a lower term too, with a refusal carrying ours ("the cluster may
        # deadlock if we drop messages with a lower term"): below, can_vote is False
        can_vote = m.term > self._current_term or self._voted_for == j or (
            m.term == self._current_term and self._voted_for is None
            and self._leader_hint is None)
        if can_vote and m.term >= self._current_term and self._log_ok(m.last_log_term,
                                                                      m.last_log_index):
            self._out.append(PreVoteResponse(m.term, True, i, j))
        else:
            self._out.append(PreVoteResponse(self._current_term, False, i, j))

    def _handle_pre_vote_response(self: _Core, m: PreVoteResponse) -> None:
        """Tally a pre-vote for our next term; a quorum starts the real election, a
        quorum of refusals ends the pre-vote (the timer tries again). A refusal of a
        higher term makes us a follower in it, whatever we are (etcd's Step)."""
        if not m.vote_granted and m.term > self._current_term:
            self._event("PreVoteTerm", i=self._id, j=m.source, term=m.term)
            self._become_follower(m.term)
            self._pre_voting = False
            self._reset_timer()
            return
        if not self._pre_voting or self._role is Role.LEADER:
            return
        if m.vote_granted and m.term == self._current_term + 1:
            self._pre_granted.add(m.source)
            if self._is_quorum(self._pre_granted):
                self._pre_voting = False
                self.campaign()
        elif not m.vote_granted:
            self._pre_refused.add(m.source)
            if self._is_quorum(self._pre_refused):
                self._pre_voting = False

    def _check_quorum(self: _Core) -> None:
        """Once per election timeout, a leader not heard from by a quorum steps down."""
        self._quorum_elapsed += 1
        if self._quorum_elapsed < self.config.election_ticks:
            return
        self._quorum_elapsed = 0
        active = self._recent_active | {self._id}
        self._recent_active = set()
        if self.config.check_quorum and not self._is_quorum(active):
            self._step_down()

    def _step_down(self: _Core) -> None:
        """CheckQuorum: leader to follower in the same term (keeping its vote, log and
        commit index; the leader and candidate variables reset as on a restart)."""
        n = self._n
        self._role = Role.FOLLOWER
        self._leader_hint = None
        self._votes_responded = set()
        self._votes_granted = set()
        self._next_index = [1] * n
        self._match_index = [0] * n
        self._reset_timer()
        self._drop_reads()
        self._event("CheckQuorumStepDown", i=self._id)
