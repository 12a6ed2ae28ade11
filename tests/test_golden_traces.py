"""Every golden counterexample under traces/golden/ regenerates exactly.

Rewrite deliberately with: AGREE_REWRITE_GOLDENS=1 pytest tests/test_golden_traces.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _golden import golden_files, regenerate_file

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


#: Every golden trace: a file lost or added shows here, not only as one test fewer or more.
GOLDENS = {
    "paxos-accept-below-promise.agreement", "paxos-amnesia.agreement",
    "paxos-article.agreement", "paxos-pid-timestamp.agreement", "paxos-wrong-value.agreement",
    "raft-leader-ignores-term.one_leader_per_term", "raft-stale-votes.election_safety",
    "multipaxos-accept-below-promise.agreement",
}


def test_the_goldens_are_all_there_and_named_for_what_they_hold() -> None:
    assert {p.stem for p in golden_files()} == GOLDENS
    for path in golden_files():
        doc = json.loads(path.read_text())
        assert path.stem == f"{doc['spec']}.{doc['property']}"
        assert len(doc["steps"]) > 0
