"""Z3 encodings of the Paxos bug zoo (models/zoo/paxos.py) and of the article's
proposal ids (models/paxos_article.py ``PidTimestampPaxos``): each overrides the
one action its explicit twin changes. The Paxos bundle (protocols/catalog.py) names them.
"""

from __future__ import annotations

from typing import Any

import z3  # type: ignore[import-untyped]

from agree.symbolic.paxos.invariant import PaxosVars, PaxosZ3
from agree.symbolic.z3base import fresh

__all__ = ["AcceptBelowPromiseZ3", "AmnesiaZ3", "PidTimestampZ3", "TwoBKeepsPromiseZ3",
           "WrongValueZ3"]


class AcceptBelowPromiseZ3(PaxosZ3):
    """Phase2b without the guard ``m.bal >= maxBal[a]`` (maxBal never decreases)."""

    spec_name = "paxos-accept-below-promise"

    def phase2b(self, s: PaxosVars, tag: str) -> tuple[z3.BoolRef, PaxosVars]:
        a, b = z3.Const(f"a@{tag}", self.acc.sort), z3.Int(f"b@{tag}")
        v = z3.Const(f"v@{tag}", self.val.sort)
        return s.sent2a[b, v], PaxosVars(
            max_bal=z3.Store(s.max_bal, a, z3.If(b > s.max_bal[a], b, s.max_bal[a])),
            max_vbal=z3.Store(s.max_vbal, a, b),
            max_val=z3.Store(s.max_val, a, self.some(v)),
            sent1a=s.sent1a, sent1b=s.sent1b, sent2a=s.sent2a,
            sent2b=self.add(s.sent2b, a, b, v))


class AmnesiaZ3(PaxosZ3):
    """An extra action Restart(a): the acceptor's variables return to their initial values."""

    spec_name = "paxos-amnesia"

    def action_labels(self) -> tuple[str, ...]:
        return (*super().action_labels(), "Restart")

    def update(self, label: str, s: PaxosVars, tag: str) -> tuple[z3.BoolRef, PaxosVars]:
        if label != "Restart":
            return super().update(label, s, tag)
        a = z3.Const(f"a@{tag}", self.acc.sort)
        return z3.BoolVal(True), PaxosVars(
            max_bal=z3.Store(s.max_bal, a, -1), max_vbal=z3.Store(s.max_vbal, a, -1),
            max_val=z3.Store(s.max_val, a, self.none),
            sent1a=s.sent1a, sent1b=s.sent1b, sent2a=s.sent2a, sent2b=s.sent2b)


class WrongValueZ3(PaxosZ3):
    """Phase2a accepts the value of any vote the quorum reported."""

    spec_name = "paxos-wrong-value"
    own_phase2a = False

    def shows_safe(self, s: PaxosVars, b: Any, v: Any, tag: str = "") -> z3.BoolRef:
        def sent(a: Any) -> z3.BoolRef:
            return self.bal_exists(lambda mb: self.opt_any(lambda mv: s.sent1b[a, b, mb, mv]))

        def voted(a: Any) -> z3.BoolRef:
            return self.bal_exists(lambda mb: self.opt_any(
                lambda mv: s.sent1b[a, b, mb, mv]), low=0)

        def reported_v(a: Any) -> z3.BoolRef:
            return self.bal_exists(lambda mb: s.sent1b[a, b, mb, self.some(v)], low=0)

        return self.quorums.exists(lambda q: z3.And(
            q.all(sent), z3.Or(q.all(lambda a: z3.Not(voted(a))), q.any(reported_v))))


class TwoBKeepsPromiseZ3(PaxosZ3):
    """Phase2b leaves maxBal unchanged."""

    spec_name = "paxos-2b-keeps-promise"

    def phase2b(self, s: PaxosVars, tag: str) -> tuple[z3.BoolRef, PaxosVars]:
        guard, t = super().phase2b(s, tag)
        return guard, t._replace(max_bal=s.max_bal)


class PidTimestampZ3(PaxosZ3):
    """Phase2a: up to ``proposers`` different values per ballot (ids are not unique)."""

    spec_name = "paxos-pid-timestamp"
    own_phase2a = False
    #: Spec parameters the constructor takes beyond the sizes (symbolic/paxos/driver.py).
    extra_params = ("proposers",)

    def __init__(self, acceptors: int | None = 3, values: int | None = None,
                 max_ballot: int | None = None, quorum_sort: bool = False,
                 proposers: int = 2) -> None:
        super().__init__(acceptors, values, max_ballot, quorum_sort)
        self.proposers = proposers

    def phase2a(self, s: PaxosVars, tag: str) -> tuple[z3.BoolRef, PaxosVars]:
        b, v = z3.Int(f"b@{tag}"), z3.Const(f"v@{tag}", self.val.sort)
        ws = [fresh("w", self.val.sort) for _ in range(self.proposers)]
        full = z3.Exists(ws, z3.And(z3.Distinct(*ws) if len(ws) > 1 else z3.BoolVal(True),
                                    *(s.sent2a[b, w] for w in ws)))
        guard = z3.And(self._ballot(b), z3.Not(s.sent2a[b, v]), z3.Not(full),
                       self.shows_safe(s, b, v, tag))
        return guard, s._replace(sent2a=self.add(s.sent2a, b, v))

