"""A trace's sequence diagram as one standalone SVG file (style inline, nothing to load).

The chart is :func:`agree.traces.chart.build_chart`'s: a column per node, per step a
label and a line per event (arrow from sender to receiver; a drop dashed and ending in
``x``, a duplicate with an open head, a step of one node a dot), the event's text to the
right of the columns. Key steps sit on a highlighted band, the arrows that matter are
drawn thick in the key color and starred, an explanation's summary heads the diagram, a
lasso's cycle is framed, and the closing line names the violated property. Every step
is a ``<g class="step" data-step="N">`` so the file can be styled or scripted further.
"""

from __future__ import annotations

import html
from typing import Any

from agree.spec import Spec
from agree.traces.chart import Chart, chart_of
from agree.traces.explain import Explanation
from agree.traces.trace import Trace

__all__ = ["chart_svg", "render_svg"]

_COL, _ROW, _CHAR = 110, 22, 7.5
_STYLE = """
text { font-family: monospace; font-size: 12px; fill: #222; }
.title { font-weight: bold; font-size: 14px; } .summary { fill: #7a3b00; }
.node { font-weight: bold; } .life { stroke: #bbb; }
.band { fill: none; } .key > .band { fill: #ffd8cc; }
.key > .label { font-weight: bold; }
line.ev { stroke: #333; stroke-width: 1.5; } #head path { fill: #333; }
line.drop, text.drop { stroke: #a00; fill: #a00; }
line.duplicate { stroke: #a60; } line.send { stroke: #36c; }
line.keymsg { stroke: #e67e22; stroke-width: 3; } text.keymsg { fill: #b35400; }
circle.ev { fill: #888; }
.cycle-frame { fill: none; stroke: #e0a040; stroke-dasharray: 6 3; }
.loop { fill: #a60; font-style: italic; } .ending { fill: #a00; font-weight: bold; }
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _marker(name: str, close: str) -> str:
    """An arrow head: ``head`` filled, ``open`` (a duplicate) drawn as two strokes."""
    fill = ' fill="none" stroke="#a60"' if not close else ""
    return (f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
            'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 {close}"{fill}/></marker>')


def chart_svg(chart: Chart) -> str:
    """The SVG document of a built chart."""
    cols = chart.participants
    x = {c: _COL * i + _COL // 2 for i, c in enumerate(cols)}
    right = _COL * len(cols) + 8
    head = 2 + len(chart.summary)
    rows = head + sum(1 + len(s.events) for s in chart.steps) + 2
    longest = max([len(e.note) + 2 for s in chart.steps for e in s.events]
                  + [len(s.label) + 8 - len(cols) * _COL // 7 for s in chart.steps]
                  + [len(t) - len(cols) * _COL // 7 for t in (chart.title, *chart.summary,
                                                               chart.loop_note, chart.ending)]
                  + [0])
    width = right + 16 + int(_CHAR * longest)
    height = _ROW * (rows + 1) + 20
    top = _ROW * head + 8
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">',
           f"<title>{_e(chart.title)}</title>",
           f"<style>{_STYLE}</style>",
           f"<defs>{_marker('head', 'z')}{_marker('open', '')}</defs>",
           f'<text class="title" x="4" y="{_ROW - 4}">{_e(chart.title)}</text>']
    for i, line in enumerate(chart.summary, 2):
        out.append(f'<text class="summary" x="4" y="{i * _ROW - 4}">{_e(line)}</text>')
    for c in cols:
        out.append(f'<text class="node" x="{x[c]}" y="{top}" text-anchor="middle">{_e(c)}'
                   "</text>")
        out.append(f'<line class="life" x1="{x[c]}" y1="{top + 6}" x2="{x[c]}" '
                   f'y2="{height - _ROW - 10}"/>')
    y = top + _ROW + 8
    cycle_top: int | None = None
    for s in chart.steps:
        if s.cycle and cycle_top is None:
            cycle_top = y - 16
            out.append(f'<text class="loop" x="4" y="{y}">{_e(chart.loop_note)}</text>')
            y += _ROW
        classes = "step" + (" key" if s.key else "") + (" cycle" if s.cycle else "")
        last = bool(chart.ending) and chart.loop is None and s.n == len(chart.steps)
        classes += " violation" if last else ""
        out.append(f'<g class="{classes}" id="step-{s.n}" data-step="{s.n}">')
        out.append(f'<rect class="band" x="0" y="{y - 15}" width="{width}" '
                   f'height="{_ROW * (1 + len(s.events))}"/>')
        out.append(f'<text class="label" x="4" y="{y}">{"★ " if s.key else ""}{s.n}. '
                   f"{_e(s.label)}</text>")
        y += _ROW
        for ev in s.events:
            a, b = x[ev.src], x[ev.dst]
            key = " keymsg" if chart.is_key(s.n, ev) else ""
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
    if cycle_top is not None:
        out.append(f'<rect class="cycle-frame" x="2" y="{cycle_top}" width="{width - 4}" '
                   f'height="{y - cycle_top - 12}"/>')
    if chart.ending:
        out.append(f'<text class="ending" x="4" y="{y + 4}">✗ {_e(chart.ending)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render_svg(spec: Spec[Any], trace: Trace, explanation: Explanation | None = None) -> str:
    """The trace as a standalone SVG sequence diagram (an explanation's key steps marked,
    if given)."""
    return chart_svg(chart_of(spec, trace, explanation))
