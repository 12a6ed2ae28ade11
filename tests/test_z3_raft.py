"""The Raft Z3 encoding held to the explicit model, and the prover/BMC on it.

* every Z3 conjunct (safety properties and lemmas) evaluates like its Python twin
  on every reachable state of a small configuration, on mutated (unreachable)
  states and on states of buggy variants (where conjuncts do fail);
* for sampled reachable states, each action's Z3 relation admits exactly the
  explicit successors of that action (proof and bounded encodings, and each zoo
  variant's overridden action);
* a deliberately wrong encoding fails both checks;
* election safety and log matching proved inductive for 3 servers; BMC finds a
  shallow bug and rebuilds its trace through the explicit spec.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import z3
from _search import reachable

from agree.models.raft import Raft
from agree.models.raft_types import (
    AEREQ,
    CANDIDATE,
    LEADER,
    RVRESP,
    AppendEntriesRequest,
    Entry,
    RaftState,
    RequestVoteResponse,
    put,
    with_message,
)
from agree.protocols.registry import build
from agree.symbolic.bmc import bmc
from agree.symbolic.raft.driver import raft_encoding_for, raft_twins
from agree.symbolic.raft.encoding import RaftVars, RaftZ3, project
from agree.symbolic.raft.invariant import SAFETY, conjunct

TWINS = raft_twins()
SMALL = {"servers": 2, "max_term": 2, "max_log": 1, "max_messages": 1, "max_restarts": 0}


def encoding(params: dict[str, Any], proof: bool, name: str = "raft") -> RaftZ3:
    full = {"servers": 2, "values": 1, **params}
    return raft_encoding_for(name, servers=full["servers"], values=full["values"],
                             proof=proof, params=full)


def all_conjuncts(enc: RaftZ3, s: RaftVars) -> list[Any]:
    inv = enc.invariants(s)
    names = {c.name for c in inv}
    return [*inv, *(conjunct(enc, s, n) for n in SAFETY if n not in names)]


def disagreements(enc: RaftZ3, spec: Raft, states: Iterable[RaftState],
                  ) -> tuple[list[str], dict[str, int]]:
    """Conjuncts where Z3 and Python differ, and how often each Python twin was False.
    One check per state: each conjunct's truth is a Boolean the model must give (the
    state is fully determined, so a model decides every conjunct)."""
    s = enc.fresh_state("eval")
    conj = all_conjuncts(enc, s)
    flags = [z3.Bool(f"holds.{c.name}") for c in conj]
    sv = z3.Solver()
    sv.add(*(f == c.formula for f, c in zip(flags, conj, strict=True)))
    out: list[str] = []
    falses: dict[str, int] = {c.name: 0 for c in conj}
    for st in states:
        sv.push()
        sv.add(enc.equal(s, enc.concrete(st)))
        r = sv.check()
        assert r == z3.sat, f"Z3 cannot evaluate the conjuncts on {st}: {r}"
        model = sv.model()
        for f, c in zip(flags, conj, strict=True):
            py = TWINS[c.name].holds(spec, st)
            falses[c.name] += not py
            if z3.is_true(model.eval(f, model_completion=True)) != py:
                out.append(f"{c.name}: python={py} on {st}")
        sv.pop()
    return out, falses


def mutants(spec: Raft, states: list[RaftState], n: int, seed: int = 1) -> list[RaftState]:
    """Unreachable states near reachable ones: a variable changed, a message added."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        st = rng.choice(states)
        i, j = rng.randrange(spec.n), rng.randrange(spec.n)
        t = rng.randint(1, spec.max_term)
        k = rng.randrange(7)
        if k == 0:
            st = st._replace(state=put(st.state, i, rng.choice([CANDIDATE, LEADER])))
        elif k == 1:
            st = st._replace(voted_for=put(st.voted_for, i, rng.choice([None, j])))
        elif k == 2:
            st = st._replace(votes_granted=put(st.votes_granted, i,
                                               st.votes_granted[i] | {j}))
        elif k == 3:
            m = RequestVoteResponse(RVRESP, t, True, (), i, j)
            st = st._replace(messages=with_message(m, st.messages))
        elif k == 4:
            lg = (Entry(t, 0),) * rng.randint(1, 2)
            st = st._replace(log=put(st.log, i, lg))
        elif k == 5:
            e = (Entry(t, 0),) if rng.random() < 0.8 else ()
            p = rng.randint(0, 1)
            m = AppendEntriesRequest(AEREQ, t, p, rng.randint(0, 2) if p else 0, e, (), 0, i, j)
            st = st._replace(messages=with_message(m, st.messages))
        else:
            st = st._replace(commit_index=put(st.commit_index, i, rng.randint(0, 2)),
                             current_term=put(st.current_term, i, t))
        out.append(st)
    return out


