"""The service's command line: bad input is one line and exit 2; bad databases are refused;
the implementation imports nothing from the checker side."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from agree.cli.main import main

IMPL = Path(__file__).resolve().parent.parent / "impl"


@pytest.mark.parametrize("argv", [
    ["serve", "--id", "3", "--peers", "127.0.0.1:7000,127.0.0.1:7001", "--data", "d"],
    ["serve", "--id", "0", "--peers", "127.0.0.1:notaport", "--data", "d"],
    ["serve", "--id", "0", "--peers", "nohost", "--data", "d"],
    ["serve", "--id", "0", "--peers", "127.0.0.1:7000", "--data", "d", "--max-batch", "0"],
    ["serve", "--id", "x", "--peers", "127.0.0.1:7000", "--data", "d"],
    ["serve", "--id", "0", "--peers", "127.0.0.1:7000", "--data", "d", "--reads", "lease"],
    ["serve", "--id", "0", "--peers", "127.0.0.1:7000", "--data", "d", "--event-loop", "x"],
    ["kv", "get", "k", "--to", "127.0.0.1:0"],
    ["kv", "put", "k"],
    ["kv", "get", "k", "--cluster", "/nonexistent/cluster.json"],
    ["cluster", "up", "--nodes", "0"],
])
def test_bad_input_is_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.integration
def test_serve_refuses_corrupt_database(tmp_path: Path) -> None:
    (tmp_path / "node0.db").write_bytes(b"\x00garbage" * 512)
    proc = subprocess.run(
        [sys.executable, "-m", "agree.impl.server", "--id", "0", "--peers",
         "127.0.0.1:1", "--data", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "not a usable agree database" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_impl_is_a_standalone_library() -> None:
    """DESIGN: impl imports nothing from models, checker, properties or traces."""
    forbidden = ("agree.models", "agree.checker", "agree.properties", "agree.traces")
    files = sorted(IMPL.rglob("*.py"))
    assert len(files) > 5
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
