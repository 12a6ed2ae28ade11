"""A trace as a Mermaid ``sequenceDiagram``: pasted into a Markdown file it renders on
GitHub, GitLab and MkDocs sites.

One participant per node (``env``/``net`` as in the text chart), a note across all of
them per step (a note over the node for a step of one node that moves no message), an
arrow per event: ``->>`` a send or delivery, ``--x`` a drop, ``-)`` a duplicate,
``-->>`` two nodes interacting without a message. Key steps sit in a highlighted
``rect``, the arrows that matter are starred, an explanation's summary opens the
diagram, and a lasso's cycle is a ``loop`` block.

Text is escaped with Mermaid's entity codes: ``#`` and ``;`` would end the statement,
``<`` could start markup (``<br>`` breaks the line); ``>`` stays, so ``s1->s2`` reads
as it does everywhere else.
"""

from __future__ import annotations

import re
from typing import Any

from agree.spec import Spec
from agree.traces.chart import Chart, ChartStep, chart_of
from agree.traces.events import Event
from agree.traces.explain import Explanation
from agree.traces.trace import Trace

__all__ = ["KEY_FILL", "escape_mermaid", "render_mermaid"]

#: The background of a key step.
KEY_FILL = "rgba(255, 99, 71, 0.2)"
_ARROW = {"send": "->>", "deliver": "->>", "drop": "--x", "duplicate": "-)",
          "interact": "-->>"}
_ENTITIES = {"#": "#35;", ";": "#59;", "<": "#lt;", "\n": " ", "\r": " "}
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*$")
_KEYWORDS = {"end", "loop", "rect", "alt", "else", "opt", "par", "and", "critical", "break",
             "note", "participant", "actor", "title", "box", "autonumber", "activate",
             "deactivate", "create", "destroy", "links", "link", "properties", "details"}


def escape_mermaid(text: str) -> str:
    """``text`` safe as a Mermaid label: entity codes for the characters Mermaid reads."""
    return "".join(_ENTITIES.get(c, c) for c in text).strip()


def _ids(participants: tuple[str, ...]) -> dict[str, str]:
    return {p: p if _ID.match(p) and p.lower() not in _KEYWORDS else f"P{i}"
            for i, p in enumerate(participants)}


def _across(ids: dict[str, str], chart: Chart) -> str:
    first, last = ids[chart.participants[0]], ids[chart.participants[-1]]
    return first if first == last else f"{first},{last}"


def _event(ids: dict[str, str], chart: Chart, n: int, e: Event) -> str:
    star = "★ " if chart.is_key(n, e) else ""
    return f"{ids[e.src]}{_ARROW[e.kind]}{ids[e.dst]}: {escape_mermaid(star + e.note)}"


def _step(ids: dict[str, str], chart: Chart, s: ChartStep) -> list[str]:
    label = escape_mermaid(f"{'★ ' if s.key else ''}{s.n}. {s.label}")
    if s.local:
        lines = [f"Note over {ids[s.actor]}: {label}"]
    else:
        lines = [f"Note over {_across(ids, chart)}: {label}"]
        lines += [_event(ids, chart, s.n, e) for e in s.events if e.kind != "local"]
    if s.key:
        lines = [f"rect {KEY_FILL}", *(f"    {x}" for x in lines), "end"]
    return lines


def chart_mermaid(chart: Chart) -> str:
    """The Mermaid text of a built chart."""
    ids = _ids(chart.participants)
    out = ["sequenceDiagram", f"    title {escape_mermaid(chart.title)}"]
    for p in chart.participants:
        out.append(f"    participant {p}" if ids[p] == p
                   else f"    participant {ids[p]} as {escape_mermaid(p)}")
    out += [f"    Note over {_across(ids, chart)}: {escape_mermaid(line)}"
            for line in chart.summary]
    looping = False
    for s in chart.steps:
        if s.cycle and not looping:
            out.append(f"    loop {escape_mermaid(chart.loop_note)}")
            looping = True
        indent = "        " if looping else "    "
        out += [indent + line for line in _step(ids, chart, s)]
    if looping:
        out.append("    end")
    if chart.ending:
        out.append(f"    Note over {_across(ids, chart)}: {escape_mermaid('✗ ' + chart.ending)}")
    return "\n".join(out) + "\n"


def render_mermaid(spec: Spec[Any], trace: Trace, explanation: Explanation | None = None) -> str:
    """The trace as a Mermaid ``sequenceDiagram`` (an explanation's key steps marked, if given)."""
    return chart_mermaid(chart_of(spec, trace, explanation))
