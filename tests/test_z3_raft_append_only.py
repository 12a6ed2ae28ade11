"""Leader Append-Only in ``agree prove raft``: an action property, so an obligation per
action over the step itself (``Inv /\\ A => leader_append_only(s, s')``). Its Z3 form is
held to the Python twin on steps of a small reachable state space and on a step
that breaks it, and an encoding whose leader overwrites its own last entry fails it."""

from __future__ import annotations

import random
from typing import Any

import z3
from _search import reachable

from agree.models.raft import Raft
from agree.models.raft_types import LEADER, Entry, RaftState
from agree.properties.raft import leader_append_only
from agree.protocols.registry import build
from agree.spec import property_of
from agree.symbolic.prove import prove
from agree.symbolic.raft.driver import raft_encoding_for
from agree.symbolic.raft.encoding import RaftVars, RaftZ3, project

SMALL = {"servers": 2, "max_term": 2, "max_log": 1, "max_messages": 1, "max_restarts": -1}
TWIN = property_of(leader_append_only)


def _encoding() -> RaftZ3:
    return raft_encoding_for("raft", servers=2, values=1, proof=True, params=SMALL)


def _disagreements(enc: RaftZ3, spec: Raft, steps: list[tuple[RaftState, RaftState]],
                   ) -> tuple[list[str], int]:
    """Steps where the Z3 form and the Python twin differ, and how many the twin
    found broken."""
    s, t = enc.fresh_state("pre"), enc.fresh_state("post")
    (prop,) = enc.step_safety(s, t)
    flag = z3.Bool("holds")
    sv = z3.Solver()
    sv.add(flag == prop.formula)
    out, broken = [], 0
    for pre, post in steps:
        sv.push()
        sv.add(enc.equal(s, enc.concrete(pre)), enc.equal(t, enc.concrete(project(post))))
        assert sv.check() == z3.sat
        z3_says = z3.is_true(sv.model().eval(flag, model_completion=True))
        py = TWIN.holds(spec, pre, post)
        broken += not py
        if z3_says != py:
            out.append(f"python={py} on {pre} -> {post}")
        sv.pop()
    return out, broken


def test_the_z3_form_matches_python_on_sampled_steps_and_on_a_rewritten_log() -> None:
    spec, _ = build("raft", SMALL)
    assert isinstance(spec, Raft)
    states = [st for st in reachable(spec, constraint="tlc") if spec.constraint(st)]
    steps = [(st, tr.state) for st in states for tr in spec.successors(st)]
    leads = [(st, post) for st, post in steps if any(st.log) and LEADER in st.state]
    assert leads, "no step from a state where a leader holds an entry"
    # The leader's entry replaced by one of a later term: not an append.
    pre, _ = leads[0]
    i = next(i for i in spec.servers if pre.state[i] == LEADER and pre.log[i])
    rewritten = pre._replace(log=tuple(
        (Entry(lg[0].term + 1, lg[0].value),) if j == i else lg for j, lg in enumerate(pre.log)))
    # every step from a state where a leader holds an entry, and others at random
    sample = [*leads, *random.Random(5).sample(steps, 1000), (pre, rewritten)]
    bad, broken = _disagreements(_encoding(), spec, sample)
    assert bad == []
    assert broken == 1  # only the rewritten step


class RewritingZ3(RaftZ3):
    """Deliberately wrong: a client request overwrites the leader's last entry."""

    def a_client_request(self, s: RaftVars, tag: str) -> tuple[z3.BoolRef, RaftVars]:
        guard, t = super().a_client_request(s, tag)
        i = self.server("i", tag)
        return z3.And(guard, s.llen[i] >= 1), t._replace(
            llen=s.llen, lterm=z3.Store(s.lterm, i, s.llen[i], s.term[i]),
            lval=z3.Store(s.lval, i, s.llen[i], z3.Const(f"v@{tag}", self.V)))


def test_every_action_keeps_leader_append_only_and_a_rewriting_leader_does_not() -> None:
    enc: Any = _encoding()
    res = prove(enc, timeout=30)
    only = [o for o in res.obligations if o.kind == "action"]
    assert [o.action for o in only] == list(enc.action_labels())
    assert {o.conjunct for o in only} == {"leader_append_only"}
    assert all(o.verdict == "proved" for o in only), [o.title for o in only]
    wrong = RewritingZ3(2, 1, proof=True, max_term=2, max_log=1)
    res = prove(wrong, timeout=5, only_actions=["ClientRequest"])
    (ob,) = [o for o in res.obligations if o.kind == "action"]
    assert ob.title == "Inv /\\ ClientRequest => leader_append_only(s, s')"
    assert ob.verdict != "proved", ob
    # Z3 finds no model with the quantified invariant in time; with small bounds it
    # finds the rewriting step (the counterexample the prover decodes).
    s = wrong.fresh_state("s")
    guard, t = wrong.update("ClientRequest", s, "p")
    (prop,) = wrong.step_safety(s, t)
    sv = z3.Solver()
    sv.add(*wrong.axioms(), guard, z3.Not(prop.formula), wrong.bounded(s, 1), wrong.bounded(t, 1))
    assert sv.check() == z3.sat
