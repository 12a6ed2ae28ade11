"""The sans-IO Raft core: messages, ticks and proposals in; one Ready out.

The rules are raft.tla's (Ongaro), extended with what a running system needs:
the candidate votes for itself when it times out, AppendEntries carries up to
`max_batch` entries, leaders send heartbeats, followers time out after a random
number of ticks drawn from [T, 2T] by an injected random source, and every
server remembers a leader hint for redirects. The core never touches a socket,
a clock, a thread or the global random generator: drivers do (see Ready).

Deliberate differences from raft.tla, each the safe choice for a real system:
a follower's commit_index never decreases (raft.tla sets it to the leader's
value, which a reordered message can lower), a leader's commit_index only
advances, and the candidate's self-vote happens in one step rather than through
a RequestVote message to itself (the trace events spell out the spec steps).

Replication and recovery (next/match_index, rejection hints, probing, batches
in flight) live in impl/raft/replication.py; PreVote and CheckQuorum in
impl/raft/election.py; ReadIndex reads in impl/raft/reads.py; snapshots, log
compaction and InstallSnapshot in impl/raft/snapshot.py; membership changes
(configuration entries, learners, quorums of the configuration) in
impl/raft/membership.py; the settings (Config) and NotLeader in impl/raft/config.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from agree.impl.raft.config import Config, NotLeader, RandomSource
from agree.impl.raft.election import Election
from agree.impl.raft.membership import ConfigLog, Membership, _CatchUp
from agree.impl.raft.messages import (
    NOOP,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    Event,
    HardState,
    InstallSnapshotRequest,
    Message,
    Ready,
    RequestVoteRequest,
    RequestVoteResponse,
    Role,
    Snapshot,
)
from agree.impl.raft.reads import Reads
from agree.impl.raft.replication import Replication
from agree.impl.raft.snapshot import Snapshots

__all__ = ["RaftCore"]


class RaftCore(Replication, Election, Reads, Snapshots, Membership):
    """One Raft server's protocol state machine (Raft paper fig. 2, raft.tla).

    Feed it `tick()`, `step(message)`, `propose(value)` or `campaign()`; then take
    `ready()` and do what it says (persist, then send, then apply). A restarted
    server is a new RaftCore built from the persisted hard state, snapshot and log
    (the entries after the snapshot): like raft.tla's Restart, everything else starts
    over (the snapshot's entries count as committed and applied).
    """

    def __init__(self, node_id: int, n: int, rng: RandomSource, config: Config | None = None,
                 hard_state: HardState | None = None, log: tuple[Entry, ...] = (),
                 snapshot: Snapshot | None = None) -> None:
        if not 0 <= node_id < n:
            raise ValueError(f"node id {node_id} is not in 0..{n - 1}")
        self.config = config or Config()
        self._id = node_id
        self._n = n
        self._rng = rng
        initial = frozenset(range(n) if self.config.voters is None else self.config.voters)
        if not all(0 <= v < n for v in initial):
            raise ValueError(f"the initial voters {sorted(initial)} are not all in 0..{n - 1}")
        hs = hard_state or HardState()
        # server variables
        self._current_term = hs.current_term
        self._role = Role.FOLLOWER
        self._voted_for = hs.voted_for
        # log variables
        self._log = ConfigLog(log, snapshot, initial)
        self._commit_index = self._log.offset
        # candidate variables
        self._votes_responded: set[int] = set()
        self._votes_granted: set[int] = set()
        # leader variables
        self._next_index = [1] * n
        self._match_index = [0] * n
        # volatile machinery that raft.tla does not model
        self._leader_hint: int | None = None
        self._inflight = [False] * n
        self._probing = [True] * n  # not matched yet this term: probe one entry at a time
        self._sent_upto = [0] * n  # last index of the entry-carrying message in flight
        self._sent_at = [0] * n  # when it was sent (in ticks)
        self._ticks = 0
        self._elapsed = 0
        self._timeout = self._draw_timeout()
        self._persisted_hs = hs
        self._unstable_from: int | None = None
        self._stable_index = len(self._log)  # own log durable up to here (async_persist)
        self._applied = self._log.offset
        self._installed: Snapshot | None = None  # a leader's snapshot, not yet in a Ready
        self._out: list[Message] = []
        self._events: list[Event] = []
        # PreVote and CheckQuorum (election.py), ReadIndex (reads.py)
        self._pre_voting = False
        self._pre_granted: set[int] = set()
        self._pre_refused: set[int] = set()
        self._recent_active: set[int] = set()
        self._quorum_elapsed = 0
        self._read_seq = 0
        self._read_acked = [0] * n
        self._pending_reads: list[tuple[int, int, int | None]] = []
        self._read_round_due = False
        self._reads_out: list[tuple[int, int | None]] = []
        # membership changes (membership.py)
        self._learners: dict[int, _CatchUp] = {}
        self._change_seq = 0
        self._changes_out: list[tuple[int, int | None, str | None]] = []
        self._peers_key: tuple[frozenset[int], tuple[int, ...]] = (frozenset(), ())
        self._peer_ids: tuple[int, ...] = ()

    # ---- read-only protocol state (what a conformance harness maps onto raft.tla) ----
    @property
    def id(self) -> int:
        return self._id

    @property
    def n(self) -> int:
        return self._n

    @property
    def current_term(self) -> int:
        return self._current_term

    @property
    def role(self) -> Role:
        return self._role

    @property
    def voted_for(self) -> int | None:
        return self._voted_for

    @property
    def log(self) -> tuple[Entry, ...]:
        """The entries after the snapshot (the whole log while there is none)."""
        return tuple(self._log)

    @property
    def last_index(self) -> int:
        return len(self._log)

    @property
    def commit_index(self) -> int:
        return self._commit_index

    @property
    def votes_responded(self) -> frozenset[int]:
        return frozenset(self._votes_responded)

    @property
    def votes_granted(self) -> frozenset[int]:
        return frozenset(self._votes_granted)

    @property
    def next_index(self) -> tuple[int, ...]:
        return tuple(self._next_index)

    @property
    def match_index(self) -> tuple[int, ...]:
        return tuple(self._match_index)

    @property
    def leader_hint(self) -> int | None:
        """Who this server believes leads its current term (itself when leader)."""
        return self._leader_hint

    @property
    def election_elapsed(self) -> int:
        """Ticks since the election timer was last reset."""
        return self._elapsed

    @property
    def election_timeout(self) -> int:
        """The current randomized timeout, in ticks, within [T, 2T]."""
        return self._timeout

    def term_at(self, index: int) -> int:
        """The term of the entry at `index` (1-based), 0 for index 0 (CompactedError
        below the snapshot's index)."""
        return self._log.term_at(index)

    # ---- inputs ----
    def tick(self) -> None:
        """One unit of logical time: heartbeats for a leader, election timer otherwise."""
        self._elapsed += 1
        self._ticks += 1
        if self._role is Role.LEADER:
            if self._elapsed >= self.config.heartbeat_ticks:
                self._elapsed = 0
                for j in self._peers():
                    self._heartbeat(j)
            self._check_quorum()
            if self._learners:
                self._membership_tick()
        elif self._elapsed >= self._timeout:
            if self._id in self._log.voters:
                self.election_timer_fired()
            else:  # a spare or a removed server never starts an election
                self._reset_timer()

    def campaign(self) -> None:
        """Timeout: start an election for the next term and vote for yourself (§5.2).

        Does nothing on a leader. In raft.tla terms: Timeout(i), then i's RequestVote
        to itself and its handling, then RequestVote(i, j) for every other j. This is
        the election itself, without a pre-vote (the timer's is election_timer_fired()).
        """
        if self._role is Role.LEADER or self._id not in self._log.voters:
            return
        self._pre_voting = False
        i = self._id
        self._current_term += 1
        self._role = Role.CANDIDATE
        self._voted_for = None
        self._votes_responded = set()
        self._votes_granted = set()
        self._leader_hint = None
        self._reset_timer()
        self._event("Timeout", i=i)
        own = RequestVoteRequest(self._current_term, self.term_at(self.last_index),
                                 self.last_index, i, i)
        self._event("RequestVote", i=i, j=i)
        self._voted_for = i
        self._event("HandleRequestVoteRequest", i=i, j=i, m=own)
        self._votes_responded.add(i)
        self._votes_granted.add(i)
        self._event("HandleRequestVoteResponse", i=i, j=i,
                    m=RequestVoteResponse(self._current_term, True, i, i))
        if self._is_quorum(self._votes_granted):
            self._become_leader()
            return
        for j in self._peers():
            self._event("RequestVote", i=i, j=j)
            self._out.append(own._replace(dest=j))

    def propose(self, value: bytes) -> int:
        """ClientRequest: append `value` to the leader's log; returns its index.

        Raises NotLeader elsewhere. The entry is committed when a later Ready lists it.
        """
        return self.propose_batch((value,))

    def propose_batch(self, values: Sequence[bytes]) -> int:
        """ClientRequest for each of `values` in turn, sent to the followers together
        (one AppendEntries to each that has none in flight); returns the last index.

        Raises NotLeader elsewhere (and appends nothing)."""
        if self._role is not Role.LEADER:
            raise NotLeader(self._leader_hint)
        for value in values:
            self._log.append(Entry(self._current_term, value))
            self._mark_unstable(len(self._log))
            self._event("ClientRequest", i=self._id, v=value)
        for j in self._peers():
            if not self._inflight[j] or self._pipelines(j):
                self._send_append_entries(j)
        self._advance_commit_index()
        return len(self._log)

    def step(self, m: Message) -> None:
        """Receive(m): handle one message addressed to this server.

        Messages for another server, or from an unknown one, are ignored.
        """
        if m.dest != self._id or not 0 <= m.source < self._n or m.source == self._id:
            return
        if self._ignores(m):
            return
        if isinstance(m, AppendEntriesResponse) and m.term == self._current_term \
                and self._role is Role.LEADER:
            self._ack_read(m.source, m.read_ctx)
        if m.term > self._current_term:
            self._update_term(m)
        if isinstance(m, RequestVoteRequest):
            self._handle_request_vote_request(m)
        elif isinstance(m, RequestVoteResponse):
            self._handle_request_vote_response(m)
        elif isinstance(m, AppendEntriesRequest):
            self._handle_append_entries_request(m)
        elif isinstance(m, InstallSnapshotRequest):
            self._handle_install_snapshot(m)
        elif isinstance(m, AppendEntriesResponse):
            self._handle_append_entries_response(m)
            if self._learners:
                self._catch_up(m.source)

    def log_persisted(self, index: int, term: int) -> None:
        """The driver's write of the log up to `index`, whose entry there is of `term`, is
        durable (Config.async_persist); a leader may now count its own copy toward commit.

        A report the log has since moved past (the entry at `index` was replaced or
        compacted) changes nothing; call `ready()` afterwards."""
        if index <= self._stable_index or index > self.last_index:
            return
        if index >= self._log.offset and self.term_at(index) != term:
            return
        self._stable_index = index
        if self._role is Role.LEADER:
            self._advance_commit_index()

    # ---- output ----
    def ready(self) -> Ready:
        """Drain what to persist, send and apply since the last call (see Ready)."""
        self._read_round()
        self._release_reads()
        self._membership_ready()
        hs = HardState(self._current_term, self._voted_for)
        hard_state = hs if hs != self._persisted_hs else None
        self._persisted_hs = hs
        first = self._unstable_from
        entries = tuple(self._log[first - 1:]) if first is not None else ()
        self._unstable_from = None
        committed = tuple((k, self._log[k - 1])
                          for k in range(self._applied + 1, self._commit_index + 1))
        self._applied = self._commit_index
        out = Ready(hard_state, first, entries, tuple(self._out), committed, tuple(self._events),
                    reads=tuple(self._reads_out), snapshot=self._installed,
                    changes=tuple(self._changes_out))
        self._installed = None
        self._changes_out = []
        self._out = []
        self._events = []
        self._reads_out = []
        return out

    # ---- message handlers ----
    def _update_term(self, m: Message) -> None:
        """UpdateTerm: any message with a newer term makes us a follower in that term (§5.1)."""
        self._event("UpdateTerm", i=self._id, j=m.source, m=m)
        self._become_follower(m.term)

    def _become_follower(self, term: int) -> None:
        """Follower in the newer `term`, with no vote (raft.tla's UpdateTerm, and a
        refused pre-vote's term: election.py)."""
        was_leader = self._role is Role.LEADER
        self._current_term = term
        self._role = Role.FOLLOWER
        self._voted_for = None
        self._leader_hint = None
        if was_leader:
            self._reset_timer()
            self._drop_reads()

    def _handle_request_vote_request(self, m: RequestVoteRequest) -> None:
        """Grant a vote in our term if we have not voted for another and the
        candidate's log is at least as up-to-date as ours (§5.2, §5.4.1)."""
        i, j = self._id, m.source
        log_ok = self._log_ok(m.last_log_term, m.last_log_index)
        grant = (m.term == self._current_term and log_ok
                 and self._voted_for in (None, j))
        if grant:
            self._voted_for = j
            self._reset_timer()
        self._event("HandleRequestVoteRequest", i=i, j=j, m=m)
        self._out.append(RequestVoteResponse(self._current_term, grant, i, j))

    def _handle_request_vote_response(self, m: RequestVoteResponse) -> None:
        """Tally a vote of our current term; a quorum makes a candidate leader (§5.2)."""
        i, j = self._id, m.source
        if m.term < self._current_term:
            self._event("DropStaleResponse", i=i, j=j, m=m)
            return
        self._votes_responded.add(j)
        if m.vote_granted:
            self._votes_granted.add(j)
        self._event("HandleRequestVoteResponse", i=i, j=j, m=m)
        if self._role is Role.CANDIDATE and self._is_quorum(self._votes_granted):
            self._become_leader()

    def _handle_append_entries_request(self, m: AppendEntriesRequest) -> None:
        """Reject a stale leader or a log that does not contain prev_log_index/term;
        otherwise make our log agree with the leader's and reply (§5.3)."""
        i, j = self._id, m.source
        if m.term < self._current_term:
            self._event("RejectAppendEntriesRequest", i=i, j=j, m=m)
            self._out.append(AppendEntriesResponse(self._current_term, False, 0, i, j))
            return
        if self._role is Role.LEADER:
            return  # two leaders in one term cannot happen (Election Safety); ignore
        if self._role is Role.CANDIDATE:
            self._role = Role.FOLLOWER
            self._event("ReturnToFollowerState", i=i, j=j, m=m)
        self._leader_hint = j
        self._reset_timer()
        prev = m.prev_log_index
        log_ok = self._log.has(prev, m.prev_log_term)
        if not log_ok:
            self._event("RejectAppendEntriesRequest", i=i, j=j, m=m)
            self._out.append(self._rejection(m))
            return
        for k, entry in enumerate(m.entries):
            index = prev + 1 + k
            if index <= self.last_index:
                if self._log.has(index, entry.term):
                    continue
                while self.last_index >= index:  # conflict: drop it and all after it (§5.3)
                    self._log.pop()
                    self._mark_unstable(len(self._log) + 1)
                    self._event("ConflictAppendEntriesRequest", i=i, j=j, m=m)
            self._log.append(entry)
            self._mark_unstable(len(self._log))
            self._event("NoConflictAppendEntriesRequest", i=i, j=j, m=m)
        match = prev + len(m.entries)
        new_commit = min(m.commit_index, match)
        if new_commit > self._commit_index:
            self._commit_index = new_commit
        self._event("AcceptAppendEntriesRequest", i=i, j=j, m=m)
        self._out.append(AppendEntriesResponse(self._current_term, True, match, i, j,
                                               read_ctx=m.read_ctx))

    # ---- leader duties ----
    def _become_leader(self) -> None:
        """BecomeLeader: a candidate with votes from a quorum leads its term (§5.2), and
        (unless spec_exact) appends a no-op entry of its term, so that entries of older
        terms commit without waiting for a client (thesis §6.4)."""
        self._membership_ready()  # learners of an earlier leadership are given up
        self._role = Role.LEADER
        self._next_index = [self.last_index + 1] * self._n
        self._match_index = [0] * self._n
        self._inflight = [False] * self._n
        self._probing = [True] * self._n
        self._sent_upto = [0] * self._n
        self._leader_hint = self._id
        self._elapsed = 0
        self._quorum_elapsed = 0
        self._recent_active = set()
        self._read_acked = [0] * self._n
        self._event("BecomeLeader", i=self._id)
        if not self.config.spec_exact:
            self._log.append(Entry(self._current_term, NOOP))
            self._mark_unstable(len(self._log))
            self._event("ClientRequest", i=self._id, v=NOOP)
        for j in self._peers():
            self._send_append_entries(j)
        self._advance_commit_index()

    def _advance_commit_index(self) -> None:
        """AdvanceCommitIndex: commit the newest entry of our term stored on a quorum,
        counting match_index (§5.3, §5.4.2: never count replicas of older terms) among the
        configuration's voters, the leader only while it is one (membership.py), and its
        own log only as far as it is durable under async_persist (§10.2.1)."""
        voters = self._log.voters
        own = self._stable_index if self.config.async_persist else self.last_index
        # the newest index a quorum of the voters holds: the (n//2 + 1)-th largest match
        held = sorted((own if j == self._id else self._match_index[j] for j in voters),
                      reverse=True)
        k = held[len(voters) // 2]
        # the entries below an older term's are older still: none of them may be counted
        if k > self._commit_index and self.term_at(k) == self._current_term:
            self._commit_index = k
            self._event("AdvanceCommitIndex", i=self._id)
            self._removed_step_down()

    # ---- helpers ----
    def _peers(self) -> tuple[int, ...]:
        """Who a leader replicates to: the voters and learners but itself."""
        key = (self._log.voters, tuple(self._learners))
        if key != self._peers_key:
            servers = key[0] | set(key[1])
            self._peers_key = key
            self._peer_ids = tuple(j for j in sorted(servers) if j != self._id)
        return self._peer_ids

    def _is_quorum(self, servers: set[int]) -> bool:
        """`servers` holds a majority of the configuration's voters."""
        voters = self._log.voters
        return 2 * len(servers & voters) > len(voters)

    def _draw_timeout(self) -> int:
        t = self.config.election_ticks
        return self._rng.randint(t, 2 * t)

    def _reset_timer(self) -> None:
        self._elapsed = 0
        self._timeout = self._draw_timeout()

    def _mark_unstable(self, index: int) -> None:
        if self._unstable_from is None or index < self._unstable_from:
            self._unstable_from = index
        if index <= self._stable_index:
            self._stable_index = index - 1

    def _event(self, action: str, **args: object) -> None:
        if self.config.trace:
            self._events.append(Event(action, tuple(args.items())))
