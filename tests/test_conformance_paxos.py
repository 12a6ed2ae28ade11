"""Paxos conformance: impl/paxos's single-decree nodes, step by step, against Paxos.tla."""

from __future__ import annotations

import pytest

from agree.conformance.harness import ConformanceFailure
from agree.conformance.paxos_adapter import PaxosCluster
from agree.conformance.paxos_machine import paxos_machine
from agree.conformance.power import measure, run_machine
from agree.impl.paxos import Ballot
from agree.protocols import registry

BUDGET = 100


def _settle(c: PaxosCluster) -> None:
    while c.bag:
        c.deliver(0)


def test_a_ballot_is_named_spec_step_by_spec_step() -> None:
    c = PaxosCluster()
    assert c.propose(0, 1).labels == ["Phase1a(b=0)", "Phase1b(a=a1, m=<1a bal=0>)"]
    assert c.deliver(0).labels == ["Phase1b(a=a2, m=<1a bal=0>)"]
    c.deliver(0)
    labels = c.deliver(0).labels  # a2's promise: a quorum with a1's own
    assert labels == ["Phase2a(b=0, v=v2)", "Phase2b(a=a1, m=<2a bal=0 val=v2>)"]
    _settle(c)
    assert c.chosen == {0: b"1", 1: b"1", 2: b"1"}


def test_a_later_ballot_must_propose_the_chosen_value() -> None:
    c = PaxosCluster()
    c.propose(0, 0)
    _settle(c)
    c.propose(2, 1)  # asks for v2, but v1 is chosen: the spec's Phase2a allows only v1
    _settle(c)
    assert c.recorder.state.max_val == (0, 0, 0)
    assert c.recorder.summary()["Phase2a"] == 2


def test_a_step_the_spec_does_not_allow_is_reported() -> None:
    c = PaxosCluster()
    c.propose(0, 0)
    node = c.nodes[1]
    assert node is not None
    node.acceptor = node.acceptor._replace(max_bal=Ballot(5, 1))  # a promise nobody asked for
    with pytest.raises(ConformanceFailure) as info:
        c.deliver(0)
    assert "max_bal[a2]: spec" in info.value.text
    assert "IMPLEMENTATION STATE" in info.value.text


def test_the_correct_implementation_conforms_under_hypothesis() -> None:
    machine = paxos_machine()
    run_machine(machine, examples=40, steps=40)
    for label in ("Phase1a", "Phase1b", "Phase2a", "Phase2b"):
        assert machine.coverage.get(label, 0) > 0, machine.coverage


@pytest.mark.parametrize("bug", [b.name for b in registry.get("paxos").protocol.seeded_bugs()])
def test_each_seeded_bug_is_caught_within_the_budget(bug: str) -> None:
    catch = measure(paxos_machine(), bug, BUDGET)
    assert catch.caught, f"{bug} survived {catch.examples} examples"
