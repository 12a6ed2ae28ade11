"""The Raft history encoding (symbolic/raft/history.py, `agree prove raft --part complete`)
held to the explicit model with ``history=True``, and its lemmas' Python twins
(properties/raft_history_lemmas.py) on reachable states:

* history=True keeps the TLC-pinned default state space (the histories are off by
  default) and only adds states when on;
* every lemma holds on every reachable state of small configurations, and is not
  vacuous there (commits happen);
* every Z3 conjunct of --part complete evaluates like its Python twin on reachable,
  mutated and zoo states;
* each action's Z3 relation, ghosts included, admits exactly the explicit successors;
* a zoo variant that breaks leader completeness fails --part complete with a CTI the
  prover's reachability search classifies as reachable.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import z3
from _fresh import in_fresh_process
from _search import reachable

from agree.models.raft import Raft
from agree.models.raft_types import AEREQ, Committed, Entry, RaftState, VoteCast, put
from agree.properties.raft_history_lemmas import HISTORY_LEMMAS
from agree.protocols.registry import build
from agree.symbolic.raft.driver import raft_encoding_for, raft_twins
from agree.symbolic.raft.history import project_history
from agree.symbolic.raft.invariant_history import COMPLETE, COMPLETE_SAFETY
from agree.symbolic.raft.votes import VOTE_CONJUNCTS

TWINS = raft_twins()
SMALL = {"servers": 2, "max_term": 2, "max_log": 1, "max_messages": 1, "max_restarts": 0,
         "history": True}
DEEPER = {**SMALL, "max_term": 3, "max_log": 2}


def _spec(params: dict[str, Any], name: str = "raft") -> Raft:
    spec, _ = build(name, params)
    assert isinstance(spec, Raft)
    return spec


def _states(params: dict[str, Any], name: str = "raft") -> list[RaftState]:
    spec = _spec(params, name)
    return [st for st in reachable(spec, constraint="tlc") if spec.constraint(st)]


def encoding(params: dict[str, Any], proof: bool, name: str = "raft") -> Any:
    full = {"values": 1, **params}
    return raft_encoding_for(name, servers=full["servers"], values=full["values"],
                             proof=proof, params=full, part="complete")


def test_history_is_off_by_default_and_only_adds_states() -> None:
    plain = _states({**SMALL, "history": False})
    assert len(plain) == 770  # TLC's count (tests/test_z3_raft.py)
    assert all(not st.committed for st in plain)
    hist = _states(SMALL)
    assert any(st.committed for st in hist)
    # The histories only annotate: forgetting them gives the default state space.
    assert any(st.votes_cast for st in hist) and all(not st.votes_cast for st in plain)
    assert {st._replace(committed=frozenset(), elections=frozenset(),
                        votes_cast=frozenset()) for st in hist} == {
        st._replace(elections=frozenset()) for st in plain}


def test_lemmas_hold_on_every_reachable_state() -> None:
    spec = _spec(DEEPER)
    states = _states(DEEPER)
    assert sum(1 for st in states if st.committed) > 1000  # not vacuous: commits happen
    assert any(len(e.elog) > 0 for st in states for e in st.elections)
    names = [p.name for p in HISTORY_LEMMAS]
    for name in (*names, "leader_completeness", "state_machine_safety"):
        bad = [st for st in states if not TWINS[name].holds(spec, st)]
        assert not bad, f"{name} fails on {bad[0]}"


def _conjunct_flags(enc: Any) -> tuple[Any, list[Any], list[Any]]:
    s = enc.fresh_state("eval")
    conj = [*enc.invariants(s), *(c for c in enc.safety(s)
                                  if c.name not in COMPLETE)]
    flags = [z3.Bool(f"holds.{c.name}") for c in conj]
    return s, conj, flags


def disagreements(enc: Any, spec: Raft, states: list[RaftState],
                  ) -> tuple[list[str], dict[str, int]]:
    s, conj, flags = _conjunct_flags(enc)
    # The vote lemmas nest quantifiers: one model of all flags at once is slow to find
    # (seconds to a timeout per state), one refutation query per lemma is not.
    sv = z3.Solver()
    sv.add(*(f == c.formula for f, c in zip(flags, conj, strict=True)
             if c.name not in VOTE_CONJUNCTS))
    alone = {c.name: z3.Solver() for c in conj if c.name in VOTE_CONJUNCTS}
    for c in conj:
        if c.name in alone:
            alone[c.name].add(z3.Not(c.formula))
    out: list[str] = []
    falses = {c.name: 0 for c in conj}
    for st in states:
        here = enc.equal(s, enc.concrete(st))
        sv.push()
        sv.add(here)
        assert sv.check() == z3.sat
        model = sv.model()
        for f, c in zip(flags, conj, strict=True):
            py = TWINS[c.name].holds(spec, project_history(st))
            falses[c.name] += not py
            if c.name in alone:
                r = alone[c.name].check(here)
                assert r != z3.unknown, c.name
                holds = r == z3.unsat
            else:
                holds = z3.is_true(model.eval(f, model_completion=True))
            if holds != py:
                out.append(f"{c.name}: python={py} on {st}")
        sv.pop()
    return out, falses


def _mutants(spec: Raft, states: list[RaftState], n: int) -> list[RaftState]:
    """History-breaking states near reachable ones: a commit recorded, a grown log or a
    log changed, a request of an unelected term."""
    rng = random.Random(5)
    out = []
    for _ in range(n):
        st = rng.choice(states)
        i, t = rng.randrange(spec.n), rng.randint(1, spec.max_term)
        k = rng.randrange(5)
        if k == 0 and st.elections:
            e = rng.choice(sorted(st.elections))
            if e.elog:
                st = st._replace(committed=st.committed | {
                    Committed(len(e.elog), e.elog[-1], rng.randint(1, spec.max_term))})
        elif k == 1 and st.elections:
            e = rng.choice(sorted(st.elections))
            st = st._replace(elections=(st.elections - {e}) | {
                e._replace(elog=(Entry(t, 0),) * rng.randint(0, 2))})
        elif k == 4:  # a vote recorded, forgotten, or recorded with another log
            vs = sorted(st.votes_cast)
            if vs and rng.random() < 0.5:
                v = rng.choice(vs)
                st = st._replace(votes_cast=frozenset(vs) - {v} | (
                    {v._replace(vlast_term=t, vlast_index=rng.randint(0, 2))}
                    if rng.random() < 0.5 else set()))
            else:
                st = st._replace(votes_cast=frozenset(
                    v for v in st.votes_cast if (v.vterm, v.vvoter) != (t, i)) | {
                    VoteCast(t, i, rng.randint(0, t), rng.randint(0, 2))})
        elif k == 2:
            st = st._replace(log=put(st.log, i, (Entry(t, 0),) * rng.randint(1, 2)),
                             commit_index=put(st.commit_index, i, rng.randint(0, 2)))
        else:
            from agree.models.raft_types import AppendEntriesRequest, with_message
            m = AppendEntriesRequest(AEREQ, t, 0, 0, (Entry(t, 0),), (), rng.randint(0, 1),
                                     i, (i + 1) % spec.n)
            st = st._replace(messages=with_message(m, st.messages))
        out.append(st)
    return out


def test_conjuncts_match_python_on_reachable_mutated_and_zoo_states() -> None:
    spec = _spec(SMALL)
    states = _states(SMALL)
    rng = random.Random(2)
    sample = rng.sample(states, 150)
    zoo = rng.sample(_states({**SMALL, "max_term": 3}, "raft-commit-old-term"), 40)
    bad, falses = disagreements(encoding(SMALL, proof=True), spec,
                                [*sample, *_mutants(spec, sample, 150), *zoo])
    assert bad == []
    lemmas = [p.name for p in HISTORY_LEMMAS]
    # Not vacuous: most history and vote lemmas were False on some state.
    assert sum(1 for n in lemmas if falses[n] > 0) >= 7, falses
    assert sum(1 for n in VOTE_CONJUNCTS if falses[n] > 0) >= 4, falses
    assert falses["commit_in_grown"] > 0 and falses["commit_known"] > 0, falses


def successor_mismatches(enc: Any, spec: Raft, states: list[RaftState],
                         labels: list[str]) -> list[str]:
    out = []
    t = enc.fresh_state("next")
    for st in states:
        s = enc.concrete(st)
        succs: dict[str, list[RaftState]] = {lb: [] for lb in labels}
        for tr in spec.successors(st):
            if tr.action.label in succs:
                succs[tr.action.label].append(project_history(tr.state))
        for label, nexts in succs.items():
            for nxt in nexts:
                sv = z3.Solver()
                sv.add(enc.step(label, s, enc.concrete(nxt), "chk"))
                if sv.check() != z3.sat:
                    out.append(f"{label}: Z3 rejects the explicit step {st} -> {nxt}")
            sv = z3.Solver()
            sv.add(enc.step(label, s, t, "chk"),
                   *(z3.Not(enc.equal(t, enc.concrete(n))) for n in nexts))
            if sv.check() != z3.unsat:
                out.append(f"{label}: Z3 admits a step from {st} the spec does not take")
    return out


GHOST_ACTIONS = ["BecomeLeader", "ClientRequest", "AdvanceCommitIndex",
                 "HandleRequestVoteRequest"]


@pytest.mark.parametrize("proof", [False, True])
def test_ghost_writing_actions_admit_exactly_the_explicit_successors(proof: bool) -> None:
    spec = _spec(DEEPER)
    states = _states(DEEPER)
    rng = random.Random(8)
    picks: list[RaftState] = []
    for label in GHOST_ACTIONS:
        able = [st for st in states
                if any(tr.action.label == label and tr.state != st
                       for tr in spec.successors(st))]
        picks += rng.sample(able, 3)
    committing = [st for st in states if any(
        tr.action.label == "AdvanceCommitIndex" and tr.state.committed != st.committed
        for tr in spec.successors(st))]
    picks += rng.sample(committing, 3)
    assert successor_mismatches(encoding(DEEPER, proof), spec, picks, GHOST_ACTIONS) == []


def test_every_action_admits_exactly_the_explicit_successors() -> None:
    spec = _spec(SMALL)
    states = [st for st in _states(SMALL) if st.committed or any(st.log)]
    sample = random.Random(9).sample(states, 3)
    enc = encoding(SMALL, True)
    assert successor_mismatches(enc, spec, sample, list(enc.action_labels())) == []


def test_complete_invariant_names_have_twins() -> None:
    assert all(n in TWINS for n in (*COMPLETE, *COMPLETE_SAFETY))


def test_the_history_invariant_implies_the_properties() -> None:
    # Z3's verdict on Inv => log_matching depends on what the process asked before (it
    # went unknown late in a full run): asked in a fresh process, as tests/_fresh.py says
    in_fresh_process("test_z3_raft_history", "_history_invariant_implies_the_properties")


def _history_invariant_implies_the_properties() -> None:
    """The safety obligations of --part complete (Inv => property) are proved: log
    matching, leader completeness and state machine safety follow from the grown-log and
    commit lemmas. (The invariant's own preservation is not fully proved: some action
    obligations stay unknown; see docs/z3.md.)"""
    from agree.symbolic.prove import by_cases
    from agree.symbolic.z3base import solver
    enc = raft_encoding_for("raft", servers=3, values=None, proof=True,
                            params={"max_restarts": -1}, part="complete")
    s = enc.fresh_state("s")
    inv = enc.invariants(s)
    verdicts = {}
    for c in enc.safety(s):  # as `agree prove` asks (without the vote lemmas)
        cases = enc.cases(None, c.name, s, None, "", c.formula)
        verdicts[c.name] = by_cases(enc.axioms(), inv, c.formula, cases, 120)
    assert verdicts == {n: True for n in COMPLETE_SAFETY}
    # Without the lemma log matching follows from, it is not proved (the check can fail).
    sv = solver(5)
    weak = [c.formula for c in enc.invariants(s) if c.name not in ("log_in_grown",
                                                                     "leader_completeness")]
    sv.add(*enc.axioms(), *weak, z3.Not(next(c.formula for c in enc.safety(s)
                                             if c.name == "log_matching")))
    assert sv.check() != z3.unsat
