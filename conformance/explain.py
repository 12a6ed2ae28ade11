"""What a refusal of `agree validate` says: a server's variables as the log writes them,
and what went wrong in plain words where a known pattern applies.

The patterns are those a spec difference list states only indirectly: a term that went
backwards (over a restart or not), a second vote in one term, a log shorter after a
restart, a commit index a restart should have reset. Each is read off the server's
variables before the refused batch, the batch's State line, and the spec state the
closest attempt reached.
"""

from __future__ import annotations

from typing import Any

from agree.conformance.codec import ValueCodec
from agree.models.raft_types import RaftState

__all__ = ["VAR_NAMES", "diff", "plain", "show"]

VAR_NAMES = ("current_term", "state", "voted_for", "log", "commit_index", "votes_responded",
             "votes_granted", "next_index", "match_index")


def plain(i: int, s: RaftState, target: tuple[Any, ...], restarted: bool,
          reached: RaftState, persisted_commit: bool) -> str:
    """What went wrong at server i, in a sentence, for the differences that say it
    without the spec's help (a term going backwards, a vote or log forgotten over a
    restart); '' when none applies."""
    term, _, voted, log, commit = target[:5]
    who = f"s{i + 1}"
    if term < s.current_term[i]:
        if restarted:
            return (f"{who} restarted with current_term {term}, lower than the "
                    f"{s.current_term[i]} it had before (current_term must survive a "
                    "restart: is it persisted?)")
        return f"{who}'s current_term went down from {s.current_term[i]} to {term}"
    if restarted and term < reached.current_term[i]:
        return (f"{who} restarted and its current_term went back: it ends the batch in term "
                f"{term}, where from the {s.current_term[i]} it had before the spec reaches "
                f"{reached.current_term[i]} (current_term must survive a restart)")
    had = s.voted_for[i]
    if term == s.current_term[i] and had is not None and voted not in (None, had):
        return (f"{who} {'restarted and ' if restarted else ''}voted for s{voted + 1} in "
                f"term {term}, where it had voted for s{had + 1} in that term "
                "already" + (" (voted_for must survive a restart)" if restarted else ""))
    if restarted and len(log) < len(s.log[i]):
        return (f"{who} restarted with {len(log)} log entries, fewer than the "
                f"{len(s.log[i])} it had (the log must survive a restart)")
    if restarted and not persisted_commit and commit > 0 and commit == s.commit_index[i]:
        return (f"{who} restarted with commit_index {commit} where raft.tla's Restart sets "
                "0 (declare persisted_commit_index if it restores it from storage)")
    return ""


def diff(spec_side: tuple[Any, ...], log_side: tuple[Any, ...], i: int,
          codec: ValueCodec) -> list[str]:
    return [f"{name}[s{i + 1}]: spec {show(name, a, codec)}, log {show(name, c, codec)}"
            for name, a, c in zip(VAR_NAMES, spec_side, log_side, strict=True) if a != c]


def show(name: str, v: Any, codec: ValueCodec) -> str:
    """A variable's value as the log writes it: servers s1.., entries term:value."""
    if name == "voted_for":
        return "Nil" if v is None else f"s{v + 1}"
    if name == "log":
        return "[" + ", ".join(f"{e.term}:{codec.show(e.value)}" for e in v) + "]"
    if isinstance(v, frozenset):
        return "{" + ", ".join(f"s{x + 1}" for x in sorted(v)) + "}"
    if isinstance(v, tuple):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)
