"""`agree` in a fresh process: for Z3 runs whose outcome (which CTI, how long an obligation
takes) depends on the terms earlier tests left in the process's Z3 context, and for runs that
must not take the test process down with them (memory limits)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

_MAIN = "from agree.cli.main import main; import sys; sys.exit(main(sys.argv[1:]))"


def run_agree(args: list[str], *, timeout: float = 600, cwd: Path | None = None,
              memory_limit: int | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``agree args`` in a child Python (text output captured); ``memory_limit`` caps
    its address space in bytes, ``env`` adds to the inherited environment."""

    def limit() -> None:
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run([sys.executable, "-c", _MAIN, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})},
                          preexec_fn=limit if memory_limit is not None else None)


def prove_json(args: list[str], *, timeout: float = 600) -> tuple[int, dict[str, Any]]:
    """``agree prove ARGS --json`` in a fresh process: its exit code and parsed report."""
    run = run_agree(["prove", *args, "--json"], timeout=timeout)
    assert run.stdout.strip(), f"no JSON report (exit {run.returncode}): {run.stderr[-2000:]}"
    doc: dict[str, Any] = json.loads(run.stdout)
    return run.returncode, doc
