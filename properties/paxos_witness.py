"""Why a Paxos property fails: the witnesses of properties/paxos.py (and of the
article's agreement and validity, properties/paxos_article.py, which reuse them, and of
the lemmas in properties/paxos_lemmas.py).

Each builder runs only once its property has found the state bad, recomputes what
is wrong and names it as :class:`~agree.spec.Fact` s whose steps traces/explain.py
finds: a vote or a proposal is established by the step that sent its message, an
acceptor's variable by the step that set it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agree.models.paxos import M1b, M2a, M2b, Paxos, PaxosState, show_value
from agree.spec import Fact, Spec, Witness
from agree.spec.witness import Line, fallible

__all__ = ["Vote", "bad_1b", "bad_1b_latest", "bad_2b", "bad_latest_vote", "bad_type",
           "chosen_in", "m2b", "msgs", "never_proposed", "quorum_line", "two_chosen",
           "two_proposals", "two_votes", "unsafe_proposal", "unsafe_vote", "vote_above_join"]

Vote = tuple[int, int]


def chosen_in(voters: Mapping[Vote, set[int]], quorums: Iterable[frozenset[int]], v: int,
              ) -> tuple[int, frozenset[int]]:
    """The lowest ballot in which a quorum voted for chosen value v, and who voted for v
    there (for witnesses: the votes that chose v)."""
    qs = list(quorums)
    b = min(b for (b, val), accs in voters.items()
            if val == v and any(q <= accs for q in qs))
    return b, frozenset(voters[(b, v)])


def _holds_message(m: Any, msgs_of: Callable[[Any], Any]) -> Callable[[Any], bool]:
    return lambda st: m in msgs_of(st)


def quorum_line(spec: Spec[Any], v: int, b: int, accs: Iterable[int],
                vote: Callable[[int, int, int], Any], msgs_of: Callable[[Any], Any],
                ) -> Line:
    """A witness line ``v1 chosen in ballot 0 by a2 (step 7), a3 (step 12)``: one fact per
    vote, established when the vote message ``vote(acc, b, v)`` enters ``msgs(state)``."""
    parts: list[str | Fact] = [f"{spec.show('values', v)} chosen in ballot {b} by "]
    for k, a in enumerate(sorted(accs)):
        m = vote(a, b, v)
        parts += [", "] if k else []
        parts.append(Fact(spec.show("acceptors", a), _holds_message(m, msgs_of)))
    return tuple(parts)


def m2b(a: int, b: int, v: int) -> M2b:
    """The 2b message of a vote (how Paxos.tla records one)."""
    return M2b(a, b, v)


def msgs(s: Any) -> frozenset[Any]:
    """The message set of a state (Paxos.tla's and the article's)."""
    return s.msgs  # type: ignore[no-any-return]


@fallible
def two_chosen(spec: Spec[Any], vals: Iterable[int], voters: Mapping[Vote, set[int]],
               quorums: Iterable[frozenset[int]], vote: Callable[[int, int, int], Any],
               msgs_of: Callable[[Any], Any]) -> Witness:
    """Agreement's witness: the two lowest chosen values, each with its ballot and votes."""
    qs = list(quorums)
    two = sorted(vals)[:2]
    where = {v: chosen_in(voters, qs, v) for v in two}
    names = " and ".join(spec.show("values", v) for v in two)
    return Witness(f"two values are chosen, {names}",
                   [quorum_line(spec, v, b, accs, vote, msgs_of) for v, (b, accs) in where.items()],
                   {"chosen": where})


@fallible
def never_proposed(spec: Spec[Any], v: int, voters: Mapping[Vote, set[int]],
                   quorums: Iterable[frozenset[int]], vote: Callable[[int, int, int], Any],
                   msgs_of: Callable[[Any], Any]) -> Witness:
    """Validity's witness: a chosen value no proposal carries, with the votes that chose it."""
    b, accs = chosen_in(voters, quorums, v)
    line = (*quorum_line(spec, v, b, accs, vote, msgs_of), ", never proposed")
    return Witness(f"{spec.show('values', v)} is chosen but was never proposed", [line],
                   {"value": v, "ballot": b, "voters": accs})


def _a(spec: Spec[Any], a: int) -> str:
    return spec.show("acceptors", a)


def _sent(m: Any, text: str | None = None) -> Fact:
    """A message of the set, established by the step that sent it."""
    return Fact(text or str(m), lambda st: m in st.msgs)


def _variable(spec: Paxos, var: str, a: int, value: Any) -> Fact:
    return Fact(f"{var}[{_a(spec, a)}] = {value}",
                lambda st: getattr(st, var)[a] == value)


