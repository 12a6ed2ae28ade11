"""`agree` in-process for CLI tests: run it, and hold an error to the one-line rule."""

from __future__ import annotations

import pytest

from agree.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``agree ARGV`` in this process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """The one `error: ...` line bad input must give (no traceback, nothing else)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("error: "), err
    return lines[0]


def assert_refused(code: int, err: str) -> None:
    """Exit 2 with one line on stderr that says what is wrong."""
    assert code == 2, err
    one_line_error(err)
