"""The membership-change zoo, searched from a correct prefix: on the very start and
parameters where a variant's search finds its bug, the correct raft-reconfig explores
every continuation and keeps every property (the fix holds where the bug was found).

The default run does it at the latest start the correct spec shares with a scenario
(seconds); ``pytest -m reference`` does it from the stored prefixes that
benchmarks/zoo_from.py searches from (minutes each; docs/benchmarks/zoo-from.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _golden import GOLDEN_DIR, zoo_scenarios

from agree.checker.run import check
from agree.checker.start_from import common_prefix, prefix_trace
from agree.models.raft_reconfig import RaftReconfig
from agree.protocols import registry
from agree.traces.trace import load_trace, save_trace

PREFIX_DIR = GOLDEN_DIR.parent / "zoo_deep" / "prefix"
RECONFIG_ZOO = [v.name for v in registry.get("raft-reconfig").protocol.zoo]


def _both(name: str, start: Path) -> None:
    """The variant finds a lost committed entry from ``start``; the correct spec, with the
    same parameters, explores everything from there and no property fails."""
    params = load_trace(start, registry.resolve).params
    breaks = registry.get(name).breaks
    variant, props = registry.build(name, params)
    found = check(variant, props, only=[breaks], symmetry=True, start=str(start))
    assert [v.property for v in found.violations] == [breaks]
    correct, every = registry.build("raft-reconfig", params)
    clean = check(correct, (*correct.declared_properties(), *every), symmetry=True,
                  start=str(start))
    assert clean.complete and clean.violations == [], [v.property for v in clean.violations]
    assert clean.distinct > found.distinct  # the correct spec goes on where the bug stops


def test_two_at_once_is_found_where_the_correct_spec_is_clean(tmp_path: Path) -> None:
    """From the last state the correct spec shares with the two-at-once scenario (s2 holds
    the votes of term 3, s1 leads term 2 alone): RemoveTwo is the only way to the bug."""
    name = "raft-reconfig-two-at-once"
    scenario = zoo_scenarios().build(name)
    correct = RaftReconfig(**scenario.params)
    start = tmp_path / "prefix.json"
    save_trace(prefix_trace(scenario, common_prefix(scenario, correct), correct), start)
    _both(name, start)


@pytest.mark.reference
@pytest.mark.parametrize("name", RECONFIG_ZOO)
def test_the_correct_spec_is_clean_from_each_stored_prefix(name: str) -> None:
    """The full-size runs of docs/benchmarks/zoo-from.md: the stored prefix, the catalog's
    parameters (1-3 minutes each for the correct spec here)."""
    _both(name, PREFIX_DIR / f"{name}.json")
