"""Run a test body in a fresh interpreter.

Z3's answers (which model, whether a query finishes in its timeout) depend on what
earlier queries left in its global context and on fresh-name counters; a test whose
verdict rests on one particular answer runs its body in a process of its own, so that
the suite's order cannot change it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def in_fresh_process(module: str, function: str, *args: str, timeout: float = 900) -> None:
    """Call ``tests/<module>.py``'s ``function(*args)`` (string arguments) in a new
    Python; fail with its output if it raises."""
    call = ", ".join(map(repr, args))
    code = (f"import sys; sys.path.insert(0, {str(TESTS)!r}); "
            f"from {module} import {function}; {function}({call})")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=timeout, cwd=TESTS)
    assert run.returncode == 0, (run.stdout[-4000:] + run.stderr[-4000:])
