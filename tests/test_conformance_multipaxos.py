"""Multi-Paxos conformance: impl/paxos/multi.py, step by step, against models/multipaxos.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agree.conformance.bugs import seeded
from agree.conformance.harness import ConformanceFailure
from agree.conformance.multipaxos_adapter import MultiPaxosCluster
from agree.conformance.multipaxos_machine import multipaxos_machine
from agree.conformance.power import measure, run_machine
from agree.protocols import registry

BUDGET = 300
#: Seeded bugs the derandomized machine catches within BUDGET examples (the others are
#: caught by the directed schedules below; benchmarks/multipaxos.py measures all).
CAUGHT_BY_THE_MACHINE = ("mp-accept-below-promise", "mp-promise-omits-first-slot",
                         "mp-votes-not-persisted")


def _deliver(c: MultiPaxosCluster, kind: str, src: int, dst: int) -> list[str]:
    """Deliver the first message in flight of this kind from src to dst; the spec steps."""
    k = next(k for k, m in enumerate(c.bag)
             if type(m).__name__ == kind and (m.source, m.dest) == (src, dst))
    return c.deliver(k).labels


def _drop_all(c: MultiPaxosCluster) -> None:
    while c.bag:
        c.drop(0)


def _settle(c: MultiPaxosCluster) -> None:
    while c.bag:
        c.deliver(0)


def test_a_leader_runs_phase_1_once_then_phase_2_alone() -> None:
    c = MultiPaxosCluster()
    assert c.campaign(0).labels == ["Phase1a(b=0, f=1)",
                                    "Phase1b(a=a1, m=<1a bal=0 first=1>)"]
    assert _deliver(c, "MPrepare", 0, 1) == ["Phase1b(a=a2, m=<1a bal=0 first=1>)"]
    assert _deliver(c, "MPromise", 1, 0) == ["BecomeLeader(b=0, q={a1, a2})"]
    assert c.propose(0, 0).labels == ["Phase2a(b=0, slot=1, v=v1)",
                                      "Phase2b(a=a1, m=<2a bal=0 slot=1 val=v1>)"]
    assert c.propose(0, 1).labels == ["Phase2a(b=0, slot=2, v=v2)",
                                      "Phase2b(a=a1, m=<2a bal=0 slot=2 val=v2>)"]
    _settle(c)
    assert c.recorder.summary()["Phase1a"] == 1  # no phase 1 for slot 2
    assert all(nd is not None and nd.chosen == {1: b"0", 2: b"1"} for nd in c.nodes)


def _two_leaders(c: MultiPaxosCluster) -> None:
    """n1 leads ballot 0 and votes v1 in slot 1 alone; n2 leads ballot 4, and n2, n3
    choose v2 there."""
    c.campaign(0)
    _deliver(c, "MPrepare", 0, 1)
    _deliver(c, "MPromise", 1, 0)
    c.propose(0, 0)  # n1 votes v1 in slot 1 at once; nobody else hears of it
    _drop_all(c)
    c.campaign(1)
    _deliver(c, "MPrepare", 1, 2)
    _deliver(c, "MPromise", 2, 1)
    c.propose(1, 1)
    _deliver(c, "MAccept", 1, 2)  # n2 and n3 voted v2: chosen
    _drop_all(c)


def _stale_own_vote(c: MultiPaxosCluster) -> None:
    """Then n1 runs phase 1 again (refused, then ballot 6): its own report is v1 at 0,
    n2's, the last to arrive, v2 at 4."""
    _two_leaders(c)
    c.campaign(0)  # round 2: below n2's ballot, refused
    _deliver(c, "MPrepare", 0, 1)
    _deliver(c, "MNack", 1, 0)
    _drop_all(c)
    c.campaign(0)  # round 3: ballot 6
    _deliver(c, "MPrepare", 0, 1)
    _deliver(c, "MPromise", 1, 0)  # n1 recovers slot 1 from n1's and n2's reports


def _lower_vote_last(c: MultiPaxosCluster) -> None:
    """Then n2 runs phase 1 again (ballot 7): its own report is v2 at 4, n1's, the last to
    arrive, v1 at 0."""
    _two_leaders(c)
    c.campaign(1)
    _deliver(c, "MPrepare", 1, 0)
    _deliver(c, "MPromise", 0, 1)


def test_a_new_leader_adopts_the_highest_ballot_vote_of_each_slot() -> None:
    c = MultiPaxosCluster()
    _stale_own_vote(c)
    assert c.recorder.state.votes[0][0] == (6, 1)  # n1 re-proposed v2, not its own v1
    c = MultiPaxosCluster()
    _lower_vote_last(c)
    assert c.recorder.state.votes[1][0] == (7, 1)  # n2 re-proposed v2, not n1's v1


@pytest.mark.parametrize(("bug", "schedule", "ballot"),
                         [("mp-skip-recovery", _stale_own_vote, 6),
                          ("mp-last-promise-wins", _lower_vote_last, 7)])
def test_a_leader_that_recovers_wrongly_is_caught_on_its_first_2a(
        bug: str, schedule: Callable[[MultiPaxosCluster], None], ballot: int) -> None:
    c = MultiPaxosCluster()
    with seeded(bug), pytest.raises(ConformanceFailure) as info:
        schedule(c)
    assert info.value.kind == "step"
    assert "the spec cannot take Phase2a there" in info.value.text
    assert f"leaders[{ballot}]: None -> s1:v2" in info.value.text  # what it should propose
    assert f"msgs + 2a bal={ballot} slot=1 val=v1" in info.value.text  # what it did


def test_the_correct_implementation_conforms_under_hypothesis() -> None:
    machine = multipaxos_machine()
    run_machine(machine, examples=60, steps=40)
    for label in ("Phase1a", "Phase1b", "BecomeLeader", "Phase2a", "Phase2b"):
        assert machine.coverage.get(label, 0) > 0, machine.coverage


def test_every_seeded_bug_is_named_by_the_bundle() -> None:
    names = {b.name for b in registry.get("multipaxos").protocol.seeded_bugs()}
    assert names == {"mp-skip-recovery", "mp-last-promise-wins", *CAUGHT_BY_THE_MACHINE}


@pytest.mark.parametrize("bug", CAUGHT_BY_THE_MACHINE)
def test_each_seeded_bug_is_caught_within_the_budget(bug: str) -> None:
    catch = measure(multipaxos_machine(), bug, BUDGET)
    assert catch.caught, f"{bug} survived {catch.examples} examples"


def test_a_leader_that_stepped_down_does_not_lead_its_ballot_again() -> None:
    """Found by this adapter: a late promise made a deposed leader recover its ballot a
    second time and reuse slot 1, proposing a second value there in the same ballot (the
    spec's Phase2a: one 2a per ballot and slot); fixed in impl/paxos/multi.py."""
    c = MultiPaxosCluster()
    c.campaign(0)
    _deliver(c, "MPrepare", 0, 1)
    _deliver(c, "MPrepare", 0, 2)  # n3's promise to n1 stays in flight
    _deliver(c, "MPromise", 1, 0)
    c.propose(0, 0)  # slot 1: v1 in ballot 0
    c.campaign(2)
    _deliver(c, "MPrepare", 2, 0)  # n1 follows n3's higher ballot: it steps down
    _deliver(c, "MPromise", 2, 0)  # the late promise of ballot 0
    c.propose(0, 1)
    assert c.recorder.summary()["Phase2a"] == 1  # no second 2a in ballot 0, slot 1
