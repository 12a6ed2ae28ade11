"""The article's Paxos, taken literally, and its proposal-id scheme.

:class:`ArticlePaxos` models the algorithm exactly as the article states it,
in the message-set style of Paxos.tla (every message ever sent stays in
``msgs``; receiving does not consume). The article's rules, and the reading
we chose where it is ambiguous (always the most charitable one, the one
closest to correct Paxos):

* Phase 1: a proposer sends Prepare(n) to (at least a majority of) the
  acceptors. Modelled as one Prepare(n) message any acceptor may receive.
* An acceptor receiving Prepare(n): "If n is bigger than the previous unique
  identifier it received it overwrites the previous identifier with n and
  responds with a Promise() message" -- a promise that carries **no**
  accepted proposal, even when the acceptor has accepted one. This is the
  literal text and the bug. "If n is not bigger [...] it will check if it
  already accepted another proposal. If that's the case it will respond with
  a Promise(unique_identifier, accepted_unique_identifier, accepted_value)
  message. Otherwise it responds with a failure message."
* The proposer needs a majority of responses. *Reading:* both kinds of
  Promise count toward the majority (the article calls both a promise); a
  failure does not. If any promise carries an accepted value, the proposer
  proposes the value of the one with the highest accepted id; otherwise any
  value. *Reading:* the Propose carries the proposer's own id n ("picks the
  highest unique identifier [...] and wraps it in a Propose(unique_identifier,
  accepted_value)" could also mean the old id, which is worse). One proposal
  per id, since ids are unique here.
* An acceptor receiving Propose(n, v) accepts if n "is still the highest
  unique identifier the acceptor has seen so far". *Reading:* n >= the highest
  id it has seen (an equal id is still the highest); it then records n as its
  highest id and its accepted proposal (n, v), and replies Accepted().
* A value is chosen when a majority sent Accepted() for one (n, v).

:class:`PidTimestampPaxos` is Lamport's (correct) Paxos with the article's
proposal ids, "process id + Unix timestamp": two proposers reading the same
clock can pick the same ballot, so a ballot no longer has a single leader.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, NamedTuple

from agree.models.paxos import M2a, Paxos, PaxosState, majorities, put, show_value
from agree.spec import Spec, SpecError, action, indexed

__all__ = [
    "Accepted",
    "ArticlePaxos",
    "ArticleState",
    "Failure",
    "PidTimestampPaxos",
    "Prepare",
    "Promise",
    "PromiseAccepted",
    "Propose",
]


class Prepare(NamedTuple):
    n: int
    type: str = "prepare"

    def __str__(self) -> str:
        return f"Prepare n={self.n}"


class Promise(NamedTuple):
    """The article's Promise(): a bare promise, no accepted proposal reported."""

    acc: int
    n: int
    type: str = "promise"

    def __str__(self) -> str:
        return f"Promise a{self.acc + 1} n={self.n}"


class PromiseAccepted(NamedTuple):
    """Promise(unique_identifier, accepted_unique_identifier, accepted_value)."""

    acc: int
    n: int
    accepted_n: int
    accepted_val: int
    type: str = "promise+"

    def __str__(self) -> str:
        return (f"Promise a{self.acc + 1} n={self.n} accepted_n={self.accepted_n} "
                f"accepted_val={show_value(self.accepted_val)}")


class Failure(NamedTuple):
    acc: int
    n: int
    type: str = "failure"

    def __str__(self) -> str:
        return f"Failure a{self.acc + 1} n={self.n}"


class Propose(NamedTuple):
    n: int
    val: int
    type: str = "propose"

    def __str__(self) -> str:
        return f"Propose n={self.n} val={show_value(self.val)}"


class Accepted(NamedTuple):
    acc: int
    n: int
    val: int
    type: str = "accepted"

    def __str__(self) -> str:
        return f"Accepted a{self.acc + 1} n={self.n} val={show_value(self.val)}"


ArticleMessage = Prepare | Promise | PromiseAccepted | Failure | Propose | Accepted


class ArticleState(NamedTuple):
    highest_id: tuple[int, ...]  # the highest unique identifier each acceptor received
    accepted_n: tuple[int, ...]  # the id of the proposal it accepted (-1: none)
    accepted_val: tuple[int | None, ...]
    msgs: frozenset[Any]  # of the ArticleMessage types, every message ever sent


def _of_type(s: ArticleState, kind: str) -> list[Any]:
    return sorted((m for m in s.msgs if m.type == kind), key=tuple)


