"""Running the conformance machines under Hypothesis: a settings profile per use, a
seeded run for the CLI, and the harness's power against seeded bugs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test

__all__ = ["Catch", "conform_settings", "measure", "run_machine"]


def conform_settings(examples: int, steps: int = 40, shrink: bool = True,
                     derandomize: bool = False) -> settings:
    """Hypothesis settings for a conformance run: no deadline, no example database
    (runs are reproduced by seed), health checks off (rules are cheap but many)."""
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    if shrink:
        phases.append(Phase.shrink)
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                    database=None, derandomize=derandomize, phases=phases,
                    suppress_health_check=list(HealthCheck), print_blob=False)


def run_machine(machine: type[RuleBasedStateMachine], examples: int, seed: int | None = None,
                steps: int = 40, shrink: bool = True) -> None:
    """Run ``machine`` for ``examples`` examples (seeded when ``seed`` is given); raises
    the failure Hypothesis found, after printing its minimal program."""
    # cast: get_state_machine_test is untyped in some Hypothesis releases, typed in others
    test: Any = cast(Any, get_state_machine_test)(
        machine, settings=conform_settings(examples, steps, shrink, derandomize=seed is None))
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    test()


@dataclass
class Catch:
    """How a run against one seeded bug went."""

    bug: str
    caught: bool
    examples: int
    seconds: float
    kind: str  # "step", "property", or "" when not caught
    first_line: str


def measure(machine: type[Any], bug_name: str, budget: int, seed: int | None = None,
            steps: int = 40) -> Catch:
    """Run ``machine`` with seeded bug ``bug_name`` applied, without shrinking, until it
    fails or ``budget`` examples pass; the examples run and the time to the failure."""
    from agree.conformance.bugs import seeded
    from agree.conformance.harness import ConformanceFailure

    machine.examples = 0
    start = time.perf_counter()
    with seeded(bug_name):
        try:
            run_machine(machine, budget, seed, steps, shrink=False)
        except ConformanceFailure as exc:
            return Catch(bug_name, True, machine.examples, time.perf_counter() - start,
                         exc.kind, exc.text.splitlines()[0])
    return Catch(bug_name, False, machine.examples, time.perf_counter() - start, "", "")
