"""A trace's sequence chart as data, for the diagram exporters (Mermaid, PlantUML, SVG).

The events are :func:`agree.traces.events.trace_events`'s (the text chart in
``traces/msc.py`` draws the same ones); this adds what every exported diagram needs
besides: a title, which steps and arrows are *key* (those behind the facts a property's
witness names, from :func:`agree.traces.explain.explain`, with its summary), which steps
form a lasso's cycle, and the closing line. Exporters only choose syntax.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from agree.spec import Spec
from agree.traces.events import ENV, Event, trace_events
from agree.traces.explain import Explanation
from agree.traces.trace import Trace

__all__ = ["Chart", "ChartStep", "build_chart", "chart_of"]


@dataclass(frozen=True)
class ChartStep:
    """Step ``n`` (1-based): its label, actor and events; ``key`` when an explanation marks
    it, ``cycle`` when it belongs to a lasso's loop."""

    n: int
    label: str
    actor: str
    events: tuple[Event, ...]
    key: bool = False
    cycle: bool = False

    @property
    def local(self) -> bool:
        """A step of one node that moves no message (drawn as a note over that node)."""
        return all(e.kind == "local" for e in self.events) and bool(self.events)


@dataclass(frozen=True)
class Chart:
    """Participants (the spec's nodes, plus ``env``/``net`` when used), the steps, and the
    words around them: ``title``, ``summary`` lines (an explanation's), and ``ending``
    (the violated property, or that a lasso's loop repeats). ``key_events`` are the
    arrows that matter, as (step number, event)."""

    title: str
    participants: tuple[str, ...]
    steps: tuple[ChartStep, ...]
    key_events: frozenset[tuple[int, Event]]
    ending: str
    loop: int | None = None
    summary: tuple[str, ...] = ()

    def is_key(self, step: int, event: Event) -> bool:
        """Whether ``event`` of step ``step`` is an arrow that matters."""
        return event.kind != "local" and (step, event) in self.key_events

    @property
    def loop_note(self) -> str:
        """The words on a lasso's cycle."""
        return f"forever: back to the state after step {self.loop}"


def _ending(trace: Trace) -> str:
    what = f"{trace.property} ({trace.kind}) violated" if trace.property else ""
    if trace.loop is not None:
        if trace.loop == len(trace):
            return "... and stays in this state forever" + (f": {what}" if what else "")
        return f"{what}: the loop repeats forever" if what else ""
    if trace.property and trace.kind == "deadlock":
        return f"deadlock after step {len(trace)}"
    if what:
        return f"{trace.property} violated after step {len(trace)}"
    return ""


def build_chart(spec: Spec[Any], trace: Trace, key_steps: Collection[int] = (),
                key_events: Collection[tuple[int, Event]] = (), summary: Sequence[str] = (),
                ) -> Chart:
    """The chart of ``trace``; ``key_steps`` (1-based step numbers), ``key_events``
    ((step, event) pairs of trace_events) and ``summary`` lines are an explanation's
    (:func:`chart_of` takes it whole)."""
    cols, steps = trace_events(spec, trace)
    keys = set(key_steps)
    unknown = sorted(k for k in keys if not 1 <= k <= len(trace))
    if unknown:
        raise ValueError(f"key step {unknown[0]} is not a step of this {len(trace)}-step trace")
    loop = trace.loop
    out = tuple(ChartStep(se.n, se.label, se.actor, tuple(se.events), se.n in keys,
                          loop is not None and se.n > loop) for se in steps)
    params = " ".join(f"{k}={v}" for k, v in trace.params.items())
    title = f"{trace.spec} ({params})" if params else trace.spec
    participants = tuple(cols) or (ENV,)  # a view naming no node: the notes need a column
    return Chart(title, participants, out, frozenset(key_events), _ending(trace), loop,
                 tuple(summary))


def chart_of(spec: Spec[Any], trace: Trace, explanation: Explanation | None = None) -> Chart:
    """The chart of ``trace`` with an explanation's key steps, arrows and summary."""
    if explanation is None:
        return build_chart(spec, trace)
    return build_chart(spec, trace, explanation.key_steps, explanation.key_messages,
                       explanation.summary)
