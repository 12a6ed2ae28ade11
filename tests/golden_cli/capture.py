"""Capture the `agree` command line's help texts and bad-input answers as goldens.

    python tests/golden_cli/capture.py PATH/TO/agree [--out tests/golden_cli/cli.json]

Runs the given `agree` executable (the reference CLI: the goldens pin its behaviour, which
tests/test_cli_golden.py holds the current CLI to) on every ``--help`` (found by walking
the subcommands the help texts list, plus the spec-parameter help of a few specs) and on
the bad-input cases below, in an empty directory holding only FILES, with COLUMNS=80 (argparse
wraps help to the terminal width). Records each case's exit code, stdout and stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "cli.json"
COLUMNS = "80"

#: Input files the bad-input cases name (relative to the working directory).
FILES: dict[str, str] = {
    "malformed.json": '{"spec": "paxos", "params": {',
    "not-a-trace.json": '{"spec": "paxos"}\n',
    "unknown-spec.json": '{"schema": "agree-trace", "version": 1, "spec": "nosuch", '
                         '"params": {}, "property": "agreement", "kind": "invariant", '
                         '"init": {}, "steps": []}\n',
    "future-version.json": '{"schema": "agree-trace", "version": 99, "spec": "paxos"}\n',
    "list.json": "[1, 2, 3]\n",
    "garbage.jsonl": "not json\n{}\n",
    "not_a_spec.py": "X = 1\n",
}

#: Specs whose parameter help (`agree COMMAND SPEC --help`) is pinned too.
SPEC_HELP: list[list[str]] = [
    ["check", "paxos", "--help"], ["check", "raft", "--help"],
    ["check", "paxos-article", "--help"], ["simulate", "raft", "--help"],
    ["prove", "paxos", "--help"], ["prove", "raft", "--help"], ["bmc", "raft", "--help"],
]

#: Bad input: unknown commands, specs, flags; bad values; missing and malformed files.
BAD_INPUT: list[list[str]] = [
    [],
    ["frobnicate"],
    ["--version"],
    ["list", "extra"],
    ["check"],
    ["check", "nosuch"],
    ["check", "paxos", "--no-such-flag"],
    ["check", "paxos", "--max-ballot"],
    ["check", "paxos", "--max-ballot", "-1"],
    ["check", "raft", "--servers", "x"],
    ["check", "raft", "--servers", "1000000"],
    ["check", "raft", "--acceptors", "3"],
    ["check", "paxos", "--workers", "0"],
    ["check", "paxos", "--workers", "x"],
    ["check", "paxos", "--time-limit", "soon"],
    ["check", "paxos", "--max-states", "0"],
    ["check", "paxos", "--invariant", "nosuch"],
    ["check", "missing.py"],
    ["check", "not_a_spec.py"],
    ["check", "paxos", "--from", "missing.json"],
    ["check", "paxos", "--resume", "nowhere"],
    ["trace"],
    ["trace", "frobnicate"],
    ["trace", "show"],
    ["trace", "show", "missing.json"],
    ["trace", "show", "malformed.json"],
    ["trace", "show", "not-a-trace.json"],
    ["trace", "show", "unknown-spec.json"],
    ["trace", "show", "list.json"],
    ["trace", "html", "malformed.json", "-o", "out.html"],
    ["trace", "html", "unknown-spec.json", "-o", "out.html"],
    ["trace", "show", "future-version.json"],
    ["trace", "itf", "missing.json"],
    ["trace", "import-itf", "malformed.json", "-o", "out.json"],
    ["trace", "replay", "not-a-trace.json"],
    ["trace", "minimize", "missing.json"],
    ["simulate", "paxos", "--runs", "0"],
    ["simulate", "paxos", "--depth", "x"],
    ["prove", "nosuch"],
    ["prove", "raft", "--acceptors", "5"],
    ["prove", "paxos", "--servers", "3"],
    ["prove", "paxos", "--timeout", "0"],
    ["bmc", "paxos"],
    ["bmc", "paxos", "--depth", "x"],
    ["bmc", "paxos", "--depth", "2", "--from", "x"],
    ["bmc", "raft", "--depth", "2", "--encoding", "arrays"],
    ["chaos", "--schedules", "0"],
    ["chaos", "--seed", "x"],
    ["chaos", "--replay", "missing.json"],
    ["conform", "nosuch"],
    ["conform", "raft", "--bug", "nosuch"],
    ["validate"],
    ["validate", "missing.jsonl"],
    ["validate", "garbage.jsonl"],
    ["validate", "--deviation", "nosuch", "garbage.jsonl"],
    ["validate", "--max-batch", "0", "garbage.jsonl"],
    ["serve", "--id", "x", "--peers", "127.0.0.1:7000", "--data", "d"],
    ["serve", "--id", "3", "--peers", "127.0.0.1:7000,127.0.0.1:7001", "--data", "d"],
    ["cluster"],
    ["cluster", "up", "--nodes", "0"],
    ["kv"],
    ["kv", "put", "k"],
    ["kv", "get", "k", "--cluster", "missing.json"],
]

_SUBCOMMAND = re.compile(r"^    (\S+)")


def subcommands(help_text: str) -> list[str]:
    """The subcommand names a help text lists (argparse indents them by four spaces in
    the positional-arguments section; nothing else in a help text is)."""
    return [m.group(1) for line in help_text.splitlines() if (m := _SUBCOMMAND.match(line))]


def environment() -> dict[str, str]:
    """The environment every case runs in: fixed terminal width, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return {**env, "COLUMNS": COLUMNS, "NO_COLOR": "1"}


def write_files(where: Path) -> None:
    for name, text in FILES.items():
        (where / name).write_text(text)


def run(agree: str, argv: list[str], cwd: Path) -> dict[str, Any]:
    proc = subprocess.run([agree, *argv], cwd=cwd, env=environment(), capture_output=True,
                          text=True, timeout=120)
    return {"argv": argv, "exit": proc.returncode, "stdout": proc.stdout,
            "stderr": proc.stderr}


def help_cases(agree: str, cwd: Path) -> list[dict[str, Any]]:
    """`--help` of the CLI and of every subcommand, depth first, then SPEC_HELP."""
    cases: list[dict[str, Any]] = []

    def walk(prefix: list[str]) -> None:
        case = run(agree, [*prefix, "--help"], cwd)
        cases.append(case)
        for name in subcommands(case["stdout"]):
            walk([*prefix, name])

    walk([])
    return cases + [run(agree, argv, cwd) for argv in SPEC_HELP]


def capture(agree: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        write_files(cwd)
        cases = help_cases(agree, cwd) + [run(agree, argv, cwd) for argv in BAD_INPUT]
    return {"columns": int(COLUMNS), "files": FILES, "cases": cases}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agree", help="the `agree` executable to capture")
    parser.add_argument("--out", type=Path, default=GOLDEN, help="where to write the goldens")
    args = parser.parse_args()
    doc = capture(args.agree)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(doc['cases'])} cases written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