def test_conjuncts_match_python_on_every_reachable_state() -> None:
    """Every distinct state (within the state constraint, as TLC counts them)."""
    spec, _ = build("raft", SMALL)
    assert isinstance(spec, Raft)
    states = [st for st in reachable(spec, constraint="tlc") if spec.constraint(st)]
    assert len(states) == 770
    bad, _ = disagreements(encoding(SMALL, proof=True), spec, states)
    assert bad == []


@pytest.mark.reference
@pytest.mark.parametrize("restarts", [0, -1])
def test_conjuncts_match_python_on_every_state_met(restarts: int) -> None:
    """Also the successors outside the constraint (terms 3, logs of 2), and Restart."""
    params = {**SMALL, "max_restarts": restarts}
    spec, _ = build("raft", params)
    assert isinstance(spec, Raft)
    states = reachable(spec, constraint="tlc")
    bad, _ = disagreements(encoding(params, proof=True), spec, states)
    assert bad == []


def test_conjuncts_match_python_on_unreachable_and_buggy_states() -> None:
    spec, _ = build("raft", SMALL)
    assert isinstance(spec, Raft)
    rng = random.Random(7)
    sample = rng.sample(reachable(spec, constraint="tlc"), 60)
    zoo_states = []
    for name in ("raft-stale-votes", "raft-leader-ignores-term"):
        zoo, _ = build(name, {**SMALL, "max_term": 3, "max_log": 0})
        zoo_states += rng.sample(reachable(zoo, constraint="tlc"), 20)
    bad, falses = disagreements(encoding(SMALL, proof=True), spec,
                                [*mutants(spec, sample, 150), *zoo_states])
    assert bad == []
    # Not vacuous: most conjuncts were False somewhere.
    assert sum(1 for n in falses.values() if n > 0) >= 16, falses


def successor_mismatches(enc: RaftZ3, spec: Raft, states: Iterable[RaftState],
                         labels: Iterable[str] | None = None) -> list[str]:
    """Per action: every explicit successor satisfies T, and T admits no other."""
    out = []
    t = enc.fresh_state("next")
    wanted = list(labels or enc.action_labels())
    for st in states:
        s = enc.concrete(st)
        by_label: dict[str, list[RaftState]] = {lb: [] for lb in wanted}
        for tr in spec.successors(st):
            if tr.action.label in by_label:
                by_label[tr.action.label].append(project(tr.state))
        for label, succs in by_label.items():
            for nxt in succs:
                sv = z3.Solver()
                sv.add(enc.step(label, s, enc.concrete(nxt), "chk"))
                if sv.check() != z3.sat:
                    out.append(f"{label}: Z3 rejects the explicit step {st} -> {nxt}")
            sv = z3.Solver()
            sv.add(enc.step(label, s, t, "chk"),
                   *(z3.Not(enc.equal(t, enc.concrete(n))) for n in succs))
            if sv.check() != z3.unsat:
                out.append(f"{label}: Z3 admits a step from {st} the spec does not take")
    return out


@pytest.mark.parametrize("proof", [False, True])
def test_transition_relation_admits_exactly_the_explicit_successors(proof: bool) -> None:
    params = {**SMALL, "max_restarts": -1}
    spec, _ = build("raft", params)
    assert isinstance(spec, Raft)
    states = reachable(spec, constraint="tlc")
    # States with entries in logs and in flight, and some of anything.
    rich = [st for st in states if any(st.log) and any(m.mtype == AEREQ for m in st.messages)]
    rng = random.Random(3 if proof else 4)
    sample = rng.sample(states, 3) + rng.sample(rich, 2)
    assert successor_mismatches(encoding(params, proof), spec, sample) == []


ZOO_ACTION = {
    "raft-commit-old-term": "AdvanceCommitIndex", "raft-forget-vote": "Restart",
    "raft-forget-term": "Restart", "raft-vote-any-log": "HandleRequestVoteRequest",
    "raft-leader-ignores-term": "UpdateTerm",
    "raft-stale-votes": "HandleRequestVoteResponse",
    "raft-truncate-on-stale-append": "HandleAppendEntriesRequest",
    "raft-commit-past-entries": "AppendEntries",
}


@pytest.mark.parametrize("name", sorted(ZOO_ACTION))
def test_zoo_encodings_admit_exactly_the_variant_successors(name: str) -> None:
    params = {**SMALL, "max_restarts": 1, "max_log": 2}
    spec, _ = build(name, params)
    assert isinstance(spec, Raft)
    label = ZOO_ACTION[name]
    states = [st for st in reachable(build(name, {**params, "max_log": 1})[0], constraint="tlc")
              if any(tr.action.label == label for tr in spec.successors(st))]
    sample = random.Random(11).sample(states, 4)
    assert successor_mismatches(encoding(params, False, name), spec, sample, [label]) == []


