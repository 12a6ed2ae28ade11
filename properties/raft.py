"""What must hold of Raft: the safety properties of the Raft paper's figure 3.

Each property reads only the state's fields, so the bug-zoo variants reuse
them. Two forms where history matters: a *state* form, decided by the current
variables, and a *history* form over the proof-only history variables
(``elections`` always; ``committed`` when the spec keeps it, ``history=True``),
which also sees what Restart has erased (it resets commit_index to 0).

Properties run on every state the checker meets, so each is quick to decide
when nothing relevant changed (cached on the value it reads). When one fails it
returns a witness (properties/raft_witness.py), built only then.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agree.models.raft import Raft
from agree.models.raft_types import LEADER, Election, Entry, Log, RaftState
from agree.properties import raft_witness as why
from agree.spec import Property, Witness, action_property, invariant, property_of, sometimes

__all__ = ["PROPERTIES", "SAFETY", "committed_prefix"]


def _is_prefix(a: Log, b: Log) -> bool:
    return len(a) <= len(b) and b[:len(a)] == a


# Value-keyed memos of pure functions (not identity memos, not state): successors share
# their parent's ``elections`` and logs, so the same value is judged again and again;
# without these caches a Raft check runs ~4% slower (measured when the model's tricks were
# removed, 832845a).
@lru_cache(maxsize=4096)
def _one_leader_per_election_term(elections: frozenset[Election]) -> bool:
    leader: dict[int, int] = {}
    return all(leader.setdefault(e.eterm, e.eleader) == e.eleader for e in elections)


@invariant
def one_leader_per_term(spec: Raft, s: RaftState) -> bool | Witness:
    """Election Safety, on the state: no two servers are leaders of the same term
    (MCraft's OneLeaderPerTerm)."""
    if s.state.count(LEADER) < 2:
        return True
    terms = [s.current_term[i] for i in spec.servers if s.state[i] == LEADER]
    return len(terms) == len(set(terms)) or why.two_leaders(spec, s)


@invariant
def election_safety(spec: Raft, s: RaftState) -> bool | Witness:
    """Election Safety: at most one leader can be elected in a given term (Raft paper,
    figure 3), over every election so far (the history variable ``elections``)."""
    return _one_leader_per_election_term(s.elections) or why.two_elections(spec, s)


@lru_cache(maxsize=4096)
def _logs_match(logs: tuple[Log, ...]) -> bool:
    for a in range(len(logs)):
        for b in range(a + 1, len(logs)):
            la, lb = logs[a], logs[b]
            for n in range(min(len(la), len(lb)), 0, -1):
                if la[n - 1].term == lb[n - 1].term:
                    if la[:n] != lb[:n]:
                        return False
                    break  # the longest matching index implies every shorter one
    return True


@invariant
def log_matching(spec: Raft, s: RaftState) -> bool | Witness:
    """Log Matching: if two logs contain an entry with the same index and term, then the
    logs are identical in all entries up through the given index (Raft paper, figure 3)."""
    return _logs_match(s.log) or why.logs_differ(spec, s)


def committed_prefix(s: RaftState, i: int) -> Log:
    """The entries server i knows are committed: its log up to commit_index[i]."""
    return s.log[i][:s.commit_index[i]]


def _history_in(lg: Log, index: int, entry: Entry) -> bool:
    return len(lg) >= index and lg[index - 1] == entry


@invariant
def leader_completeness(spec: Raft, s: RaftState) -> bool | Witness:
    """Leader Completeness: if a log entry is committed in a given term, then that entry
    will be present in the logs of the leaders for all higher-numbered terms (Raft paper,
    figure 3).

    State form: a server j knows entries committed by a leader of a term no later than
    current_term[j], so every leader i with current_term[i] >= current_term[j] holds
    j's committed prefix. History form (``history=True``): every entry a leader
    committed in term t is in the log of every current leader, and was in the log of
    every leader elected, of a term above t."""
    if spec.history and s.committed:
        later = [(e.eterm, e.elog) for e in s.elections]
        later += [(s.current_term[i], s.log[i]) for i in spec.servers if s.state[i] == LEADER]
        for c in s.committed:
            for term, lg in later:
                if term > c.cterm and not _history_in(lg, c.cindex, c.centry):
                    return why.leader_missing_commit(spec, s, c)
    if LEADER not in s.state or not any(s.commit_index):
        return True
    for i in spec.servers:
        if s.state[i] != LEADER:
            continue
        for j in spec.servers:
            if (s.commit_index[j] and s.current_term[j] <= s.current_term[i]
                    and not _is_prefix(committed_prefix(s, j), s.log[i])):
                return why.leader_missing_prefix(spec, s, i, j)
    return True


@invariant
def state_machine_safety(spec: Raft, s: RaftState) -> bool | Witness:
    """State Machine Safety: if a server has applied a log entry at a given index to its
    state machine, no other server will ever apply a different log entry for the same
    index (Raft paper, figure 3).

    State form: the committed prefixes of any two servers agree (one is a prefix of the
    other). History form (``history=True``): no two entries committed at one index
    differ."""
    if spec.history and s.committed:
        at: dict[int, Entry] = {}
        if any(at.setdefault(c.cindex, c.centry) != c.centry for c in s.committed):
            return why.two_commits(spec, s)
    if not any(s.commit_index):
        return True
    prefixes = [committed_prefix(s, i) for i in spec.servers]
    for a in range(len(prefixes)):
        for b in range(a + 1, len(prefixes)):
            pa, pb = prefixes[a], prefixes[b]
            if not (_is_prefix(pa, pb) or _is_prefix(pb, pa)):
                return why.committed_prefixes_differ(spec, s, a, b)
    return True


@invariant
def commit_index_in_log(spec: Raft, s: RaftState) -> bool | Witness:
    """commitIndex is the index of the highest log entry known to be committed (Raft
    paper, figure 2): a server never counts as committed an entry it does not hold."""
    if not any(s.commit_index):
        return True
    return (all(c <= len(lg) for c, lg in zip(s.commit_index, s.log, strict=True))
            or why.commit_past_log(spec, s))


@action_property
def leader_append_only(spec: Raft, s: RaftState, t: RaftState) -> bool | Witness:
    """Leader Append-Only: a leader never overwrites or deletes entries in its log; it
    only appends new entries (Raft paper, figure 3). Checked on every step where a
    server is leader of the same term before and after."""
    if s.log is t.log:
        return True
    for i in spec.servers:
        if (s.state[i] == LEADER and t.state[i] == LEADER
                and s.current_term[i] == t.current_term[i]
                and not _is_prefix(s.log[i], t.log[i])):
            return why.leader_rewrote(spec, s, t, i)
    return True


@sometimes
def leader_elected(spec: Raft, s: RaftState) -> bool:
    """Some server becomes leader (else the model does nothing interesting)."""
    return LEADER in s.state


@sometimes
def entry_committed(spec: Raft, s: RaftState) -> bool:
    """Some server commits an entry; holds trivially with max_log 0, where no log can
    hold an entry."""
    return spec.max_log == 0 or any(s.commit_index)


def _props(*fns: Any) -> tuple[Property, ...]:
    return tuple(property_of(f) for f in fns)


#: The safety properties of figure 3 (as invariants and one action property).
SAFETY: tuple[Property, ...] = _props(
    election_safety, one_leader_per_term, log_matching, leader_completeness,
    state_machine_safety, leader_append_only, commit_index_in_log)

#: Everything checked by default: safety, and the two "sometimes" sanity properties.
PROPERTIES: tuple[Property, ...] = (*SAFETY, *_props(leader_elected, entry_committed))
