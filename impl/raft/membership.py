"""Membership changes: configuration entries in the log, one server at a time (thesis ch. 4).

Mixed into RaftCore, with the rule models/raft_reconfig.py checks:

* **Configuration entries.** A configuration is the set of *voters*; it travels in the
  log as an entry whose value is ``encode_config(voters)`` (no KV command: the state
  machine skips it). Every server uses the latest configuration in its log, committed or
  not (thesis §4.1), else its snapshot's (``Snapshot.voters``), else the initial one
  (``Config.voters``, every server by default). ``ConfigLog`` keeps track of it as the
  log grows, is truncated, compacted or replaced by a snapshot. The servers a cluster may
  ever have are fixed at start (ids 0..n-1, as the spec's universe ``Server``); the
  configuration says which of them vote.
* **Quorums** (elections, pre-votes, commitment, CheckQuorum, ReadIndex) are majorities of
  the configuration's voters; a leader removed from it keeps leading without counting
  itself until the entry that removes it is committed, then steps down (§4.2.2). A server
  outside its own configuration (a spare, or removed) never starts an election.
* **One change at a time.** A leader appends a configuration entry only if its latest one
  is committed (§4.1) and it has committed an entry of its current term (Ongaro's 2015
  correction); the new configuration adds or removes one voter.
* **Catch-up first** (§4.2.1). ``add_server(j)`` makes j a *learner*: the leader
  replicates to it (AppendEntries or InstallSnapshot) without counting it, in rounds;
  a round replicates everything the leader had when it started, and once a round ends
  within an election timeout j is caught up and the leader appends the configuration
  that makes it a voter. After ``MAX_ROUNDS`` rounds, or a round that lasts longer than
  ``MAX_ROUNDS`` election timeouts (j is down), the change is given up; so it is when
  the leader loses its leadership. Learners are the leader's volatile state, not the
  log's (next/match_index stay as raft.tla keeps them for every server).

Conformance (conformance/raft_adapter.py, ``RaftConformance(voters=...)``): a run with
membership changes is held to models/raft_reconfig.py step by step. A configuration
entry is its ``ConfigEntry``; appending one is its AddServer / RemoveServer (events of
those names); a removed leader's step-down is part of AdvanceCommitIndex, as there; the
learner bookkeeping changes no spec variable. The one step raft-reconfig does not take
is the catch-up's AppendEntries to a server outside the configuration (it leaves
catch-up out: thesis §4.2.1 makes it an availability measure, not a safety one): it is
raft.tla's AppendEntries(i, j) without the membership guard, labelled
``AppendEntries[learner_catch_up]``. A run with a fixed configuration is held to
models/raft.py as before (with every server a voter the rules are raft.tla's).

A change is taken with ``add_server`` / ``remove_server`` (a change id) and answered in a
later Ready's ``changes`` as (id, index of the configuration entry, None), to be
acknowledged once that index is committed, or (id, None, why) if it was given up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from agree.impl.raft.config import NotLeader
from agree.impl.raft.messages import Entry, Role, Snapshot
from agree.impl.raft.snapshot import RaftLog

if TYPE_CHECKING:
    from agree.impl.raft.config import Config

__all__ = ["CONFIG_PREFIX", "MAX_ROUNDS", "ConfigLog", "Membership", "MembershipError",
           "decode_config", "encode_config"]

#: How a configuration entry's value starts (a NUL byte: never a KV command's JSON).
CONFIG_PREFIX = b"\x00agree-config:"
#: Catch-up rounds before an AddServer is given up (the thesis suggests about ten).
MAX_ROUNDS = 10


def encode_config(voters: Iterable[int]) -> bytes:
    """The value of the configuration entry whose voters are `voters`."""
    return CONFIG_PREFIX + ",".join(str(v) for v in sorted(set(voters))).encode()


def decode_config(value: bytes) -> frozenset[int] | None:
    """The voters of a configuration entry's value; None for any other value."""
    if not value.startswith(CONFIG_PREFIX):
        return None
    body = value[len(CONFIG_PREFIX):].decode("ascii", errors="replace")
    try:
        return frozenset(int(v) for v in body.split(",") if v)
    except ValueError:
        return None


class MembershipError(Exception):
    """A membership change that cannot be taken now; the message (one line) says why."""


