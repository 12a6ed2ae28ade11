"""`agree prove FILE.py`: a declared state space and inductive conjuncts, checked by
trying states (agree.induction), on two-phase commit and Paxos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from paxos_inductive import PROPERTIES as PAXOS_SAFETY
from paxos_inductive import InductivePaxos
from two_phase_commit import TPState, TwoPhaseCommit
from two_phase_commit_hasty import HastyCommit

from agree.checker.run import check
from agree.cli.main import main
from agree.induction import SPACE, Budget, choose, classify, induct, invariant_of
from agree.spec import SpecError, one_of, states, subset_of, tuple_of

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TPC = str(EXAMPLES / "two_phase_commit.py")


def run(spec: object, drop: tuple[str, ...] = (), props: tuple = (), reach: bool = True,
        **kw: object):
    """Induct, and (``reach``) classify the CTIs by explicit search."""
    inv = invariant_of(spec, props, drop)  # type: ignore[arg-type]
    result = induct(spec, inv, **kw)  # type: ignore[arg-type]
    if reach:
        classify(result, 20.0)
    return result


# -- the declared space ------------------------------------------------------------


def test_a_space_counts_enumerates_and_tests_membership() -> None:
    space = states(TPState, rm_state=tuple_of(2, one_of(("a", "b"))), tm_state=one_of(("x",)),
                   tm_prepared=subset_of((0, 1)), msgs=subset_of(()))
    values = list(space.values())
    assert space.size() == len(values) == len(set(values)) == 4 * 1 * 4 * 1
    assert all(space.contains(v) for v in values)
    assert values[0] == TPState(("a", "a"), "x", frozenset(), frozenset())  # simplest first
    assert not space.contains(TPState(("a", "c"), "x", frozenset(), frozenset()))
    assert space.outside(TPState(("a",), "x", frozenset({2}), frozenset())) == \
        ["rm_state", "tm_prepared"]
    assert not one_of((1, 2)).contains(True) and one_of((1, 2)).contains(1)


def test_a_malformed_space_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match="no space for msgs"):
        states(TPState, rm_state=one_of((1,)), tm_state=one_of((1,)), tm_prepared=one_of((1,)))
    with pytest.raises(SpecError, match="must be one_of"):
        states(TPState, rm_state=(1, 2), tm_state=one_of((1,)), tm_prepared=one_of((1,)),
               msgs=one_of((1,)))
    with pytest.raises(SpecError, match="repeated"):
        one_of((1, 1))


def test_the_strategy_follows_the_size_of_the_space() -> None:
    assert choose(49_152)[0] == "exhaustive"
    assert choose(12_582_912)[0] == "hypothesis"
    assert choose(10**30)[0] == "mutation"


# -- two-phase commit ----------------------------------------------------------------


def test_two_phase_commit_is_inductive_for_three_rms_exhaustively() -> None:
    result = run(TwoPhaseCommit(rms=3))
    assert result.strategy == "exhaustive" and result.complete
    assert result.verdict == "inductive" and result.ctis == []
    assert result.candidates == result.space_size == 49_152
    # this invariant is exact: the states satisfying it are the reachable ones
    assert result.tried == check(TwoPhaseCommit(rms=3)).distinct == 288


def test_a_seeded_bug_gives_a_reachable_cti() -> None:
    result = run(HastyCommit(rms=3))
    assert result.verdict == "counterexample" and result.exit_code == 1
    (cti,) = result.ctis
    assert (cti.kind, cti.action, cti.conjunct) == ("step", "TmCommit", "decision_sent")
    assert cti.reachable == "reachable" and cti.trace is not None
    assert cti.trace.states[-1] == cti.pre
    broken = next(c for c in result.invariant.conjuncts if c.name == "decision_sent")
    assert not broken.holds(result.spec, cti.post)


def test_a_too_weak_invariant_gives_unreachable_ctis() -> None:
    result = run(TwoPhaseCommit(rms=3), drop=("decision_followed",))
    assert result.ctis and all(c.reachable == "unreachable" for c in result.ctis)
    assert {c.conjunct for c in result.ctis} == {"consistent"}
    assert result.witness is not None and result.witness.status == "holds"


def test_the_fallback_configuration_is_held_to_its_own_space() -> None:
    """The second search runs the default configuration too (3 RMs here, 2 proved): its
    states are held to its own TypeOK, not to the proved configuration's (a 3-RM state
    is outside the 2-RM space, which made every search of it end at Init, unknown)."""
    spec = TwoPhaseCommit(rms=2)
    result = induct(spec, invariant_of(spec, (), ("decision_followed",)))
    assert result.ctis
    classify(result, 20.0, fallback=TwoPhaseCommit())
    assert result.witness is not None and result.witness.status == "holds", result.witness


@pytest.mark.parametrize("strategy", ["mutation", "hypothesis"])
def test_sampling_strategies_find_the_too_weak_invariants_ctis(strategy: str) -> None:
    result = run(TwoPhaseCommit(rms=3), drop=("decision_followed",), strategy=strategy,
                 budget=Budget(seconds=3, first=True))
    assert result.strategy == strategy and not result.complete
    (cti,) = result.ctis
    assert cti.conjunct == "consistent" and cti.edits is not None and cti.edits >= 1
    if strategy == "hypothesis":  # shrunk: one edit of a reachable state is enough
        assert cti.shrunk and cti.edits == 1


def test_sampling_the_correct_spec_says_how_many_states_not_proved(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", TPC, "--rms", "5", "--time-limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "strategy: hypothesis" in out
    assert "no counterexample to induction in " in out and "not a proof" in out
    assert "PROVED" not in out.upper().replace("NOT A PROOF", "")
    assert "INDUCTIVE" not in out


def test_the_cli_says_inductive_only_for_the_configuration(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", TPC]) == 0
    out = capsys.readouterr().out
    assert "INDUCTIVE for this configuration (rms=3): all 49,152 states" in out


def test_the_cli_renders_and_classifies_a_seeded_bug(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", str(EXAMPLES / "two_phase_commit_hasty.py"), "--rms", "2",
                 "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    (cti,) = doc["counterexamples"]
    assert cti["obligation"] == "Inv /\\ TmCommit => decision_sent'"
    assert cti["reachable"] == "reachable" and doc["strategy"] == "exhaustive"


def test_a_cti_is_reproducible_in_a_fresh_process() -> None:
    cmd = [sys.executable, "-m", "agree.cli.main", "prove", TPC, "--drop", "decision_followed",
           "--strategy", "mutation", "--first", "--json", "--seed", "7", "--seeds", "50"]
    outs = [json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                                      check=False).stdout)["counterexamples"][0]
            for _ in range(2)]
    assert outs[0]["pre"] == outs[1]["pre"] and outs[0]["step"] == outs[1]["step"]


# -- Paxos: each lemma dropped in turn ----------------------------------------------

#: For each lemma, the obligations of `agree prove paxos` whose proof uses it
#: (symbolic/paxos/invariant.py PaxosZ3.USES and its Phase2a cases), but not the lemma's
#: own preservation (a dropped conjunct is not checked).
NEEDED_FOR = {
    "max_bal_ge_max_vbal": {("Phase1b", "inv_1b_latest"), ("Phase2b", "inv_2b")},
    "inv_2b": {("Phase1b", "inv_1b_latest"), ("Phase2b", "one_value_per_ballot"),
               (None, "validity")},
    "inv_1b_latest": {("Phase2a", "inv_2a_safe")},
}


@pytest.mark.parametrize("lemma", sorted(NEEDED_FOR))
def test_dropping_a_paxos_lemma_gives_a_cti_the_z3_proof_needs_it_for(lemma: str) -> None:
    # (not classified: 1.3 M reachable states; the benchmark page has the classification)
    result = run(InductivePaxos(max_ballot=2), drop=(lemma,), props=PAXOS_SAFETY, reach=False,
                 budget=Budget(seconds=120, first=True))  # stops at the first: deterministic
    assert result.strategy == "mutation"
    (cti,) = result.ctis
    assert (cti.action, cti.conjunct) in NEEDED_FOR[lemma]
    inv = result.invariant
    assert all(c.holds(result.spec, cti.pre) for c in inv.conjuncts)
    assert inv.space.contains(cti.pre)


def test_paxos_with_every_lemma_has_no_cti_in_a_short_search() -> None:
    result = run(InductivePaxos(max_ballot=1), props=PAXOS_SAFETY, reach=False,
                 budget=Budget(seconds=2, seeds=200))
    assert result.verdict == "none found" and result.tried > 100
    assert [p.name for p in result.invariant.safety] == ["agreement", "validity"]


# -- bad input -----------------------------------------------------------------------

NO_SPACE = """
from typing import NamedTuple
from agree import Spec, action, invariant
class S(NamedTuple):
    x: int
