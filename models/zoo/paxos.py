"""The Paxos bug zoo: known Paxos mistakes, each a small variant of Paxos.tla.

Each class changes one step of :class:`~agree.models.paxos.Paxos` (an action,
or the helper only that action uses) and says which rule it breaks and where
the mistake is described. All of them break agreement (two values chosen);
the registry holds the smallest configuration our search found
(``benchmarks/zoo_search.py``) as each entry's defaults.
"""

from __future__ import annotations

from typing import ClassVar

from agree.models.paxos import M1b, M2a, M2b, Paxos, PaxosState, put
from agree.spec import action

__all__ = ["AcceptBelowPromisePaxos", "AmnesiaPaxos", "TwoBKeepsPromisePaxos",
           "WrongValuePaxos"]


class AcceptBelowPromisePaxos(Paxos):
    """An acceptor votes in a ballot below the one it promised (joined).

    Breaks the promise of phase 1b (Paxos Made Simple §2.2: an acceptor "can accept
    a proposal numbered n iff it has not responded to a prepare request having a
    number greater than n"). Phase2b drops its guard ``m.bal >= maxBal[a]``; the
    promise itself is kept (maxBal never decreases)."""

    name: ClassVar[str] = "paxos-accept-below-promise"

    def phase2b(self, s: PaxosState, a: int, m: M2a) -> PaxosState | None:
        return self.step(s, max_bal=put(s.max_bal, a, max(s.max_bal[a], m.bal)),
                         max_vbal=put(s.max_vbal, a, m.bal), max_val=put(s.max_val, a, m.val),
                         msgs=s.msgs | {M2b(acc=a, bal=m.bal, val=m.val)})


class AmnesiaPaxos(Paxos):
    """An acceptor forgets its promise and its vote when it restarts.

    Breaks Paxos Made Simple §2.2 (an acceptor "must remember this information even
    if it fails and then restarts"; Paxos Made Live: a replica that lost its disk
    must not vote until it has caught up). Paxos.tla needs no Restart because
    acceptor state is stable; this variant adds Restart(a), which resets maxBal,
    maxVBal and maxVal to their initial values (messages already sent remain)."""

    name: ClassVar[str] = "paxos-amnesia"

    @action(a="acceptors")
    def restart(self, s: PaxosState, a: int) -> PaxosState | None:
        return self.step(s, max_bal=put(s.max_bal, a, -1), max_vbal=put(s.max_vbal, a, -1),
                         max_val=put(s.max_val, a, None))


class WrongValuePaxos(Paxos):
    """A proposer proposes the value of any vote its quorum reported, not necessarily
    the one of the highest ballot.

    Breaks Paxos Made Simple §2.2 (phase 2a: v is "the value of the highest-numbered
    proposal among the responses"); MIT 6.824's Paxos notes. Phase2a's ShowsSafe
    accepts any reported vote's value."""

    name: ClassVar[str] = "paxos-wrong-value"

    def shows_safe(self, q: frozenset[int], joined: dict[int, list[M1b]], v: int) -> bool:
        if not all(joined.get(a) for a in q):
            return False
        voted = [m for a in q for m in joined[a] if m.mbal >= 0]
        return not voted or any(m.mval == v for m in voted)


class TwoBKeepsPromisePaxos(Paxos):
    """An acceptor that votes in a ballot above its promise does not raise the promise.

    Breaks Paxos.tla's Phase2b (``maxBal' = [maxBal EXCEPT ![a] = m.bal]``): having
    voted in ballot b, the acceptor may still vote in a lower ballot it promised
    earlier and so overwrite its vote. Described by Brooker (2021-11-16), cited in
    apache/cassandra PR #1327. Phase2b leaves maxBal unchanged."""

    name: ClassVar[str] = "paxos-2b-keeps-promise"

    def phase2b(self, s: PaxosState, a: int, m: M2a) -> PaxosState | None:
        if not m.bal >= s.max_bal[a]:
            return None
        return self.step(s, max_vbal=put(s.max_vbal, a, m.bal), max_val=put(s.max_val, a, m.val),
                         msgs=s.msgs | {M2b(acc=a, bal=m.bal, val=m.val)})
