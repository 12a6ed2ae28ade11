"""Every built-in safety property's witness, on a real counterexample, against an
independent computation on the trace's final state (and the steps it names against a
scan of the trace).

The counterexamples are the pinned traces (traces/golden, traces/zoo_deep), checks of zoo
variants with small bounds, or checks of a deliberately broken spec defined here where no
protocol or zoo variant breaks the property.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any, ClassVar

import pytest

from agree.checker.run import check
from agree.models.paxos import M2b, Paxos, PaxosState, put
from agree.models.paxos_article import Accepted, ArticlePaxos, ArticleState
from agree.models.paxos_liveness import LivenessPaxos
from agree.models.paxos_liveness import agreement as liveness_agreement
from agree.models.raft import Raft
from agree.models.raft_types import LEADER, Entry, RaftState
from agree.properties import paxos, paxos_article, raft
from agree.protocols import registry
from agree.spec import Fact, Property, Spec, Witness, invariant, property_of
from agree.traces.explain import Explanation, explain, fact_steps
from agree.traces.trace import Step, Trace, encode_value, load_trace, replay

ROOT = Path(__file__).resolve().parent.parent / "traces"


def _stored(name: str) -> tuple[Spec[Any], Trace, list[Property]]:
    path = ROOT / "golden" / name
    trace = load_trace(path if path.exists() else ROOT / "zoo_deep" / name, registry.resolve)
    spec, props = registry.resolve(trace.spec, trace.params)
    return spec, trace, [*spec.declared_properties(), *props]


def _found(spec: Spec[Any], props: Sequence[Property], name: str,
           ) -> tuple[Spec[Any], Trace, list[Property]]:
    """A shortest counterexample of property ``name``, found by the checker."""
    result = check(spec, props, only=[name])
    v = result.violation(name)
    assert v is not None and v.trace is not None, f"{name} holds"
    return spec, v.trace, list(props)


def _zoo(name: str, prop: str, **params: Any) -> tuple[Spec[Any], Trace, list[Property]]:
    spec, props = registry.build(name, params)
    return _found(spec, [*spec.declared_properties(), *props], prop)


def _witness(spec: Spec[Any], trace: Trace, props: Sequence[Property]) -> Witness:
    prop = next(p for p in props if p.name == trace.property)
    last = trace.states[-1]
    w = (prop.witness(spec, trace.states[-2], last) if prop.kind == "action"
         else prop.witness(spec, last))
    assert w is not None, f"{prop.name} gave no witness"
    assert not w and not prop.holds(spec, *((trace.states[-2], last) if prop.kind == "action"
                                             else (last,)))
    return w


def _rise(trace: Trace, pred: Callable[[Any], bool], upto: int | None = None) -> int | None:
    """The latest step (no later than ``upto``) into a state where ``pred`` holds from one
    where it does not: the tests' own scan."""
    states = trace.states
    end = len(states) - 1 if upto is None else upto
    for n in range(end, 0, -1):
        if pred(states[n]) and not pred(states[n - 1]):
            return n
    return None


def _explained(spec: Spec[Any], trace: Trace, props: Sequence[Property]) -> Explanation:
    expl = explain(spec, trace, props)
    assert expl and expl.summary and expl.key_steps
    for line in expl.summary:  # every fact names the step that established it
        assert "(step " in line
    return expl


# -- Paxos ----------------------------------------------------------------------------


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
    spec, trace, props = _stored(name)
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    n = len(last.max_bal if hasattr(last, "max_bal") else last.highest_id)
    votes = _votes(last, kind)
    chosen = sorted({v for (_, v), accs in votes.items() if _majority(accs, n)})
    assert len(chosen) >= 2
    expected = {v: (min(b for (b, x), accs in votes.items() if x == v and _majority(accs, n)),)
                for v in chosen[:2]}
    expected = {v: (b, frozenset(votes[(b, v)])) for v, (b,) in expected.items()}
    assert dict(w.data["chosen"]) == expected
    expl = _explained(spec, trace, props)
    steps = set()
    for v, (b, accs) in expected.items():
        line = next(ln for ln in expl.summary if ln.startswith(f"v{v + 1} chosen in ballot {b}"))
        for a in sorted(accs):
            m = vote(a, b, v)
            step = _rise(trace, lambda st, m=m: m in st.msgs)
            assert f"a{a + 1} (step {step})" in line
            steps.add(step)
    assert set(expl.key_steps) == steps


