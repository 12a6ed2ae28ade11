"""Golden counterexamples: traces under ``traces/golden/`` that must regenerate exactly.

(Test support: the tests and ``pytest -m reference`` use it; the package does not.)

Each golden file is what ``agree check SPEC ... --invariant PROPERTY`` writes for the
spec, parameters and property recorded in it. A test re-runs the check and compares;
after a deliberate change, rewrite them with ``AGREE_REWRITE_GOLDENS=1 pytest
tests/test_golden_traces.py`` and review the diff.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from agree.checker.run import check
from agree.protocols import registry
from agree.traces.trace import Trace, to_json

__all__ = ["GOLDEN_DIR", "golden_files", "regenerate", "regenerate_file", "zoo_scenarios"]

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "traces" / "golden"


def golden_files() -> list[Path]:
    """Every golden trace, sorted by name."""
    return sorted(GOLDEN_DIR.glob("*.json"))


def regenerate(spec_name: str, params: dict[str, Any], prop: str,
               symmetry: bool = False) -> Trace:
    """Re-run the check that produced a golden trace and return its (shortest) trace;
    ``symmetry``: the check ran with ``--symmetry`` (one process), as some deep zoo
    traces did."""
    spec, props = registry.build(spec_name, params)
    everything = (*spec.declared_properties(), *props)
    result = check(spec, everything, only=[prop], symmetry=symmetry)
    violation = result.violation(prop)
    if violation is None or violation.trace is None:
        raise AssertionError(f"{spec_name} {params}: {prop} is no longer violated")
    return violation.trace


def regenerate_file(path: Path, symmetry: bool = False,
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(stored document, regenerated document) for one golden file."""
    stored = json.loads(path.read_text())
    trace = regenerate(stored["spec"], stored["params"], stored["property"], symmetry)
    return stored, to_json(trace)


def benchmark_module(name: str) -> ModuleType:
    """benchmarks/NAME.py, loaded (the benchmarks are scripts, not a package)."""
    path = GOLDEN_DIR.parent.parent / "benchmarks" / f"{name}.py"
    loader = importlib.util.spec_from_file_location(name, path)
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def zoo_scenarios() -> ModuleType:
    """benchmarks/zoo_scenarios.py: the hand-written scenarios whose correct prefixes the
    deep zoo counterexamples are searched from."""
    return benchmark_module("zoo_scenarios")
