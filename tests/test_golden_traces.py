"""Every golden counterexample under traces/golden/ regenerates exactly.

Rewrite deliberately with: AGREE_REWRITE_GOLDENS=1 pytest tests/test_golden_traces.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agree.checker.golden import golden_files, regenerate_file
from agree.protocols.registry import resolve
from agree.traces.trace import load_trace

REWRITE = os.environ.get("AGREE_REWRITE_GOLDENS") == "1"


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: p.stem)
def test_golden_trace_regenerates(path: Path) -> None:
    stored, fresh = regenerate_file(path)
    if REWRITE and stored != fresh:
        path.write_text(json.dumps(fresh, indent=1) + "\n")
        pytest.skip(f"rewrote {path.name}")
    assert fresh == stored, f"{path.name} changed: review, rewrite with AGREE_REWRITE_GOLDENS=1"


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: p.stem)
def test_golden_trace_loads_and_replays(path: Path) -> None:
    trace = load_trace(path, resolve)
    assert trace.property is not None
    assert len(trace.steps) == len(json.loads(path.read_text())["steps"])


def test_the_article_goldens_exist() -> None:
    names = {p.stem for p in golden_files()}
    assert {"paxos-article.agreement", "paxos-pid-timestamp.agreement"} <= names
