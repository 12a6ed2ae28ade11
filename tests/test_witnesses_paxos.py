"""Every Paxos safety property's witness (Paxos.tla's, the article's, paxos-liveness',
and the lemmas `agree prove paxos` adds), on a real counterexample, against an independent
computation on the trace's final state, and the steps it names against a scan of the trace.

The counterexamples are the pinned traces, checks of zoo variants with small bounds, or
checks of a spec broken on purpose here where no protocol or zoo variant breaks the
property.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any, ClassVar

import pytest
from _witness import explained, found, rise, stored, witness_at_end, zoo

from agree.models.paxos import M2b, Paxos, PaxosState, put
from agree.models.paxos_article import Accepted, ArticlePaxos, ArticleState
from agree.models.paxos_liveness import LivenessPaxos
from agree.models.paxos_liveness import agreement as liveness_agreement
from agree.properties import paxos, paxos_article
from agree.protocols import registry
from agree.spec import Property, Spec, property_of
from agree.traces.explain import explain, fact_steps
from agree.traces.trace import Step, Trace


def _votes(s: Any, kind: str = "2b") -> dict[tuple[int, int], set[int]]:
    out: dict[tuple[int, int], set[int]] = {}
    for m in s.msgs:
        if m.type == kind:
            b = m.bal if kind == "2b" else m.n
            out.setdefault((b, m.val), set()).add(m.acc)
    return out


def _majority(accs: set[int], n: int) -> bool:
    return 2 * len(accs) > n


@pytest.mark.parametrize("name,kind,vote", [
    ("paxos-article.agreement.json", "accepted", Accepted),
    ("paxos-wrong-value.agreement.json", "2b", M2b),
    ("paxos-pid-timestamp.agreement.json", "2b", M2b),
])
def test_agreement_names_the_two_values_their_ballots_and_votes(name: str, kind: str,
                                                                vote: Any) -> None:
    spec, trace, props = stored(name)
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    n = len(last.max_bal if hasattr(last, "max_bal") else last.highest_id)
    votes = _votes(last, kind)
    chosen = sorted({v for (_, v), accs in votes.items() if _majority(accs, n)})
    assert len(chosen) >= 2
    expected = {v: (min(b for (b, x), accs in votes.items() if x == v and _majority(accs, n)),)
                for v in chosen[:2]}
    expected = {v: (b, frozenset(votes[(b, v)])) for v, (b,) in expected.items()}
    assert dict(w.data["chosen"]) == expected
    expl = explained(spec, trace, props)
    steps = set()
    for v, (b, accs) in expected.items():
        line = next(ln for ln in expl.summary if ln.startswith(f"v{v + 1} chosen in ballot {b}"))
        for a in sorted(accs):
            m = vote(a, b, v)
            step = rise(trace, lambda st, m=m: m in st.msgs)
            assert f"a{a + 1} (step {step})" in line
            steps.add(step)
    assert set(expl.key_steps) == steps


def test_the_articles_trace_reads_as_the_issue_says() -> None:
    spec, trace, props = stored("paxos-article.agreement.json")
    expl = explain(spec, trace, props)
    assert expl.summary == ("v1 chosen in ballot 0 by a2 (step 7), a3 (step 12)",
                            "v2 chosen in ballot 1 by a1 (step 10), a2 (step 11)")
    assert expl.key_steps == (7, 10, 11, 12)
    # the messages that matter: each vote's delivery of its proposal and its Accepted, and
    # the Propose sends those deliveries consumed (steps 6 and 9)
    marked = {(n, e.kind, e.message) for n, e in expl.key_messages}
    assert (7, "deliver", "Propose n=0 val=v1") in marked
    assert (7, "send", "Accepted a2 n=0 val=v1") in marked
    assert (6, "send", "Propose n=0 val=v1") in marked
    assert (9, "send", "Propose n=1 val=v2") in marked
    assert not any(n in (1, 2, 3, 4, 5, 8) for n, _, _ in marked)


class _VoteForAnotherValue(Paxos):
    """Broken on purpose: an acceptor votes for the next value, not the proposed one."""

    name: ClassVar[str] = "paxos-votes-another-value"

    def phase2b(self, s: PaxosState, a: int, m: Any) -> PaxosState | None:
        v = (m.val + 1) % self.values_n
        vote = M2b(acc=a, bal=m.bal, val=v)
        if vote in s.msgs or m.bal < s.max_bal[a]:
            return None
        return self.step(s, max_bal=put(s.max_bal, a, m.bal), max_vbal=put(s.max_vbal, a, m.bal),
                         max_val=put(s.max_val, a, v), msgs=s.msgs | {vote})


def test_validity_names_the_value_nobody_proposed() -> None:
    spec = _VoteForAnotherValue(acceptors=1, values=3, max_ballot=0)
    spec, trace, props = found(spec, paxos.PROPERTIES, "validity")
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    proposed = {m.val for m in last.msgs if m.type == "2a"}
    chosen = {v for (_, v), accs in _votes(last).items() if _majority(accs, 1)}
    assert w.data["value"] == min(chosen - proposed)
    assert w.data["voters"] == frozenset({0})
    assert "never proposed" in explained(spec, trace, props).summary[0]


class _JoinBeyond(Paxos):
    """Broken on purpose: an acceptor joins one ballot above the one it was asked to."""

    name: ClassVar[str] = "paxos-join-beyond"

    def phase1b(self, s: PaxosState, a: int, m: Any) -> PaxosState | None:
        t = super().phase1b(s, a, m)
        return None if t is None else t._replace(max_bal=put(t.max_bal, a, m.bal + 1))


def test_type_ok_names_the_variable_out_of_type() -> None:
    spec, trace, props = found(_JoinBeyond(acceptors=1, values=1, max_ballot=0),
                                paxos.PROPERTIES, "type_ok")
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    bad = [(a, x) for a, x in enumerate(last.max_bal) if not -1 <= x <= spec.max_ballot]
    assert (w.data["variable"], w.data["acceptor"], w.data["value"]) == ("max_bal", *bad[0])
    expl = explained(spec, trace, props)
    assert expl.key_steps == (rise(trace, lambda st: st.max_bal[bad[0][0]] == bad[0][1]),)


class _SilentVote(Paxos):
    """Broken on purpose: an acceptor records a vote but sends no 2b message."""

    name: ClassVar[str] = "paxos-silent-vote"

    def phase2b(self, s: PaxosState, a: int, m: Any) -> PaxosState | None:
        if m.bal < s.max_bal[a] or s.max_vbal[a] == m.bal:
            return None
        return self.step(s, max_bal=put(s.max_bal, a, m.bal), max_vbal=put(s.max_vbal, a, m.bal),
                         max_val=put(s.max_val, a, m.val))


def test_inv_latest_vote_names_the_acceptor_and_its_uncast_vote() -> None:
    spec, trace, props = found(_SilentVote(acceptors=1, values=1, max_ballot=0),
                                paxos.PROPERTIES, "inv_latest_vote")
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    cast = {(m.acc, m.bal, m.val) for m in last.msgs if m.type == "2b"}
    bad = [a for a in range(1) if last.max_vbal[a] >= 0
           and (a, last.max_vbal[a], last.max_val[a]) not in cast]
    assert (w.data["acceptor"], w.data["ballot"], w.data["value"]) == (
        bad[0], last.max_vbal[bad[0]], last.max_val[bad[0]])
    assert explained(spec, trace, props).key_steps == (len(trace),)


def test_inv_1b_names_the_report_of_a_forgotten_promise() -> None:
    spec, trace, props = zoo("paxos-amnesia", "inv_1b")
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    bad = sorted((m for m in last.msgs if m.type == "1b" and last.max_bal[m.acc] < m.bal),
                 key=tuple)
    assert w.data["message"] == bad[0] and w.data["max_bal"] == last.max_bal[bad[0].acc]
    expl = explained(spec, trace, props)
    sent = rise(trace, lambda st: bad[0] in st.msgs)
    forgot = rise(trace, lambda st: st.max_bal[bad[0].acc] == last.max_bal[bad[0].acc])
    assert expl.key_steps == tuple(sorted({sent, forgot}))
    assert trace.steps[forgot - 1].action == "Restart"


def _shows_safe(s: PaxosState, q: Sequence[int], b: int, v: int) -> bool:
    if any(s.max_bal[a] < b for a in q):
        return False
    votes = [(m.bal, m.val) for m in s.msgs if m.type == "2b" and m.acc in q and m.bal < b]
    top = max((c for c, _ in votes), default=-1)
    return top == -1 or (top, v) in votes


def test_inv_2a_safe_names_the_unsafe_proposal() -> None:
    spec, trace, props = zoo("paxos-accept-below-promise", "inv_2a_safe")
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    n = len(last.max_bal)
    quorums = [q for k in range(n // 2 + 1, n + 1) for q in combinations(range(n), k)]
    unsafe = sorted((m.bal, m.val) for m in last.msgs if m.type == "2a"
                    and not any(_shows_safe(last, q, m.bal, m.val) for q in quorums))
    assert (w.data["ballot"], w.data["value"]) == unsafe[0]
    expl = explained(spec, trace, props)
    b, v = unsafe[0]
    assert rise(trace, lambda st: any(m.type == "2a" and (m.bal, m.val) == (b, v)
                                       for m in st.msgs)) in expl.key_steps


def test_inv_2a_unique_names_the_two_proposals_of_a_ballot() -> None:
    spec, trace, props = zoo("paxos-pid-timestamp", "inv_2a_unique")
    w = witness_at_end(spec, trace, props)
    by_ballot: dict[int, set[int]] = {}
    for m in trace.states[-1].msgs:
        if m.type == "2a":
            by_ballot.setdefault(m.bal, set()).add(m.val)
    b = min(b for b, vals in by_ballot.items() if len(vals) > 1)
    assert w.data["ballot"] == b and set(w.data["values"]) == set(sorted(by_ballot[b])[:2])
    expl = explained(spec, trace, props)
    assert len(expl.key_steps) == 2 and all(
        trace.steps[n - 1].action == "Phase2a" for n in expl.key_steps)


def test_votes_safe_names_the_vote_and_the_ballot_that_could_still_choose() -> None:
    spec, trace, props = zoo("paxos-accept-below-promise", "votes_safe")
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    n = len(last.max_bal)
    quorums = [set(q) for k in range(n // 2 + 1, n + 1) for q in combinations(range(n), k)]
    voted = {(m.acc, m.bal) for m in last.msgs if m.type == "2b"}

    def first_unsafe(b: int, v: int) -> int | None:
        for c in range(b):
            ok = {a for a in range(n) if M2b(a, c, v) in last.msgs
                  or (last.max_bal[a] > c and (a, c) not in voted)}
            if not any(q <= ok for q in quorums):
                return c
        return None

    bad = sorted((b, v) for (b, v) in _votes(last) if b > 0 and first_unsafe(b, v) is not None)
    b, v = bad[0]
    assert (w.data["ballot"], w.data["value"], w.data["unsafe_below"]) == (
        b, v, first_unsafe(b, v))
    expl = explained(spec, trace, props)
    assert rise(trace, lambda st: M2b(0, b, v) in st.msgs) in expl.key_steps


def test_one_value_per_ballot_names_the_two_votes() -> None:
    spec, trace, props = zoo("paxos-pid-timestamp", "one_value_per_ballot")
    w = witness_at_end(spec, trace, props)
    votes = [m for m in trace.states[-1].msgs if m.type == "2b"]
    b = min(m.bal for m in votes if len({x.val for x in votes if x.bal == m.bal}) > 1)
    m1, m2 = w.data["votes"]
    assert m1.bal == m2.bal == b and m1.val != m2.val and {m1, m2} <= set(votes)
    expl = explained(spec, trace, props)
    assert expl.key_steps == tuple(sorted(rise(trace, lambda st, m=m: m in st.msgs)
                                          for m in (m1, m2)))


class _ArticleAcceptsAnother(ArticlePaxos):
    """Broken on purpose: an acceptor accepts the next value, not the proposed one."""

    name: ClassVar[str] = "paxos-article-accepts-another"

    def receive_propose(self, s: ArticleState, a: int, m: Any) -> ArticleState | None:
        v = (m.val + 1) % self.values_n
        if m.n < s.highest_id[a] or Accepted(a, m.n, v) in s.msgs:
            return None
        return s._replace(highest_id=put(s.highest_id, a, m.n),
                          accepted_n=put(s.accepted_n, a, m.n),
                          accepted_val=put(s.accepted_val, a, v),
                          msgs=s.msgs | {Accepted(acc=a, n=m.n, val=v)})


def test_the_articles_validity_names_the_unproposed_value() -> None:
    spec, trace, props = found(_ArticleAcceptsAnother(acceptors=1, values=3, max_ballot=0),
                                paxos_article.PROPERTIES, "validity")
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    proposed = {m.val for m in last.msgs if m.type == "propose"}
    chosen = {v for (_, v), accs in _votes(last, "accepted").items() if _majority(accs, 1)}
    assert w.data["value"] == min(chosen - proposed)
    explained(spec, trace, props)


def test_paxos_liveness_agreement_names_the_two_values() -> None:
    spec = LivenessPaxos()
    prop = property_of(liveness_agreement)
    init = next(iter(spec.init()))
    bad = init._replace(chosen=frozenset({1, 0}))
    w = prop.witness(spec, bad)
    assert w is not None and w.data["chosen"] == (0, 1)
    trace = Trace(spec.name, spec.param_values(), init, [Step("Learn", "Learn", (), bad)])
    steps = fact_steps(trace, w.facts())
    assert set(steps.values()) == {1}


# -- the lemmas `agree prove paxos` adds (properties/paxos_lemmas.py) -------------------------


def _lemma(variant: str, name: str, **params: Any) -> tuple[Spec[Any], Trace, list[Property]]:
    from agree.properties.paxos_lemmas import LEMMAS

    spec, _ = registry.build(variant, params)
    return found(spec, LEMMAS, name)


def test_max_bal_ge_max_vbal_names_the_acceptor_that_voted_above_its_join() -> None:
    spec, trace, props = _lemma("paxos-2b-keeps-promise", "max_bal_ge_max_vbal",
                                acceptors=3, max_ballot=0, values=1)
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    a = next(a for a in range(3) if last.max_bal[a] < last.max_vbal[a])
    assert (w.data["acceptor"], w.data["max_bal"], w.data["max_vbal"]) == (
        a, last.max_bal[a], last.max_vbal[a])
    assert rise(trace, lambda st: st.max_vbal[a] == last.max_vbal[a]) in \
        explained(spec, trace, props).key_steps


def test_inv_2b_names_the_vote_its_sender_forgot() -> None:
    spec, trace, props = _lemma("paxos-amnesia", "inv_2b")
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    bad = min((m for m in last.msgs if m.type == "2b" and last.max_vbal[m.acc] < m.bal),
              key=tuple)
    assert (w.data["message"], w.data["max_vbal"]) == (bad, last.max_vbal[bad.acc])
    expl = explained(spec, trace, props)
    assert trace.steps[expl.key_steps[-1] - 1].action == "Restart"


def test_inv_1b_latest_names_the_report_and_the_vote_it_skips() -> None:
    spec, trace, props = _lemma("paxos-accept-below-promise", "inv_1b_latest")
    w = witness_at_end(spec, trace, props)
    last = trace.states[-1]
    m = w.data["message"]
    skipped = [v for v in last.msgs if v.type == "2b" and v.acc == m.acc
               and m.mbal < v.bal < m.bal]
    assert m in last.msgs and skipped
    expl = explained(spec, trace, props)
    assert set(expl.key_steps) == {rise(trace, lambda st, x=x: x in st.msgs)
                                   for x in (m, *skipped)}
