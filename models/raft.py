"""Raft: a port of Diego Ongaro's ``raft.tla`` (github.com/ongardie/raft.tla).

Read it beside the original: the same variables, the same actions in the
same order, the TLA+ comments' content in our words. Servers are ``0..n-1``
(shown ``s1..``), values ``0..k-1`` (shown ``v1..``); terms start at 1, log
indexes at 1 (a log is a tuple, so ``log[i][k - 1]`` is entry ``k``).

Differences of form, none of meaning:

* Message fields (models/raft_types.py) use raft.tla's names in snake case:
  ``mterm``, ``mlast_log_term``, ``mprev_log_index``, ``mentries``,
  ``mcommit_index``, ``msource``, ``mdest``... ``mtype`` is the message kind. A
  message is built with its fields in that order (named in a comment above): a
  NamedTuple built by keyword costs twice as much, on the checker's hottest path.
* ``Receive(m)`` is one disjunct of raft.tla's ``Next`` whose branches
  (``UpdateTerm``, ``HandleRequestVoteRequest``, ``DropStaleResponse``,
  ``HandleRequestVoteResponse``, ``HandleAppendEntriesRequest``,
  ``HandleAppendEntriesResponse``) are mutually exclusive; each branch is an
  action here, so a trace names the handler. At most one of them is enabled
  for a message, so states and TLC's "generated" count are the same.
* The bag ``messages`` is a sorted tuple holding each message as many times
  as it is in flight (its multiplicity); its length is BagCardinality.
* The proof-only history variables ``elections``, ``all_logs`` and
  ``voter_log`` (and the ``mlog`` message fields) are kept: TLC's reference
  counts include them. ``all_logs``, updated by every step, is declared once
  (``all_logs_next``) rather than written into each action.
* An action returns ``self.step(s, var=value, ...)``: the primed variables it
  names, every other one UNCHANGED (and the history ``all_logs`` updated).
* Two auxiliary variables, both constant unless asked for, so the default
  state space is raft.tla's: ``restart_count`` (MCraftBR's bound on Restart,
  used only when ``max_restarts >= 0``) and ``committed`` (a proof-only
  history of what leaders committed, kept only with ``history=True`` for the
  history forms of LeaderCompleteness and StateMachineSafety). With
  ``history=True`` an election's ``elog`` also grows with its leader's client
  requests: each term's leader log as it grows (Verdi's ``leaderLogs``), the
  history `agree prove raft --part complete` reasons about, and ``votes_cast``
  keeps each server's first vote of each term with its log's last term and length
  (Verdi's ``votesWithLog``; ``voter_log`` loses a vote whose response is lost).

Bounds are TLC's state constraint (``constraint``): terms, log lengths and the
number of messages in flight (the sum of the multiplicities).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from agree.models.raft_symmetry import RaftPermuter
from agree.models.raft_types import (
    AEREQ,
    AERESP,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    RVREQ,
    RVRESP,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Committed,
    Election,
    Entry,
    Log,
    RaftState,
    RequestVoteRequest,
    RequestVoteResponse,
    VoteCast,
    last_term,
    put,
    with_message,
    without_message,
)
from agree.models.raft_view import raft_view
from agree.spec import Spec, SpecError, action, history

__all__ = ["Raft", "messages_of_type"]


def messages_of_type(kind: str) -> Any:
    """The action domain of the distinct messages of one kind in flight."""
    def domain(spec: Raft, s: RaftState) -> list[Any]:
        return [m for m in dict.fromkeys(s.messages) if m.mtype == kind]
    return domain


def _responses(spec: Raft, s: RaftState) -> list[Any]:
    return [m for m in dict.fromkeys(s.messages) if m.mtype in (RVRESP, AERESP)]


def _all_messages(spec: Raft, s: RaftState) -> list[Any]:
    return list(dict.fromkeys(s.messages))


class Raft(Spec[RaftState]):
    """Ongaro's raft.tla: Raft's leader election and log replication, with a message bag."""

    name: ClassVar[str] = "raft"
    description: ClassVar[str] = (
        "Ongaro's raft.tla: leader election and log replication over a lossy, duplicating "
        "network, with restarts")
    param_help: ClassVar[dict[str, str]] = {
        "servers": "number of servers (quorums are majorities)",
        "values": "number of client values",
        "max_term": "state constraint: every current_term <= this (terms start at 1)",
        "max_log": "state constraint: every log at most this long",
        "max_messages": "state constraint: messages in flight, counting duplicates",
        "max_restarts": "-1: Restart unbounded (raft.tla); N >= 0: at most N restarts in "
                        "all (MCraftBR's restartCount; 0 removes Restart)",
        "entries_per_append": "entries per AppendEntries request (1 = raft.tla)",
        "history": "keep the proof-only history of committed entries, and each term's "
                   "leader log as it grows (for the history forms of leader completeness "
                   "and state machine safety)",
    }
    names: ClassVar[dict[str, str]] = {"servers": "s", "values": "v"}
    #: MCraft's Symmetry (servers); values too: no action or property names one.
    symmetry: ClassVar[tuple[str, ...]] = ("servers", "values")

    def __init__(self, servers: int = 2, values: int = 1, max_term: int = 2, max_log: int = 1,
                 max_messages: int = 2, max_restarts: int = -1, entries_per_append: int = 1,
                 history: bool = False) -> None:
        if servers < 1:
            raise SpecError("--servers must be at least 1")
        if values < 1:
            raise SpecError("--values must be at least 1")
        if max_term < 1 or max_log < 0 or max_messages < 0:
            raise SpecError("--max-term must be at least 1, --max-log and --max-messages "
                            "at least 0")
        if max_restarts < -1:
            raise SpecError("--max-restarts must be -1 (unbounded) or 0 or more")
        if entries_per_append < 1:
            raise SpecError("--entries-per-append must be at least 1")
        self.n = servers
        self.max_term = max_term
        self.max_log = max_log
        self.max_messages = max_messages
        self.max_restarts = max_restarts
        self.entries_per_append = entries_per_append
        self.history = history
        self.servers: Sequence[int] = range(servers)
        self.values: Sequence[int] = range(values)
        self.values_n = values
        self._permuter = RaftPermuter(servers)

    # -- helpers ---------------------------------------------------------------

    def is_quorum(self, servers: frozenset[int]) -> bool:
        """Quorum: more than half of the servers (any two quorums overlap)."""
        return 2 * len(servers) > self.n

    def wins_election(self, s: RaftState, i: int) -> bool:
        """Candidate i holds votes from a quorum (models/raft_reconfig.py asks its
        configuration instead of all servers)."""
        return self.is_quorum(s.votes_granted[i])

    # History (proof only): every step of raft.tla's Next carries
    # allLogs' = allLogs \cup {log[i] : i \in Server}, the logs of the pre-state.
    # Declared once here; self.step applies it to every next state.
    @history("all_logs")
    def all_logs_next(self, s: RaftState) -> frozenset[Log]:
        return s.all_logs | frozenset(s.log)

    def constraint(self, s: RaftState) -> bool:
        """MCraft's StateConstraint: terms, log lengths and messages in flight bounded."""
        return (len(s.messages) <= self.max_messages and max(s.current_term) <= self.max_term
                and max(map(len, s.log)) <= self.max_log)

    # -- initial state -----------------------------------------------------------

    def init(self) -> Iterable[RaftState]:
        n = self.n
        yield RaftState(
            messages=(), elections=frozenset(), all_logs=frozenset(),
            current_term=(1,) * n, state=(FOLLOWER,) * n, voted_for=(None,) * n,
            log=((),) * n, commit_index=(0,) * n,
            votes_responded=(frozenset(),) * n, votes_granted=(frozenset(),) * n,
            voter_log=((),) * n,
            next_index=((1,) * n,) * n, match_index=((0,) * n,) * n,
            restart_count=0, committed=frozenset(), votes_cast=frozenset())

    # -- server actions ------------------------------------------------------------

    # Restart(i): server i restarts from stable storage. It keeps current_term,
    # voted_for and log (persistent) and loses everything else: it comes back a
    # follower with commit_index 0. Always enabled (MCraftBR: at most
    # max_restarts times in all).
    @action(i="servers")
    def restart(self, s: RaftState, i: int) -> RaftState | None:
        count = s.restart_count
        if self.max_restarts >= 0:
            if count >= self.max_restarts:
                return None
            count += 1
        n = self.n
        return self.step(
            s, state=put(s.state, i, FOLLOWER),
            votes_responded=put(s.votes_responded, i, frozenset()),
            votes_granted=put(s.votes_granted, i, frozenset()),
            voter_log=put(s.voter_log, i, ()),
            next_index=put(s.next_index, i, (1,) * n),
            match_index=put(s.match_index, i, (0,) * n),
            commit_index=put(s.commit_index, i, 0), restart_count=count)

    # Timeout(i): follower or candidate i times out and starts an election in
    # the next term. It does not vote for itself here: like every other server
    # it votes when its own RequestVote reaches it (weaker than voting at once).
    @action(i="servers")
    def timeout(self, s: RaftState, i: int) -> RaftState | None:
        if s.state[i] == LEADER:
            return None
        return self.step(
            s, state=put(s.state, i, CANDIDATE),
            current_term=put(s.current_term, i, s.current_term[i] + 1),
            voted_for=put(s.voted_for, i, None),
            votes_responded=put(s.votes_responded, i, frozenset()),
            votes_granted=put(s.votes_granted, i, frozenset()),
            voter_log=put(s.voter_log, i, ()))

    # RequestVote(i, j): candidate i asks j (itself included) for its vote,
    # until j has answered. Sending again adds another copy to the bag.
    @action(i="servers", j="servers")
    def request_vote(self, s: RaftState, i: int, j: int) -> RaftState | None:
        if s.state[i] != CANDIDATE or j in s.votes_responded[i]:
            return None
        lg = s.log[i]
        # mtype, mterm, mlast_log_term, mlast_log_index, msource, mdest
        m = RequestVoteRequest(RVREQ, s.current_term[i], last_term(lg), len(lg), i, j)
        return self.step(s, messages=with_message(m, s.messages))

    # BecomeLeader(i): candidate i, with votes from a quorum, becomes leader.
    # It will next send each follower the entry after its own last one, and
    # knows of no follower's match yet. History: the election is recorded.
    @action(i="servers")
    def become_leader(self, s: RaftState, i: int) -> RaftState | None:
        if s.state[i] != CANDIDATE or not self.wins_election(s, i):
            return None
        n = self.n
        election = Election(eterm=s.current_term[i], eleader=i, elog=s.log[i],
                            evotes=s.votes_granted[i], evoter_log=s.voter_log[i])
        return self.step(
            s, state=put(s.state, i, LEADER),
            next_index=put(s.next_index, i, (len(s.log[i]) + 1,) * n),
            match_index=put(s.match_index, i, (0,) * n),
            elections=s.elections | {election})

    # ClientRequest(i, v): leader i appends a client's value v to its log,
    # tagged with its current term.
    @action(i="servers", v="values")
    def client_request(self, s: RaftState, i: int, v: int) -> RaftState | None:
        if s.state[i] != LEADER:
            return None
        entry = Entry(term=s.current_term[i], value=v)
        lg = (*s.log[i], entry)
        if self.history:
            return self.step(s, log=put(s.log, i, lg), elections=self.grow_election(s, i, lg))
        return self.step(s, log=put(s.log, i, lg))

    def grow_election(self, s: RaftState, i: int, lg: Log) -> frozenset[Election]:
        """History (asked only with ``history=True``): the election of leader i in its current term
        keeps the leader's log as it grows (Verdi's leaderLogs, grown by each client
        request), so the entries of a term outlive its leader's log."""
        t = s.current_term[i]
        return frozenset(e._replace(elog=lg) if (e.eterm, e.eleader) == (t, i) else e
                         for e in s.elections)

    # AdvanceCommitIndex(i): leader i commits the highest index that a quorum
    # (itself and the followers whose match_index reaches it) stores, but only
    # if that entry is from its current term (Raft §5.4.2: entries of earlier
    # terms are committed indirectly). Always enabled for a leader, possibly a
    # stutter. A separate step keeps atomic regions small and lets a
    # one-server cluster commit.
    @action(i="servers")
    def advance_commit_index(self, s: RaftState, i: int) -> RaftState | None:
        if s.state[i] != LEADER:
            return None
        new = self.new_commit_index(s, i)
        return self.step(s, commit_index=put(s.commit_index, i, new),
                         committed=self.record_commits(s, i, new))

    def agree_index(self, s: RaftState, i: int) -> int:
        """The highest index a quorum of servers (leader i included) agrees on, or 0."""
        lg, match = s.log[i], s.match_index[i]
        for index in range(len(lg), 0, -1):
            agree = 1 + sum(1 for k in self.servers if k != i and match[k] >= index)
            if 2 * agree > self.n:
                return index
        return 0

    def new_commit_index(self, s: RaftState, i: int) -> int:
        """AdvanceCommitIndex's newCommitIndex: the quorum's index if it holds an entry
        of the current term, else commit_index[i] unchanged."""
        top = self.agree_index(s, i)
        if top > 0 and s.log[i][top - 1].term == s.current_term[i]:
            return top
        return s.commit_index[i]

    def record_commits(self, s: RaftState, i: int, new: int) -> frozenset[Committed]:
        """History (``history=True`` only): entries leader i commits now, with its term."""
        old = s.commit_index[i]
        if not self.history or new <= old:
            return s.committed
        t, lg = s.current_term[i], s.log[i]
        return s.committed | {Committed(cindex=k, centry=lg[k - 1], cterm=t)
                              for k in range(old + 1, new + 1)}

    # AppendEntries(i, j): leader i sends j the entries from next_index[i][j]
    # on (at most entries_per_append; raft.tla sends 1, which keeps atomic
    # regions small without loss of generality), with the index and term of
    # the entry before them, and its commit index capped at the last entry
    # sent. History: mlog is the leader's whole log.
    @action(i="servers", j="servers")
    def append_entries(self, s: RaftState, i: int, j: int) -> RaftState | None:
        if i == j or s.state[i] != LEADER:
            return None
        lg = s.log[i]
        nxt = s.next_index[i][j]
        prev_index = nxt - 1
        prev_term = lg[prev_index - 1].term if prev_index > 0 else 0
        last = min(len(lg), nxt + self.entries_per_append - 1)
        # mtype, mterm, mprev_log_index, mprev_log_term, mentries, mlog, mcommit_index,
        # msource, mdest
        m = AppendEntriesRequest(AEREQ, s.current_term[i], prev_index, prev_term,
                                 lg[nxt - 1:last], lg, self.commit_to_send(s, i, last), i, j)
        return self.step(s, messages=with_message(m, s.messages))

    def commit_to_send(self, s: RaftState, i: int, last: int) -> int:
        """The commit index leader i sends: its own, capped at the last entry sent (the
        follower takes it as is, so the cap of figure 2 is applied here, by the sender)."""
        return min(s.commit_index[i], last)

    # -- message handlers: Receive(m), with i = m.mdest and j = m.msource ----------

    # UpdateTerm: any message with a newer term makes the recipient adopt the
    # term and become a follower without a vote, first. The message stays in
    # the bag, to be handled in the new term.
    @action(m=_all_messages)
    def update_term(self, s: RaftState, m: Any) -> RaftState | None:
        i = m.mdest
        if m.mterm <= s.current_term[i]:
            return None
        return self.step(s, current_term=put(s.current_term, i, m.mterm),
                         state=put(s.state, i, FOLLOWER), voted_for=put(s.voted_for, i, None))

    # HandleRequestVoteRequest: i grants j its vote if the request is of its
    # term, j's log is at least as up-to-date as its own (a later last term,
    # or the same last term and at least as long: Raft §5.4.1), and it has
    # not voted for another server in this term. Either way it replies.
    @action(m=messages_of_type(RVREQ))
    def handle_request_vote_request(self, s: RaftState, m: RequestVoteRequest,
                                    ) -> RaftState | None:
        i, j = m.mdest, m.msource
        if m.mterm > s.current_term[i]:
            return None
        grant = (m.mterm == s.current_term[i] and self.log_ok_for_vote(s, i, m)
                 and s.voted_for[i] in (None, j))
        # mtype, mterm, mvote_granted, mlog, msource, mdest
        reply = RequestVoteResponse(RVRESP, s.current_term[i], grant, s.log[i], i, j)
        msgs = without_message(m, with_message(reply, s.messages))
        if self.history and grant and s.voted_for[i] is None:
            return self.step(s, voted_for=put(s.voted_for, i, j), messages=msgs,
                             votes_cast=self.cast_vote(s, i))
        return self.step(s, voted_for=put(s.voted_for, i, j) if grant else s.voted_for,
                         messages=msgs)

    def cast_vote(self, s: RaftState, i: int) -> frozenset[VoteCast]:
        """History (``history=True`` only): i's first vote in its term, with the last term
        and length of its log (replacing an earlier one of that term, which only a zoo
        variant that forgets its vote casts)."""
        t, lg = s.current_term[i], s.log[i]
        return frozenset(v for v in s.votes_cast if (v.vterm, v.vvoter) != (t, i)) | {
            VoteCast(t, i, last_term(lg), len(lg))}

    def log_ok_for_vote(self, s: RaftState, i: int, m: RequestVoteRequest) -> bool:
        """The candidate's log is at least as up-to-date as i's."""
        lt = last_term(s.log[i])
        return m.mlast_log_term > lt or (m.mlast_log_term == lt
                                         and m.mlast_log_index >= len(s.log[i]))

    # DropStaleResponse: a response from an older term is discarded.
    @action(m=_responses)
    def drop_stale_response(self, s: RaftState, m: Any) -> RaftState | None:
        if m.mterm >= s.current_term[m.mdest]:
            return None
        return self.step(s, messages=without_message(m, s.messages))

    # HandleRequestVoteResponse: i tallies j's answer in its current term
    # (even if no longer a candidate: such tallies are never read).
    # History: a granted vote records the voter's log, keeping the first.
    @action(m=messages_of_type(RVRESP))
    def handle_request_vote_response(self, s: RaftState, m: RequestVoteResponse,
                                     ) -> RaftState | None:
        if m.mterm != s.current_term[m.mdest]:
            return None
        return self.tally_vote(s, m)

    def tally_vote(self, s: RaftState, m: RequestVoteResponse) -> RaftState:
        """Count j's answer at i (HandleRequestVoteResponse's effect)."""
        i, j = m.mdest, m.msource
        granted, voter_log = s.votes_granted, s.voter_log
        if m.mvote_granted:
            granted = put(granted, i, granted[i] | {j})
            if all(v != j for v, _ in voter_log[i]):
                voter_log = put(voter_log, i, tuple(sorted((*voter_log[i], (j, m.mlog)))))
        return self.step(s, votes_responded=put(s.votes_responded, i, s.votes_responded[i] | {j}),
                         votes_granted=granted, voter_log=voter_log,
                         messages=without_message(m, s.messages))

    # HandleAppendEntriesRequest: i handles leader j's entries, one step at a
    # time. A request of an older term, or one whose previous entry i lacks,
    # is rejected. A candidate of the same term returns to follower (the
    # request stays, to be handled next). A follower whose log matches at
    # mprev_log_index: if the entries are already there, it is done: it sets
    # commit_index (possibly lower, for an old duplicate) and acknowledges;
    # if an entry conflicts, it removes its last entry (one per step, the
    # request stays); if its log ends just before, it appends the entry (the
    # request stays). A leader ignores a request of its own term.
    @action(m=messages_of_type(AEREQ))
    def handle_append_entries_request(self, s: RaftState, m: AppendEntriesRequest,
                                      ) -> RaftState | None:
        i, j = m.mdest, m.msource
        term, role, lg = s.current_term[i], s.state[i], s.log[i]
        if m.mterm > term:
            return None
        prev = m.mprev_log_index
        log_ok = prev == 0 or (0 < prev <= len(lg) and m.mprev_log_term == lg[prev - 1].term)
        if m.mterm < term or (role == FOLLOWER and not log_ok):
            # mtype, mterm, msuccess, mmatch_index, msource, mdest
            reply = AppendEntriesResponse(AERESP, term, False, 0, i, j)
            return self.step(s, messages=without_message(m, with_message(reply, s.messages)))
        if role == CANDIDATE:
            return self.step(s, state=put(s.state, i, FOLLOWER))
        if role != FOLLOWER:
            return None
        return self.accept_append_entries(s, m)

    def accept_append_entries(self, s: RaftState, m: AppendEntriesRequest) -> RaftState:
        """The accept branch: done, conflict (remove the last entry) or append one entry.
        With several entries, the first entry not already in the log decides."""
        i = m.mdest
        lg = s.log[i]
        for k, entry in enumerate(m.mentries):
            index = m.mprev_log_index + 1 + k
            if len(lg) < index:  # no conflict: append the entry
                return self.step(s, log=put(s.log, i, (*lg, entry)))
            if lg[index - 1].term != entry.term:  # conflict: remove 1 entry
                return self.step(s, log=put(s.log, i, lg[:-1]))
        return self.append_done(s, m)

    def append_done(self, s: RaftState, m: AppendEntriesRequest) -> RaftState:
        """Already done with the request: take its commit index, acknowledge."""
        i, j = m.mdest, m.msource
        # mtype, mterm, msuccess, mmatch_index, msource, mdest
        reply = AppendEntriesResponse(AERESP, s.current_term[i], True,
                                      m.mprev_log_index + len(m.mentries), i, j)
        return self.step(s, commit_index=put(s.commit_index, i, m.mcommit_index),
                         messages=without_message(m, with_message(reply, s.messages)))

    # HandleAppendEntriesResponse: leader i learns how far j matches (on
    # success), or steps next_index[i][j] back by one (on failure, not below 1).
    @action(m=messages_of_type(AERESP))
    def handle_append_entries_response(self, s: RaftState, m: AppendEntriesResponse,
                                       ) -> RaftState | None:
        i, j = m.mdest, m.msource
        if m.mterm != s.current_term[i]:
            return None
        nxt, match = s.next_index, s.match_index
        if m.msuccess:
            nxt = put(nxt, i, put(nxt[i], j, m.mmatch_index + 1))
            match = put(match, i, put(match[i], j, m.mmatch_index))
        else:
            nxt = put(nxt, i, put(nxt[i], j, max(nxt[i][j] - 1, 1)))
        return self.step(s, next_index=nxt, match_index=match,
                         messages=without_message(m, s.messages))

    # -- the network -------------------------------------------------------------

    # DuplicateMessage(m): the network delivers another copy of m later.
    @action(m=_all_messages)
    def duplicate_message(self, s: RaftState, m: Any) -> RaftState | None:
        return self.step(s, messages=with_message(m, s.messages))

    # DropMessage(m): the network loses one copy of m.
    @action(m=_all_messages)
    def drop_message(self, s: RaftState, m: Any) -> RaftState | None:
        return self.step(s, messages=without_message(m, s.messages))

    # -- symmetry ----------------------------------------------------------------

    def permute(self, state: RaftState, perms: Any) -> RaftState:
        """Rename servers and values everywhere they occur (models/raft_symmetry.py)."""
        return self._permuter(state, perms)

    # -- reading -----------------------------------------------------------------

    def show(self, domain: str, value: Any) -> str:
        if isinstance(value, tuple) and hasattr(value, "mtype"):
            return f"<{value}>"
        return super().show(domain, value)

    def view(self, state: RaftState) -> dict[str, Any]:
        return raft_view(state, restarts=self.max_restarts >= 0, history=self.history)