@fallible
def bad_type(spec: Paxos, s: PaxosState, universe: frozenset[Any]) -> Witness:
    """TypeOK: the first acceptor variable out of its type, or a message outside Paxos.tla's
    Message set."""
    n = spec.acceptors_n
    sizes = (len(s.max_bal), len(s.max_vbal), len(s.max_val))
    if sizes != (n, n, n):
        return Witness(f"the acceptor variables have {sizes} entries, not {n}",
                       data={"sizes": sizes})
    for a in range(n):
        for var, ok in (("max_bal", s.max_bal[a] in spec.typed_ballots),
                        ("max_vbal", s.max_vbal[a] in spec.typed_ballots),
                        ("max_val", s.max_val[a] is None or s.max_val[a] in spec.values)):
            if not ok:
                value = getattr(s, var)[a]
                return Witness(f"{var}[{_a(spec, a)}] = {value} is out of its type",
                               [(_variable(spec, var, a, value),)],
                               {"variable": var, "acceptor": a, "value": value})
    m = min(s.msgs - universe, key=str)
    return Witness(f"the message {m} is not a well-typed message", [(_sent(m, f"{m} sent"),)],
                   {"message": m})


@fallible
def bad_latest_vote(spec: Paxos, s: PaxosState, vs: tuple[set[Vote], ...]) -> Witness:
    """Inv: an acceptor whose <<max_vbal, max_val>> is no vote it cast."""
    a = next(a for a in spec.acceptors
             if (s.max_val[a] is not None if s.max_vbal[a] == -1
                 else (s.max_vbal[a], s.max_val[a]) not in vs[a]))
    b, v = s.max_vbal[a], s.max_val[a]
    recorded = Fact(f"{_a(spec, a)} records max_vbal={b}, max_val={show_value(v)}",
                    lambda st: st.max_vbal[a] == b and st.max_val[a] == v)
    return Witness(f"{_a(spec, a)} records a vote for {show_value(v)} in ballot {b} it never "
                   "cast", [(recorded, ", with no 2b message for it")],
                   {"acceptor": a, "ballot": b, "value": v})


@fallible
def bad_1b(spec: Paxos, s: PaxosState, vs: tuple[set[Vote], ...],
           reports: Iterable[M1b]) -> Witness:
    """Inv: a 1b message whose sender is below its ballot, or that reports a vote its sender
    never cast."""
    for m in sorted(reports, key=tuple):
        a = m.acc
        if s.max_bal[a] < m.bal:
            now = s.max_bal[a]
            return Witness(f"{_a(spec, a)} joined ballot {m.bal} ({m}) but its max_bal is {now}",
                           [(_sent(m, f"{m} sent"), ", then ",
                             _variable(spec, "max_bal", a, now))],
                           {"message": m, "max_bal": now})
        if m.mbal >= 0 and (m.mbal, m.mval) not in vs[a]:
            return Witness(f"{m} reports a vote {_a(spec, a)} never cast",
                           [(_sent(m, f"{m} sent"), f", but {_a(spec, a)} sent no 2b for "
                             f"ballot {m.mbal}, {show_value(m.mval)}")],
                           {"message": m})
    raise ValueError("no bad 1b message")


def _other_votes(spec: Spec[Any], s: PaxosState, v: int, ballots: Callable[[int], bool],
                 at: bool = False) -> list[Fact]:
    """The votes for another value than v in the given ballots (the ones that make v
    unsafe), as facts; ``at``: all in one ballot, named once by the caller."""
    return [_sent(m, f"{_a(spec, m.acc)} voted {show_value(m.val)}"
                  + ("" if at else f" in ballot {m.bal}"))
            for m in sorted((m for m in s.msgs if m.type == "2b"), key=tuple)
            if ballots(m.bal) and m.val != v]


def _below(spec: Paxos, s: PaxosState, b: int, skip: Iterable[int] = ()) -> list[Fact]:
    """The acceptors (but ``skip``) whose max_bal is below b (they could still vote below
    b), as facts: established by the step that set max_bal there (a restart that forgot
    it, say)."""
    return [_variable(spec, "max_bal", a, s.max_bal[a]) for a in spec.acceptors
            if s.max_bal[a] < b and a not in set(skip)]


def _joined(items: list[Fact], sep: str = ", ") -> Line:
    out: list[str | Fact] = []
    for k, f in enumerate(items):
        out += [sep] if k else []
        out.append(f)
    return tuple(out)


@fallible
def unsafe_proposal(spec: Paxos, s: PaxosState, b: int, v: int) -> Witness:
    """Inv: a 2a message no quorum shows safe, with the votes for other values below it."""
    line: Line = (_sent(M2a(b, v), f"{M2a(b, v)} sent"),)
    others = _other_votes(spec, s, v, lambda c: c < b)
    if others:
        line += ("; votes for other values below: ", *_joined(others))
    behind = _below(spec, s, b)
    if behind:
        line += ("; not joined: ", *_joined(behind))
    return Witness(f"no quorum shows {show_value(v)} safe at ballot {b}", [line],
                   {"ballot": b, "value": v})