class ArticlePaxos(Spec[ArticleState]):
    """The article's Paxos, literally: a higher Prepare gets a bare Promise()."""

    name: ClassVar[str] = "paxos-article"
    description: ClassVar[str] = "Paxos as the article describes it (unsafe)"
    param_help: ClassVar[dict[str, str]] = {
        "acceptors": "number of acceptors (quorums are majorities)",
        "values": "number of values that may be proposed",
        "max_ballot": "proposal ids are 0..max_ballot",
    }
    names: ClassVar[dict[str, str]] = {"acceptors": "a", "values": "v"}
    param_max: ClassVar[dict[str, int]] = {"acceptors": 15, "values": 100, "max_ballot": 100}

    def __init__(self, acceptors: int = 3, values: int = 2, max_ballot: int = 1) -> None:
        if acceptors < 1 or values < 1 or max_ballot < 0:
            raise SpecError("need --acceptors >= 1, --values >= 1, --max-ballot >= 0")
        self.acceptors_n, self.values_n, self.max_ballot = acceptors, values, max_ballot
        self.acceptors: Sequence[int] = range(acceptors)
        self.values: Sequence[int] = range(values)
        self.ballots: Sequence[int] = range(max_ballot + 1)
        self.quorums = majorities(acceptors)

    def init(self) -> Iterable[ArticleState]:
        n = self.acceptors_n
        yield ArticleState(highest_id=(-1,) * n, accepted_n=(-1,) * n, accepted_val=(None,) * n,
                           msgs=frozenset())

    # A proposer sends Prepare(n) to the acceptors.
    @action(n="ballots")
    def prepare(self, s: ArticleState, n: int) -> ArticleState | None:
        return s._replace(msgs=s.msgs | {Prepare(n=n)})

    # Acceptor a receives Prepare(n). A bigger n: it records n and sends a bare
    # Promise(). Otherwise, if it accepted a proposal, a Promise carrying that
    # proposal; if not, a failure.
    @action(a="acceptors", m=lambda self, s: _of_type(s, "prepare"))
    def receive_prepare(self, s: ArticleState, a: int, m: Prepare) -> ArticleState | None:
        if m.n > s.highest_id[a]:
            return s._replace(highest_id=put(s.highest_id, a, m.n),
                              msgs=s.msgs | {Promise(acc=a, n=m.n)})
        accepted_val = s.accepted_val[a]
        if s.accepted_n[a] >= 0 and accepted_val is not None:
            reply: ArticleMessage = PromiseAccepted(acc=a, n=m.n, accepted_n=s.accepted_n[a],
                                                    accepted_val=accepted_val)
        else:
            reply = Failure(acc=a, n=m.n)
        return s._replace(msgs=s.msgs | {reply})

    # The proposer of id n, holding promises for n from a majority, proposes:
    # the value of the highest-id accepted proposal reported, or any value.
    @action(n="ballots", v="values")
    def propose(self, s: ArticleState, n: int, v: int) -> ArticleState | None:
        promised: dict[int, list[Any]] = {}
        for m in s.msgs:
            if m.type == "propose" and m.n == n:
                return None
            if m.type in ("promise", "promise+") and m.n == n:
                promised.setdefault(m.acc, []).append(m)
        for q in self.quorums:
            if not all(a in promised for a in q):
                continue
            reports = [m for a in q for m in promised[a] if m.type == "promise+"]
            if not reports:
                break
            top = max(m.accepted_n for m in reports)
            if any(m.accepted_n == top and m.accepted_val == v for m in reports):
                break
        else:
            return None
        return s._replace(msgs=s.msgs | {Propose(n=n, val=v)})

    # Acceptor a receives Propose(n, v) and accepts it if n is still the highest
    # id it has seen, replying Accepted().
    @action(a="acceptors", m=lambda self, s: _of_type(s, "propose"))
    def receive_propose(self, s: ArticleState, a: int, m: Propose) -> ArticleState | None:
        if m.n < s.highest_id[a]:
            return None
        return s._replace(highest_id=put(s.highest_id, a, m.n),
                          accepted_n=put(s.accepted_n, a, m.n),
                          accepted_val=put(s.accepted_val, a, m.val),
                          msgs=s.msgs | {Accepted(acc=a, n=m.n, val=m.val)})

    def show(self, domain: str, value: Any) -> str:
        if isinstance(value, tuple) and hasattr(value, "type"):
            return f"<{value}>"
        return super().show(domain, value)

    def view(self, state: ArticleState) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out.update(indexed("highest_id", state.highest_id, "a"))
        out.update(indexed("accepted_n", state.accepted_n, "a"))
        out.update(indexed("accepted_val", state.accepted_val, "a", show_value))
        out["msgs"] = frozenset(str(m) for m in state.msgs)
        return out


class PidTimestampPaxos(Paxos):
    """Paxos.tla with ids that are not unique: up to ``proposers`` leaders per ballot.

    With ids made of a process id and a Unix timestamp, two proposers can
    pick the same ballot. Each still sends at most one 2a per ballot, after
    its own phase 1, but nothing stops two of them from asking for different
    values in the same ballot. Acceptors cannot tell the proposers apart.
    """

    name: ClassVar[str] = "paxos-pid-timestamp"
    description: ClassVar[str] = ("Paxos.tla with the article's ids (process id + timestamp): "
                                  "several proposers may share a ballot")
    param_help: ClassVar[dict[str, str]] = {
        **Paxos.param_help, "proposers": "proposers that may pick the same ballot"}

    def __init__(self, acceptors: int = 3, values: int = 2, max_ballot: int = 0,
                 proposers: int = 2) -> None:
        super().__init__(acceptors, values, max_ballot)
        if proposers < 1:
            raise SpecError("--proposers must be at least 1")
        self.proposers = proposers

    # Phase2a(b, v) as in Paxos.tla, except that ballot b may already have
    # 2a messages from the other proposers that share its id: one per proposer.
    @action(b="ballots", v="values")
    def phase2a(self, s: PaxosState, b: int, v: int) -> PaxosState | None:
        sent = {m.val for m in s.msgs if m.type == "2a" and m.bal == b}
        if v in sent or len(sent) >= self.proposers:
            return None
        joined = self.phase1b_index(s)[1].get(b, {})
        if not any(self.shows_safe(q, joined, v) for q in self.quorums):
            return None
        return s._replace(msgs=s.msgs | {M2a(bal=b, val=v)})
