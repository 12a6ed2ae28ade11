"""Raft's elections for liveness: PreVote and CheckQuorum (etcd), over a partial partition.

raft.tla's terms grow without bound and its message bag too, so its state graph is
infinite and liveness cannot be checked on it (a state constraint would cut the cycles
that liveness is about). This model keeps what elections need and makes it finite.

**What is modelled.** Servers ``s1..`` with a term, a role (follower, pre-candidate,
candidate, leader), a vote, the leader they follow (etcd's ``r.lead``), and a campaign
(the votes granted and the servers that answered). No logs: every log is equal, so
every up-to-date check passes (the partial-partition livelock needs no entries). The
network is direct delivery, as in models/paxos_liveness.py: ``RequestVote(i, j)`` is
"j receives i's (pre-)vote request and i its answer", ``Heartbeat(i, j)`` is "j receives
leader i's heartbeat, and i j's answer". ``partition`` cuts the link between the last
server and every server but the one before it: with 3 servers, s3 reaches only s2.

**etcd's semantics** (etcd-io/raft raft.go, ``Step``, ``stepCandidate``,
``campaign``, ``becomePreCandidate``; read beside it):

* PreVote: a timed-out server becomes a pre-candidate *without* raising its term and
  asks for votes for its next term; a server grants a pre-vote for a term above its own
  (and up-to-date log) without changing its own term or vote; a pre-vote for a term
  below the receiver's is rejected with the receiver's term, and the pre-candidate
  becomes a follower in it; with a quorum of pre-votes the pre-candidate campaigns for
  real. PreVote alone does **not** look at whether the voter hears from a leader.
* CheckQuorum: a leader that has not heard from a quorum steps down; and (the lease,
  ``inLease`` in ``Step``) a server that follows a live leader *ignores* a (pre-)vote
  request for a higher term: no term change, no answer.
* With either option a server answers a stale heartbeat with its higher term, and the
  stale leader steps down.

**Where etcd differs from the thesis** (Ongaro 2014, §9.6 and §4.2.3): the thesis'
Pre-Vote grants a pre-vote only if the voter has *not heard from a leader* within an
election timeout; etcd moves that lease check to CheckQuorum (§6.2 + §4.2.3), so in
etcd PreVote alone lets a server that follows a live leader grant pre-votes, which is
why etcd needs both options against a partial partition. Without either option etcd
ignores a stale AppendEntries, leaving the deposed leader a stale leader; this model
keeps raft.tla's reply (the stale leader learns the higher term and steps down), as the
issue's livelock assumes.

**Timing, as the fairness it needs.** Untimed, a follower could time out while its
leader's heartbeats flow, and two candidates could split votes forever: failures that
randomised timeouts, not PreVote, prevent. So ``Timeout(i)`` is enabled only when (a) no
leader that i reaches has a term at least i's (its heartbeats arrive before i's timer
fires) and (b) no campaign is pending anywhere and no heartbeat would change anything
(messages arrive, an election round completes and a winner leads before another timer
fires: partial synchrony, and randomised timeouts). Every action is weakly fair but
``Timeout``, which is strongly fair per server (``Timeout(i)``, whatever the term): a
server whose timer is enabled again and again (disabled in between while others
campaign) eventually times out, as a randomised timer would. Weak fairness is not
enough from four servers on: a cut-off server that cannot win could campaign forever,
each of its campaigns disabling the others' timers.

**Terms, made finite.** Every guard compares terms (``<``, ``=``); the only arithmetic
is raft's "next term = term + 1". Two renamings, each checked to be a bisimulation
(tests/test_raft_liveness.py explores the un-normalised model, ``normalise=False``,
and checks that each state's steps, renamed, are exactly its image's steps, labels and
all), so a fair cycle of the finite graph is a fair behaviour of the infinite one and
back:

* ``plus_one``: raft exactly (``Timeout(i, t)`` only with ``t = term + 1``), terms
  shifted so the least is 0. Every step commutes with a shift, so this renaming is
  exact. The graph is finite when the terms' spread stays bounded: without the options,
  with PreVote alone, and with both; not with CheckQuorum alone, where a cut-off server
  whose vote requests are ignored raises its term forever. From four servers on, only
  with PreVote: without it the cut-off server, short of a quorum, raises its term forever.
* the default, order only: a timed-out server's next term is *any* term above its own,
  terms taken as rationals (``Timeout(i, t)`` chooses it; PreVote carries it, the
  campaign uses it), and the state keeps terms renamed to ``0, 2, 4, ...`` in order, a
  new term between two used ones being odd until renamed. Since guards only compare,
  renaming by order is a bisimulation, and the graph is finite in every case. Raft's
  ``term + 1`` is one of the choices, so every fair behaviour of raft is one here: a
  property that holds here holds for raft (CheckQuorum alone is shown so); a lasso found
  here may choose a term raft would not (look for it with ``plus_one``). Fairness is per
  server, ``Timeout(i)`` grouping every t (TLA+'s ``SF(\\E t: Timeout(i, t))``), so
  raft's fair behaviours, which take term + 1, are fair here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from itertools import pairwise
from typing import Any, ClassVar, NamedTuple

from agree.spec import (
    Fact,
    Property,
    Spec,
    SpecError,
    Witness,
    action,
    eventually_always,
    indexed,
    invariant,
    property_of,
)

__all__ = ["PROPERTIES", "RaftLiveness", "RaftLivenessState", "normalise_terms", "shift_terms",
           "term_class", "used_terms"]

FOLLOWER, PRECANDIDATE, CANDIDATE, LEADER = "F", "P", "C", "L"
ROLES = {FOLLOWER: "follower", PRECANDIDATE: "pre-candidate", CANDIDATE: "candidate",
         LEADER: "leader"}


class RaftLivenessState(NamedTuple):
    term: tuple[int, ...]
    role: tuple[str, ...]
    voted_for: tuple[int | None, ...]
    lead: tuple[int | None, ...]  # the leader followed in this term (etcd's r.lead)
    next_term: tuple[int | None, ...]  # a pre-candidate's term to campaign in
    votes: tuple[frozenset[int], ...]  # (pre-)votes granted to the current campaign
    answered: tuple[frozenset[int], ...]  # servers that answered (or ignored) it


def _put(t: tuple[Any, ...], i: int, v: Any) -> tuple[Any, ...]:
    return (*t[:i], v, *t[i + 1:])


def used_terms(s: RaftLivenessState) -> list[int]:
    """Every term the state holds (current terms and pre-candidates' next terms), sorted."""
    return sorted({*s.term, *(t for t in s.next_term if t is not None)})


def shift_terms(s: RaftLivenessState) -> RaftLivenessState:
    """Shift every term down so the least is 0 (raft's steps commute with a shift)."""
    low = used_terms(s)[0]
    if low == 0:
        return s
    return s._replace(term=tuple(t - low for t in s.term),
                      next_term=tuple(None if t is None else t - low for t in s.next_term))


def normalise_terms(s: RaftLivenessState) -> RaftLivenessState:
    """Rename the terms in use to 0, 2, 4, ... keeping their order (see the module doc)."""
    used = used_terms(s)
    m = {t: 2 * k for k, t in enumerate(used)}
    if all(m[t] == t for t in used):
        return s
    return s._replace(term=tuple(m[t] for t in s.term),
                      next_term=tuple(None if t is None else m[t] for t in s.next_term))


def term_class(s: RaftLivenessState, t: int) -> int:
    """Where ``t`` sits among the normalised terms of ``s``: ``2k`` if it equals the k-th
    used term, ``2k + 1`` if it lies above it (and below the next): the label a chosen
    term of the un-normalised model has in the normalised one."""
    used = used_terms(s)
    below = [k for k, u in enumerate(used) if u <= t]
    k = below[-1]
    return 2 * k if used[k] == t else 2 * k + 1


def _term_choices(spec: RaftLiveness, s: RaftLivenessState) -> list[Any]:
    """The terms a timed-out server may campaign in: any above its own. Normalised, one
    per place in the order (equal to a used term, or between two, or above all). Not
    normalised, terms are rationals: each used term, each midpoint between two, and each
    used term + 1 (raft's own choice among them): every place again."""
    used = used_terms(s)
    if spec.normalise or spec.plus_one:
        return sorted({*used, *(u + 1 for u in used)})
    return sorted({*used, *(Fraction(a + b, 2) for a, b in pairwise(used)),
                   *(u + 1 for u in used)})


class RaftLiveness(Spec[RaftLivenessState]):
    """Raft's elections with etcd's PreVote and CheckQuorum, for liveness under a partial
    partition (terms normalised: a finite graph)."""

    name: ClassVar[str] = "raft-liveness"
    description: ClassVar[str] = (
        "Raft's elections with etcd's PreVote and CheckQuorum as options, over a partial "
        "partition (liveness: does a leader stay?)")
    param_help: ClassVar[dict[str, str]] = {
        "servers": "number of servers, 2 to 5 (quorums are majorities)",
        "prevote": "etcd's PreVote: campaign only after a quorum grants a pre-vote",
        "check_quorum": "etcd's CheckQuorum: a leader without a quorum steps down, and a "
                        "server following a live leader ignores vote requests (the lease)",
        "partition": "cut the last server off from all but the one before it (3 servers: s3 "
                     "reaches only s2)",
        "normalise": "rename terms: by order (a finite graph), or with --plus-one by a "
                     "shift; off: terms as they come, an infinite graph (for the "
                     "bisimulation tests: explore it with a depth bound)",
        "plus_one": "raft's own next term, term + 1, only (terms are integers, shifted so "
                    "the least is 0: finite only while their spread stays bounded, not with "
                    "CheckQuorum alone); off: any higher term, terms rationals",
    }
    names: ClassVar[dict[str, str]] = {"servers": "s"}
    param_max: ClassVar[dict[str, int]] = {"servers": 5}
    weak_fairness: ClassVar[tuple[str, ...]] = ("RequestVote", "BecomeLeader", "Heartbeat",
                                                "CheckQuorum")
    #: per server, whatever the term chosen: raft's timer fires with term + 1 only
    strong_fairness: ClassVar[tuple[str, ...]] = ("Timeout(i)",)

    def __init__(self, servers: int = 3, prevote: bool = False, check_quorum: bool = False,
                 partition: bool = True, normalise: bool = True, plus_one: bool = False,
                 ) -> None:
        if not 2 <= servers <= 5:
            raise SpecError("--servers must be 2 to 5")
        if partition and servers < 3:
            raise SpecError("--partition needs at least 3 servers (one reaching only one peer)")
        self.n = servers
        self.servers: Sequence[int] = range(servers)
        self.prevote, self.check_quorum = prevote, check_quorum
        self.partition, self.normalise, self.plus_one = partition, normalise, plus_one
        cut = servers - 1
        self.links = frozenset(
            frozenset((a, b)) for a in self.servers for b in self.servers
            if a < b and not (partition and b == cut and a != cut - 1))

    # -- helpers ---------------------------------------------------------------

    def linked(self, a: int, b: int) -> bool:
        return frozenset((a, b)) in self.links

    def peers(self, i: int) -> list[int]:
        return [j for j in self.servers if j != i and self.linked(i, j)]

    def is_quorum(self, xs: Iterable[int]) -> bool:
        return 2 * len(set(xs)) > self.n

    def _norm(self, s: RaftLivenessState) -> RaftLivenessState:
        if not self.normalise:
            return s
        return shift_terms(s) if self.plus_one else normalise_terms(s)

    def in_lease(self, s: RaftLivenessState, j: int) -> bool:
        """etcd's inLease: CheckQuorum on and j leads, or follows a leader of its term
        that is still leader (its heartbeats keep j's election timer from expiring)."""
        if not self.check_quorum:
            return False
        if s.role[j] == LEADER:
            return True
        lead = s.lead[j]
        return (s.role[j] == FOLLOWER and lead is not None and s.role[lead] == LEADER
                and s.term[lead] == s.term[j])

    def pending(self, s: RaftLivenessState, i: int) -> bool:
        """i campaigns and some server it reaches has not answered yet, or i is a
        candidate that won (it leads before any timer fires)."""
        if s.role[i] == CANDIDATE and self.is_quorum(s.votes[i]):
            return True
        return s.role[i] in (PRECANDIDATE, CANDIDATE) and any(
            j not in s.answered[i] for j in self.peers(i))

    def settled(self, s: RaftLivenessState) -> bool:
        """No campaign pending and every leader's heartbeat delivered (it would change
        nothing): messages arrive before election timers fire."""
        if any(self.pending(s, k) for k in self.servers):
            return False
        return not any(self.heartbeat(s, ld, j) is not None for ld in self.servers
                       for j in self.servers)

    def follower(self, s: RaftLivenessState, i: int, term: int, lead: int | None,
                 ) -> RaftLivenessState:
        """i becomes a follower in ``term`` (a new term clears its vote)."""
        voted = s.voted_for[i] if term == s.term[i] else None
        return s._replace(term=_put(s.term, i, term), role=_put(s.role, i, FOLLOWER),
                          voted_for=_put(s.voted_for, i, voted), lead=_put(s.lead, i, lead),
                          next_term=_put(s.next_term, i, None),
                          votes=_put(s.votes, i, frozenset()),
                          answered=_put(s.answered, i, frozenset()))

    def candidate(self, s: RaftLivenessState, i: int, term: int) -> RaftLivenessState:
        """i campaigns for real in ``term``, voting for itself (etcd's becomeCandidate)."""
        return s._replace(term=_put(s.term, i, term), role=_put(s.role, i, CANDIDATE),
                          voted_for=_put(s.voted_for, i, i), lead=_put(s.lead, i, None),
                          next_term=_put(s.next_term, i, None),
                          votes=_put(s.votes, i, frozenset({i})),
                          answered=_put(s.answered, i, frozenset({i})))

    # -- initial state -----------------------------------------------------------

    def init(self) -> Iterable[RaftLivenessState]:
        n = self.n
        yield RaftLivenessState(term=(0,) * n, role=(FOLLOWER,) * n, voted_for=(None,) * n,
                                lead=(None,) * n, next_term=(None,) * n,
                                votes=(frozenset(),) * n, answered=(frozenset(),) * n)

    # -- actions -------------------------------------------------------------------

    # Timeout(i, t): i's election timer fires (see the module doc for when it may) and i
    # campaigns: for term t (any above its own; raft's is term + 1). With PreVote it
    # becomes a pre-candidate for t, its term unchanged; else a candidate in t.
    @action(i="servers", t=_term_choices)
    def timeout(self, s: RaftLivenessState, i: int, t: int) -> RaftLivenessState | None:
        if t <= s.term[i] or (self.plus_one and t != s.term[i] + 1):
            return None
        if s.role[i] == LEADER or not self.settled(s):
            return None
        if any(s.role[ld] == LEADER and s.term[ld] >= s.term[i] for ld in self.peers(i)):
            return None
        if not self.prevote:
            return self._norm(self.candidate(s, i, t))
        return self._norm(s._replace(
            role=_put(s.role, i, PRECANDIDATE), lead=_put(s.lead, i, None),
            next_term=_put(s.next_term, i, t), votes=_put(s.votes, i, frozenset({i})),
            answered=_put(s.answered, i, frozenset({i}))))

    # RequestVote(i, j): j receives i's (pre-)vote request for term T and i its answer
    # (etcd's Step and stepCandidate). T above j's term: ignored in j's lease; else a
    # pre-vote is granted (j unchanged), a vote makes j a follower in T that votes for i.
    # T equal to j's term: granted if j voted for i, or voted for none and follows no one.
    # T below j's term: a pre-vote is rejected with j's term (i follows in it); a vote is
    # ignored. A quorum of pre-votes: the pre-candidate campaigns in T; a quorum of
    # rejections: i becomes a follower in its term.
    @action(i="servers", j="servers")
    def request_vote(self, s: RaftLivenessState, i: int, j: int) -> RaftLivenessState | None:
        role = s.role[i]
        if role not in (PRECANDIDATE, CANDIDATE) or j in s.answered[i] or not self.linked(i, j):
            return None
        pre = role == PRECANDIDATE
        want = s.next_term[i] if pre else s.term[i]
        assert want is not None
        tj = s.term[j]
        answered = _put(s.answered, i, s.answered[i] | {j})
        if want > tj:
            if self.in_lease(s, j):
                return self._norm(s._replace(answered=answered))
            if not pre:
                s = self.follower(s, j, want, None)
                s = s._replace(voted_for=_put(s.voted_for, j, i))
            return self._tally(s._replace(answered=answered), i, j, True)
        if want == tj:
            grant = s.voted_for[j] == i or (s.voted_for[j] is None and s.lead[j] is None)
            if grant and not pre:
                s = s._replace(voted_for=_put(s.voted_for, j, i))
            if pre and not grant:  # rejected with j's term, above i's: i follows in it
                return self._norm(self.follower(s, i, tj, None))
            return self._tally(s._replace(answered=answered), i, j, grant)
        if pre:
            return self._norm(self.follower(s, i, tj, None))
        return self._norm(s._replace(answered=answered))

    def _tally(self, s: RaftLivenessState, i: int, j: int, grant: bool) -> RaftLivenessState:
        votes = s.votes[i] | {j} if grant else s.votes[i]
        s = s._replace(votes=_put(s.votes, i, votes))
        if self.is_quorum(votes) and s.role[i] == PRECANDIDATE:
            t = s.next_term[i]
            assert t is not None
            return self._norm(self.candidate(s, i, t))
        if not self.is_quorum(votes) and self.is_quorum(s.answered[i] - votes):
            return self._norm(self.follower(s, i, s.term[i], None))
        return self._norm(s)

    # BecomeLeader(i): candidate i, with votes from a quorum, leads (a step of its own,
    # as in raft.tla, so a change of leader passes through a state with none or two).
    @action(i="servers")
    def become_leader(self, s: RaftLivenessState, i: int) -> RaftLivenessState | None:
        if s.role[i] != CANDIDATE or not self.is_quorum(s.votes[i]):
            return None
        return s._replace(role=_put(s.role, i, LEADER), lead=_put(s.lead, i, i))

    # Heartbeat(i, j): j receives leader i's heartbeat (or append) and i j's answer. j in
    # an older term, or of i's term but not yet following i, follows i; j in a newer
    # term answers with it, and i steps down. Disabled when it would change nothing.
    @action(i="servers", j="servers")
    def heartbeat(self, s: RaftLivenessState, i: int, j: int) -> RaftLivenessState | None:
        if s.role[i] != LEADER or i == j or not self.linked(i, j):
            return None
        ti, tj = s.term[i], s.term[j]
        if tj > ti:
            return self._norm(self.follower(s, i, tj, None))
        if tj == ti and s.role[j] == FOLLOWER and s.lead[j] == i:
            return None
        return self._norm(self.follower(s, j, ti, i))

    # CheckQuorum(i): with CheckQuorum, a leader i that does not hear from a quorum (itself
    # and the servers it reaches: all answer its heartbeats) steps down.
    @action("CheckQuorum", i="servers")
    def check_quorum_step_down(self, s: RaftLivenessState, i: int) -> RaftLivenessState | None:
        if not self.check_quorum or s.role[i] != LEADER or self.is_quorum([i, *self.peers(i)]):
            return None
        return self._norm(self.follower(s, i, s.term[i], None))

    # -- reading -------------------------------------------------------------------

    def view(self, state: RaftLivenessState) -> dict[str, Any]:
        def server(x: int | None) -> str:
            return "-" if x is None else f"s{x + 1}"

        def servers(xs: Iterable[int]) -> str:
            return "{" + ", ".join(f"s{x + 1}" for x in sorted(xs)) + "}"

        out: dict[str, Any] = {}
        out.update(indexed("term", state.term, "s"))
        out.update(indexed("role", state.role, "s", lambda r: ROLES[r]))
        out.update(indexed("voted_for", state.voted_for, "s", server))
        out.update(indexed("lead", state.lead, "s", server))
        out.update(indexed("next_term", state.next_term, "s",
                           lambda t: "-" if t is None else str(t)))
        out.update(indexed("votes", state.votes, "s", servers))
        out.update(indexed("answered", state.answered, "s", servers))
        return out


def _leaders(s: RaftLivenessState) -> list[int]:
    return [i for i, r in enumerate(s.role) if r == LEADER]


def _leads(k: int, t: int) -> Fact:
    """The fact "s(k+1) leads in term t", for a witness."""
    def holds(st: RaftLivenessState) -> bool:
        return st.role[k] == LEADER and st.term[k] == t
    return Fact(f"s{k + 1} leads in term {t}", holds)


@invariant
def election_safety(spec: RaftLiveness, s: RaftLivenessState) -> bool | Witness:
    """At most one leader per term."""
    seen: dict[int, int] = {}
    for i in _leaders(s):
        t = s.term[i]
        if t in seen:
            a, b = seen[t], i
            facts = [_leads(k, t) for k in (a, b)]
            return Witness(f"s{a + 1} and s{b + 1} both lead term {t}",
                           [(facts[0], ", ", facts[1])], {"term": t, "leaders": (a, b)})
        seen[t] = i
    return True


@eventually_always
def leader_stays(spec: RaftLiveness, s: RaftLivenessState) -> bool:
    """Eventually always exactly one leader. Only BecomeLeader makes a leader, and it
    changes no one else, so a change of leader passes through a state with two leaders or
    none: this fails again and again on a behaviour exactly when leadership keeps changing
    (or no leader ever stays)."""
    return len(_leaders(s)) == 1


PROPERTIES: tuple[Property, ...] = tuple(property_of(f) for f in (election_safety,
                                                                 leader_stays))
