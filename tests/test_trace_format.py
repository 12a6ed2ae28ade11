"""The trace file format: schema validation, malformed files, replay, and ITF both ways
(including an ITF file written by hand from ADR-015)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from _golden import GOLDEN_DIR

from agree.cli.main import main
from agree.protocols.registry import resolve
from agree.traces.itf import from_itf, load_itf, to_itf
from agree.traces.trace import TraceError, load_trace, to_json, validate_document

GOLDEN = GOLDEN_DIR / "paxos-article.agreement.json"
HANDWRITTEN = Path(__file__).resolve().parent / "data" / "paxos-one-acceptor.handwritten.itf.json"


def _doc() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())  # type: ignore[no-any-return]


def _write(tmp_path: Path, doc: Any, name: str = "t.json") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def _broken_step(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["steps"][5]["args"] = [1, 1]  # Propose(n=1, v=v2) before any promise for n=1
    return doc


def _bad_cases() -> dict[str, tuple[Any, str]]:
    d = _doc()
    return {
        "bad json": ("{not json", "is not valid JSON"),
        "wrong version": ({**d, "version": 99}, "unsupported trace version 99"),
        "wrong schema": ({**d, "schema": "other"}, "not a trace: schema is 'other'"),
        "unknown spec": ({**d, "spec": "no-such-spec"}, "unknown spec 'no-such-spec'"),
        "missing field": ({k: v for k, v in d.items() if k != "init"},
                          "'init' missing or not a JSON value"),
        "unknown field": ({**d, "colour": "red"}, "unknown field 'colour'"),
        "bad loop": ({**d, "loop": 3}, "a lasso's last state must equal state 3"),
        "step does not replay": (_broken_step(d), "step 6: Propose(n=1, v=v2) is not enabled"),
        "wrong state": ({**d, "steps": [{**d["steps"][0], "state": d["init"]},
                                        *d["steps"][1:]]},
                        "step 1: Prepare(n=0) leads to a different state"),
    }


@pytest.mark.parametrize("case", sorted(_bad_cases()))
def test_malformed_trace_is_one_line_and_exit_2(case: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    doc, expected = _bad_cases()[case]
    path = _write(tmp_path, doc)
    for command in (["trace", "show"], ["trace", "html", "-o", str(tmp_path / "o.html")],
                    ["trace", "itf"]):
        assert main([*command, str(path)]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "show", "/no/such/trace.json"]) == 2
    assert "cannot read /no/such/trace.json" in capsys.readouterr().err


def test_every_golden_validates() -> None:
    for path in sorted(GOLDEN_DIR.glob("*.json")):
        validate_document(json.loads(path.read_text()))
    with pytest.raises(TraceError, match="'steps' missing or not a list"):
        validate_document({**_doc(), "steps": {}})


def test_replay_reports_the_first_step_that_no_longer_replays(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "replay", str(GOLDEN)]) == 0
    assert "replays: 12 steps of paxos-article" in capsys.readouterr().out
    path = _write(tmp_path, _broken_step(_doc()))
    assert main(["trace", "replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert "does not replay: step 6: Propose(n=1, v=v2) is not enabled" in out
    assert main(["trace", "replay", str(_write(tmp_path, "[]", "x.json"))]) == 2


def test_itf_export_uses_the_published_encodings() -> None:
    trace = load_trace(GOLDEN, resolve)
    doc = to_itf(trace)
    assert doc["vars"] == ["highest_id", "accepted_n", "accepted_val", "msgs"]
    s0, s1 = doc["states"][0], doc["states"][1]
    assert s0["#meta"] == {"index": 0, "action": "init", "mbt::actionTaken": "init"}
    assert s1["#meta"]["action"] == "Prepare" and s1["#meta"]["label"] == "Prepare(n=0)"
    assert s0["highest_id"] == {"#tup": [-1, -1, -1]}
    assert s0["accepted_val"] == {"#tup": [{"#unserializable": "None"}] * 3}
    assert s1["msgs"] == {"#set": [{"n": 0, "type": "prepare"}]}
    assert doc["#meta"]["agree"]["spec"] == "paxos-article"
    assert "loop" not in doc


def test_itf_values_big_ints_and_maps() -> None:
    from agree.traces.itf import decode_itf_value, itf_value

    assert itf_value(2**60) == {"#bigint": str(2**60)}
    assert decode_itf_value({"#bigint": "-1152921504606846976"}) == -(2**60)
    assert itf_value({"b": 1, "a": (1, 2)}) == {"#map": [["a", {"#tup": [1, 2]}], ["b", 1]]}
    assert decode_itf_value({"#map": [["b", 1], ["a", {"#tup": [1, 2]}]]}) == {"a": [1, 2],
                                                                              "b": 1}
    assert decode_itf_value({"#map": [[1, "y"], [0, "x"]]}) == ["x", "y"]
    assert decode_itf_value({"#set": [3, 1, 2]}) == [1, 2, 3]
    assert decode_itf_value({"tag": "Some", "value": {"#bigint": "4"}}) == 4


def test_hand_written_itf_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = load_itf(HANDWRITTEN, resolve)
    assert [s.label for s in trace.steps] == [
        "Phase1a(b=0)", "Phase1b(a=a1, m=<1a bal=0>)", "Phase2a(b=0, v=v1)",
        "Phase2b(a=a1, m=<2a bal=0 val=v1>)"]
    out = tmp_path / "hw.json"
    assert main(["trace", "import-itf", str(HANDWRITTEN), "-o", str(out)]) == 0
    assert load_trace(out, resolve).steps == trace.steps
    # and back out and in again
    assert to_json(from_itf(to_itf(trace), resolve)) == to_json(trace)
    capsys.readouterr()


def test_itf_that_is_not_a_behaviour_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(HANDWRITTEN.read_text())
    doc["states"] = [doc["states"][0], doc["states"][3]]  # skips two steps
    path = _write(tmp_path, doc, "bad.itf.json")
    assert main(["trace", "import-itf", str(path), "-o", str(tmp_path / "o.json")]) == 2
    assert "ITF state 1 is not reachable in one step of paxos" in capsys.readouterr().err
    del doc["#meta"]["agree"]
    assert main(["trace", "import-itf", str(_write(tmp_path, doc, "b.itf.json")), "-o",
                 str(tmp_path / "o.json")]) == 2
    assert "#meta.agree must name the spec" in capsys.readouterr().err
