"""Shared fixtures and the test tiers.

Tiers (markers registered in pyproject.toml):
  unit         fast, in-process tests: everything not marked otherwise;
  integration  real processes, sockets, Ray or a browser: the modules in INTEGRATION, and
               every test that uses one of the fixtures in INTEGRATION_FIXTURES;
  reference    the long reference runs (big searches, slow Z3), marked by hand with
               @pytest.mark.reference and left out of the default run (pytest -m reference).
The default run (addopts) is unit + integration."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
EXAMPLES = ROOT / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from _agree import prove_json, run_agree  # noqa: E402
from _nodes import NodeCluster, free_ports  # noqa: E402

#: Modules whose every test starts processes, opens sockets, or drives Ray or a browser.
INTEGRATION = frozenset({
    "test_chaos_real", "test_conformance_validate", "test_impl_e2e", "test_impl_service",
    "test_parallel", "test_ray", "test_trace_html_browser", "test_fuzz_wire",
})
#: Fixtures that make a test an integration test wherever it lives.
INTEGRATION_FIXTURES = frozenset({"node_cluster", "loopback_ports", "agree_process",
                                  "agree_prove_json"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier: reference (by hand), integration, or unit."""
    for item in items:
        if item.get_closest_marker("reference") or item.get_closest_marker("integration"):
            continue
        module = item.module.__name__ if isinstance(item, pytest.Function) else ""
        fixtures = set(getattr(item, "fixturenames", ()))
        if module.rpartition(".")[2] in INTEGRATION or fixtures & INTEGRATION_FIXTURES:
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.fixture
def loopback_ports() -> Callable[[int], list[int]]:
    """``loopback_ports(k)``: k free ports on 127.0.0.1."""
    return free_ports


@pytest.fixture
def node_cluster(tmp_path: Path) -> Iterator[NodeCluster]:
    """Three `python -m agree.impl.server` nodes (not started: call ``start(k)`` or
    ``start_all()``) with event logs in ``tmp_path``; all are killed after the test."""
    with NodeCluster(tmp_path) as cluster:
        yield cluster


@pytest.fixture
def agree_process() -> Callable[..., object]:
    """``agree_process(args, timeout=..., ...)``: run `agree` in a fresh process (see
    _agree.run_agree)."""
    return run_agree


@pytest.fixture
def agree_prove_json() -> Callable[..., tuple[int, dict[str, object]]]:
    """``agree_prove_json(args)``: `agree prove ARGS --json` in a fresh process, returning
    (exit code, parsed report): Z3 isolated from the terms earlier tests created."""
    return prove_json
