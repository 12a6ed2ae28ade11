"""A trace's sequence diagram as SVG: one standalone file, or embedded in the HTML page.

The chart is :func:`agree.traces.chart.build_chart`'s: a column per node, per step a
label and a line per event (arrow from sender to receiver; a drop dashed and ending in
``x``, a duplicate with an open head, a step of one node a dot), the event's text to the
right of the columns. Key steps sit on a highlighted band, the arrows that matter are
drawn thick in the key color and starred, an explanation's summary heads the diagram, a
lasso's cycle is framed, and the closing line names the violated property. Every step
is a ``<g class="step" data-step="N">`` so the file can be styled or scripted further.

The HTML viewer (traces/html.py) draws the same diagram through :class:`Embedding`: no
title or summary rows (the page has its own), element ids its script finds, the step it
shows as failing, and fold lines for its key-steps-only view; its styles are
:data:`STYLE`, so the page and the file look alike.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agree.spec import Spec
from agree.traces.chart import Chart, chart_of
from agree.traces.explain import Explanation
from agree.traces.trace import Trace

__all__ = ["STYLE", "Embedding", "chart_svg", "folded", "render_svg"]

_COL, _ROW, _CHAR = 110, 22, 7.5
#: The diagram's styles (inline in a standalone file, in the page's stylesheet in HTML).
STYLE = """
svg text { font-family: monospace; font-size: 12px; fill: #222; }
svg .title { font-weight: bold; font-size: 14px; } svg .summary { fill: #7a3b00; }
svg .node { font-weight: bold; } svg .life { stroke: #bbb; }
svg .band { fill: transparent; } svg .key > .band { fill: #ffd8cc; }
svg .key > .label { font-weight: bold; }
svg line.ev { stroke: #333; stroke-width: 1.5; } svg marker path { fill: #333; }
svg marker#open path { fill: none; stroke: #a60; }
svg line.drop, svg text.drop { stroke: #a00; fill: #a00; }
svg line.duplicate { stroke: #a60; } svg line.send { stroke: #36c; }
svg line.keymsg { stroke: #e67e22; stroke-width: 3; } svg text.keymsg { fill: #b35400; }
svg circle.ev { fill: #888; } svg circle.keymsg { fill: #e67e22; }
svg .cycle-frame { fill: none; stroke: #e0a040; stroke-dasharray: 6 3; }
svg .loop { fill: #a60; font-style: italic; } svg .ending { fill: #a00; font-weight: bold; }
svg .violation > .label { fill: #a00; font-weight: bold; } svg .cycle > .label { fill: #a60; }
svg .fold { fill: #888; font-style: italic; }
"""


@dataclass(frozen=True)
class Embedding:
    """How a chart sits in the HTML page: the ``<svg>`` element's id, its steps' id prefix
    (``{prefix}-{n}``), the step drawn as the violation (-1: none), and fold lines: per
    step, how many steps were left out before it (key ``len + 1``: after the last)."""

    ident: str
    step_prefix: str
    violation: int = -1
    folds: Mapping[int, int] = field(default_factory=dict)


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def folded(n: int) -> str:
    """The words of a fold line: ``n`` steps left out."""
    return f"... {n} step{'s' if n != 1 else ''} folded"


def _marker(name: str, close: str) -> str:
    """An arrow head: ``head`` filled, ``open`` (a duplicate) drawn as two strokes."""
    return (f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
            'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 {close}"/></marker>')


def chart_svg(chart: Chart, embed: Embedding | None = None) -> str:
    """The SVG of a built chart: a standalone document, or with ``embed`` the element
    the HTML page inlines."""
    cols = chart.participants
    x = {c: _COL * i + _COL // 2 for i, c in enumerate(cols)}
    right = _COL * len(cols) + 8
    folds = embed.folds if embed else {}
    head = 0 if embed else 2 + len(chart.summary)
    words = (chart.loop_note, chart.ending) if embed else (
        chart.title, *chart.summary, chart.loop_note, chart.ending)
    rows = head + sum(1 + len(s.events) for s in chart.steps) + len(folds) + 2
    longest = max([len(e.note) + 2 for s in chart.steps for e in s.events]
                  + [len(s.label) + 8 - len(cols) * _COL // 7 for s in chart.steps]
                  + [len(t) - len(cols) * _COL // 7 for t in words] + [0])
    width = right + 16 + int(_CHAR * longest)
    height = _ROW * (rows + 1) + 20
    top = _ROW * head + 8 if head else 20
    if embed:
        out = [f'<svg id="{embed.ident}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
               f'height="{height}" viewBox="0 0 {width} {height}">']
    else:
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}">',
               f"<title>{_e(chart.title)}</title>",
               f"<style>{STYLE}</style>",
               f'<text class="title" x="4" y="{_ROW - 4}">{_e(chart.title)}</text>']
        out += [f'<text class="summary" x="4" y="{i * _ROW - 4}">{_e(line)}</text>'
                for i, line in enumerate(chart.summary, 2)]
    out.append(f"<defs>{_marker('head', 'z')}{_marker('open', '')}</defs>")
    for c in cols:
        out.append(f'<text class="node" x="{x[c]}" y="{top}" text-anchor="middle">{_e(c)}'
                   "</text>")
        out.append(f'<line class="life" x1="{x[c]}" y1="{top + 6}" x2="{x[c]}" '
                   f'y2="{height - _ROW - 10}"/>')
    y = top + _ROW + 8
    cycle_top: int | None = None
    prefix = embed.step_prefix if embed else "step"

    def fold(n: int) -> None:
        nonlocal y
        out.append(f'<text class="fold" x="4" y="{y}">{folded(n)}</text>')
        y += _ROW

    for s in chart.steps:
        if s.n in folds:
            fold(folds[s.n])
        if s.cycle and cycle_top is None:
            cycle_top = y - 16
            out.append(f'<text class="loop" x="4" y="{y}">{_e(chart.loop_note)}</text>')
            y += _ROW
        classes = "step" + (" key" if s.key else "") + (" cycle" if s.cycle else "")
        if embed:
            bad = s.n == embed.violation
        else:
            bad = bool(chart.ending) and chart.loop is None and s.n == len(chart.steps)
        classes += " violation" if bad else ""
        out.append(f'<g class="{classes}" id="{prefix}-{s.n}" data-step="{s.n}">')
        out.append(f'<rect class="band" x="0" y="{y - 15}" width="{width}" '
                   f'height="{_ROW * (1 + len(s.events))}"/>')
        out.append(f'<text class="label" x="4" y="{y}">{"★ " if s.key else ""}{s.n}. '
                   f"{_e(s.label)}</text>")
        y += _ROW
        for ev in s.events:
            a, b = x[ev.src], x[ev.dst]
            key = " keymsg" if (s.n, ev) in chart.key_events else ""
            if ev.kind == "local" or a == b:
                out.append(f'<circle class="ev {ev.kind}{key}" cx="{a}" cy="{y - 4}" r="5"/>')
            else:
                dash = ' stroke-dasharray="4 3"' if ev.kind in ("drop", "interact") else ""
                end = {"drop": "", "duplicate": ' marker-end="url(#open)"'}.get(
                    ev.kind, ' marker-end="url(#head)"')
                out.append(f'<line class="ev {ev.kind}{key}" x1="{a}" y1="{y - 4}" x2="{b}" '
                           f'y2="{y - 4}"{dash}{end}/>')
                if ev.kind == "drop":
                    out.append(f'<text class="drop" x="{b}" y="{y}" text-anchor="middle">x</text>')
            star = "★ " if key else ""
            out.append(f'<text class="msg{key}" x="{right}" y="{y}">'
                       f"{_e(star + ev.note)}</text>")
            y += _ROW
        out.append("</g>")
    last = chart.steps[-1].n if chart.steps else 0
    for n in sorted(k for k in folds if k > last):  # steps left out after the last drawn
        fold(folds[n])
    if cycle_top is not None:
        out.append(f'<rect class="cycle-frame" x="2" y="{cycle_top}" width="{width - 4}" '
                   f'height="{y - cycle_top - 12}"/>')
    if chart.ending:
        out.append(f'<text class="ending" x="4" y="{y + 4}">✗ {_e(chart.ending)}</text>')
    out.append("</svg>")
    return "\n".join(out) + ("" if embed else "\n")


def render_svg(spec: Spec[Any], trace: Trace, explanation: Explanation | None = None) -> str:
    """The trace as a standalone SVG sequence diagram (an explanation's key steps marked,
    if given)."""
    return chart_svg(chart_of(spec, trace, explanation))
