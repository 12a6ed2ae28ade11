"""A spec as a Hypothesis state machine: finds the article's and the zoo's bugs, shrinks."""

from __future__ import annotations

import re

import pytest
from _golden import GOLDEN_DIR
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from agree.checker.stateful import state_machine
from agree.models.paxos import Paxos
from agree.properties.paxos import PROPERTIES
from agree.protocols import registry
from agree.traces.trace import load_trace


def run(name: str, examples: int, steps: int, shrink: bool = True) -> int:
    """Run the machine of a registered buggy spec; the failing example's length."""
    entry = registry.get(name)
    spec, props = registry.build(name, {})
    machine = state_machine(spec, props, only=[entry.breaks])
    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    with pytest.raises(AssertionError) as failure:
        run_state_machine_as_test(machine, settings=settings(
            max_examples=examples, stateful_step_count=steps, deadline=None,
            derandomize=True, database=None, phases=phases,
            suppress_health_check=list(HealthCheck)))
    message = str(failure.value)
    found = re.match(rf"{entry.breaks} violated after (\d+) steps", message)
    assert found, message
    assert "State 0 (initial)" in message  # the readable trace comes with it
    return int(found.group(1))


def test_finds_and_shrinks_a_zoo_bug() -> None:
    assert run("paxos-amnesia", examples=300, steps=25) <= 12


def test_finds_the_articles_bug() -> None:
    assert run("paxos-article", examples=1000, steps=60, shrink=False) <= 60


@pytest.mark.reference
def test_shrinks_the_articles_bug_to_the_shortest_trace() -> None:
    shortest = load_trace(GOLDEN_DIR / "paxos-article.agreement.json", registry.resolve)
    assert run("paxos-article", examples=1000, steps=60) == len(shortest)


@pytest.mark.reference
@pytest.mark.parametrize("name", ["paxos-accept-below-promise", "paxos-pid-timestamp"])
def test_finds_more_zoo_bugs(name: str) -> None:
    assert run(name, examples=300, steps=50) <= 50


def test_a_correct_spec_passes() -> None:
    machine = state_machine(Paxos(max_ballot=1), PROPERTIES)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=15, stateful_step_count=20, deadline=None, derandomize=True,
        database=None))


# How a user puts a spec in their own suite: pytest collects the TestCase.
TestPaxosMachine = state_machine(Paxos(max_ballot=0), PROPERTIES).TestCase
TestPaxosMachine.settings = settings(max_examples=5, stateful_step_count=10, deadline=None,
                                     derandomize=True, database=None)
