"""Declared deviations: the ways a production Raft legitimately differs from raft.tla.

A deviation is declared by name (``agree validate --deviation NAME``, or
``validate_files(..., deviations=[NAME])``). Each one names the spec actions it
rewrites; for a step of those actions it offers *variants*: the spec's own step changed
in the one way the deviation describes, labelled ``Action[name]``. The spec's step is
always tried too, so declaring a deviation never refuses a run that validated without
it. A variant is a state the validator may step to, nothing more: every safety
property is still checked on every state passed through, so a deviation cannot let a
safety violation through (tests/test_deviations.py holds each to it both ways: a run
using it accepted, a seeded real bug still refused with it on).

Without ``--deviation``, the validator declares :data:`DEFAULT` (what agree's own
server does); any ``--deviation`` replaces the default (``--deviation none``: raft.tla
exactly).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agree.models.raft import Raft
from agree.models.raft_types import RaftState
from agree.spec import Transition

__all__ = [
    "BATCHED_ENTRIES",
    "CATALOGUE",
    "DEFAULT",
    "FAST_BACKUP",
    "MONOTONIC_COMMIT_INDEX",
    "MONOTONIC_MATCH_INDEX",
    "NO_DENIAL_REPLIES",
    "PERSISTED_COMMIT_INDEX",
    "PIPELINED_NEXT_INDEX",
    "REPLIES_WITHOUT_TERM",
    "SELF_VOTE_AT_TIMEOUT",
    "Deviation",
    "resolve",
]

#: Restart keeps the commit index the server had (restored from storage).
PERSISTED_COMMIT_INDEX = "persisted_commit_index"
#: The leader moves next_index past the entries it sends, before any reply (pipelining).
PIPELINED_NEXT_INDEX = "pipelined_next_index"
#: On a failed AppendEntries the leader jumps next_index back to the follower's hint.
FAST_BACKUP = "fast_backup"
#: Vote denials and AppendEntries rejections are not sent.
NO_DENIAL_REPLIES = "no_denial_replies"
#: Replies carry no term; the receiver takes them as of its own term.
REPLIES_WITHOUT_TERM = "replies_without_term"
#: An AppendEntries request carries any number of the entries from next_index on.
BATCHED_ENTRIES = "batched_entries"
#: A candidate votes for itself as it times out (no RequestVote to itself).
SELF_VOTE_AT_TIMEOUT = "self_vote_at_timeout"
#: A follower never lowers its commit index (an older AppendEntries arriving late).
MONOTONIC_COMMIT_INDEX = "monotonic_commit_index"
#: A leader never lowers match_index (nor next_index below it) on a late, older reply.
MONOTONIC_MATCH_INDEX = "monotonic_match_index"

#: What agree's own server (impl/raft) declares: the validator's default.
DEFAULT: tuple[str, ...] = (MONOTONIC_COMMIT_INDEX,)

Variants = Callable[[Raft, RaftState, Transition[Any]], Iterator[Transition[Any]]]


@dataclass(frozen=True)
class Deviation:
    """One catalogued deviation: its name, the spec actions it rewrites, and how."""

    name: str
    actions: tuple[str, ...]
    summary: str
    variants: Variants

    def tag(self, t: Transition[Any], state: RaftState) -> Transition[Any]:
        """t's step with ``state`` as its end, labelled with this deviation."""
        return Transition(replace(t.action, label=f"{t.action.label}[{self.name}]"),
                          t.args, state)


def _none(spec: Raft, prev: RaftState, t: Transition[Any]) -> Iterator[Transition[Any]]:
    return iter(())


CATALOGUE: dict[str, Deviation] = {}


def _register(name: str, actions: tuple[str, ...], summary: str,
              variants: Variants = _none) -> None:
    CATALOGUE[name] = Deviation(name, actions, summary, variants)


def resolve(names: Sequence[str] | None) -> tuple[Deviation, ...]:
    """The deviations of these names (None: :data:`DEFAULT`; ``["none"]``: none);
    ValueError naming the unknown one."""
    if names is None:
        names = DEFAULT
    out = []
    for name in names:
        if name == "none":
            continue
        if name not in CATALOGUE:
            raise ValueError(f"unknown deviation {name!r} (known: {', '.join(CATALOGUE)}, "
                             "or none)")
        out.append(CATALOGUE[name])
    return tuple(dict.fromkeys(out))


# Names only, until each variant is written below.
for _name, _actions, _summary in (
        (PERSISTED_COMMIT_INDEX, ("Restart",), "Restart keeps commit_index"),
        (PIPELINED_NEXT_INDEX, ("AppendEntries", "HandleAppendEntriesResponse"),
         "next_index moves on as entries are sent"),
        (FAST_BACKUP, ("HandleAppendEntriesResponse",), "next_index jumps back to a hint"),
        (NO_DENIAL_REPLIES, ("HandleRequestVoteRequest", "HandleAppendEntriesRequest"),
         "denials are not sent"),
        (REPLIES_WITHOUT_TERM, ("HandleRequestVoteResponse", "HandleAppendEntriesResponse"),
         "replies carry no term"),
        (BATCHED_ENTRIES, ("AppendEntries",), "any number of entries per request"),
        (SELF_VOTE_AT_TIMEOUT, ("Timeout",), "the candidate votes for itself at once"),
        (MONOTONIC_COMMIT_INDEX, ("HandleAppendEntriesRequest",),
         "a follower never lowers commit_index"),
        (MONOTONIC_MATCH_INDEX, ("HandleAppendEntriesResponse",),
         "a leader never lowers match_index")):
    _register(_name, _actions, _summary)