def test_the_articles_trace_reads_as_the_issue_says() -> None:
    spec, trace, props = _stored("paxos-article.agreement.json")
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
    spec, trace, props = _found(spec, paxos.PROPERTIES, "validity")
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    proposed = {m.val for m in last.msgs if m.type == "2a"}
    chosen = {v for (_, v), accs in _votes(last).items() if _majority(accs, 1)}
    assert w.data["value"] == min(chosen - proposed)
    assert w.data["voters"] == frozenset({0})
    assert "never proposed" in _explained(spec, trace, props).summary[0]


class _JoinBeyond(Paxos):
    """Broken on purpose: an acceptor joins one ballot above the one it was asked to."""

    name: ClassVar[str] = "paxos-join-beyond"

    def phase1b(self, s: PaxosState, a: int, m: Any) -> PaxosState | None:
        t = super().phase1b(s, a, m)
        return None if t is None else t._replace(max_bal=put(t.max_bal, a, m.bal + 1))


def test_type_ok_names_the_variable_out_of_type() -> None:
    spec, trace, props = _found(_JoinBeyond(acceptors=1, values=1, max_ballot=0),
                                paxos.PROPERTIES, "type_ok")
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    bad = [(a, x) for a, x in enumerate(last.max_bal) if not -1 <= x <= spec.max_ballot]
    assert (w.data["variable"], w.data["acceptor"], w.data["value"]) == ("max_bal", *bad[0])
    expl = _explained(spec, trace, props)
    assert expl.key_steps == (_rise(trace, lambda st: st.max_bal[bad[0][0]] == bad[0][1]),)


class _SilentVote(Paxos):
    """Broken on purpose: an acceptor records a vote but sends no 2b message."""

    name: ClassVar[str] = "paxos-silent-vote"

    def phase2b(self, s: PaxosState, a: int, m: Any) -> PaxosState | None:
        if m.bal < s.max_bal[a] or s.max_vbal[a] == m.bal:
            return None
        return self.step(s, max_bal=put(s.max_bal, a, m.bal), max_vbal=put(s.max_vbal, a, m.bal),
                         max_val=put(s.max_val, a, m.val))


def test_inv_latest_vote_names_the_acceptor_and_its_uncast_vote() -> None:
    spec, trace, props = _found(_SilentVote(acceptors=1, values=1, max_ballot=0),
                                paxos.PROPERTIES, "inv_latest_vote")
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    cast = {(m.acc, m.bal, m.val) for m in last.msgs if m.type == "2b"}
    bad = [a for a in range(1) if last.max_vbal[a] >= 0
           and (a, last.max_vbal[a], last.max_val[a]) not in cast]
    assert (w.data["acceptor"], w.data["ballot"], w.data["value"]) == (
        bad[0], last.max_vbal[bad[0]], last.max_val[bad[0]])
    assert _explained(spec, trace, props).key_steps == (len(trace),)


def test_inv_1b_names_the_report_of_a_forgotten_promise() -> None:
    spec, trace, props = _zoo("paxos-amnesia", "inv_1b")
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    bad = sorted((m for m in last.msgs if m.type == "1b" and last.max_bal[m.acc] < m.bal),
                 key=tuple)
    assert w.data["message"] == bad[0] and w.data["max_bal"] == last.max_bal[bad[0].acc]
    expl = _explained(spec, trace, props)
    sent = _rise(trace, lambda st: bad[0] in st.msgs)
    forgot = _rise(trace, lambda st: st.max_bal[bad[0].acc] == last.max_bal[bad[0].acc])
    assert expl.key_steps == tuple(sorted({sent, forgot}))
    assert trace.steps[forgot - 1].action == "Restart"


def _shows_safe(s: PaxosState, q: Sequence[int], b: int, v: int) -> bool:
    if any(s.max_bal[a] < b for a in q):
        return False
    votes = [(m.bal, m.val) for m in s.msgs if m.type == "2b" and m.acc in q and m.bal < b]
    top = max((c for c, _ in votes), default=-1)
    return top == -1 or (top, v) in votes


