"""Hostile input to the command line: garbage trace files and garbage arguments.

Whatever comes in, `agree` answers with an exit code, and on bad input with
exactly one line on stderr and exit code 2: never a traceback, never a hang.
Everything runs in-process through agree.cli.main.main, so an exception
that escapes is a test failure that Hypothesis shrinks.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _cli import assert_refused
from _golden import golden_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agree.cli.main import main

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean(code: int, err: str) -> None:
    """Either it worked (or found what it looks for), or a clean refusal."""
    assert code in (0, 1, 2, 3), (code, err)
    assert "Traceback" not in err
    if code == 2:
        assert_refused(code, err)


# -- trace files -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 5) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=12)


@FUZZ
@given(st.binary(max_size=300))
def test_garbage_bytes_are_not_a_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       data: bytes) -> None:
    f = tmp_path / "t.json"
    f.write_bytes(data)
    code, _, err = run(["trace", "show", str(f)], capsys)
    assert_refused(code, err)


@FUZZ
@given(json_values)
def test_random_json_is_not_a_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    doc: Any) -> None:
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc))
    code, _, err = run(["trace", "show", str(f)], capsys)
    assert_refused(code, err)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON document, in a deterministic order."""
    out = [prefix]
    if isinstance(doc, dict):
        for k in sorted(doc):
            out += _paths(doc[k], (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        new = dict(doc)
        if not rest and how == "delete":
            del new[head]
        else:
            new[head] = _mutate(doc[head], rest, how, value)
        return new
    new_list = list(doc)
    if not rest and how == "delete":
        del new_list[head]
    else:
        new_list[head] = _mutate(doc[head], rest, how, value)
    return new_list


GOLDENS = [json.loads(p.read_text()) for p in golden_files()]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_a_damaged_golden_trace_loads_or_is_refused(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(GOLDENS))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        how = data.draw(st.sampled_from(["replace", "delete"])) if path else "replace"
        doc = _mutate(doc, path, how, data.draw(json_values))
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc))
    code, _, err = run(["trace", "show", str(f)], capsys)
    assert code in (0, 2)
    if code == 2:
        assert_refused(code, err)


def test_a_missing_or_unreadable_trace_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for target in (tmp_path / "nope.json", tmp_path):
        code, _, err = run(["trace", "show", str(target)], capsys)
        assert_refused(code, err)


def _child(agree_process: Callable[..., subprocess.CompletedProcess[str]], args: list[str],
           cwd: Path) -> subprocess.CompletedProcess[str]:
    """agree in a child limited to 1 GB and 60 s, so a bug cannot take the machine."""
    return agree_process(args, cwd=cwd, timeout=60, memory_limit=1 << 30,
                         env={"PYTHONHASHSEED": "0"})


def test_deeply_nested_json_is_refused(
        tmp_path: Path, agree_process: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    f = tmp_path / "deep.json"
    f.write_text("[" * 100_000)
    r = _child(agree_process, ["trace", "show", str(f)], tmp_path)
    assert r.returncode == 2, r.stderr[-500:]
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_trace_with_a_huge_parameter_is_refused_quickly(
        tmp_path: Path, agree_process: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    doc = json.loads(golden_files()[0].read_text())
    doc["params"] = {k: 10**11 for k in doc["params"]}
    f = tmp_path / "huge.json"
    f.write_text(json.dumps(doc))
    try:
        r = _child(agree_process, ["trace", "show", str(f)], tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("agree trace show hung on a huge parameter")
    assert r.returncode == 2, r.stderr[-500:]
    assert len(r.stderr.strip().splitlines()) == 1


# -- arguments -------------------------------------------------------------------------------

CHECK_FLAGS = ["--invariant", "--property", "--json", "--trace-out", "--continue", "--deadlock",
               "--max-states", "--time-limit", "--no-check-pruned", "--quiet", "--graph",
               "--graph-limit", "--acceptors", "--values", "--max-ballot", "--servers",
               "--max-term", "--max-log", "--max-messages", "--proposers", "--history",
               "--nope", "-x", "--"]
SPECS = ["paxos", "raft", "paxos-article", "raft-forget-vote", "nope", "x.py", "x.py:Nope",
         "", "-", "../etc"]
VALUES = st.sampled_from(["0", "1", "2", "-1", "3", "true", "false", "nan", "-inf", "1e3",
                          "", " ", "agreement", "election_safety", "x", "é", "\x00",
                          "a" * 300, "t.json", "g.dot", "g.graphml", "/", "--json"])
TOKENS = st.one_of(st.sampled_from(CHECK_FLAGS), VALUES,
                   st.text(st.characters(blacklist_characters="-\x00"), max_size=6))


@FUZZ
@given(st.sampled_from(SPECS), st.lists(TOKENS, max_size=8))
def test_check_with_garbage_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch, spec: str,
                                      tokens: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    # whatever came before, these bound the work (argparse keeps the last value)
    argv = ["check", spec, *tokens, "--max-states", "300", "--time-limit", "20", "--quiet"]
    code, _, err = run(argv, capsys)
    assert_clean(code, err)


CHAOS_FLAGS = ["--schedules", "--seed", "--nodes", "--clients", "--keys", "--ticks",
               "--replay", "--out", "--no-shrink", "--shrink-time", "--time-limit", "--json",
               "--quiet", "--nope"]


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(CHAOS_FLAGS), VALUES), max_size=6))
def test_chaos_with_garbage_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch,
                                      tokens: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["chaos", *tokens, "--schedules", "1", "--ticks", "20", "--shrink-time", "5",
            "--quiet"]
    code, _, err = run(argv, capsys)
    assert_clean(code, err)


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(["list", "trace", "show", "html", "--help", "-h",
                                           "--json", "--nope"]), VALUES), max_size=4))
def test_top_level_garbage(capsys: pytest.CaptureFixture[str], tokens: list[str]) -> None:
    try:
        code, _, err = run(tokens, capsys)
    except SystemExit as exc:  # argparse's own --help exits 0 by design
        assert exc.code == 0
        return
    assert_clean(code, err)


@pytest.mark.parametrize("value", ["nan", "NaN"])
def test_check_refuses_a_time_limit_that_is_not_a_number(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", "paxos", "--time-limit", value, "--max-states", "50",
                        "--quiet"], capsys)
    assert_refused(code, err)


@pytest.mark.parametrize("args", [
    ["chaos", "--schedules", "0"], ["chaos", "--schedules", "x"], ["chaos", "--seed", "1.5"],
    ["chaos", "--nodes", "99"], ["chaos", "--shrink-time", "nan"], ["chaos", "--ticks", "-3"],
    ["chaos", "--replay", "/nonexistent/file.json"],
])
def test_chaos_refuses_bad_values(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(args, capsys)
    assert_refused(code, err)


@FUZZ
@given(json_values)
def test_a_garbage_chaos_schedule_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             doc: Any) -> None:
    f = tmp_path / "s.json"
    f.write_text(json.dumps(doc))
    code, _, err = run(["chaos", "--replay", str(f), "--quiet"], capsys)
    assert_refused(code, err)
