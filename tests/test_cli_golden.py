"""The command line as users meet it: every `--help` (nested ones too) and the exit code,
stdout and stderr of bad input, exactly as tests/golden_cli/cli.json pins them.

The goldens come from the reference CLI (the code before the package redesign), captured by
    python tests/golden_cli/capture.py PATH/TO/agree
Recapture them with that command only for a deliberate change of the command line, and
review the diff. Here the current CLI runs in-process, in a directory holding the same
input files, with the same terminal width.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agree.cli.main import main

GOLDEN = Path(__file__).resolve().parent / "golden_cli" / "cli.json"
DOC: dict[str, Any] = json.loads(GOLDEN.read_text())
CASES: list[dict[str, Any]] = DOC["cases"]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c["argv"]) or "(nothing)")
def test_cli_answers_as_the_golden(case: dict[str, Any], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    for name, text in DOC["files"].items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", str(DOC["columns"]))
    monkeypatch.delenv("LINES", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, err = _run(case["argv"], capsys)
    assert (code, err) == (case["exit"], case["stderr"])
    assert out == case["stdout"]


def test_the_goldens_cover_every_subcommand_and_bad_input() -> None:
    """Every subcommand's help is pinned (nested ones too), and every bad-input case
    answers exit 2 with one line on stderr, never a traceback."""
    argvs = [c["argv"] for c in CASES]
    for nested in (["trace", "show", "--help"], ["trace", "import-itf", "--help"],
                   ["cluster", "up", "--help"], ["kv", "put", "--help"]):
        assert nested in argvs
    helps = [c for c in CASES if c["argv"][-1:] == ["--help"]]
    assert len(helps) >= 25
    bad = [c for c in CASES if c["argv"][-1:] != ["--help"]]
    assert len(bad) >= 20
    for c in bad:
        assert c["exit"] == 2, c["argv"]
        assert c["stderr"].startswith("error: ") and c["stderr"].count("\n") == 1, c["argv"]