class ConfigLog(RaftLog):
    """A RaftLog that knows its latest configuration (thesis §4.1: committed or not)."""

    def __init__(self, entries: Iterable[Entry] = (), snapshot: Snapshot | None = None,
                 initial: frozenset[int] = frozenset()) -> None:
        super().__init__(entries, snapshot)
        self.initial = initial
        self._configs: list[tuple[int, frozenset[int]]] = []
        self._rescan()

    @property
    def base_voters(self) -> frozenset[int]:
        """The configuration before the kept entries: the snapshot's, else the initial."""
        snap = self.snapshot
        if snap is not None and snap.voters is not None:
            return frozenset(snap.voters)
        return self.initial

    @property
    def voters(self) -> frozenset[int]:
        """The latest configuration in the log (GetConfig)."""
        return self._configs[-1][1] if self._configs else self.base_voters

    @property
    def config_index(self) -> int:
        """The index of the latest configuration entry kept (0: none after the snapshot)."""
        return self._configs[-1][0] if self._configs else 0

    def voters_at(self, index: int) -> frozenset[int]:
        """The configuration in force at `index` (the latest entry at or below it)."""
        for k, voters in reversed(self._configs):
            if k <= index:
                return voters
        return self.base_voters

    def _rescan(self) -> None:
        offset = self.offset
        self._configs = [(offset + 1 + k, v) for k, e in enumerate(self._entries)
                         if (v := decode_config(e.value)) is not None]

    def _trim(self) -> None:
        last = len(self)
        while self._configs and self._configs[-1][0] > last:
            self._configs.pop()

    def append(self, entry: Entry) -> None:
        super().append(entry)
        voters = decode_config(entry.value)
        if voters is not None:
            self._configs.append((len(self), voters))

    def pop(self) -> Entry:
        entry = super().pop()
        self._trim()
        return entry

    def __delitem__(self, key: slice) -> None:
        super().__delitem__(key)
        self._trim()

    def compact(self, snapshot: Snapshot) -> None:
        """As RaftLog's; the snapshot takes the configuration in force at its index."""
        if snapshot.voters is None:
            snapshot = replace(snapshot, voters=tuple(sorted(self.voters_at(snapshot.index))))
        super().compact(snapshot)
        self._configs = [(k, v) for k, v in self._configs if k > snapshot.index]

    def install(self, snapshot: Snapshot) -> bool:
        kept = super().install(snapshot)
        self._rescan()
        return kept


@dataclass
class _CatchUp:
    """A learner being caught up: the change's id, the current round's target index,
    when it started (in ticks) and how many rounds it has taken."""

    change: int
    target: int
    started: int
    rounds: int = 1


class _Core(Protocol):
    """What the membership rules read and move of RaftCore (the mixin's self type)."""

    config: Config
    _id: int
    _n: int
    _current_term: int
    _role: Role
    _leader_hint: int | None

    @property
    def _log(self) -> ConfigLog: ...
    _commit_index: int
    _ticks: int
    _match_index: list[int]
    _next_index: list[int]
    _inflight: list[bool]
    _probing: list[bool]
    _learners: dict[int, _CatchUp]
    _change_seq: int
    _changes_out: list[tuple[int, int | None, str | None]]

    @property
    def last_index(self) -> int: ...
    def term_at(self, index: int) -> int: ...
    def _event(self, action: str, **args: object) -> None: ...
    def _mark_unstable(self, index: int) -> None: ...
    def _send_append_entries(self, j: int, limit: int | None = None) -> None: ...
    def _advance_commit_index(self) -> None: ...
    def _reset_timer(self) -> None: ...
    def _drop_reads(self) -> None: ...
    def _change_refused(self) -> str | None: ...
    def _change_refused_for_promotion(self) -> str | None: ...
    def _append_config(self, voters: frozenset[int], change: int) -> int: ...
    def _give_up(self, j: int, why: str) -> None: ...


