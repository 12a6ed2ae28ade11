"""Counterexamples too deep for exhaustive search, written as scenarios and checked.

A scenario is a list of steps, each an action name and its arguments as they
read in a trace (servers ``s1``, values ``v1``, a message by the start of its
one-line form). Every step must be enabled in the variant: the scenario is
replayed through the spec, and the property must fail in its last state. The
result is saved as a trace file (``NAME.PROPERTY.scenario.json`` in a temporary
folder, not in traces/: the zoo's committed traces are found by the checker) that
``agree trace show`` renders and that loading re-validates. A scenario is *a*
counterexample, not necessarily a shortest one. Usage:

    python benchmarks/zoo_scenarios.py [NAME ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from agree.protocols import registry
from agree.spec import Transition
from agree.traces.trace import Trace, save_trace

OUT = Path(tempfile.gettempdir()) / "agree-zoo-scenarios"


def _vote(cand: str, voter: str, term: int, last: str) -> list[str]:
    """Candidate asks voter (already in term), voter answers, candidate tallies."""
    return [f"RequestVote {cand} {voter}",
            f"HandleRequestVoteRequest {cand}->{voter} RequestVoteRequest term={term} last={last}",
            f"HandleRequestVoteResponse {voter}->{cand} RequestVoteResponse term={term}"]


def _vote_new_term(cand: str, voter: str, term: int, last: str) -> list[str]:
    """As _vote, for a voter that first adopts the candidate's newer term."""
    req = f"{cand}->{voter} RequestVoteRequest term={term} last={last}"
    return [f"RequestVote {cand} {voter}", f"UpdateTerm {req}", f"HandleRequestVoteRequest {req}",
            f"HandleRequestVoteResponse {voter}->{cand} RequestVoteResponse term={term}"]


#: Figure 8 with three servers: s1 (term 2) writes 2:v1 alone; s3 (term 3) writes 3:v1
#: alone; s1 (term 4) copies 2:v1 to s2 and, counting replicas, commits it; s3 wins
#: term 5 with s2's vote (its last term 3 beats 2), so a leader lacks a committed entry.
FIGURE_8 = [
    "Timeout s1", *_vote("s1", "s1", 2, "0/0"), *_vote_new_term("s1", "s2", 2, "0/0"),
    "BecomeLeader s1", "ClientRequest s1 v1",
    "Timeout s3", "Timeout s3", *_vote("s3", "s3", 3, "0/0"),
    *_vote_new_term("s3", "s2", 3, "0/0"), *_vote_new_term("s3", "s1", 3, "0/0"),
    "BecomeLeader s3", "ClientRequest s3 v1",
    "Timeout s1", *_vote("s1", "s1", 4, "1/2"), *_vote_new_term("s1", "s2", 4, "1/2"),
    *_vote_new_term("s1", "s3", 4, "1/2"), "BecomeLeader s1",
    "AppendEntries s1 s2", "HandleAppendEntriesRequest s1->s2 AppendEntriesRequest term=4 prev=1",
    "HandleAppendEntriesResponse s2->s1 AppendEntriesResponse term=4 failure",
    "AppendEntries s1 s2", "HandleAppendEntriesRequest s1->s2 AppendEntriesRequest term=4 prev=0",
    "HandleAppendEntriesRequest s1->s2 AppendEntriesRequest term=4 prev=0",
    "HandleAppendEntriesResponse s2->s1 AppendEntriesResponse term=4 success",
    "AdvanceCommitIndex s1",
    "Timeout s3", *_vote("s3", "s3", 5, "1/3"), *_vote_new_term("s3", "s2", 5, "1/3"),
    "BecomeLeader s3",
]

#: s1 (term 2) sends s2 a heartbeat that is delayed; s1 then commits 2:v1 with s2; the
#: stale heartbeat makes s2 cut its log to nothing; s3 wins term 3 with s2's vote.
TRUNCATE_ON_STALE_APPEND = [
    "Timeout s1", *_vote("s1", "s1", 2, "0/0"), *_vote_new_term("s1", "s2", 2, "0/0"),
    "BecomeLeader s1", "AppendEntries s1 s2", "ClientRequest s1 v1", "AppendEntries s1 s2",
    "HandleAppendEntriesRequest s1->s2 AppendEntriesRequest term=2 prev=0/0 commit=0 "
    "entries=[2:v1]",
    "HandleAppendEntriesRequest s1->s2 AppendEntriesRequest term=2 prev=0/0 commit=0 "
    "entries=[2:v1]",
    "HandleAppendEntriesResponse s2->s1 AppendEntriesResponse term=2 success match=1",
    "AdvanceCommitIndex s1",
    "HandleAppendEntriesRequest s1->s2 AppendEntriesRequest term=2 prev=0/0 commit=0 entries=[]",
    "HandleAppendEntriesResponse s2->s1 AppendEntriesResponse term=2 success match=0",
    "Timeout s3", "Timeout s3", *_vote("s3", "s3", 3, "0/0"),
    *_vote_new_term("s3", "s2", 3, "0/0"), "BecomeLeader s3",
]

