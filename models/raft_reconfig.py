"""Raft with membership changes: the raft.tla port (models/raft.py) extended with
configuration entries and single-server AddServer/RemoveServer (Ongaro's thesis §4.1-4.2).

Grounded on the published extension of raft.tla for membership changes, Brandon Amos and
Huanchen Zhang's ``raft_membership.tla`` (2015, "Modifications for cluster membership
changes", kept in dranov/raft-tla as thirdparty/raft_membership.tla): configuration
entries in the log beside value entries, ``GetConfig(i)`` = the latest configuration
entry in ``log[i]`` (committed or not) or the initial configuration ``InitServer``,
quorums ``Quorum(GetConfig(i))``, a universe ``Server`` larger than ``InitServer``;
Timeout, RequestVote and AppendEntries only towards members of the sender's
configuration; BecomeLeader and AdvanceCommitIndex count only members.

How this spec differs from raft_membership.tla, and why:

* No catch-up rounds (its CatchupRequest/CatchupResponse and ``NumRounds``): the thesis
  (§4.2.1) catches a new server up before adding it for availability, not safety; here
  AddServer appends the configuration at once and AppendEntries then brings the new
  member up to date. Fewer actions, the same safety question.
* No ``CheckOldConfig`` self-message: AddServer/RemoveServer are enabled only when the
  rules hold, instead of a message the leader re-sends itself until they do.
* The rules, from the thesis and the 2015 correction: a leader changes the configuration
  only when (1) its latest configuration entry is committed (raft_membership.tla's
  ``GetMaxConfigIndex(i) <= commitIndex[i]``; thesis §4.1) and (2) it has committed an
  entry of its current term (Ongaro, raft-dev, "bug in single-server membership
  changes", 2015-07: raft_membership.tla lacks this rule and has the bug; zoo:
  ``raft-reconfig-no-own-term-commit``).
* A leader removed from the configuration still leads until that entry is committed but
  does not count itself in majorities, then steps down (thesis §4.2.2); raft_membership
  forbids removing the leader instead. Its Restart requires membership; ours does not
  (Restart is as in raft.tla).
* Servers answer RequestVote and AppendEntries whatever their configuration (thesis §4.1:
  "servers process incoming RPC requests without consulting their current
  configurations"), as in raft_membership.tla.
* Joint consensus (thesis §4.3) is not modelled.

Everything else (variables, messages, handlers, history variables, bounds) is
models/raft.py unchanged: the state type is :class:`RaftState`; a configuration entry is a
:class:`ConfigEntry` held in a log like an :class:`Entry` (the same ``term`` and
``value`` fields first, ``value`` = ``CONFIG``, so logs and message bags stay ordered).
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from functools import lru_cache
from typing import Any, ClassVar, NamedTuple

from agree.models.raft import Raft
from agree.models.raft_symmetry import RaftPermuter
from agree.models.raft_types import FOLLOWER, LEADER, Log, RaftState, put
from agree.spec import SpecError, action

__all__ = [
    "CONFIG",
    "ConfigEntry",
    "RaftReconfig",
    "client_entries",
    "config_index",
    "config_of",
    "contenders",
    "overlap_in_majority",
]

#: The ``value`` field of every configuration entry (client values are 0..k-1).
CONFIG = -1


class ConfigEntry(NamedTuple):
    """A configuration entry: the term it was created in and the members (sorted ids)."""

    term: int
    value: int  # always CONFIG: orders before every client value of the same term
    members: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.term}:{{{','.join(f's{m + 1}' for m in self.members)}}}"


@lru_cache(maxsize=8192)
def config_index(log: Log) -> int:
    """The index of the latest configuration entry of ``log`` (1-based), or 0."""
    for k in range(len(log), 0, -1):
        if log[k - 1].value == CONFIG:
            return k
    return 0


@lru_cache(maxsize=8192)
def client_entries(log: Log) -> int:
    """How many client (not configuration) entries ``log`` holds."""
    return sum(e.value != CONFIG for e in log)


def contenders(terms: tuple[int, ...], states: tuple[str, ...]) -> int:
    """The most servers that are candidates or leaders of one and the same term."""
    counts: dict[int, int] = {}
    for term, state in zip(terms, states, strict=True):
        if state != FOLLOWER:
            counts[term] = counts.get(term, 0) + 1
    return max(counts.values(), default=0)


def config_of(log: Log, initial: frozenset[int]) -> frozenset[int]:
    """GetConfig: the members of the latest configuration entry of ``log``, committed or
    not, else the initial configuration."""
    k = config_index(log)
    if k == 0:
        return initial
    entry: Any = log[k - 1]
    return frozenset(entry.members)


def overlap_in_majority(a: frozenset[int], b: frozenset[int]) -> bool:
    """Every majority of ``a`` meets every majority of ``b``: the smallest majorities of
    both cannot fit in their union without sharing a server."""
    qa, qb = len(a) // 2 + 1, len(b) // 2 + 1
    shared = len(a & b)
    # Disjoint majorities exist iff one can take qa of a and qb of b with no server in
    # both: the servers only in a, only in b, and the shared ones split between them.
    only_a, only_b = len(a) - shared, len(b) - shared
    return max(0, qa - only_a) + max(0, qb - only_b) > shared


class RaftReconfig(Raft):
    """raft.tla with configuration entries and single-server membership changes."""

    name: ClassVar[str] = "raft-reconfig"
    description: ClassVar[str] = (
        "raft.tla with membership changes: configuration entries in the log, one server "
        "added or removed at a time (Ongaro's thesis §4.1-4.2)")
    param_help: ClassVar[dict[str, str]] = {
        **Raft.param_help,
        "servers": "number of servers in the universe (members and spares)",
        "members": "the initial configuration: servers s1..sN (the rest are spares)",
        "max_client_entries": "state constraint: every log holds at most this many client "
                              "entries (configuration entries not counted; -1: no bound "
                              "but --max-log)",
        "max_contenders": "state constraint: at most this many servers are candidates or "
                          "leaders of any one term (-1: no bound; 1: one campaign per "
                          "term, no split votes)",
    }

    #: Members and spares (each among themselves) and values; configuration entries'
    #: members are renamed with the servers (models/raft_symmetry.py).
    symmetry: ClassVar[tuple[str, ...]] = ("member_ids", "spare_ids", "values")

    def __init__(self, servers: int = 3, members: int = 2, values: int = 1, max_term: int = 2,
                 max_log: int = 2, max_messages: int = 1, max_restarts: int = 0,
                 entries_per_append: int = 1, history: bool = False,
                 max_client_entries: int = -1, max_contenders: int = -1) -> None:
        super().__init__(servers=servers, values=values, max_term=max_term, max_log=max_log,
                         max_messages=max_messages, max_restarts=max_restarts,
                         entries_per_append=entries_per_append, history=history)
        if not 1 <= members <= servers:
            raise SpecError("--members must be between 1 and --servers")
        if max_client_entries < -1:
            raise SpecError("--max-client-entries must be -1 (no bound) or 0 or more")
        if max_contenders < -1 or max_contenders == 0:
            raise SpecError("--max-contenders must be -1 (no bound) or 1 or more")
        self.max_client_entries = max_client_entries
        self.max_contenders = max_contenders
        self.members = members
        self.initial: frozenset[int] = frozenset(range(members))
        # Symmetry: members of the initial configuration are interchangeable, and so are
        # spares, but a member is not a spare (Init tells them apart).
        self.member_ids: Sequence[int] = range(members)
        self.spare_ids: Sequence[int] = range(servers - members)
        self._permuter = RaftPermuter(servers, configs=True)
        self._perms: dict[tuple[Any, ...], dict[str, Any]] = {}

    def constraint(self, s: RaftState) -> bool:
        """raft.tla's bounds (models/raft.py, as a conjunction the checker evaluates part
        by part), and at most ``max_client_entries`` client entries per log: a log can be
        long enough for a new leader to commit an entry of its term and change the
        configuration after it, without every leader filling it with client values
        (docs/raft-reconfig.md); and at most ``max_contenders`` candidates or leaders in
        any one term: with 1, one server campaigns per term, so the search skips split
        votes and campaigns that can no longer win (a bound for searches from a deep
        prefix, docs/raft-reconfig.md)."""
        return (len(s.messages) <= self.max_messages and max(s.current_term) <= self.max_term
                and max(map(len, s.log)) <= self.max_log
                and (self.max_client_entries < 0
                     or max(map(client_entries, s.log)) <= self.max_client_entries)
                and (self.max_contenders < 0
                     or contenders(s.current_term, s.state) <= self.max_contenders))

    # -- configurations ------------------------------------------------------------

    def config(self, s: RaftState, i: int) -> frozenset[int]:
        """The configuration server i uses: the latest in its log (thesis §4.1)."""
        return config_of(s.log[i], self.initial)

    def quorum_of(self, servers: Set[int], config: frozenset[int]) -> bool:
        """``servers`` holds a majority of ``config``."""
        return 2 * len(servers & config) > len(config)

    def wins_election(self, s: RaftState, i: int) -> bool:
        return self.quorum_of(s.votes_granted[i], self.config(s, i))

    def agree_index(self, s: RaftState, i: int) -> int:
        """The highest index a majority of i's configuration stores; the leader counts
        itself only while a member (thesis §4.2.2)."""
        cfg, lg, match = self.config(s, i), s.log[i], s.match_index[i]
        for index in range(len(lg), 0, -1):
            agree = {k for k in cfg if k == i or match[k] >= index}
            if self.quorum_of(agree, cfg):
                return index
        return 0

    # -- raft.tla's actions, restricted to members -----------------------------------

    @action(i="servers")
    def timeout(self, s: RaftState, i: int) -> RaftState | None:
        """Only a member of its own configuration starts elections."""
        if i not in self.config(s, i):
            return None
        return super().timeout(s, i)

    @action(i="servers", j="servers")
    def request_vote(self, s: RaftState, i: int, j: int) -> RaftState | None:
        """A candidate asks the members of its configuration."""
        if j not in self.config(s, i):
            return None
        return super().request_vote(s, i, j)

    @action(i="servers", j="servers")
    def append_entries(self, s: RaftState, i: int, j: int) -> RaftState | None:
        """A leader replicates to the members of its configuration (new ones included)."""
        if j not in self.config(s, i):
            return None
        return super().append_entries(s, i, j)

    @action(i="servers")
    def advance_commit_index(self, s: RaftState, i: int) -> RaftState | None:
        """As raft.tla, and a leader outside its configuration steps down once that
        configuration is committed (thesis §4.2.2)."""
        t = super().advance_commit_index(s, i)
        if t is None or i in self.config(t, i) or config_index(t.log[i]) > t.commit_index[i]:
            return t
        return t._replace(state=put(t.state, i, FOLLOWER))

    # -- membership changes ---------------------------------------------------------

    def previous_change_committed(self, s: RaftState, i: int) -> bool:
        """Thesis §4.1: no change starts before the latest configuration is committed."""
        return config_index(s.log[i]) <= s.commit_index[i]

    def own_term_committed(self, s: RaftState, i: int) -> bool:
        """The 2015 correction: the leader has committed an entry of its current term."""
        c = s.commit_index[i]
        return c > 0 and s.log[i][c - 1].term == s.current_term[i]

    def may_change(self, s: RaftState, i: int) -> bool:
        """Leader i may append a configuration entry now."""
        return (s.state[i] == LEADER and self.previous_change_committed(s, i)
                and self.own_term_committed(s, i))

    def change(self, s: RaftState, i: int, members: frozenset[int]) -> RaftState:
        """Leader i appends the configuration ``members``; it takes effect at once."""
        entry: Any = ConfigEntry(term=s.current_term[i], value=CONFIG,
                                 members=tuple(sorted(members)))
        return self.step(s, log=put(s.log, i, (*s.log[i], entry)))

    # AddServer(i, j): leader i adds server j to its configuration (thesis §4.1).
    @action(i="servers", j="servers")
    def add_server(self, s: RaftState, i: int, j: int) -> RaftState | None:
        if not self.may_change(s, i):
            return None
        cfg = self.config(s, i)
        return None if j in cfg else self.change(s, i, cfg | {j})

    # RemoveServer(i, j): leader i removes server j, possibly itself (thesis §4.1, §4.2.2).
    @action(i="servers", j="servers")
    def remove_server(self, s: RaftState, i: int, j: int) -> RaftState | None:
        if not self.may_change(s, i):
            return None
        cfg = self.config(s, i)
        return None if j not in cfg or len(cfg) == 1 else self.change(s, i, cfg - {j})

    def permute(self, state: RaftState, perms: Any) -> RaftState:
        """Rename members among members and spares among spares (and values)."""
        pm = tuple(perms.get("member_ids", self.member_ids))
        ps = tuple(perms.get("spare_ids", self.spare_ids))
        pv = perms.get("values")
        key = (pm, ps, None if pv is None else tuple(pv))
        combined = self._perms.get(key)
        if combined is None:
            combined = {"servers": (*pm, *(self.members + q for q in ps))}
            if pv is not None:
                combined["values"] = tuple(pv)
            self._perms[key] = combined
        return self._permuter(state, combined)

    # -- reading ---------------------------------------------------------------------

    def view(self, state: RaftState) -> dict[str, Any]:
        out = super().view(state)
        for i in self.servers:
            out[f"config[s{i + 1}]"] = "{" + ", ".join(
                f"s{m + 1}" for m in sorted(self.config(state, i))) + "}"
        return out
