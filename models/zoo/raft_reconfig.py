"""The membership-change zoo: known mistakes in Raft's configuration changes, each a small
variant of models/raft_reconfig.py that drops or bends one rule, with where it is
described. ``agree list`` shows them; docs/raft-reconfig.md gives the command that finds
each counterexample and the time it took.
"""

from __future__ import annotations

from typing import ClassVar

from agree.models.raft_reconfig import RaftReconfig
from agree.models.raft_types import RaftState
from agree.spec import action

__all__ = ["ConcurrentChangesReconfig", "NoOwnTermCommitReconfig", "TwoAtOnceReconfig"]


class NoOwnTermCommitReconfig(RaftReconfig):
    """A new leader changes the configuration before it has committed an entry of its term.

    The single-server membership change bug Ongaro reported in 2015 (raft-dev, "bug in
    single-server membership changes"; raft_membership.tla has it too): in a
    configuration of four, a leader adds its change while a leader of an earlier term
    left a different, uncommitted change behind in its own log; the two configurations
    share no majority, and a committed entry is lost. The fix: a leader commits an entry
    of its term (its no-op) before any change. ``own_term_committed`` always holds."""

    name: ClassVar[str] = "raft-reconfig-no-own-term-commit"

    def own_term_committed(self, s: RaftState, i: int) -> bool:
        return True


class ConcurrentChangesReconfig(RaftReconfig):
    """A leader starts a configuration change before the previous one is committed.

    Breaks Ongaro's thesis §4.1 ("a leader ... does not begin a new configuration change
    until the previous one is committed"): two single-server steps in flight are a
    two-server change, so servers still on the configuration before both can elect a
    leader the others never heard of. ``previous_change_committed`` always holds."""

    name: ClassVar[str] = "raft-reconfig-concurrent-changes"

    def previous_change_committed(self, s: RaftState, i: int) -> bool:
        return True


class TwoAtOnceReconfig(RaftReconfig):
    """A leader removes two servers in one configuration entry.

    Breaks the single-server rule (Raft paper §6, figure 10: "switching directly from one
    configuration to another is unsafe"; thesis §4.1-4.3: change one server at a time, or
    use joint consensus): servers that have the new configuration and servers that do
    not can form disjoint majorities. Adds RemoveTwo(i, j, k)."""

    name: ClassVar[str] = "raft-reconfig-two-at-once"

    # RemoveTwo(i, j, k): leader i removes j and k (j < k) in one entry.
    @action(i="servers", j="servers", k="servers")
    def remove_two(self, s: RaftState, i: int, j: int, k: int) -> RaftState | None:
        if j >= k or not self.may_change(s, i):
            return None
        cfg = self.config(s, i)
        if j not in cfg or k not in cfg or len(cfg) <= 2:
            return None
        return self.change(s, i, cfg - {j, k})
