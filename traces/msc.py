"""A message sequence chart in text: a column per node, an arrow per send and delivery.

::

          env      a1      a2      net
     1  Phase1a(b=0)
           |----------------------->|   send 1a bal=0
     2  Phase1b(a=a1, m=<1a bal=0>)
           |------->|       |       |   deliver 1a bal=0
           |        |-------------->|   send 1b a1 bal=0 mbal=-1 mval=None

Arrows point from sender to receiver; ``x`` marks a drop, ``+`` a duplicate,
``*`` a step that changes one node's state and sends nothing.
"""

from __future__ import annotations

from typing import Any

from agree.spec import Spec
from agree.traces.events import Event, trace_events
from agree.traces.trace import Trace

__all__ = ["render_chart"]


def _row(cols: list[str], width: int, e: Event) -> str:
    pos = {c: i * width + width // 2 for i, c in enumerate(cols)}
    line = [" "] * (len(cols) * width)
    for c in cols:
        line[pos[c]] = "|"
    a, b = pos[e.src], pos[e.dst]
    if e.kind == "local":
        line[a] = "*"
    elif a == b:
        line[a] = {"drop": "x", "duplicate": "+"}.get(e.kind, "o")
    else:
        lo, hi = min(a, b), max(a, b)
        fill = "." if e.kind == "drop" else "-"
        for i in range(lo + 1, hi):
            line[i] = fill
        head = {"drop": "x", "duplicate": "+"}.get(e.kind, ">" if b > a else "<")
        line[b] = head
        if e.kind != "drop" and e.kind != "duplicate":
            line[b - 1 if b > a else b + 1] = "-"
    text = "".join(line).rstrip()
    note = {"local": ""}.get(e.kind, f"{e.kind} {e.message}")
    return f"      {text.ljust(len(cols) * width)}  {note}".rstrip()


def render_chart(spec: Spec[Any], trace: Trace) -> str:
    """The trace as a text sequence chart, one line per event."""
    cols, steps = trace_events(spec, trace)
    width = max(8, *(len(c) + 3 for c in cols)) if cols else 8
    header = "".join(c.center(width) for c in cols).rstrip()
    lines = [f"Message sequence chart ({len(trace)} steps)", "", f"      {header}"]
    for se in steps:
        mark = "  (the loop starts after this step)" if trace.loop == se.n else ""
        if trace.loop == 0 and se.n == 1:
            lines.append("     0  (the loop starts here)")
        lines.append(f"  {se.n:>4}  {se.label}{mark}")
        lines += [_row(cols, width, e) for e in se.events]
    if trace.loop is not None:
        if trace.loop == len(trace):
            lines.append("        ... and stays in this state forever")
        else:
            lines.append(f"        ... back to the state after step {trace.loop}, forever")
    elif trace.property and trace.kind not in (None, "deadlock"):
        lines.append(f"  !! {trace.property} violated after step {len(trace)}")
    return "\n".join(lines) + "\n"
