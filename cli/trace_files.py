"""Where the CLI writes counterexamples: one place for every command."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agree.spec import SpecError
from agree.traces.trace import Trace, save_trace

__all__ = ["write_traces"]


def write_traces(spec_name: str, named: Sequence[tuple[str, Trace | None]],
                 trace_out: str | None, first_takes_name: bool = True) -> list[str]:
    """Save each (property, trace) and return the paths written.

    With ``--trace-out FILE`` the first trace goes to FILE (unless
    ``first_takes_name`` is False, when an earlier report already took it) and the
    others beside it as ``FILE.PROPERTY.json``; without, each goes to
    ``SPEC.PROPERTY.trace.json`` in the current directory.
    """
    written: list[str] = []
    for prop, trace in named:
        if trace is None:
            continue
        if trace_out:
            first = not written and first_takes_name
            path = Path(trace_out) if first else Path(trace_out).with_suffix(f".{prop}.json")
        else:
            path = Path(f"{spec_name.replace('/', '_')}.{prop}.trace.json")
        try:
            save_trace(trace, path)
        except OSError as exc:
            raise SpecError(f"cannot write the trace to {path}: {exc.strerror or exc}") from None
        written.append(str(path))
    return written
