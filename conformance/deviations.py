"""Declared deviations: the ways a production Raft legitimately differs from raft.tla.

A deviation is declared by name (``agree validate --deviation NAME``, or
``validate_files(..., deviations=[NAME])``). Each one names the spec actions it
rewrites; for a step of those actions it offers *variants*: the spec's own step changed
in the one way the deviation describes, labelled ``Action[name]``. The spec's step is
tried too (first), so declaring a deviation refuses no run that validated without it;
the one exception, uncapped_commit_index, *replaces* the steps it rewrites, because
both of its halves (the leader's message, the follower's cap) must hold together.

A variant is a state the validator may step to, nothing more: every safety property is
still checked on every state passed through, so a deviation cannot let a safety
violation through (tests/test_deviations.py holds each to it both ways: a run using it
accepted, a seeded real bug still refused with it on).

Without ``--deviation``, the validator declares ``DEFAULT`` (what agree's own server
does); any ``--deviation`` replaces the default (``--deviation none``: raft.tla
exactly).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agree.models.raft import Raft
from agree.models.raft_types import (
    AERESP,
    FOLLOWER,
    LEADER,
    RVRESP,
    RaftState,
    bag_counts,
    put,
    with_message,
    without_message,
)
from agree.spec import Transition

__all__ = [
    "BATCHED_ENTRIES",
    "CATALOGUE",
    "CHECK_QUORUM_STEP_DOWN",
    "DEFAULT",
    "FAST_BACKUP",
    "MONOTONIC_COMMIT_INDEX",
    "MONOTONIC_MATCH_INDEX",
    "NO_DENIAL_REPLIES",
    "PERSISTED_COMMIT_INDEX",
    "PIPELINED_NEXT_INDEX",
    "PRE_VOTE_TERM",
    "REPLIES_WITHOUT_TERM",
    "SELF_VOTE_AT_TIMEOUT",
    "SNAPSHOT_PREFIX",
    "UNCAPPED_COMMIT_INDEX",
    "Deviation",
    "expand",
    "kept_commit_index",
    "resolve",
]

PERSISTED_COMMIT_INDEX = "persisted_commit_index"
PIPELINED_NEXT_INDEX = "pipelined_next_index"
FAST_BACKUP = "fast_backup"
NO_DENIAL_REPLIES = "no_denial_replies"
REPLIES_WITHOUT_TERM = "replies_without_term"
BATCHED_ENTRIES = "batched_entries"
SELF_VOTE_AT_TIMEOUT = "self_vote_at_timeout"
MONOTONIC_COMMIT_INDEX = "monotonic_commit_index"
MONOTONIC_MATCH_INDEX = "monotonic_match_index"
UNCAPPED_COMMIT_INDEX = "uncapped_commit_index"
CHECK_QUORUM_STEP_DOWN = "check_quorum_step_down"
SNAPSHOT_PREFIX = "snapshot_prefix"
PRE_VOTE_TERM = "pre_vote_term"

DEFAULT: tuple[str, ...] = (BATCHED_ENTRIES, FAST_BACKUP, SNAPSHOT_PREFIX,
                            MONOTONIC_MATCH_INDEX, MONOTONIC_COMMIT_INDEX,
                            CHECK_QUORUM_STEP_DOWN, PRE_VOTE_TERM, PERSISTED_COMMIT_INDEX)
"""What agree's own server (impl/raft) declares: the validator's default. Its recovery
(impl/raft/core.py) makes batched_entries, fast_backup and monotonic_match_index:
heartbeats without entries and one-entry probes, next_index from a rejection's hint, late
success replies ignored; its log names each AppendEntries' message and each rejection's
next_index (``hint``), so they cost the search nothing. Its snapshots
(impl/raft/snapshot.py) make snapshot_prefix and persisted_commit_index: InstallSnapshot
as the AppendEntries of the prefix, and a restart from a snapshot with its entries
committed. Its CheckQuorum and PreVote (impl/raft/election.py) make
check_quorum_step_down and pre_vote_term."""

Variants = Callable[[Raft, RaftState, Transition[Any]], Iterator[RaftState]]


@dataclass(frozen=True)
class Deviation:
    """One catalogued deviation: its name, the spec actions it rewrites, what it allows
    (the docstring of its variants function), and the variants: end states of the spec
    step changed as described. The spec's own step is allowed too, unless ``replaces``:
    then a step that has a variant is taken only as the variant (the implementation
    always deviates there)."""

    name: str
    actions: tuple[str, ...]
    variants: Variants
    replaces: bool = False

    @property
    def doc(self) -> str:
        """What the deviation allows, in a paragraph (its variants' docstring)."""
        return " ".join((self.variants.__doc__ or "").split())

    def apply(self, spec: Raft, prev: RaftState, t: Transition[Any],
              ) -> Iterator[Transition[Any]]:
        """The variants of t (none unless t is a step of an action this rewrites)."""
        if t.action.label.split("[", 1)[0] not in self.actions:
            return
        for state in self.variants(spec, prev, t):
            if state != t.state:
                yield Transition(replace(t.action, label=f"{t.action.label}[{self.name}]"),
                                 t.args, state)


CATALOGUE: dict[str, Deviation] = {}


def _deviation(name: str, *actions: str, replaces: bool = False,
               ) -> Callable[[Variants], Variants]:
    def register(fn: Variants) -> Variants:
        CATALOGUE[name] = Deviation(name, actions, fn, replaces)
        return fn
    return register


def _added(prev: RaftState, state: RaftState) -> Any:
    """The message a step added to the bag (None if none)."""
    old = bag_counts(prev.messages)
    for m, k in bag_counts(state.messages).items():
        if k > old.get(m, 0):
            return m
    return None


def kept_commit_index(prev: RaftState, t: Transition[Any]) -> RaftState | None:
    """t's end state with the follower's commit_index not lowered, if t lowered it (a
    HandleAppendEntriesRequest on an older, reordered request); else None."""
    if t.action.label.split("[", 1)[0] != "HandleAppendEntriesRequest":
        return None
    i = t.args[0].mdest
    old = prev.commit_index[i]
    if t.state.commit_index[i] >= old:
        return None
    state: RaftState = t.state._replace(commit_index=put(t.state.commit_index, i, old))
    return state


# The catalogue, in the order the variants compose (batched before pipelined: the
# pipelined next_index follows the entries actually sent; the follower's cap before
# monotonic_commit_index, which keeps a higher commit index than the cap). Each docstring is the
# catalogue's documentation (docs/reference/deviations.md renders them).

@_deviation(BATCHED_ENTRIES, "AppendEntries")
def batched_entries(spec: Raft, prev: RaftState, t: Transition[Any]) -> Iterator[RaftState]:
    """**Batching of several entries.** An AppendEntries request carries any number of
    the leader's entries from ``next_index`` on (none: a heartbeat), where raft.tla sends
    exactly ``min(available, entries_per_append)``. The commit index sent is capped at
    the last entry sent, as in raft.tla. Which count was sent is only known from the
    message, so log sends with their message (``log.send(m)``)."""
    m = _added(prev, t.state)
    i, j = t.args
    lg, nxt = prev.log[i], prev.next_index[i][j]
    for last in range(nxt - 1, len(lg) + 1):
        m2 = m._replace(mentries=lg[nxt - 1:last],
                        mcommit_index=spec.commit_to_send(prev, i, last))
        if m2 != m:
            yield t.state._replace(messages=without_message(m, with_message(m2, t.state.messages)))


@_deviation(UNCAPPED_COMMIT_INDEX, "AppendEntries", "HandleAppendEntriesRequest",
            replaces=True)
def uncapped_commit_index(spec: Raft, prev: RaftState, t: Transition[Any],
                          ) -> Iterator[RaftState]:
    """**Commit index capped by the follower.** A leader sends its whole commit index in
    AppendEntries, and the follower caps what it takes at the request's last entry
    (``min(leaderCommit, index of last new entry)``, Raft's figure 2), where raft.tla's
    leader caps it before sending. Declared, both halves are required: a leader that
    caps, or a follower that takes more than the request's last entry, is refused."""
    if t.action.label.startswith("AppendEntries"):
        m = _added(prev, t.state)
        i = t.args[0]
        if m.mcommit_index != prev.commit_index[i]:
            whole = m._replace(mcommit_index=prev.commit_index[i])
            yield t.state._replace(messages=without_message(
                m, with_message(whole, t.state.messages)))
        return
    m = t.args[0]
    reply = _added(prev, t.state)
    if reply is not None and reply.mtype == AERESP and reply.msuccess:  # done: it takes
        i = m.mdest
        capped = min(m.mcommit_index, m.mprev_log_index + len(m.mentries))
        yield t.state._replace(commit_index=put(t.state.commit_index, i, capped))


@_deviation(PIPELINED_NEXT_INDEX, "AppendEntries", "HandleAppendEntriesResponse")
def pipelined_next_index(spec: Raft, prev: RaftState, t: Transition[Any],
                         ) -> Iterator[RaftState]:
    """**Optimistic (pipelined) nextIndex.** A leader moves ``next_index[j]`` past the
    entries as it sends them, before j answers, and a success reply never moves it back
    (it sets ``max(next_index[j], match + 1)``). raft.tla moves it only on a reply, to
    exactly ``match + 1``. A failure reply steps it back as raft.tla does (declare
    fast_backup as well for a jump)."""
    if t.action.label.startswith("AppendEntries"):
        m = _added(prev, t.state)
        i, j = t.args
        if m.mentries:
            nxt = put(t.state.next_index[i], j, m.mprev_log_index + len(m.mentries) + 1)
            yield t.state._replace(next_index=put(t.state.next_index, i, nxt))
        return
    m = t.args[0]
    i, j = m.mdest, m.msource
    if m.msuccess and prev.next_index[i][j] > t.state.next_index[i][j]:
        yield t.state._replace(next_index=put(t.state.next_index, i, put(
            t.state.next_index[i], j, prev.next_index[i][j])))


@_deviation(FAST_BACKUP, "HandleAppendEntriesResponse")
def fast_backup(spec: Raft, prev: RaftState, t: Transition[Any]) -> Iterator[RaftState]:
    """**Fast backup from a follower's hint.** On a failure reply the leader sets
    ``next_index[j]`` to any index from 1 to its log's length + 1 (the follower's hint,
    e.g. its last index + 1 or the first index of the conflicting term), where raft.tla
    steps it back by one. The consistency check of the next request keeps this safe.
    Log the next_index the leader takes in the reply's optional ``hint`` field
    (``match_index`` stays 0): then only that jump is tried, else every one."""
    m = t.args[0]
    if m.msuccess:
        return
    i, j = m.mdest, m.msource
    for k in range(1, len(prev.log[i]) + 2):
        yield t.state._replace(next_index=put(t.state.next_index, i,
                                              put(t.state.next_index[i], j, k)))


@_deviation(SNAPSHOT_PREFIX, "AppendEntries")
def snapshot_prefix(spec: Raft, prev: RaftState, t: Transition[Any]) -> Iterator[RaftState]:
    """**Snapshots, as the log prefix they replace.** A leader that compacted its log up
    to a committed index ``s`` (Raft thesis ch. 5) sends a follower that needs an entry
    at or below ``s`` its snapshot (InstallSnapshot): mapped onto the AppendEntries of
    the whole prefix it replaces (``prev_log_index`` 0, the entries 1..s, commit index
    ``s``), which the follower handles as raft.tla does (one entry per step, its log
    becoming the prefix, or keeping what follows it if that agrees). While the snapshot
    is in flight, the leader's heartbeat names ``s`` as ``prev_log_index`` and carries no
    entries. raft.tla sends from ``next_index`` instead; these start at index 1 or ``s``,
    for any ``s`` from ``next_index`` up to the leader's commit index. A compacted log
    is otherwise mapped onto the whole log (the snapshot's committed prefix, then the
    entries kept). In an event log the follower's ``InstallSnapshot`` (a
    ``SendSnapshot`` by the leader) is matched by the spec steps handling that request,
    and a server restarting from its snapshot keeps its commit index
    (persisted_commit_index)."""
    m = _added(prev, t.state)
    i, j = t.args
    lg = prev.log[i]
    # the leader sends the snapshot (or the heartbeat naming it) only to a follower that
    # needs an entry it covers: next_index[j] <= s
    for s in range(max(prev.next_index[i][j], 1), prev.commit_index[i] + 1):
        commit = spec.commit_to_send(prev, i, s)
        for m2 in (m._replace(mprev_log_index=0, mprev_log_term=0, mentries=lg[:s],
                              mcommit_index=commit),
                   m._replace(mprev_log_index=s, mprev_log_term=lg[s - 1].term, mentries=(),
                              mcommit_index=commit)):
            if m2 != m:
                yield t.state._replace(messages=without_message(m, with_message(
                    m2, t.state.messages)))


@_deviation(MONOTONIC_MATCH_INDEX, "HandleAppendEntriesResponse")
def monotonic_match_index(spec: Raft, prev: RaftState, t: Transition[Any],
                          ) -> Iterator[RaftState]:
    """**Monotonic matchIndex.** A leader handling a late success reply that reports a
    lower match than it knows keeps ``match_index[j]`` (and ``next_index[j]``) where they
    are; raft.tla sets both from the reply, possibly lowering them."""
    m = t.args[0]
    i, j = m.mdest, m.msource
    if m.msuccess and m.mmatch_index < prev.match_index[i][j]:
        s = t.state
        yield s._replace(
            match_index=put(s.match_index, i, put(s.match_index[i], j, prev.match_index[i][j])),
            next_index=put(s.next_index, i, put(s.next_index[i], j, max(
                s.next_index[i][j], prev.next_index[i][j]))))


@_deviation(MONOTONIC_COMMIT_INDEX, "HandleAppendEntriesRequest")
def monotonic_commit_index(spec: Raft, prev: RaftState, t: Transition[Any],
                           ) -> Iterator[RaftState]:
    """**Monotonic commitIndex** (agree's own server declares it, in the default). A
    follower handling an older, reordered AppendEntries keeps its higher
    ``commit_index``, where raft.tla sets it to the request's, lowering it."""
    state = kept_commit_index(prev, t)
    if state is not None:
        yield state


@_deviation(CHECK_QUORUM_STEP_DOWN, "CheckQuorumStepDown")
def check_quorum_step_down(spec: Raft, prev: RaftState, t: Transition[Any],
                           ) -> Iterator[RaftState]:
    """**CheckQuorum step-down** (agree's own server declares it, in the default). A
    leader that has not heard from a quorum for an election timeout becomes a follower
    in the same term, keeping its vote, log and commit index (etcd's CheckQuorum). raft.tla
    has no such step; it is mapped onto the leader's ``Restart(i)`` with its
    ``commit_index`` kept: a restart also keeps the term, vote and log and resets the
    role and the candidate and leader variables (the implementation resets them too),
    and every index a server knows committed stays committed (persisted_commit_index's
    argument). Only the event ``CheckQuorumStepDown`` (a Leader's) has this variant, not
    a logged or inferred Restart; undeclared, the event is judged as raft.tla's Restart.
    PreVote's messages are not raft.tla's and change no spec variable (the mapping
    leaves them out; see pre_vote_term for the one step they cause), and a vote request
    ignored in a leader's lease is a message the network lost."""
    i = t.args[0]
    if prev.state[i] == LEADER and t.state.commit_index[i] != prev.commit_index[i]:
        yield t.state._replace(commit_index=put(t.state.commit_index, i, prev.commit_index[i]))


@_deviation(PRE_VOTE_TERM, "PreVoteTerm")
def pre_vote_term(spec: Raft, prev: RaftState, t: Transition[Any]) -> Iterator[RaftState]:
    """**A refused pre-vote's term taken** (agree's own server declares it, in the
    default). A server whose pre-vote (PreVote, thesis §9.6) is refused by a server j of
    a higher term becomes a follower in j's term, without a vote, as etcd does (without
    it, a server with the most up-to-date log but a lower term and servers of higher
    terms with shorter logs refuse each other's pre-votes forever). raft.tla has no
    pre-vote messages; the step is mapped onto its ``UpdateTerm`` on a message of that
    term from j, the bag aside: allowed only if j's term is at least that term (terms
    only grow, so j held it when it refused). The event ``PreVoteTerm`` (``i``, ``j``,
    ``term``) has this variant alone; undeclared, it changes nothing and is refused."""
    i, j, term = t.args
    if prev.current_term[i] < term <= prev.current_term[j]:
        yield spec.step(prev, current_term=put(prev.current_term, i, term),
                        state=put(prev.state, i, FOLLOWER), voted_for=put(prev.voted_for, i, None))


@_deviation(PERSISTED_COMMIT_INDEX, "Restart")
def persisted_commit_index(spec: Raft, prev: RaftState, t: Transition[Any],
                           ) -> Iterator[RaftState]:
    """**Persisted commit index.** A server restores its ``commit_index`` from storage
    when it restarts, where raft.tla's Restart sets it to 0: the value it had before, or
    an older one when it persists the index lazily (PySyncObj writes it once a second),
    any value from 1 up to the one it had. Every such index was committed, so this is
    safe; a server coming back with a higher commit index than it had is still refused."""
    i = t.args[0]
    for c in range(prev.commit_index[i], 0, -1):
        yield t.state._replace(commit_index=put(t.state.commit_index, i, c))


@_deviation(NO_DENIAL_REPLIES, "HandleRequestVoteRequest", "HandleAppendEntriesRequest")
def no_denial_replies(spec: Raft, prev: RaftState, t: Transition[Any],
                      ) -> Iterator[RaftState]:
    """**No denial replies.** A server that denies a vote, or rejects an AppendEntries
    request, handles the request without replying (raft.tla always replies). Declaring
    it is explicit but changes no verdict: raft.tla's network may lose any reply and the
    validator never looks for a reply nobody received, so such a run validates without
    it too. Log the handling, or nothing (a request never handled stays in flight)."""
    reply = _added(prev, t.state)
    if reply is None:
        return
    denial = (not reply.mvote_granted) if reply.mtype == RVRESP else (
        reply.mtype == AERESP and not reply.msuccess)
    if denial:
        yield t.state._replace(messages=without_message(reply, t.state.messages))


@_deviation(SELF_VOTE_AT_TIMEOUT, "Timeout")
def self_vote_at_timeout(spec: Raft, prev: RaftState, t: Transition[Any],
                         ) -> Iterator[RaftState]:
    """**The candidate votes for itself at once.** A server that times out votes for
    itself in the same step: raft.tla's Timeout, then its RequestVote to itself, its
    handling and the handling of the reply, taken as one step (so a log shows only
    ``Timeout``; without this deviation, log ``vote_for_self`` after it)."""
    i = t.args[0]
    s = spec.action("RequestVote").fn(t.state, i, i)
    if s is None:
        return
    own = _added(t.state, s)
    s2 = spec.action("HandleRequestVoteRequest").fn(s, own)
    if s2 is None:
        return
    reply = _added(s, s2)
    s3 = spec.action("HandleRequestVoteResponse").fn(s2, reply)
    if s3 is not None:
        yield s3


@_deviation(REPLIES_WITHOUT_TERM, "HandleRequestVoteResponse", "HandleAppendEntriesResponse")
def replies_without_term(spec: Raft, prev: RaftState, t: Transition[Any],
                         ) -> Iterator[RaftState]:
    """**Replies without a term.** Vote and AppendEntries replies carry no term (leave
    ``term`` out of the logged reply): the receiver matches them to the reply in flight
    with the same other fields, whatever its term, and handles one of an older term as
    of its own term (where raft.tla drops it as stale). That is unsafe in general (a
    vote of an old term counted again): the safety properties are what catch it."""
    return iter(())  # matching and handling happen in the validator (validate_logs.py)


def resolve(names: Sequence[str] | None) -> tuple[Deviation, ...]:
    """The deviations of these names in catalogue order (None: ``DEFAULT``; the
    name ``none``: none); ValueError naming an unknown one."""
    if names is None:
        names = DEFAULT
    for name in names:
        if name != "none" and name not in CATALOGUE:
            raise ValueError(f"unknown deviation {name!r} (known: {', '.join(CATALOGUE)}, "
                             "or none)")
    return tuple(d for name, d in CATALOGUE.items() if name in names)


def expand(spec: Raft, deviations: Sequence[Deviation], prev: RaftState,
           t: Transition[Any]) -> list[Transition[Any]]:
    """t and its variants under the declared deviations (composed, in catalogue
    order), each step before its variants (and without them if they replace it)."""
    out = [t]
    for d in deviations:
        new: list[Transition[Any]] = []
        for x in out:
            variants = list(d.apply(spec, prev, x))
            new += variants if variants and d.replaces else [x, *variants]
        out = new
    return out
