"""The Raft bug zoo (models/zoo/raft.py) in the BMC encoding: each variant overrides the
same step of :class:`~agree.symbolic.raft.bmc.RaftBmc` that its explicit twin overrides. The
Raft bundle (protocols/catalog.py) names them."""

from __future__ import annotations

from typing import Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft.bmc import F, L, Msg, RaftBmc, State, put

__all__ = ["CommitOldTermBmc", "CommitPastEntriesBmc", "ForgetTermBmc", "ForgetVoteBmc",
           "LeaderIgnoresTermBmc", "StaleVotesBmc", "TruncateOnStaleAppendBmc", "VoteAnyLogBmc"]


class CommitOldTermBmc(RaftBmc):
    """AdvanceCommitIndex without the current-term check."""

    spec_name = "raft-commit-old-term"

    def new_commit_index(self, s: State, i: int) -> Any:
        out: Any = s.commit[i]
        for x in range(1, self.max_log + 1):
            out = z3.If(self.agreed(s, i, x), self.k(x), out)
        return out


class ForgetVoteBmc(RaftBmc):
    """Restart also forgets voted_for."""

    spec_name = "raft-forget-vote"

    def restarted(self, s: State, t: State, i: int) -> State:
        return t._replace(voted=put(t.voted, i, self.k(self.nil)))


class ForgetTermBmc(RaftBmc):
    """Restart comes back in term 1."""

    spec_name = "raft-forget-term"

    def restarted(self, s: State, t: State, i: int) -> State:
        return t._replace(term=put(t.term, i, self.k(1)))


class VoteAnyLogBmc(RaftBmc):
    """A vote is granted whatever the candidate's log."""

    spec_name = "raft-vote-any-log"

    def log_ok_for_vote(self, s: State, i: int, m: Msg) -> Any:
        return z3.BoolVal(True)


class LeaderIgnoresTermBmc(RaftBmc):
    """UpdateTerm keeps a leader a leader."""

    spec_name = "raft-leader-ignores-term"

    def term_updated(self, s: State, t: State, i: int) -> State:
        keep = z3.If(s.role[i] == L, self.k(L), self.k(F))
        return t._replace(role=put(t.role, i, keep))


class StaleVotesBmc(RaftBmc):
    """Votes of any term up to the current one are tallied."""

    spec_name = "raft-stale-votes"

    def tally_ok(self, s: State, i: int, m: Msg) -> Any:
        return m.term <= s.term[i]


class TruncateOnStaleAppendBmc(RaftBmc):
    """The "already done" branch cuts the log after the request's last entry."""

    spec_name = "raft-truncate-on-stale-append"

    def append_done(self, s: State, t: State, i: int, m: Msg) -> State:
        keep = m.f1 + z3.If(m.flag, self.k(1), self.k(0))
        keep = z3.If(keep < s.llen[i], keep, s.llen[i])
        terms = [z3.If(p > keep, self.k(0), s.lterm[i][p - 1]) for p in self.idx]
        vals = [z3.If(p > keep, self.k(0), s.lval[i][p - 1]) for p in self.idx]
        return self.set_log(t, i, keep, terms, vals)


class CommitPastEntriesBmc(RaftBmc):
    """The leader sends its commit index uncapped."""

    spec_name = "raft-commit-past-entries"

    def commit_to_send(self, s: State, i: int, last: Any) -> Any:
        return s.commit[i]

