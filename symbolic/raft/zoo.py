"""Z3 encodings of the Raft bug zoo (models/zoo/raft.py): each overrides the same step
of :class:`~agree.symbolic.raft.encoding.RaftZ3` that its explicit twin overrides. The Raft
bundle (protocols/catalog.py) names them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft.encoding import RaftVars, RaftZ3
from agree.symbolic.z3base import fresh

__all__ = ["CommitOldTermZ3", "CommitPastEntriesZ3", "ForgetTermZ3", "ForgetVoteZ3",
           "LeaderIgnoresTermZ3", "StaleVotesZ3", "TruncateOnStaleAppendZ3", "VoteAnyLogZ3"]


class CommitOldTermZ3(RaftZ3):
    """AdvanceCommitIndex without the current-term check."""

    spec_name = "raft-commit-old-term"

    def new_commit_index(self, s: RaftVars, i: Any) -> Any:
        top = self.agree_index(s, i)
        return z3.If(top > 0, top, s.commit[i])


class ForgetVoteZ3(RaftZ3):
    """Restart also forgets voted_for."""

    spec_name = "raft-forget-vote"

    def a_restart(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        guard, t = super().a_restart(s, tag)
        return guard, t._replace(voted=z3.Store(s.voted, self.server("i", tag), self.nil))


class ForgetTermZ3(RaftZ3):
    """Restart comes back in term 1."""

    spec_name = "raft-forget-term"

    def a_restart(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        guard, t = super().a_restart(s, tag)
        return guard, t._replace(term=z3.Store(s.term, self.server("i", tag), 1))


class VoteAnyLogZ3(RaftZ3):
    """A vote is granted whatever the candidate's log."""

    spec_name = "raft-vote-any-log"

    def log_ok_for_vote(self, s: RaftVars, i: Any, last_term: Any, last_index: Any,
                        ) -> z3.BoolRef:
        return z3.BoolVal(True)


class LeaderIgnoresTermZ3(RaftZ3):
    """UpdateTerm keeps a leader a leader."""

    spec_name = "raft-leader-ignores-term"

    def a_update_term(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        guard, t = super().a_update_term(s, tag)
        _k, _f, i, _t = self.any_message(s, ("rvreq", "rvresp", "aereq", "aeresp"), tag)
        keep = z3.If(s.role[i] == self.L, self.L, self.F)
        return guard, t._replace(role=z3.Store(s.role, i, keep))


class StaleVotesZ3(RaftZ3):
    """Votes of any term up to the current one are tallied."""

    spec_name = "raft-stale-votes"

    def tally_ok(self, s: RaftVars, i: Any, t: Any) -> z3.BoolRef:
        return t <= s.term[i]


class TruncateOnStaleAppendZ3(RaftZ3):
    """The "already done" branch cuts the log after the request's last entry."""

    spec_name = "raft-truncate-on-stale-append"

    def done_log(self, s: RaftVars, m: Sequence[Any]) -> tuple[Any, Any, Any]:
        _j, i, _t, prev, _pt, entry, _c = m
        keep = prev + z3.If(self.is_ent(entry), 1, 0)
        keep = z3.If(keep < s.llen[i], keep, s.llen[i])
        if self.proof:
            a, k = fresh("a", self.S), fresh("k", z3.IntSort())
            cut = z3.And(a == i, k > keep)
            lterm = z3.Lambda([a, k], z3.If(cut, 0, s.lterm[a, k]))
            lval = z3.Lambda([a, k], z3.If(cut, self.v0, s.lval[a, k]))
        else:  # logs of bounded configurations are at most max_log + 1 long
            lterm, lval = s.lterm, s.lval
            for k2 in range(1, self.max_log + 2):
                lterm = z3.Store(lterm, i, k2, z3.If(k2 > keep, 0, s.lterm[i, k2]))
                lval = z3.Store(lval, i, k2, z3.If(k2 > keep, self.v0, s.lval[i, k2]))
        return z3.Store(s.llen, i, keep), lterm, lval


class CommitPastEntriesZ3(RaftZ3):
    """The leader sends its commit index uncapped."""

    spec_name = "raft-commit-past-entries"

    def commit_to_send(self, s: RaftVars, i: Any, last: Any) -> Any:
        return s.commit[i]