class Membership:
    """RaftCore's membership rules: configuration entries, learners, quorums."""

    # RaftCore's attributes these rules assign (RaftCore.__init__ sets them)
    _role: Role
    _leader_hint: int | None
    _learners: dict[int, _CatchUp]
    _change_seq: int
    _changes_out: list[tuple[int, int | None, str | None]]

    @property
    def voters(self: _Core) -> frozenset[int]:
        """The configuration this server uses: the latest in its log (thesis §4.1)."""
        return self._log.voters

    @property
    def config_index(self: _Core) -> int:
        """The index of the latest configuration entry in the log (0: none kept)."""
        return self._log.config_index

    @property
    def learners(self: _Core) -> frozenset[int]:
        """Servers a leader is catching up before making them voters."""
        return frozenset(self._learners)

    def add_server(self: _Core, j: int) -> int:
        """AddServer(j): catch j up as a learner, then append the configuration with j;
        returns the change's id (answered in a later Ready's ``changes``).

        NotLeader elsewhere; MembershipError if j is unknown or a voter already, or a
        change is in progress or not yet allowed."""

        if self._role is not Role.LEADER:
            raise NotLeader(getattr(self, "_leader_hint", None))
        _check_node(j, self._n)
        if j in self._log.voters:
            raise MembershipError(f"node {j} is already a voter")
        why = self._change_refused()
        if why is not None:
            raise MembershipError(why)
        self._change_seq += 1
        self._learners[j] = _CatchUp(self._change_seq, self.last_index, self._ticks)
        # next/match_index[j] stay as they are (raft.tla keeps them for every server):
        # the first AppendEntries probes from there
        self._inflight[j] = False
        self._probing[j] = True
        self._event("AddLearner", i=self._id, j=j)
        self._send_append_entries(j)
        return self._change_seq

    def remove_server(self: _Core, j: int) -> int:
        """RemoveServer(j): append the configuration without j (j may be this leader);
        returns the change's id (answered in the next Ready's ``changes``)."""

        if self._role is not Role.LEADER:
            raise NotLeader(getattr(self, "_leader_hint", None))
        _check_node(j, self._n)
        voters = self._log.voters
        if j not in voters:
            raise MembershipError(f"node {j} is not a voter")
        if len(voters) == 1:
            raise MembershipError(f"node {j} is the last voter; it cannot be removed")
        why = self._change_refused()
        if why is not None:
            raise MembershipError(why)
        self._change_seq += 1
        self._append_config(voters - {j}, self._change_seq)
        return self._change_seq

    def _change_refused(self: _Core) -> str | None:
        """Why a change may not start now (None: it may): the rules of §4.1 and 2015."""
        if self._learners:
            who = ", ".join(str(k) for k in sorted(self._learners))
            return f"a membership change is in progress (catching up node {who})"
        if self._log.config_index > self._commit_index:
            return (f"a membership change is in progress (the configuration at index "
                    f"{self._log.config_index} is not committed yet)")
        if self._commit_index == 0 or self.term_at(self._commit_index) != self._current_term:
            return "the leader has not committed an entry of its term yet; retry shortly"
        return None

    def _append_config(self: _Core, voters: frozenset[int], change: int) -> int:
        """AddServer / RemoveServer: append the configuration entry `voters` (one server
        more or less than ours; it takes effect at once) and send it."""
        old = self._log.voters
        (j,) = voters ^ old
        self._log.append(Entry(self._current_term, encode_config(voters)))
        index = self.last_index
        self._mark_unstable(index)
        self._event("AddServer" if j in voters else "RemoveServer", i=self._id, j=j)
        self._changes_out.append((change, index, None))
        for k in sorted((voters | set(self._learners)) - {self._id}):
            if not self._inflight[k]:
                self._send_append_entries(k)
        self._advance_commit_index()
        return index

    def _catch_up(self: _Core, j: int) -> None:
        """j answered: if its round is done, promote it (the round was short) or start the
        next; give up after MAX_ROUNDS rounds."""
        c = self._learners.get(j)
        if c is None or self._role is not Role.LEADER or self._match_index[j] < c.target:
            return
        if self._ticks - c.started <= self.config.election_ticks:
            why = self._change_refused_for_promotion()
            if why is not None:
                self._give_up(j, why)
                return
            del self._learners[j]
            self._event("CaughtUp", i=self._id, j=j)
            self._append_config(self._log.voters | {j}, c.change)
            return
        if c.rounds >= MAX_ROUNDS:
            self._give_up(j, f"node {j} did not catch up in {MAX_ROUNDS} rounds")
            return
        c.rounds += 1
        c.target = self.last_index
        c.started = self._ticks

    def _change_refused_for_promotion(self: _Core) -> str | None:
        if self._log.config_index > self._commit_index:
            return "another configuration is not committed yet"
        if self.term_at(self._commit_index) != self._current_term:
            return "the leader has not committed an entry of its term"
        return None

    def _membership_tick(self: _Core) -> None:
        """A leader gives up on a learner whose round outlasts MAX_ROUNDS timeouts."""
        for j, c in list(self._learners.items()):
            if self._ticks - c.started > MAX_ROUNDS * self.config.election_ticks:
                self._give_up(j, f"node {j} did not catch up (no progress for "
                              f"{MAX_ROUNDS} election timeouts: is it running?)")

    def _give_up(self: _Core, j: int, why: str) -> None:
        c = self._learners.pop(j)
        self._changes_out.append((c.change, None, why))
        self._event("GiveUpLearner", i=self._id, j=j)

    def _membership_ready(self: _Core) -> None:
        """A server that lost its leadership gives up its learners."""
        if self._learners and self._role is not Role.LEADER:
            for j in list(self._learners):
                self._give_up(j, "leadership lost during the catch-up; retry")

    def _removed_step_down(self: _Core) -> None:
        """A leader outside its configuration steps down once it is committed (§4.2.2):
        part of the AdvanceCommitIndex step, as in raft-reconfig (only its role changes;
        next/match_index and the votes stay, as there)."""
        if (self._role is Role.LEADER and self._id not in self._log.voters
                and self._log.config_index <= self._commit_index):
            self._role = Role.FOLLOWER
            self._leader_hint = None
            self._reset_timer()
            self._drop_reads()


def _check_node(j: int, n: int) -> None:
    if not isinstance(j, int) or isinstance(j, bool) or not 0 <= j < n:
        raise MembershipError(f"no node {j!r}: the cluster's servers are 0..{n - 1}")