class DriftedRaftZ3(RaftZ3):
    """Deliberately wrong: a server grants a vote whatever voted_for says, and
    vote_resp_unique is checked for granted responses of term 1 only."""

    def a_handle_request_vote_request(self, s: RaftVars, tag: str,
                                      ) -> tuple[z3.BoolRef, RaftVars]:
        guard, t = super().a_handle_request_vote_request(s, tag)
        j, i, term, lt, li = self.msg_params("rvreq", tag)
        grant = z3.And(term == s.term[i], self.log_ok_for_vote(s, i, lt, li))
        return guard, t._replace(
            voted=z3.If(grant, z3.Store(s.voted, i, self.some(j)), s.voted),
            rvresp=self.bump(s.rvresp, (i, j, s.term[i], grant), 1))


def test_a_drifted_encoding_fails_the_agreement_checks() -> None:
    spec, _ = build("raft", SMALL)
    assert isinstance(spec, Raft)
    enc = DriftedRaftZ3(2, 1, proof=False, max_term=2, max_log=1, max_messages=1,
                        max_restarts=0)
    states = [st for st in reachable(spec, constraint="tlc")
              if any(m.mtype == "RequestVoteRequest" for m in st.messages)
              and any(v is not None for v in st.voted_for)]
    sample = random.Random(2).sample(states, 12)
    assert successor_mismatches(enc, spec, sample, ["HandleRequestVoteRequest"]) != []

    class WrongLemma(RaftZ3):
        def invariants(self, s: RaftVars) -> list[Any]:
            out = super().invariants(s)
            return [c if c.name != "vote_resp_unique" else type(c)(c.name, z3.Not(
                z3.And(s.rvresp[self.srv[0], self.srv[0], 1, True] > 0,
                       s.rvresp[self.srv[0], self.srv[1], 1, True] > 0))) for c in out]

    wrong = WrongLemma(2, 1, proof=True, max_term=2, max_log=1)
    both = next(iter(spec.init()))._replace(current_term=(2, 2), messages=tuple(sorted(
        RequestVoteResponse(RVRESP, 2, True, (), 0, d) for d in (0, 1))))
    bad, _ = disagreements(wrong, spec, [both])
    assert any(b.startswith("vote_resp_unique") for b in bad)


def test_election_safety_and_log_matching_proved_for_three_servers(
        agree_prove_json: Callable[..., tuple[int, dict[str, Any]]]) -> None:
    """Through the CLI in a fresh process: how long Z3 takes on an obligation depends
    on the terms earlier tests created in the process's Z3 context (17 s alone, 71 s
    after the BMC tests, and once an obligation over the 120 s timeout)."""
    code, doc = agree_prove_json(["raft", "--servers", "3"], timeout=1200)
    assert code == 0, doc
    assert [o for o in doc["obligations"] if o["verdict"] != "proved"] == []
    assert doc["verdict"] == "proved"
    enc = raft_encoding_for("raft", servers=3, values=None, proof=True)
    n_inv, n_act = len(enc.invariants(enc.fresh_state("n"))), len(enc.action_labels())
    # each action also keeps leader append-only (an action property)
    assert len(doc["obligations"]) == n_inv * (1 + n_act) + n_act + 3
    assert sum(o["kind"] == "action" for o in doc["obligations"]) == n_act


class NoQuorumRaft(Raft):
    """Test-only bug: a candidate becomes leader without a quorum."""

    def is_quorum(self, servers: frozenset[int]) -> bool:
        return True


class NoQuorumZ3(RaftZ3):
    def quorum(self, member: Any) -> z3.BoolRef:
        return z3.BoolVal(True)


def test_bmc_finds_a_shallow_bug_and_rebuilds_its_trace() -> None:
    params = {"servers": 2, "max_term": 2, "max_log": 0, "max_messages": 1,
              "max_restarts": 0}
    spec = NoQuorumRaft(**params)
    enc = NoQuorumZ3(2, 1, proof=False, max_term=2, max_log=0, max_messages=1,
                     max_restarts=0)
    res = bmc(enc, spec, 4, twins=TWINS, bound=2, timeout=120, incremental=True)
    assert res.verdict == "violated" and res.exit_code == 1 and res.trace is not None
    assert res.reached == 4
    assert not TWINS[res.violated or ""].holds(spec, res.trace.states[-1])


def test_bmc_finds_no_violation_in_correct_raft() -> None:
    spec, _ = build("raft", SMALL)
    enc = encoding(SMALL, proof=False)
    res = bmc(enc, spec, 5, twins=TWINS, bound=2, timeout=120)
    assert res.verdict == "holds-to-depth" and res.exit_code == 0


@pytest.mark.parametrize("argv", [
    ["prove", "raft", "--servers", "0"],
    ["bmc", "raft", "--depth", "2", "--entries-per-append", "2"],
    ["bmc", "raft", "--depth", "2", "--history", "true"],
    ["bmc", "raft", "--depth", "-1"],
])
def test_bad_raft_input_is_a_one_line_error(argv: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from agree.cli.main import main
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


def test_cli_bmc_raft_runs_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    from agree.cli.main import main
    code = main(["bmc", "raft", "--servers", "2", "--max-log", "0", "--max-restarts", "0",
                 "--max-messages", "1", "--depth", "3", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "no violation up to depth 3" in out and "z3 5.4.1.0" in out