@fallible
def two_proposals(spec: Paxos, b: int, vals: Iterable[int]) -> Witness:
    """Inv: two 2a messages of one ballot."""
    v1, v2 = sorted(vals)[:2]
    return Witness(f"two proposals in ballot {b}, {show_value(v1)} and {show_value(v2)}",
                   [(f"ballot {b}: ", _sent(M2a(b, v1), f"{M2a(b, v1)} sent"), ", ",
                     _sent(M2a(b, v2), f"{M2a(b, v2)} sent"))],
                   {"ballot": b, "values": (v1, v2)})


@fallible
def unsafe_vote(spec: Paxos, s: PaxosState, b: int, v: int, c: int,
                voters: Iterable[int]) -> Witness:
    """VotesSafe: a vote cast when its value was not safe: in ballot c no quorum voted for v
    or could no longer vote there."""
    votes = [_sent(M2b(a, b, v), _a(spec, a)) for a in sorted(voters)]
    line: Line = (f"{show_value(v)} voted in ballot {b} by ", *_joined(votes))
    others = _other_votes(spec, s, v, lambda x: x == c, at=True)
    if others:
        line += (f"; in ballot {c}: ", *_joined(others))
    voted_at_c = {m.acc for m in s.msgs if m.type == "2b" and m.bal == c}
    behind = _below(spec, s, c + 1, voted_at_c)
    if behind:
        line += (f"; could still vote in ballot {c}: ", *_joined(behind))
    return Witness(f"the vote for {show_value(v)} in ballot {b} was cast when "
                   f"{show_value(v)} was not safe (ballot {c} could still choose another "
                   "value)", [line], {"ballot": b, "value": v, "unsafe_below": c})


@fallible
def two_votes(spec: Paxos, s: PaxosState, b: int) -> Witness:
    """OneValuePerBallot: two votes of one ballot for different values."""
    ms = sorted((m for m in s.msgs if m.type == "2b" and m.bal == b), key=tuple)
    m1 = ms[0]
    m2 = next(m for m in ms if m.val != m1.val)
    return Witness(f"ballot {b} has votes for {show_value(m1.val)} and {show_value(m2.val)}",
                   [(f"ballot {b}: ", _sent(m1, f"{_a(spec, m1.acc)} voted {show_value(m1.val)}"),
                     ", ", _sent(m2, f"{_a(spec, m2.acc)} voted {show_value(m2.val)}"))],
                   {"ballot": b, "votes": (m1, m2)})


# -- the lemmas of properties/paxos_lemmas.py -------------------------------------------


@fallible
def vote_above_join(spec: Paxos, s: PaxosState) -> Witness:
    """max_bal >= max_vbal: an acceptor whose latest vote is above the ballot it joined."""
    a = next(a for a in spec.acceptors if s.max_bal[a] < s.max_vbal[a])
    joined, voted = s.max_bal[a], s.max_vbal[a]
    return Witness(f"{_a(spec, a)} voted in ballot {voted} but has joined only ballot {joined}",
                   [(f"{_a(spec, a)}: ", _variable(spec, "max_vbal", a, voted), ", ",
                     _variable(spec, "max_bal", a, joined))],
                   {"acceptor": a, "max_bal": joined, "max_vbal": voted})


@fallible
def bad_2b(spec: Paxos, s: PaxosState, proposals: set[Vote]) -> Witness:
    """Inv: a 2b message above its sender's max_vbal, or answering no 2a message."""
    m = min((m for m in s.msgs if m.type == "2b" and not (
        s.max_vbal[m.acc] >= m.bal and (m.bal, m.val) in proposals)), key=tuple)
    sent = _sent(m, f"{m} sent")
    if s.max_vbal[m.acc] < m.bal:
        now = s.max_vbal[m.acc]
        return Witness(f"{m} is above its sender's max_vbal, {now}",
                       [(sent, ", then ", _variable(spec, "max_vbal", m.acc, now))],
                       {"message": m, "max_vbal": now})
    return Witness(f"{m} answers no 2a message", [(sent, ", with no 2a for it")],
                   {"message": m, "max_vbal": s.max_vbal[m.acc]})


@fallible
def bad_1b_latest(spec: Paxos, s: PaxosState, m: M1b, what: str) -> Witness:
    """Lemma: a 1b message that does not report its sender's latest vote below its ballot
    (with the votes it skips)."""
    skipped = [_sent(v, f"{_a(spec, v.acc)} voted {show_value(v.val)} in ballot {v.bal}")
               for v in sorted((v for v in s.msgs if v.type == "2b"), key=tuple)
               if v.acc == m.acc and m.mbal < v.bal < m.bal]
    line: Line = (_sent(m, f"{m} sent"),)
    if skipped:
        line += ("; its sender's later vote: ", *_joined(skipped))
    return Witness(f"{m} {what}", [line], {"message": m})
