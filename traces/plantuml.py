"""A trace as a PlantUML sequence diagram (``@startuml`` ... ``@enduml``).

One participant per node, a note across all of them per step (over the node for a step
of one node that moves no message), an arrow per event: ``->`` a send or delivery,
``-->x`` a drop, ``->>`` a duplicate, ``-->`` two nodes interacting without a message.
Key steps get a colored note, the arrows that matter the key color and a star, an
explanation's summary opens the diagram; a lasso's cycle is a ``loop`` group.

Text is escaped for PlantUML's creole: ``<`` (tags such as ``<b>``), ``\\`` (``\\n``)
and ``~`` (creole's own escape) become ``<U+XXXX>`` code points, and doubled markup
characters (``**``, ``//``, ``--``, ``__``, ``""``, ``[[``) are escaped with ``~``.
"""

from __future__ import annotations

import re
from typing import Any

from agree.spec import Spec
from agree.traces.chart import Chart, ChartStep, chart_of
from agree.traces.events import Event
from agree.traces.explain import Explanation
from agree.traces.trace import Trace

__all__ = ["KEY_COLOR", "KEY_NOTE", "chart_plantuml", "escape_plantuml", "render_plantuml"]

#: The color of key arrows, and the background of a key step's note.
KEY_COLOR = "#E67E22,bold"
KEY_NOTE = "#FFD8CC"
_ARROW = {"send": ("-", ">"), "deliver": ("-", ">"), "drop": ("--", ">x"),
          "duplicate": ("-", ">>"), "interact": ("--", ">")}
_CODES = {"<": "<U+003C>", "\\": "<U+005C>", "~": "<U+007E>", "\n": " ", "\r": " "}
_MARKUP = re.compile(r'(\*\*|//|--|__|""|\[\[)')
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*$")


def escape_plantuml(text: str) -> str:
    """``text`` shown literally in a PlantUML label (no creole markup, tags or escapes)."""
    coded = "".join(_CODES.get(c, c) for c in text)
    return _MARKUP.sub(r"~\1", coded).strip()


def _ids(participants: tuple[str, ...]) -> dict[str, str]:
    return {p: p if _ID.match(p) else f"P{i}" for i, p in enumerate(participants)}


def _event(ids: dict[str, str], chart: Chart, n: int, e: Event) -> str:
    key = chart.is_key(n, e)
    star = "★ " if key else ""
    line, head = _ARROW[e.kind]
    arrow = f"{line[0]}[{KEY_COLOR}]{line[1:]}{head}" if key else line + head
    return f"{ids[e.src]} {arrow} {ids[e.dst]} : {escape_plantuml(star + e.note)}"


def _step(ids: dict[str, str], chart: Chart, s: ChartStep) -> list[str]:
    label = escape_plantuml(f"{'★ ' if s.key else ''}{s.n}. {s.label}")
    color = f" {KEY_NOTE}" if s.key else ""
    if s.local:
        return [f"note over {ids[s.actor]}{color} : {label}"]
    return [f"note across{color} : {label}",
            *(_event(ids, chart, s.n, e) for e in s.events if e.kind != "local")]


def chart_plantuml(chart: Chart) -> str:
    """The PlantUML text of a built chart."""
    ids = _ids(chart.participants)
    out = ["@startuml", f"title {escape_plantuml(chart.title)}"]
    out += [f'participant "{escape_plantuml(p)}" as {ids[p]}' for p in chart.participants]
    out += [f"note across : {escape_plantuml(line)}" for line in chart.summary]
    looping = False
    for s in chart.steps:
        if s.cycle and not looping:
            out.append(f"loop {escape_plantuml(chart.loop_note)}")
            looping = True
        out += [("  " if looping else "") + line for line in _step(ids, chart, s)]
    if looping:
        out.append("end")
    if chart.ending:
        out.append(f"note across #FFCCCC : {escape_plantuml('✗ ' + chart.ending)}")
    out.append("@enduml")
    return "\n".join(out) + "\n"


def render_plantuml(spec: Spec[Any], trace: Trace, explanation: Explanation | None = None) -> str:
    """The trace as PlantUML (an explanation's key steps marked, if given)."""
    return chart_plantuml(chart_of(spec, trace, explanation))