def test_inv_2a_safe_names_the_unsafe_proposal() -> None:
    spec, trace, props = _zoo("paxos-accept-below-promise", "inv_2a_safe")
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    n = len(last.max_bal)
    quorums = [q for k in range(n // 2 + 1, n + 1) for q in combinations(range(n), k)]
    unsafe = sorted((m.bal, m.val) for m in last.msgs if m.type == "2a"
                    and not any(_shows_safe(last, q, m.bal, m.val) for q in quorums))
    assert (w.data["ballot"], w.data["value"]) == unsafe[0]
    expl = _explained(spec, trace, props)
    b, v = unsafe[0]
    assert _rise(trace, lambda st: any(m.type == "2a" and (m.bal, m.val) == (b, v)
                                       for m in st.msgs)) in expl.key_steps


def test_inv_2a_unique_names_the_two_proposals_of_a_ballot() -> None:
    spec, trace, props = _zoo("paxos-pid-timestamp", "inv_2a_unique")
    w = _witness(spec, trace, props)
    by_ballot: dict[int, set[int]] = {}
    for m in trace.states[-1].msgs:
        if m.type == "2a":
            by_ballot.setdefault(m.bal, set()).add(m.val)
    b = min(b for b, vals in by_ballot.items() if len(vals) > 1)
    assert w.data["ballot"] == b and set(w.data["values"]) == set(sorted(by_ballot[b])[:2])
    expl = _explained(spec, trace, props)
    assert len(expl.key_steps) == 2 and all(
        trace.steps[n - 1].action == "Phase2a" for n in expl.key_steps)


def test_votes_safe_names_the_vote_and_the_ballot_that_could_still_choose() -> None:
    spec, trace, props = _zoo("paxos-accept-below-promise", "votes_safe")
    w = _witness(spec, trace, props)
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
    expl = _explained(spec, trace, props)
    assert _rise(trace, lambda st: M2b(0, b, v) in st.msgs) in expl.key_steps


def test_one_value_per_ballot_names_the_two_votes() -> None:
    spec, trace, props = _zoo("paxos-pid-timestamp", "one_value_per_ballot")
    w = _witness(spec, trace, props)
    votes = [m for m in trace.states[-1].msgs if m.type == "2b"]
    b = min(m.bal for m in votes if len({x.val for x in votes if x.bal == m.bal}) > 1)
    m1, m2 = w.data["votes"]
    assert m1.bal == m2.bal == b and m1.val != m2.val and {m1, m2} <= set(votes)
    expl = _explained(spec, trace, props)
    assert expl.key_steps == tuple(sorted(_rise(trace, lambda st, m=m: m in st.msgs)
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
    spec, trace, props = _found(_ArticleAcceptsAnother(acceptors=1, values=3, max_ballot=0),
                                paxos_article.PROPERTIES, "validity")
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    proposed = {m.val for m in last.msgs if m.type == "propose"}
    chosen = {v for (_, v), accs in _votes(last, "accepted").items() if _majority(accs, 1)}
    assert w.data["value"] == min(chosen - proposed)
    _explained(spec, trace, props)


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


# -- Raft -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["raft-stale-votes.election_safety.json",
                                  "raft-forget-vote.election_safety.json",
                                  "raft-forget-term.election_safety.json"])
def test_election_safety_names_two_elections_of_a_term_and_their_votes(name: str) -> None:
    spec, trace, props = _stored(name)
    w = _witness(spec, trace, props)
    last: RaftState = trace.states[-1]
    terms = sorted({e.eterm for e in last.elections
                    if len({x.eleader for x in last.elections if x.eterm == e.eterm}) > 1})
    assert w.data["term"] == terms[0]
    of_term = {(e.eleader, e.evotes) for e in last.elections if e.eterm == terms[0]}
    assert set(w.data["elections"]) <= of_term
    assert len({leader for leader, _ in w.data["elections"]}) == 2
    expl = _explained(spec, trace, props)
    for leader, voters in w.data["elections"]:
        e = next(e for e in last.elections if (e.eterm, e.eleader) == (terms[0], leader))
        won = _rise(trace, lambda st, e=e: e in st.elections)
        assert trace.steps[won - 1].action == "BecomeLeader" and won in expl.key_steps
        for j in voters:
            got = _rise(trace, lambda st, j=j, i=leader: j in st.votes_granted[i], upto=won)
            assert got in expl.key_steps


def test_one_leader_per_term_names_the_two_leaders() -> None:
    spec, trace, props = _stored("raft-leader-ignores-term.one_leader_per_term.json")
    w = _witness(spec, trace, props)
    last: RaftState = trace.states[-1]
    leaders = [(last.current_term[i], i) for i in range(len(last.state))
               if last.state[i] == LEADER]
    term = min(t for t, _ in leaders if [x for x, _ in leaders].count(t) > 1)
    assert w.data["term"] == term
    assert set(w.data["leaders"]) == {i for t, i in leaders if t == term}
    expl = _explained(spec, trace, props)
    assert expl.key_steps == tuple(sorted(
        _rise(trace, lambda st, i=i: st.state[i] == LEADER and st.current_term[i] == term)
        for i in w.data["leaders"]))


class _AnyoneServes(Raft):
    """Broken on purpose: any server takes client requests and commits its whole log."""

    name: ClassVar[str] = "raft-anyone-serves"

    def client_request(self, s: RaftState, i: int, v: int) -> RaftState | None:
        return self.step(s, log=put(s.log, i, (*s.log[i], Entry(s.current_term[i], v))))

    def advance_commit_index(self, s: RaftState, i: int) -> RaftState | None:
        if s.commit_index[i] == len(s.log[i]):
            return None
        return self.step(s, commit_index=put(s.commit_index, i, len(s.log[i])))


def test_log_matching_names_the_index_the_servers_and_the_first_difference() -> None:
    spec, trace, props = _found(_AnyoneServes(servers=2, values=2, max_term=1, max_log=1),
                                raft.PROPERTIES, "log_matching")
    w = _witness(spec, trace, props)
    la, lb = trace.states[-1].log
    n = max(k for k in range(1, min(len(la), len(lb)) + 1) if la[k - 1].term == lb[k - 1].term)
    k = min(x for x in range(1, n + 1) if la[x - 1] != lb[x - 1])
    assert (w.data["index"], w.data["servers"], w.data["differs_at"]) == (n, (0, 1), k)
    assert w.data["entries"] == (la[k - 1], lb[k - 1])
    expl = _explained(spec, trace, props)
    assert all(trace.steps[x - 1].action == "ClientRequest" for x in expl.key_steps)


def test_state_machine_safety_names_the_index_committed_twice() -> None:
    spec, trace, props = _found(_AnyoneServes(servers=2, values=2, max_term=1, max_log=1),
                                raft.PROPERTIES, "state_machine_safety")
    w = _witness(spec, trace, props)
    last: RaftState = trace.states[-1]
    pa, pb = (last.log[i][:last.commit_index[i]] for i in (0, 1))
    k = min(x for x in range(1, min(len(pa), len(pb)) + 1) if pa[x - 1] != pb[x - 1])
    assert (w.data["index"], w.data["entries"]) == (k, (pa[k - 1], pb[k - 1]))
    expl = _explained(spec, trace, props)
    assert {trace.steps[x - 1].action for x in expl.key_steps} == {"AdvanceCommitIndex"}


def _with_history(spec: Raft, trace: Trace) -> tuple[Raft, Trace]:
    """The same behaviour replayed with the proof-only history of commits kept."""
    params = {**trace.params, "history": True}
    hist = type(spec)(**params)
    init = next(s for s in hist.init() if encode_value(s._replace(committed=frozenset()))
                == encode_value(trace.init._replace(committed=frozenset())))
    steps = replay(hist, init, [(st.action, [encode_value(a) for a in st.args])
                                for st in trace.steps])
    return hist, Trace(hist.name, hist.param_values(), init, steps, trace.property, trace.kind)


@pytest.mark.parametrize("name", ["raft-vote-any-log.leader_completeness.json",
                                  "raft-truncate-on-stale-append.leader_completeness.json"])
@pytest.mark.parametrize("history", [False, True])
def test_leader_completeness_names_the_committed_entry_and_the_leader_missing_it(
        name: str, history: bool) -> None:
    spec, trace, props = _stored(name)
    if history:
        spec, trace = _with_history(spec, trace)  # type: ignore[arg-type]
    w = _witness(spec, trace, props)
    last: RaftState = trace.states[-1]
    k, entry, i = w.data["index"], w.data["entry"], w.data["leader"]
    if history:
        assert any(c.cindex == k and c.centry == entry and c.cterm == w.data["committed_term"]
                   for c in last.committed)
    else:
        j = w.data["committed_by"]
        assert last.commit_index[j] >= k and last.log[j][k - 1] == entry
    assert last.state[i] == LEADER or any(e.eleader == i for e in last.elections)
    assert w.data["term"] > (w.data.get("committed_term") or 0)
    assert len(last.log[i]) < k or last.log[i][k - 1] != entry
    expl = _explained(spec, trace, props)
    elected = next(e for e in last.elections if (e.eterm, e.eleader) == (w.data["term"], i))
    assert _rise(trace, lambda st: elected in st.elections) in expl.key_steps


def test_commit_index_in_log_names_the_server_and_its_commit_index() -> None:
    spec, trace, props = _stored("raft-commit-past-entries.commit_index_in_log.json")
    w = _witness(spec, trace, props)
    last: RaftState = trace.states[-1]
    i = next(i for i, c in enumerate(last.commit_index) if c > len(last.log[i]))
    assert (w.data["server"], w.data["commit_index"], w.data["log_length"]) == (
        i, last.commit_index[i], len(last.log[i]))
    expl = _explained(spec, trace, props)
    assert _rise(trace, lambda st: st.commit_index[i] == last.commit_index[i]) in expl.key_steps


class _LeaderOverwrites(Raft):
    """Broken on purpose: a leader's client request replaces its last entry once full."""

    name: ClassVar[str] = "raft-leader-overwrites"

    def client_request(self, s: RaftState, i: int, v: int) -> RaftState | None:
        if s.state[i] != LEADER:
            return None
        entry = Entry(s.current_term[i], v)
        log = (*s.log[i][:self.max_log - 1], entry) if len(s.log[i]) >= self.max_log \
            else (*s.log[i], entry)
        return None if log == s.log[i] else self.step(s, log=put(s.log, i, log))


def test_leader_append_only_names_the_leader_and_the_entry_it_replaced() -> None:
    spec, trace, props = _found(_LeaderOverwrites(servers=1, values=2, max_term=2, max_log=1),
                                raft.PROPERTIES, "leader_append_only")
    w = _witness(spec, trace, props)
    before, after = trace.states[-2], trace.states[-1]
    i = next(i for i in range(len(after.log)) if after.log[i][:len(before.log[i])]
             != before.log[i])
    k = min(x for x in range(1, len(before.log[i]) + 1)
            if x > len(after.log[i]) or after.log[i][x - 1] != before.log[i][x - 1])
    assert (w.data["server"], w.data["index"], w.data["before"]) == (
        i, k, before.log[i][k - 1])
    expl = _explained(spec, trace, props)
    assert len(trace) in expl.key_steps  # the step that overwrote
    assert _rise(trace, lambda st: st.log[i][:k] == before.log[i][:k]) in expl.key_steps


# -- the API --------------------------------------------------------------------------


def test_a_plain_false_still_works_and_explains_nothing() -> None:
    @invariant
    def never(spec: Any, s: Any) -> bool:
        return False

    prop = property_of(never)
    spec = Paxos(acceptors=1, values=1, max_ballot=0)
    s = next(iter(spec.init()))
    assert prop.witness(spec, s) is None and not prop.holds(spec, s)
    trace = Trace(spec.name, spec.param_values(), s, [], "never", "invariant")
    assert not explain(spec, trace, [prop]) and explain(spec, trace, [prop]).key_steps == ()


def test_a_users_property_returns_a_witness() -> None:
    @invariant
    def at_most_one_1a(spec: Any, s: PaxosState) -> bool | Witness:
        """At most one 1a message (a toy property)."""
        sent = sorted((m for m in s.msgs if m.type == "1a"), key=tuple)
        if len(sent) <= 1:
            return True
        return Witness("two 1a messages", [tuple(
            Fact(str(m), lambda st, m=m: m in st.msgs) for m in sent[:2])])

    prop = property_of(at_most_one_1a)
    spec, trace, props = _found(Paxos(acceptors=1, values=1, max_ballot=1), [prop],
                                "at_most_one_1a")
    expl = explain(spec, trace, props)
    assert expl.reason == "two 1a messages" and expl.key_steps == (1, 2)


def test_a_witness_builder_that_raises_leaves_a_plain_false() -> None:
    from agree.spec.witness import fallible

    @fallible
    def broken() -> Witness:
        raise KeyError("oops")

    assert broken() is False


# -- every pinned counterexample, and the command line ---------------------------------------


@pytest.mark.parametrize("path", sorted([*ROOT.glob("golden/*.json"),
                                        *ROOT.glob("zoo_deep/*.json")]), ids=lambda p: p.stem)
def test_every_pinned_counterexample_is_explained(path: Path) -> None:
    spec, trace, props = _stored(path.name)
    expl = _explained(spec, trace, props)
    assert all(1 <= n <= len(trace) for n in expl.key_steps)
    delivered = {e.message for n, e in expl.key_messages
                 if n in expl.key_steps and e.kind == "deliver"}
    for n, e in expl.key_messages:  # a key step's arrow, or the send of what one consumed
        assert n in expl.key_steps or (e.kind == "send" and e.message in delivered)


def test_agree_check_prints_the_summary_before_the_trace(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agree.cli.main import main

    code = main(["check", "paxos-amnesia", "--invariant", "agreement", "--quiet",
                 "--trace-out", str(tmp_path / "t.json")])
    out = capsys.readouterr().out
    assert code == 1
    head, _, steps = out.partition("State 0 (initial)")
    assert "Why agreement fails: two values are chosen, v1 and v2\n" in head
    assert "  v1 chosen in ballot 0 by a1 (step 9)\n" in head
    assert "Key steps: 7, 9 (marked [key step] below)" in head
    marked = [ln for ln in steps.splitlines() if ln.endswith("[key step]")]
    assert [ln.split(":")[0] for ln in marked] == ["Step 7", "Step 9"]


def test_agree_check_json_carries_the_witness(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from agree.cli.main import main

    code = main(["check", "paxos-amnesia", "--invariant", "agreement", "--json",
                 "--trace-out", str(tmp_path / "t.json")])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["violations"][0]["witness"] == {
        "reason": "two values are chosen, v1 and v2",
        "summary": ["v1 chosen in ballot 0 by a1 (step 9)", "v2 chosen in ballot 1 by a1 (step 7)"],
        "key_steps": [7, 9]}


# -- the lemmas `agree prove paxos` adds (properties/paxos_lemmas.py) -------------------------


def _lemma(zoo: str, name: str, **params: Any) -> tuple[Spec[Any], Trace, list[Property]]:
    from agree.properties.paxos_lemmas import LEMMAS

    spec, _ = registry.build(zoo, params)
    return _found(spec, LEMMAS, name)


def test_max_bal_ge_max_vbal_names_the_acceptor_that_voted_above_its_join() -> None:
    spec, trace, props = _lemma("paxos-2b-keeps-promise", "max_bal_ge_max_vbal",
                                acceptors=3, max_ballot=0, values=1)
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    a = next(a for a in range(3) if last.max_bal[a] < last.max_vbal[a])
    assert (w.data["acceptor"], w.data["max_bal"], w.data["max_vbal"]) == (
        a, last.max_bal[a], last.max_vbal[a])
    assert _rise(trace, lambda st: st.max_vbal[a] == last.max_vbal[a]) in \
        _explained(spec, trace, props).key_steps


def test_inv_2b_names_the_vote_its_sender_forgot() -> None:
    spec, trace, props = _lemma("paxos-amnesia", "inv_2b")
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    bad = min((m for m in last.msgs if m.type == "2b" and last.max_vbal[m.acc] < m.bal),
              key=tuple)
    assert (w.data["message"], w.data["max_vbal"]) == (bad, last.max_vbal[bad.acc])
    expl = _explained(spec, trace, props)
    assert trace.steps[expl.key_steps[-1] - 1].action == "Restart"


def test_inv_1b_latest_names_the_report_and_the_vote_it_skips() -> None:
    spec, trace, props = _lemma("paxos-accept-below-promise", "inv_1b_latest")
    w = _witness(spec, trace, props)
    last = trace.states[-1]
    m = w.data["message"]
    skipped = [v for v in last.msgs if v.type == "2b" and v.acc == m.acc
               and m.mbal < v.bal < m.bal]
    assert m in last.msgs and skipped
    expl = _explained(spec, trace, props)
    assert set(expl.key_steps) == {_rise(trace, lambda st, x=x: x in st.msgs)
                                   for x in (m, *skipped)}
