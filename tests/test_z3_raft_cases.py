"""How `agree prove raft` splits hard obligations (symbolic/raft/cases.py), and what the
--part complete invariant still lacks:

* ``by_cases`` proves an obligation only when every fact and case holds and the cases
  cover it (a wrong fact, a missing case or a false instance fails);
* the splits prove obligations Z3 does not finish whole (3 servers --part complete, and
  elected_quorum with 5 servers);
* the obligations that were unknown before the vote lemmas are not solver trouble:
  explicit pre-states satisfy every other conjunct of the invariant (Python twins and
  Z3 alike) and one step breaks commit_in_later, leader_completeness or
  state_machine_safety; the vote lemmas (Verdi's votesWithLog, symbolic/raft/votes.py)
  exclude each of them, however s2's vote is recorded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import z3

from agree.models.raft import Raft
from agree.models.raft_types import (
    CANDIDATE,
    FOLLOWER,
    LEADER,
    Committed,
    Election,
    Entry,
    RaftState,
    VoteCast,
)
from agree.protocols.registry import build
from agree.symbolic.prove import by_cases
from agree.symbolic.raft.driver import raft_encoding_for, raft_twins
from agree.symbolic.raft.history import project_history
from agree.symbolic.raft.invariant_history import COMPLETE
from agree.symbolic.raft.votes import VOTE_CONJUNCTS
from agree.symbolic.z3base import Case, Conjunct, instances, parts

TWINS = raft_twins()


def test_by_cases_needs_every_fact_case_and_the_cover() -> None:
    x, y = z3.Ints("x y")
    k = z3.Int("k")
    inv = [Conjunct("pos", x > 0), Conjunct("big", y > x)]
    goal = z3.ForAll([k], z3.Implies(z3.Or(k == x, k == y), k > 0))
    (inst, (c,)), = instances(goal)
    on_x = Case("k is x", c == x, inst, ("pos",))
    on_y = Case("k is y", c == y, inst, ())
    fact = Case("y positive", z3.BoolVal(True), y > 0, ("pos", "big"), fact=True)
    assert by_cases([], inv, goal, [fact, on_x, on_y], 5)
    # Without the fact the case on y has nothing to go on (it uses no conjunct).
    assert not by_cases([], inv, goal, [on_x, on_y], 5)
    # A fact the conjuncts it may use do not give fails.
    assert not by_cases([], inv, goal, [replace(fact, uses=("big",)), on_x, on_y], 5)
    # Cases that do not cover the goal prove nothing.
    assert not by_cases([], inv, goal, [on_x], 5)
    # A false goal is not proved, whatever the split.
    bad = z3.ForAll([k], z3.Implies(k == y, k > y))
    (binst, _), = instances(bad)
    assert not by_cases([], inv, bad, [fact, Case("all", z3.BoolVal(True), binst)], 5)


def test_instances_and_parts() -> None:
    a, b = z3.Ints("a b")
    goal = z3.And(z3.ForAll([a], a >= a), z3.And(b == b, z3.ForAll([a, b], a + b == b + a)))
    assert len(parts(goal)) == 3
    inst = instances(goal)
    assert [len(cs) for _, cs in inst] == [1, 0, 2]
    # Deterministic: the same goal gives the same constants.
    assert all(z3.eq(x, y) for (x, _), (y, _) in zip(inst, instances(goal), strict=True))


def _complete() -> Any:
    return raft_encoding_for("raft", servers=3, values=None, proof=True,
                             params={"max_restarts": -1}, part="complete")


def _split_proves(enc: Any, label: str, conjunct: str) -> bool:
    s = enc.fresh_state("s")
    guard, t = enc.update(label, s, "p")
    goal = next(c.formula for c in enc.invariants(t) if c.name == conjunct)
    cases = enc.cases(label, conjunct, s, t, "p", goal)
    assert cases, f"{label} => {conjunct}' is not split"
    return by_cases([*enc.axioms(), guard], enc.invariants(s), goal, cases, 30)


@pytest.mark.parametrize("label,conjunct", [
    ("BecomeLeader", "grown_logs_match"),
    ("ClientRequest", "log_in_grown"),
    ("HandleAppendEntriesRequest", "log_in_grown")])
def test_history_splits_prove_obligations_z3_does_not_finish_whole(
        label: str, conjunct: str) -> None:
    assert _split_proves(_complete(), label, conjunct)


@pytest.mark.reference
@pytest.mark.parametrize("label,conjunct", [
    ("HandleAppendEntriesRequest", "state_machine_safety"),
    ("HandleAppendEntriesRequest", "leader_completeness")])
def test_history_splits_prove_the_slower_ones(label: str, conjunct: str) -> None:
    assert _split_proves(_complete(), label, conjunct)


def test_five_servers_elected_quorum_by_candidate() -> None:
    enc = raft_encoding_for("raft", servers=5, values=None, proof=True,
                            params={"max_restarts": -1}, part="election")
    assert _split_proves(enc, "Timeout", "elected_quorum")


# -- the invariant of --part complete is too weak -------------------------------------


def _spec() -> Raft:
    spec, _ = build("raft", {"servers": 3, "values": 1, "history": True, "max_term": 3,
                             "max_log": 2, "max_messages": 2, "max_restarts": 0})
    assert isinstance(spec, Raft)
    return spec


E1, E2 = Entry(1, 0), Entry(2, 0)


def _cti_states(spec: Raft) -> dict[str, RaftState]:
    """Pre-states the invariant admits: s1 leads term 1 with [1:v1], acknowledged by s2;
    s2 then voted for s3 in term 2 although s3's log is shorter (no lemma says a vote
    needs an up-to-date log)."""
    init = next(iter(spec.init()))
    base = init._replace(
        current_term=(1, 2, 2), state=(LEADER, FOLLOWER, CANDIDATE), voted_for=(0, 2, 2),
        log=((E1,), (E1,), ()), commit_index=(1, 0, 0),
        votes_responded=(frozenset({0, 1}), frozenset(), frozenset({1, 2})),
        votes_granted=(frozenset({0, 1}), frozenset(), frozenset({1, 2})),
        elections=frozenset({Election(1, 0, (E1,), frozenset({0, 1}), ())}),
        committed=frozenset({Committed(1, E1, 1)}),
        next_index=((2, 2, 1), (1, 1, 1), (1, 1, 1)),
        match_index=((0, 1, 0), (0, 0, 0), (0, 0, 0)))
    # s3 won term 2 with an empty log; s1 has not committed yet.
    elected = base._replace(
        state=(LEADER, FOLLOWER, LEADER), commit_index=(0, 0, 0), committed=frozenset(),
        elections=base.elections | {Election(2, 2, (), frozenset({1, 2}), ())})
    # s3 leads term 2 and committed [2:v1]; s1 is about to commit [1:v1].
    other = elected._replace(
        log=((E1,), (E2,), (E2,)), commit_index=(0, 0, 1),
        elections=base.elections | {Election(2, 2, (E2,), frozenset({1, 2}), ())},
        committed=frozenset({Committed(1, E2, 2)}),
        next_index=((2, 2, 1), (1, 1, 1), (2, 2, 2)),
        match_index=((0, 1, 0), (0, 0, 0), (0, 1, 0)))
    return {"BecomeLeader": base, "AdvanceCommitIndex": elected, "AdvanceCommitIndex*": other}


def _z3_holds(enc: Any, st: RaftState) -> dict[str, bool]:
    """Each Z3 conjunct evaluated on an explicit state (one query per conjunct: a
    model may leave a quantified conjunct's value unevaluated)."""
    s = enc.fresh_state("eval")
    out = {}
    for c in enc.invariants(s):
        sv = z3.Solver()
        sv.add(enc.equal(s, enc.concrete(st)), z3.Not(c.formula))
        r = sv.check()
        assert r != z3.unknown, c.name
        out[c.name] = r == z3.unsat
    return out


def _with_votes(st: RaftState, s2: tuple[int, int] | None) -> RaftState:
    """The pre-state with its votes cast recorded: s1's and s2's in term 1 and s3's in
    term 2 with their logs then, and s2's in term 2 with (last term, length) ``s2``
    (None: not recorded)."""
    votes = {VoteCast(1, 0, 0, 0), VoteCast(1, 1, 0, 0), VoteCast(2, 2, 0, 0)}
    if s2 is not None:
        votes.add(VoteCast(2, 1, *s2))
    return st._replace(votes_cast=frozenset(votes))


@pytest.mark.parametrize("which,broken", [
    ("BecomeLeader", {"commit_in_later", "leader_completeness"}),
    ("AdvanceCommitIndex", {"commit_in_later", "leader_completeness"}),
    ("AdvanceCommitIndex*", {"commit_in_later", "leader_completeness",
                             "state_machine_safety"})])
def test_the_vote_lemmas_exclude_the_old_ctis(which: str, broken: set[str]) -> None:
    """Without the vote lemmas these pre-states satisfy the invariant and the step breaks
    it (the CTIs that left five obligations unknown); each way of recording s2's vote
    in term 2 (none, with its log [1:v1], with an empty log) breaks a vote lemma, in
    Python and Z3 alike."""
    spec = _spec()
    pre = _cti_states(spec)[which]
    enc = raft_encoding_for("raft", servers=3, values=1, proof=True,
                            params={"max_restarts": -1, "max_term": 3, "max_log": 2},
                            part="complete")
    old = [n for n in COMPLETE if n not in VOTE_CONJUNCTS]
    assert all(TWINS[n].holds(spec, pre) for n in old)
    z3_pre = _z3_holds(enc, project_history(pre))
    assert all(z3_pre[n] for n in old)
    label = which.rstrip("*")
    posts = [tr.state for tr in spec.successors(pre) if tr.action.label == label]
    fails = [{n for n in old if not TWINS[n].holds(spec, p)} for p in posts]
    assert broken in fails
    post = posts[fails.index(broken)]
    z3_fails = {n for n, ok in _z3_holds(enc, project_history(post)).items()
                if not ok and n in old}
    assert z3_fails == broken
    for s2 in (None, (1, 1), (0, 0)):
        st = _with_votes(pre, s2)
        py = {n for n in VOTE_CONJUNCTS if not TWINS[n].holds(spec, st)}
        z3_bad = {n for n, ok in _z3_holds(enc, project_history(st)).items()
                  if not ok and n in VOTE_CONJUNCTS}
        assert py and py == z3_bad, (s2, py, z3_bad)
