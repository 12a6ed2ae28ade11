"""Every Raft safety property's witness (the Raft paper's figure 3, as properties/raft.py
states it, in its state and history forms), on a real counterexample, against an
independent computation on the trace's final state, and the steps it names against a scan
of the trace.

The counterexamples are the pinned zoo traces, or checks of a spec broken on purpose here
where no zoo variant breaks the property.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from _witness import explained, found, rise, stored, witness_at_end

from agree.models.paxos import put
from agree.models.raft import Raft
from agree.models.raft_types import LEADER, Entry, RaftState
from agree.properties import raft
from agree.traces.trace import Trace, encode_value, replay


@pytest.mark.parametrize("name", ["raft-stale-votes.election_safety.json",
                                  "raft-forget-vote.election_safety.json",
                                  "raft-forget-term.election_safety.json"])
def test_election_safety_names_two_elections_of_a_term_and_their_votes(name: str) -> None:
    spec, trace, props = stored(name)
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    terms = sorted({e.eterm for e in last.elections
                    if len({x.eleader for x in last.elections if x.eterm == e.eterm}) > 1})
    assert w.data["term"] == terms[0]
    of_term = {(e.eleader, e.evotes) for e in last.elections if e.eterm == terms[0]}
    assert set(w.data["elections"]) <= of_term
    assert len({leader for leader, _ in w.data["elections"]}) == 2
    expl = explained(spec, trace, props)
    for leader, voters in w.data["elections"]:
        e = next(e for e in last.elections if (e.eterm, e.eleader) == (terms[0], leader))
        won = rise(trace, lambda st, e=e: e in st.elections)
        assert trace.steps[won - 1].action == "BecomeLeader" and won in expl.key_steps
        for j in voters:
            got = rise(trace, lambda st, j=j, i=leader: j in st.votes_granted[i], upto=won)
            assert got in expl.key_steps


def test_one_leader_per_term_names_the_two_leaders() -> None:
    spec, trace, props = stored("raft-leader-ignores-term.one_leader_per_term.json")
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    leaders = [(last.current_term[i], i) for i in range(len(last.state))
               if last.state[i] == LEADER]
    term = min(t for t, _ in leaders if [x for x, _ in leaders].count(t) > 1)
    assert w.data["term"] == term
    assert set(w.data["leaders"]) == {i for t, i in leaders if t == term}
    expl = explained(spec, trace, props)
    assert expl.key_steps == tuple(sorted(
        rise(trace, lambda st, i=i: st.state[i] == LEADER and st.current_term[i] == term)
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
    spec, trace, props = found(_AnyoneServes(servers=2, values=2, max_term=1, max_log=1),
                                raft.PROPERTIES, "log_matching")
    w = witness_at_end(spec, trace, props)
    la, lb = trace.states[-1].log
    n = max(k for k in range(1, min(len(la), len(lb)) + 1) if la[k - 1].term == lb[k - 1].term)
    k = min(x for x in range(1, n + 1) if la[x - 1] != lb[x - 1])
    assert (w.data["index"], w.data["servers"], w.data["differs_at"]) == (n, (0, 1), k)
    assert w.data["entries"] == (la[k - 1], lb[k - 1])
    expl = explained(spec, trace, props)
    assert all(trace.steps[x - 1].action == "ClientRequest" for x in expl.key_steps)


def test_state_machine_safety_names_the_index_committed_twice() -> None:
    spec, trace, props = found(_AnyoneServes(servers=2, values=2, max_term=1, max_log=1),
                                raft.PROPERTIES, "state_machine_safety")
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    pa, pb = (last.log[i][:last.commit_index[i]] for i in (0, 1))
    k = min(x for x in range(1, min(len(pa), len(pb)) + 1) if pa[x - 1] != pb[x - 1])
    assert (w.data["index"], w.data["entries"]) == (k, (pa[k - 1], pb[k - 1]))
    expl = explained(spec, trace, props)
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
    spec, trace, props = stored(name)
    if history:
        spec, trace = _with_history(spec, trace)  # type: ignore[arg-type]
    w = witness_at_end(spec, trace, props)
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
    expl = explained(spec, trace, props)
    elected = next(e for e in last.elections if (e.eterm, e.eleader) == (w.data["term"], i))
    assert rise(trace, lambda st: elected in st.elections) in expl.key_steps


def test_commit_index_in_log_names_the_server_and_its_commit_index() -> None:
    spec, trace, props = stored("raft-commit-past-entries.commit_index_in_log.json")
    w = witness_at_end(spec, trace, props)
    last: RaftState = trace.states[-1]
    i = next(i for i, c in enumerate(last.commit_index) if c > len(last.log[i]))
    assert (w.data["server"], w.data["commit_index"], w.data["log_length"]) == (
        i, last.commit_index[i], len(last.log[i]))
    expl = explained(spec, trace, props)
    assert rise(trace, lambda st: st.commit_index[i] == last.commit_index[i]) in expl.key_steps


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
    spec, trace, props = found(_LeaderOverwrites(servers=1, values=2, max_term=2, max_log=1),
                                raft.PROPERTIES, "leader_append_only")
    w = witness_at_end(spec, trace, props)
    before, after = trace.states[-2], trace.states[-1]
    i = next(i for i in range(len(after.log)) if after.log[i][:len(before.log[i])]
             != before.log[i])
    k = min(x for x in range(1, len(before.log[i]) + 1)
            if x > len(after.log[i]) or after.log[i][x - 1] != before.log[i][x - 1])
    assert (w.data["server"], w.data["index"], w.data["before"]) == (
        i, k, before.log[i][k - 1])
    expl = explained(spec, trace, props)
    assert len(trace) in expl.key_steps  # the step that overwrote
    assert rise(trace, lambda st: st.log[i][:k] == before.log[i][:k]) in expl.key_steps