class Counter(Spec[S]):
    name = "counter"
    def init(self):
        yield S(0)
    @action()
    def inc(self, s):
        return s._replace(x=s.x + 1) if s.x < 3 else None
    @invariant
    def small(self, s):
        return s.x <= 3
"""


@pytest.mark.parametrize(("body", "message"), [
    ("", "declares no state space"),
    ("    inductive = ('small',)\n    def state_space(self):\n        return 1 / 0\n",
     "state_space() raised ZeroDivisionError"),
    ("    inductive = ('nope',)\n    def state_space(self):\n"
     "        from agree.spec import states, one_of\n"
     "        return states(S, x=one_of(range(5)))\n", "'nope' is not an invariant"),
    ("    inductive = ('small',)\n    def state_space(self):\n"
     "        from agree.spec import states, one_of\n"
     "        return states(S, y=one_of(range(5)))\n", "malformed"),
    ("    inductive = ('small',)\n    def state_space(self):\n"
     "        from agree.spec import states, one_of\n"
     "        return states(S, x=one_of(['a', 1]))\n", "raised TypeError"),
])
def test_bad_declarations_are_one_line_errors(tmp_path: Path, body: str, message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "counter.py"
    path.write_text(NO_SPACE + body)
    assert main(["prove", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(("argv", "message"), [
    ([TPC, "--drop", "nope"], "no inductive conjunct 'nope'"),
    ([TPC, "--acceptors", "3"], "--acceptors does not apply to a spec file"),
    ([TPC, "--nosuch", "1"], "unknown parameter '--nosuch'"),
    ([TPC, "--time-limit", "0"], "--time-limit must be a positive number"),
    (["paxos", "--strategy", "mutation"], "--strategy applies to a spec file"),
    (["paxos", "--rms", "3"], "unrecognized arguments: --rms 3"),
    (["nosuch.py"], "no such spec file"),
])
def test_bad_flags_are_one_line_errors(argv: list[str], message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_an_action_raising_on_an_inv_state_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "counter.py"
    path.write_text(NO_SPACE.replace("s.x + 1) if s.x < 3", "[0, 1, 2][s.x + 1]) if s.x < 9")
                    .replace("s.x <= 3", "True") + "    inductive = ('small',)\n"
                    "    def state_space(self):\n        from agree.spec import states, one_of\n"
                    "        return states(S, x=one_of(range(5)))\n")
    assert main(["prove", str(path)]) == 2
    err = capsys.readouterr().err
    assert "the spec raised IndexError" in err and err.count("\n") == 1


def test_space_is_the_first_conjunct() -> None:
    inv = invariant_of(TwoPhaseCommit(rms=2))
    assert inv.names()[0] == SPACE and inv.first_broken(
        TwoPhaseCommit(rms=2), TPState(("nope", "working"), "init", frozenset(),
                                       frozenset())) == SPACE
