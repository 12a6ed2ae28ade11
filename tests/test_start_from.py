"""`agree check SPEC --from TRACE.json[:K]`: search from the state a trace's prefix reaches.

The trace written must begin with the file's first K steps and replay from Init; bad
input (no file, not a trace, a bad K, a prefix that SPEC does not replay) is one line and
exit 2. Small configurations only (raft-stale-votes: two servers, max term 3).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import one_line_error, run

from agree import check
from agree.checker.start_from import common_prefix, prefix_trace, prepare
from agree.protocols import registry
from agree.spec import SpecError
from agree.traces.trace import load_trace, save_trace, to_json

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "traces" / "golden" / "raft-stale-votes.election_safety.json"
PAXOS = ROOT / "traces" / "golden" / "paxos-amnesia.agreement.json"
#: The correct Raft in raft-stale-votes' configuration.
RAFT = ["raft", "--servers", "2", "--max-term", "3", "--max-log", "0", "--max-messages", "1"]


@pytest.mark.parametrize("k,flags", [(0, []), (9, []), (12, ["--symmetry"]),
                                     (9, ["--workers", "2"])])
def test_the_trace_found_is_the_prefix_then_a_shortest_suffix(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, k: int, flags: list[str]) -> None:
    out_file = tmp_path / "found.json"
    code, out, _ = run(capsys, "check", "raft-stale-votes", "--from", f"{GOLDEN}:{k}",
                       "--invariant", "election_safety", "--trace-out", str(out_file),
                       "--quiet", *flags)
    assert code == 1, out
    assert f"starting from step {k} of {GOLDEN} (reached from Init by a replayed prefix" in out
    golden = json.loads(GOLDEN.read_text())
    found = json.loads(out_file.read_text())
    assert found["init"] == golden["init"]
    assert found["steps"][:k] == golden["steps"][:k]
    # From the golden's own state after step k, a shortest suffix is no longer than its rest.
    assert k < len(found["steps"]) <= len(golden["steps"])
    if k == 0:
        assert found == golden  # from Init: the ordinary search's shortest trace
    trace = load_trace(out_file, registry.resolve)  # replays from Init
    spec, props = registry.build("raft-stale-votes", trace.params)
    prop = next(p for p in props if p.name == "election_safety")
    assert not prop.holds(spec, trace.states[-1])
    assert all(prop.holds(spec, s) for s in trace.states[k:-1])
    assert f"search found the last {len(found['steps']) - k} step(s)" in out


def test_without_k_the_search_starts_from_the_last_state(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    golden = load_trace(GOLDEN, registry.resolve)
    raft, _ = registry.build("raft", {**golden.params, "max_restarts": 0})
    k = common_prefix(golden, raft)  # the variant's steps that are the correct Raft's too
    assert 0 < k < len(golden)
    prefix = tmp_path / "prefix.json"
    save_trace(prefix_trace(golden, k, raft), prefix)
    code, out, _ = run(capsys, "check", *RAFT, "--from", str(prefix), "--json",
                       "--invariant", "election_safety")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "holds"  # the correct Raft holds from there
    assert doc["start"] == {"file": str(prefix), "step": k, "found_steps": []}
    assert doc["distinct"] > 1
    code, out, _ = run(capsys, "check", *RAFT, "--from", str(prefix), "--quiet",
                       "--invariant", "election_safety")
    assert code == 0 and "All properties hold." in out
    assert "search found" not in out  # no trace written, nothing to say of its steps


@pytest.mark.parametrize("argv,needle", [
    ([*RAFT, "--from", "/nonexistent/trace.json"], "no trace file"),
    ([*RAFT, "--from", f"{GOLDEN}:99"], "only 18 steps"),
    ([*RAFT, "--from", f"{GOLDEN}:x"], "no trace file"),
    ([*RAFT, "--from", f"{GOLDEN}:-1"], "must be 0 or more"),
    ([*RAFT, "--from", str(PAXOS)], "initial state is not an initial state of raft"),
    # The variant's last step (a stale vote counted) is not the correct Raft's.
    ([*RAFT, "--from", str(GOLDEN)], "the prefix does not replay on raft"),
    ([*RAFT, "--from", f"{GOLDEN}:3", "--ray"], "--from checks safety properties only"),
    # Step 5 reaches term 3, outside max term 2.
    (["raft", "--servers", "2", "--max-term", "2", "--max-log", "0", "--max-messages", "1",
      "--from", f"{GOLDEN}:5"], "step 5 leaves raft's state constraint"),
])
def test_bad_start_points_are_one_line_errors(capsys: pytest.CaptureFixture[str],
                                              argv: list[str], needle: str) -> None:
    code, _, err = run(capsys, "check", *argv)
    assert code == 2
    assert needle in one_line_error(err)


def test_a_file_that_is_not_a_trace_is_refused(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run(capsys, "check", *RAFT, "--from", f"{bad}:1")
    assert code == 2 and "not valid JSON" in one_line_error(err)


def test_the_library_searches_from_a_trace_like_the_cli(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    """check(start=...) returns traces from Init (prefix + suffix), as the CLI writes."""
    k = 9
    out_file = tmp_path / "found.json"
    assert run(capsys, "check", "raft-stale-votes", "--from", f"{GOLDEN}:{k}", "--quiet",
               "--invariant", "election_safety", "--trace-out", str(out_file))[0] == 1
    written = json.loads(out_file.read_text())
    spec, props = registry.build("raft-stale-votes", {})
    everything = (*spec.declared_properties(), *props)
    point = prepare(spec, f"{GOLDEN}:{k}")
    for start in (f"{GOLDEN}:{k}", point):
        r = check(spec, everything, only=["election_safety"], start=start)
        v = r.violation("election_safety")
        assert v is not None and v.trace is not None and r.start is not None
        assert r.start.step == k and r.found_steps == [len(v.trace) - k]
        assert to_json(v.trace) == written
    with pytest.raises(SpecError, match="--from checks safety properties only"):
        check(spec, everything, start=point, checkpoint=tmp_path / "cp")