def _replicate(leader: str, follower: str, term: int, prev: str, new_term: bool = False,
               ) -> list[str]:
    """Leader sends one entry after ``prev``; the follower appends it, acknowledges, and
    the leader counts the acknowledgement (the follower adopts the term first if new)."""
    req = f"{leader}->{follower} AppendEntriesRequest term={term} prev={prev}"
    return [f"AppendEntries {leader} {follower}", *([f"UpdateTerm {req}"] if new_term else []),
            f"HandleAppendEntriesRequest {req}", f"HandleAppendEntriesRequest {req}",
            f"HandleAppendEntriesResponse {follower}->{leader} AppendEntriesResponse "
            f"term={term} success"]


#: Ongaro's 2015 bug with four servers (raft-reconfig-no-own-term-commit): s1 (term 2)
#: commits 2:v1 with s3, s4 (and copies it to s2 too), then legitimately removes s3
#: (C_a = {s1,s2,s4}, uncommitted, in s1's log only); s3 wins term 3 with s2, s4 (s1
#: refuses it); s1 wins term 4 under C_a with s2; s3, leader of term 3 without a committed
#: entry of its term, removes s1 (C_b = {s2,s3,s4}) and commits it with s4: C_a and C_b
#: share no majority, and s1, leader of term 4, lacks the committed entry. (s2 holds 2:v1
#: so that the correct spec's continuations from just before the bug, where s1 would
#: otherwise walk s2's log back from nothing, stay few enough to explore completely.)
NO_OWN_TERM_COMMIT = [
    "Timeout s1", *_vote("s1", "s1", 2, "0/0"), *_vote_new_term("s1", "s2", 2, "0/0"),
    *_vote_new_term("s1", "s3", 2, "0/0"), "BecomeLeader s1", "ClientRequest s1 v1",
    *_replicate("s1", "s3", 2, "0/0"), *_replicate("s1", "s4", 2, "0/0", new_term=True),
    *_replicate("s1", "s2", 2, "0/0"),
    "AdvanceCommitIndex s1", "RemoveServer s1 s3",
    "Timeout s3", *_vote("s3", "s3", 3, "1/2"), *_vote_new_term("s3", "s2", 3, "1/2"),
    *_vote_new_term("s3", "s4", 3, "1/2"), *_vote_new_term("s3", "s1", 3, "1/2"),
    "BecomeLeader s3",
    "Timeout s1", *_vote("s1", "s1", 4, "2/2"), *_vote_new_term("s1", "s2", 4, "2/2"),
    "BecomeLeader s1",
    "RemoveServer s3 s1", *_replicate("s3", "s4", 3, "1/2"), "AdvanceCommitIndex s3",
]

#: Where the fix is at work: the 2015 scenario up to s1's own vote for term 4 (s3 leads
#: term 3, nobody else has yet heard of term 4), then the *correct* s3 commits an entry of
#: its term with s2 and s4 first, which it may then follow with a change; s1 can no
#: longer win term 4 (s2 and s4 hold 3:v1). A behaviour of raft-reconfig, not of the bug:
#: tests/test_reconfig_zoo_from.py searches the correct spec from its end.
OWN_TERM_FIRST = [*NO_OWN_TERM_COMMIT[:NO_OWN_TERM_COMMIT.index("BecomeLeader s3") + 5],
                  "ClientRequest s3 v1", *_replicate("s3", "s2", 3, "1/2"),
                  *_replicate("s3", "s4", 3, "1/2")]

