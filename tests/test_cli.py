"""`agree list`, `agree check`, `agree trace show`: output, exit codes, every error path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import one_line_error, run

from agree.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "traces" / "golden"


def test_list_shows_specs_parameters_and_properties(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert "paxos" in out and "--max-ballot 2" in out and "agreement" in out
    assert "paxos-article" in out and "breaks: agreement" in out
    code, out, _ = run(capsys, "list", "--json")
    names = [e["name"] for e in json.loads(out)]
    assert "paxos" in names and "paxos-pid-timestamp" in names


def test_check_paxos_reports_figures_and_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "paxos", "--max-ballot", "1", "--quiet")
    assert code == 0
    assert "All properties hold." in out
    assert "distinct states   3,921" in out and "depth             17" in out
    for word in ("states generated", "time", "states/s", "Phase1a", "Phase2b"):
        assert word in out


def test_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "paxos", "--acceptors", "3", "--values", "1",
                       "--max-ballot", "1", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "holds" and doc["params"]["values"] == 1
    assert doc["distinct"] > 0 and set(doc["coverage"]) == {"Phase1a", "Phase2a", "Phase1b",
                                                             "Phase2b"}


def test_article_paxos_violates_agreement_and_writes_the_trace(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "cex.json"
    code, out, _ = run(capsys, "check", "paxos-article", "--trace-out", str(out_file), "--quiet")
    assert code == 1
    assert "VIOLATED: agreement" in out and "Step 12:" in out
    assert "invariant agreement is violated at step 12." in out
    doc = json.loads(out_file.read_text())
    assert doc["property"] == "agreement" and len(doc["steps"]) == 12
    code, shown, _ = run(capsys, "trace", "show", str(out_file))
    assert code == 0 and "Step 12: ReceivePropose" in shown and "msgs + Accepted" in shown


def test_budget_exit_code_is_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "paxos", "--max-states", "50", "--quiet")
    assert code == 3 and "Incomplete" in out


def test_invariant_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "paxos-pid-timestamp", "--invariant", "agreement",
                       "--trace-out", "/dev/null", "--quiet")
    assert code == 1 and "properties: agreement\n" in out


def test_help_lists_the_spec_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "paxos", "--help")
    assert code == 0 and "--max-ballot" in out and "ballots are 0..max_ballot" in out
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0


@pytest.mark.parametrize("argv, needle", [
    (["check", "nosuchspec"], "unknown spec 'nosuchspec'"),
    (["check", "paxos", "--acceptorz", "3"], "unknown parameter '--acceptorz'"),
    (["check", "paxos", "--acceptors", "three"], "invalid int value"),
    (["check", "paxos", "--acceptors", "0"], "--acceptors must be at least 1"),
    (["check", "paxos", "--invariant", "nope"], "unknown property 'nope'"),
    (["check", "paxos", "--max-states", "-5"], "--max-states must be a positive number"),
    (["check", "paxos", "--time-limit", "soon"], "invalid float value"),
    (["frobnicate"], "invalid choice"),
    (["list", "--bogus"], "unrecognized arguments"),
    (["check"], "the following arguments are required"),
    (["check", "/nonexistent/spec.py"], "no such spec file"),
    (["trace", "show", "/nonexistent/trace.json"], "cannot read"),
])
def test_bad_usage_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                          needle: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert needle in one_line_error(err)


def _golden() -> dict[str, object]:
    return json.loads((GOLDEN / "paxos-article.agreement.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: "{not json", "is not valid JSON"),
    (lambda d: json.dumps([1, 2]), "not an object"),
    (lambda d: json.dumps({**d, "schema": "other"}), "schema is 'other'"),
    (lambda d: json.dumps({**d, "version": 99}), "unsupported trace version 99"),
    (lambda d: json.dumps({**d, "spec": "nosuch"}), "unknown spec 'nosuch'"),
    (lambda d: json.dumps({**d, "params": {"acceptors": "x"}}), "must be an integer"),
    (lambda d: json.dumps({**d, "params": {"colour": 1}}), "has no parameter 'colour'"),
    (lambda d: json.dumps({**d, "steps": "nope"}), "'steps' missing or not a list"),
    (lambda d: json.dumps({**d, "steps": [{"action": "Prepare"}]}), "step 1 needs"),
    (lambda d: json.dumps({**d, "steps": d["steps"][1:]}),
     "step 1: Prepare(n=1) leads to a different state"),
    (lambda d: json.dumps({**d, "steps": [{**d["steps"][0], "action": "Fly"}]}),
     "no action 'Fly'"),
    (lambda d: json.dumps({**d, "init": {"highest_id": [0]}}), "not an initial state"),
    (lambda d: json.dumps({**d, "steps": [{**d["steps"][0], "args": [7]}]}), "not in its domain"),
    (lambda d: json.dumps({**d, "steps": [{**d["steps"][0], "state": {}}]}),
     "different state than the file records"),
])
def test_corrupt_trace_files_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         mutate: object, needle: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(mutate(_golden()))  # type: ignore[operator]
    code, _, err = run(capsys, "trace", "show", str(path))
    assert code == 2
    assert needle in one_line_error(err)


def test_binary_trace_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run(capsys, "trace", "show", str(path))
    assert code == 2 and "not a text file" in one_line_error(err)


RAISING_SPEC = '''
from agree import Spec, action, invariant

class Raises(Spec):
    name = "raises"
    def __init__(self, when: int = 2) -> None:
        self.when = when
        self.one = (1,)
    def init(self):
        yield 0
    @action(d="one")
    def step(self, s, d):
        if s == self.when:
            raise KeyError("no such thing")
        return s + d if s < 5 else None
    @invariant
    def fine(self, s):
        return True
'''


def test_an_action_that_raises_is_one_line_exit_2(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    path = tmp_path / "raises.py"
    path.write_text(RAISING_SPEC)
    code, _, err = run(capsys, "check", str(path), "--when", "2")
    line = one_line_error(err)
    assert code == 2 and "Step" in line and "KeyError" in line and "after 2 steps" in line
    code, out, _ = run(capsys, "check", str(path), "--when", "9", "--quiet")
    assert code == 0 and "distinct states   6" in out


INIT_RAISES = RAISING_SPEC.replace("    def init(self):\n        yield 0",
                                   "    def init(self):\n        yield 0 // (self.when - 2)")


@pytest.mark.parametrize("flags", [[], ["--workers", "2"], ["--graph", "g.dot"]])
def test_an_init_that_raises_is_one_line_exit_2(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               flags: list[str]) -> None:
    """As when an action raises: the spec's bug in one line, never a traceback."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "init_raises.py"
    path.write_text(INIT_RAISES)
    code, _, err = run(capsys, "check", str(path), "--when", "2", "--quiet", *flags)
    line = one_line_error(err)
    assert code == 2 and "raised in init" in line and "ZeroDivisionError" in line, line


@pytest.mark.parametrize("where", ["/proc/nope", "a_file"])
def test_a_checkpoint_directory_that_cannot_be_written_is_one_line_exit_2(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str) -> None:
    if where == "a_file":
        where = str(tmp_path / "a_file")
        Path(where).write_text("")
    code, _, err = run(capsys, "check", "paxos", "--max-ballot", "0", "--quiet",
                       "--checkpoint", where)
    line = one_line_error(err)
    assert code == 2 and f"--checkpoint {where}: cannot write a checkpoint there" in line


def test_a_spec_file_that_fails_to_import(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("import nosuchmodule_xyz\n")
    code, _, err = run(capsys, "check", str(path))
    assert code == 2 and "raised on import" in one_line_error(err)
