"""`agree trace diff A B` on real traces: a trace against itself, a zoo trace against the
prefix it was searched from, two zoo traces of Raft, a trace against its minimized
version (a smaller configuration); and the nested-value diffs on their own.

Every difference reported is checked against an independent reading of the two
states (which view entries differ), so the diff can neither invent nor hide one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import assert_refused, one_line_error, run

from agree.protocols.registry import resolve
from agree.spec import Spec
from agree.traces.diff import FieldDiff, diff_traces, diff_values, parse_value, render_diff
from agree.traces.trace import Trace, load_trace, save_trace

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "traces" / "golden"
DEEP = ROOT / "traces" / "zoo_deep"
ARTICLE = GOLDEN / "paxos-article.agreement.json"
COMMIT_OLD = DEEP / "raft-commit-old-term.leader_completeness.json"
COMMIT_OLD_PREFIX = DEEP / "prefix" / "raft-commit-old-term.json"
TRUNCATE = DEEP / "raft-truncate-on-stale-append.leader_completeness.json"


def _load(path: Path) -> tuple[Trace, Spec]:
    trace = load_trace(path, resolve)
    return trace, resolve(trace.spec, trace.params)[0]


def _top(path: str, keys: set[str]) -> str:
    """The view entry a path is under: ``log[s1][2]`` -> ``log[s1]``."""
    return max((k for k in keys if path == k or path.startswith(k + "[")), key=len)


def _check_against_views(path_a: Path, path_b: Path) -> None:
    """Each reported state: exactly the view entries that differ (shared keys) are named."""
    (a, spec_a), (b, spec_b) = _load(path_a), _load(path_b)
    d = diff_traces(spec_a, a, spec_b, b)
    for s in d.steps:
        if s.n > min(len(a), len(b)):
            assert s.fields == ()
            continue
        va, vb = spec_a.view(a.states[s.n]), spec_b.view(b.states[s.n])
        differing = {k for k in va if k in vb and va[k] != vb[k]}
        assert {_top(f.path, set(va)) for f in s.fields} == differing, s.n
    # and the prefix really is common
    for n in range(max(d.common, 0) + 1):
        va, vb = spec_a.view(a.states[n]), spec_b.view(b.states[n])
        assert {k: v for k, v in va.items() if k in vb} == {k: v for k, v in vb.items() if k in va}
        assert n == 0 or a.steps[n - 1].label == b.steps[n - 1].label


def test_a_trace_against_itself_has_no_difference(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "trace", "diff", str(ARTICLE), str(ARTICLE))
    assert code == 0, err
    assert out.splitlines()[-1] == ("no difference: both traces take the same 12 steps "
                                    "through the same states")


def test_zoo_trace_against_the_prefix_it_was_searched_from(
        capsys: pytest.CaptureFixture[str]) -> None:
    (a, spec_a), (b, spec_b) = _load(COMMIT_OLD), _load(COMMIT_OLD_PREFIX)
    assert (a.spec, b.spec) == ("raft-commit-old-term", "raft")  # a zoo variant and its protocol
    d = diff_traces(spec_a, a, spec_b, b)
    assert (d.common, d.len_a, d.len_b) == (len(b), 54, len(b))
    code, out, err = run(capsys, "trace", "diff", str(COMMIT_OLD), str(COMMIT_OLD_PREFIX))
    assert code == 1, err
    assert f"common prefix: {len(b)} steps (states 0-{len(b)} equal)" in out
    assert f"B ends after step {len(b)}; A goes on for {54 - len(b)} more steps:" in out
    assert f"  54. {a.steps[-1].label}" in out
    _check_against_views(COMMIT_OLD, COMMIT_OLD_PREFIX)


def test_two_zoo_traces_of_raft_name_the_server_and_the_log_index(
        capsys: pytest.CaptureFixture[str]) -> None:
    (a, spec_a), (b, spec_b) = _load(COMMIT_OLD), _load(TRUNCATE)
    d = diff_traces(spec_a, a, spec_b, b)
    first = d.steps[0]
    assert first.n == d.common + 1
    assert (first.label_a, first.label_b) == (a.steps[d.common].label, b.steps[d.common].label)
    assert first.label_a != first.label_b
    code, out, err = run(capsys, "trace", "diff", str(COMMIT_OLD), str(TRUNCATE), "--limit", "2")
    assert code == 1, err
    assert f"common prefix: {d.common} steps" in out
    assert out.count("\nstep ") == 2 and "more steps where both differ (shown: --limit 2)" in out
    # the first difference is one log entry, named by server and index (Raft counts from 1)
    va, vb = spec_a.view(a.states[first.n]), spec_b.view(b.states[first.n])
    logs = [k for k in va if k.startswith("log[") and va[k] != vb[k]]
    assert logs, "the two traces' logs part at the first differing step"
    for key in logs:
        paths = [f for f in first.fields if f.path.startswith(key + "[")]
        assert paths and all(f.path[len(key):].strip("[]").isdigit() for f in paths)
        assert f"  {paths[0].path}" in out
    _check_against_views(COMMIT_OLD, TRUNCATE)


def test_a_trace_against_its_minimized_version(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    from agree.checker.minimize import minimize_config

    trace, _ = _load(ARTICLE)
    small = minimize_config(trace, resolve, max_states=20_000).best
    assert small is not None and small.trace.params["acceptors"] < trace.params["acceptors"]
    path = tmp_path / "small.json"
    save_trace(small.trace, path)
    code, out, err = run(capsys, "trace", "diff", str(ARTICLE), str(path))
    assert code == 1, err
    assert "parameters differ: acceptors: A 3 | B 1" in out
    assert "left out, only A has them: " in out and "[a3]" in out
    spec_a = resolve(trace.spec, trace.params)[0]
    spec_b = resolve(small.trace.spec, small.trace.params)[0]
    d = diff_traces(spec_a, trace, spec_b, small.trace)
    assert "max_bal[a2]" in d.only_a or any("[a2]" in k for k in d.only_a)
    assert d.common >= 1  # the same first steps, on the acceptor both have
    _check_against_views(ARTICLE, path)


def test_refuses_different_specs_and_malformed_files(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    raft = GOLDEN / "raft-stale-votes.election_safety.json"
    code, _, err = run(capsys, "trace", "diff", str(ARTICLE), str(raft))
    assert_refused(code, err)
    assert "paxos-article" in err and "raft-stale-votes" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "agree-trace"')
    code, _, err = run(capsys, "trace", "diff", str(ARTICLE), str(bad))
    assert_refused(code, err)
    assert "not valid JSON" in one_line_error(err)
    code, _, err = run(capsys, "trace", "diff", str(ARTICLE), str(tmp_path / "none.json"))
    assert_refused(code, err)
    code, _, err = run(capsys, "trace", "diff", str(ARTICLE), str(ARTICLE), "--limit", "0")
    assert_refused(code, err)


def test_nested_values_diff_down_to_the_element() -> None:
    assert parse_value("[2:v1, 3:v1]") == ("list", ["2:v1", "3:v1"])
    assert parse_value("s1=0 s2=1") == ("map", {"s1": "0", "s2": "1"})
    assert parse_value("{s1: [2:v1], s2: []}") == (
        "map", {"s1": ("list", ["2:v1"]), "s2": ("list", [])})
    assert parse_value("1b a1 bal=0") == "1b a1 bal=0"  # not every word k=v: whole text
    assert parse_value("[unbalanced") == "[unbalanced"
    log = diff_values("log[s1]", parse_value("[2:v1, 3:v1]"), parse_value("[2:v1, 4:v2, 4:v2]"))
    assert log == [FieldDiff("log[s1][2]", "3:v1", "4:v2"), FieldDiff("log[s1][3]", None, "4:v2")]
    match = diff_values("match_index[s1]", parse_value("s1=0 s2=1 s3=0"),
                        parse_value("s1=0 s2=2 s3=0"))
    assert match == [FieldDiff("match_index[s1][s2]", "1", "2")]
    votes = diff_values("votes_granted[s1]", parse_value("{s1, s2}"), parse_value("{s1, s3}"))
    assert votes == [FieldDiff("votes_granted[s1]", "s2", None),
                     FieldDiff("votes_granted[s1]", None, "s3")]
    voter = diff_values("voter_log[s1]", parse_value("{s1: [2:v1], s2: []}"),
                        parse_value("{s1: [2:v1], s2: [2:v1]}"))
    assert voter == [FieldDiff("voter_log[s1][s2][1]", None, "2:v1")]
    assert diff_values("x", "same", "same") == []


def test_identical_render() -> None:
    trace, spec = _load(ARTICLE)
    d = diff_traces(spec, trace, spec, trace)
    assert d.identical and d.steps == ()
    assert render_diff(d).startswith("no difference")


def test_a_different_action_to_the_same_state_ends_the_common_prefix() -> None:
    from dataclasses import replace

    trace, spec = _load(ARTICLE)
    other = replace(trace, steps=[*trace.steps[:5], replace(trace.steps[5], label="Other()"),
                                  *trace.steps[6:]])
    d = diff_traces(spec, trace, spec, other)
    assert d.common == 5 and not d.identical
    assert (d.steps[0].label_a, d.steps[0].label_b) == (trace.steps[5].label, "Other()")
    assert all(s.fields == () for s in d.steps)
    text = render_diff(d)
    assert "step 6:\n  A  " in text and "  B  Other()\n  the states are equal" in text


def test_the_docs_example_is_the_current_output(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the example names the files from the repository's root
    docs = (ROOT / "docs" / "traces.md").read_text()
    block = docs.split("$ agree trace diff ", 1)[1].split("```", 1)[0]
    command, _, shown = block.partition("\n      ")[2].partition("\n")
    code, out, _ = run(capsys, "trace", "diff", str(COMMIT_OLD.relative_to(ROOT)),
                       str(TRUNCATE.relative_to(ROOT)), "--limit", "2")
    assert command.split() == [str(TRUNCATE.relative_to(ROOT)), "--limit", "2"]
    assert code == 1 and shown == out