#: Three servers: s1 (term 2) commits 2:v1 with s2 (and, for ConcurrentChanges, removes
#: s3); s2 times out and gathers the votes of s3 and itself, still on {s1,s2,s3}, for term
#: 3 (s1 hears nothing of it); s1 removes s2 before its first change commits
#: (ConcurrentChanges), or s2 and s3 at once (TwoAtOnce); alone in {s1} it commits; s2
#: becomes leader of term 3, its log lacking the commit. Every step before the buggy
#: change is one the correct spec takes too.
_ALONE_PREFIX = [
    "Timeout s1", *_vote("s1", "s1", 2, "0/0"), *_vote_new_term("s1", "s2", 2, "0/0"),
    "BecomeLeader s1", "ClientRequest s1 v1", *_replicate("s1", "s2", 2, "0/0"),
    "AdvanceCommitIndex s1"]
_CAMPAIGN_S2 = ["Timeout s2", *_vote_new_term("s2", "s3", 3, "1/2"),
                *_vote("s2", "s2", 3, "1/2")]
CONCURRENT_CHANGES = [*_ALONE_PREFIX, "RemoveServer s1 s3", *_CAMPAIGN_S2,
                      "RemoveServer s1 s2", "AdvanceCommitIndex s1", "BecomeLeader s2"]
TWO_AT_ONCE = [*_ALONE_PREFIX, *_CAMPAIGN_S2, "RemoveTwo s1 s2 s3", "AdvanceCommitIndex s1",
               "BecomeLeader s2"]

#: name -> (property, scenario). raft-vote-any-log had one too, until `agree check
#: raft-vote-any-log --symmetry` found a shortest counterexample (traces/zoo_deep/).
SCENARIOS: dict[str, tuple[str, list[str]]] = {
    "raft-commit-old-term": ("leader_completeness", FIGURE_8),
    "raft-truncate-on-stale-append": ("leader_completeness", TRUNCATE_ON_STALE_APPEND),
    "raft-reconfig-no-own-term-commit": ("leader_completeness", NO_OWN_TERM_COMMIT),
    "raft-reconfig-concurrent-changes": ("leader_completeness", CONCURRENT_CHANGES),
    "raft-reconfig-two-at-once": ("leader_completeness", TWO_AT_ONCE),
}


def _matches(spec: Any, tr: Transition[Any], words: list[str]) -> bool:
    if tr.action.label != words[0]:
        return False
    args = words[1:]
    if len(tr.args) == 1 and hasattr(tr.args[0], "mtype"):
        return str(tr.args[0]).startswith(" ".join(args))
    shown = [spec.show(d if isinstance(d, str) else "", a)
             for (_, d), a in zip(tr.action.domains, tr.args, strict=True)]
    return shown == args


def replay(spec: Any, steps: list[str], name: str, prop: Any = None,
           ) -> list[Transition[Any]]:
    """The transitions of ``steps`` from ``spec``'s initial state: every step enabled,
    matching exactly one successor, inside the state constraint, and (given ``prop``)
    the property holding before the last step."""
    state = next(iter(spec.init()))
    taken: list[Transition[Any]] = []
    for n, step in enumerate(steps, 1):
        found = [tr for tr in spec.successors(state) if _matches(spec, tr, step.split())]
        if len(found) != 1:
            raise SystemExit(f"{name}: step {n} {step!r} matches {len(found)} successors")
        taken.append(found[0])
        state = found[0].state
        if not spec.constraint(state):
            raise SystemExit(f"{name}: step {n} leaves the state constraint")
        if prop is not None and n < len(steps) and not prop.holds(spec, state):
            raise SystemExit(f"{name}: {prop.name} already fails after step {n}")
    return taken


def build(name: str) -> Trace:
    """Replay a scenario through the variant (its registered defaults); every step must
    be enabled and match exactly one successor; the property must fail at the end."""
    prop_name, steps = SCENARIOS[name]
    spec, props = registry.build(name)
    prop = next(p for p in props if p.name == prop_name)
    taken = replay(spec, steps, name, prop)
    state = taken[-1].state
    if prop.holds(spec, state):
        raise SystemExit(f"{name}: {prop_name} still holds at the end of the scenario")
    return Trace.from_transitions(spec, next(iter(spec.init())), taken, prop_name, prop.kind)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[1:] or list(SCENARIOS):
        trace = build(name)
        path = OUT / f"{name}.{trace.property}.scenario.json"
        save_trace(trace, path)
        print(f"{name}: {trace.property} fails after {len(trace)} steps; wrote {path}")


if __name__ == "__main__":
    main()
