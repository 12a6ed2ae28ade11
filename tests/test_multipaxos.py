"""The Multi-Paxos spec: pinned state counts, symmetry, simulation, the Hypothesis
adapter, witnesses, and its zoo variants found by every engine that should."""

from __future__ import annotations

import pytest
from _cli import assert_refused, run
from _golden import GOLDEN_DIR
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from agree.checker.run import check
from agree.checker.simulate import simulate
from agree.checker.stateful import state_machine
from agree.checker.symmetry import SymmetryError, check_symmetric
from agree.models.multipaxos import M1a, MultiPaxos
from agree.models.zoo.multipaxos import SkipRecoveryMultiPaxos
from agree.properties.multipaxos import PROPERTIES, SAFETY, chosen_stable
from agree.protocols import registry
from agree.traces.trace import load_trace


#: The 1,165 and 5,177 states (and their depths) are TLC's too, on benchmarks/tla/
#: MCMultiPaxos.tla, this spec transcribed into TLA+ (benchmarks/multipaxos.py --tlc);
#: so are the generated counts pinned in the next test.
@pytest.mark.parametrize(("params", "symmetry", "distinct", "depth"), [
    ({"slots": 1, "max_ballot": 0}, False, 77, 10),
    ({"slots": 1, "max_ballot": 0}, True, 27, 10),
    ({"slots": 2, "max_ballot": 0}, False, 1165, 14),
    ({"slots": 2, "max_ballot": 0}, True, 287, 14),
    ({"slots": 1, "max_ballot": 1}, False, 5177, 19),
])
def test_pinned_state_counts(params: dict[str, int], symmetry: bool, distinct: int,
                             depth: int) -> None:
    result = check(MultiPaxos(**params), PROPERTIES, symmetry=symmetry)
    assert (result.verdict, result.distinct, result.depth) == ("holds", distinct, depth)


@pytest.mark.parametrize(("params", "symmetry", "counts"), [
    ({"slots": 2, "max_ballot": 0}, False, (1165, 7063, 14)),
    ({"slots": 1, "max_ballot": 1}, True, (1160, 4423, 19)),
])
def test_counts_equal_tlcs_on_the_tla_transcription(params: dict[str, int], symmetry: bool,
                                                    counts: tuple[int, int, int]) -> None:
    """Distinct, generated and depth as TLC counts them on MCMultiPaxos.tla (one worker;
    TLC's symmetry permuting the acceptors, as --symmetry does with one client value)."""
    result = check(MultiPaxos(**params), PROPERTIES, symmetry=symmetry)
    assert (result.distinct, result.generated, result.depth) == counts


def test_acceptors_and_values_are_symmetric_but_not_where_owners_matter() -> None:
    assert check_symmetric(MultiPaxos(slots=1, max_ballot=1, values=2), SAFETY) > 0
    # The leader's own vote: ballot owners are not interchangeable in this variant, as the
    # states of its counterexample show (a3 owns ballot 2 and re-proposes its own vote).
    assert SkipRecoveryMultiPaxos.symmetry == ("values",)
    trace = load_trace(GOLDEN_DIR.parent / "zoo_deep" / "multipaxos-skip-recovery.agreement.json",
                       registry.resolve)

    class Unsound(SkipRecoveryMultiPaxos):
        symmetry = ("acceptors", "values")

    with pytest.raises(SymmetryError):
        check_symmetric(Unsound(**trace.params), SAFETY, trace.states)


def test_phase_1_is_once_per_ballot_and_the_leader_takes_the_highest_vote() -> None:
    spec = MultiPaxos(slots=2, max_ballot=1)
    s = next(iter(spec.init()))
    s = spec.phase1a(s, 0, 1)
    assert s is not None and spec.phase1a(s, 0, 1) is None  # one 1a per ballot
    assert spec.phase1a(s, 1, 2) is None  # slot 1 is not chosen: phase 1 covers it
    for a in (0, 1):
        s = spec.phase1b(s, a, M1a(0, 1))
    s = spec.become_leader(s, 0, frozenset({0, 1}))
    assert s.leaders[0] == (None, None)  # both slots free
    s2 = spec.phase2a(s, 0, 2, 0)  # straight to phase 2, slot 2 first
    assert s2 is not None and spec.phase2a(s2, 0, 2, 1) is None  # one 2a per slot


def test_simulation_finds_nothing_in_the_correct_spec() -> None:
    result = simulate(MultiPaxos(slots=2, max_ballot=2), PROPERTIES, runs=60, depth=40)
    assert result.violations == [] and sum(result.coverage.values()) > 1000


def test_simulation_finds_the_accept_below_promise_variant() -> None:
    spec, props = registry.build("multipaxos-accept-below-promise")
    result = simulate(spec, props, runs=400, depth=40, only=["agreement"])
    assert result.violations and result.violations[0].property == "agreement"


def test_the_hypothesis_adapter_passes_the_correct_spec() -> None:
    machine = state_machine(MultiPaxos(slots=2, max_ballot=1), PROPERTIES)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=10, stateful_step_count=30, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck)))


def test_the_golden_trace_explains_itself_and_breaks_chosen_stable_on_its_last_step() -> None:
    trace = load_trace(GOLDEN_DIR / "multipaxos-accept-below-promise.agreement.json",
                       registry.resolve)
    spec, props = registry.build(trace.spec, trace.params)
    agreement = next(p for p in props if p.name == "agreement")
    witness = agreement.fn(spec, trace.states[-1])
    assert not witness and witness.data["slot"] == 1
    assert [d["value"] for d in witness.data["chosen"]] == [-1, 0]  # noop and v1
    assert "two values are chosen in slot 1" in witness.reason
    why = chosen_stable(spec, trace.states[-2], trace.states[-1])
    assert not why and "had" in why.reason


def test_the_cli_lists_multipaxos_and_rejects_bad_parameters(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in ("multipaxos", "multipaxos-skip-recovery", "multipaxos-last-promise-wins",
                 "multipaxos-accept-below-promise"):
        assert name in out
    code, _, err = run(capsys, "check", "multipaxos", "--slots", "0")
    assert_refused(code, err)
    assert "--slots" in err
    code, _, err = run(capsys, "conform", "multipaxos", "--bug", "no-such-bug")
    assert_refused(code, err)
