"""A trace as one self-contained HTML page: sequence diagram, steps, node states.

No network access: styles and script are inline, the diagram is SVG drawn
here (deterministic, so the page is golden-tested). The script only moves a
cursor: clicking a step (or the arrow keys, or ``#step=N`` in the address)
shows the state after that step, each node's variables in a table with the
cells that step changed highlighted, and the step's arrows in the diagram.
The step at which the property fails is named in the list and the state.
When the property gives a witness (traces/explain.py), its summary heads the page,
the key steps and their arrows are highlighted, and "key steps only" folds the
other steps away, in the list and in a second diagram drawn with the key steps alone.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from agree.spec import Property, Spec
from agree.traces.chart import chart_of
from agree.traces.events import StepEvents, node_of_key, trace_events
from agree.traces.explain import Explanation, explain
from agree.traces.svg import STYLE, Embedding, chart_svg, folded
from agree.traces.text import truth_table
from agree.traces.trace import Trace

__all__ = ["render_html"]

_ASSETS = Path(__file__).resolve().parent / "assets"
#: No network: the page may load nothing, only run its own inline style and script.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _failing_step(trace: Trace, table: Sequence[tuple[str, list[bool | None]]]) -> int:
    """The state index at which the trace's property is shown as broken (-1: none, a lasso
    or a plain trace)."""
    if trace.loop is not None or not trace.property:
        return -1
    for name, values in table:
        if name == trace.property and False in values:
            return values.index(False)
    return len(trace)


def _folds(steps: list[StepEvents], shown: set[int]) -> dict[int, int]:
    """Key-steps-only view: per shown step, how many steps are folded away before it
    (key ``len + 1``: after the last shown one)."""
    out: dict[int, int] = {}
    gap = 0
    for s in steps:
        if s.n in shown:
            if gap:
                out[s.n] = gap
            gap = 0
        else:
            gap += 1
    if gap:
        out[len(steps) + 1] = gap
    return out


def _cell(value: Any) -> str:
    if isinstance(value, frozenset | set):
        return "<br>".join(_e(m) for m in sorted(value)) or "{}"
    if isinstance(value, Mapping):
        return "<br>".join(_e(m) + (f" (x{c})" if c != 1 else "")
                           for m, c in sorted(value.items())) or "{}"
    return _e(value)


def _state_panel(n: int, view: Mapping[str, Any], prev: Mapping[str, Any] | None,
                 cols: list[str]) -> str:
    per_node: dict[str, dict[str, str]] = {}
    other: list[str] = []
    for key in view:
        node = node_of_key(key)
        if node is None:
            other.append(key)
        else:
            per_node.setdefault(key[: key.rindex("[")], {})[node] = key
    nodes = [c for c in cols if any(c in row for row in per_node.values())]
    changed = {k for k in view if prev is not None and prev.get(k) != view.get(k)}
    out = [f'<div class="state" id="state-{n}" data-step="{n}">',
           '<table class="vars"><tr><th>variable</th>',
           *(f"<th>{_e(c)}</th>" for c in nodes), "</tr>"]
    for var, keys in per_node.items():
        out.append(f"<tr><th>{_e(var)}</th>")
        for c in nodes:
            cell_key = keys.get(c)
            if cell_key is None:
                out.append("<td></td>")
            else:
                cls = ' class="changed"' if cell_key in changed else ""
                out.append(f'<td{cls} data-key="{_e(cell_key)}">{_cell(view[cell_key])}</td>')
        out.append("</tr>")
    out.append("</table>")
    for key in other:
        cls = ' class="global changed"' if key in changed else ' class="global"'
        value = view[key]
        if isinstance(value, frozenset | set | Mapping) and prev is not None:
            old = prev.get(key) or ()
            items: list[tuple[str, int]] = (
                sorted(value.items()) if isinstance(value, Mapping)
                else [(m, 1) for m in sorted(value)])
            lis = []
            for m, n_copies in items:
                new = m not in old or (isinstance(old, Mapping) and old.get(m) != n_copies)
                count = f" (x{n_copies})" if n_copies != 1 else ""
                lis.append(f'<li{" class=new" if new else ""}>{_e(m)}{count}</li>')
            gone = sorted(m for m in old if m not in value)
            lis += [f'<li class="gone">{_e(m)}</li>' for m in gone]
            body = "<ul>" + "".join(lis) + "</ul>" if lis else "{}"
        else:
            body = _cell(value)
        out.append(f'<div{cls} data-key="{_e(key)}"><b>{_e(key)}</b> {body}</div>')
    out.append("</div>")
    return "\n".join(out)


def _why(expl: Explanation) -> str:
    """The witness summary under the page's title, each fact's step a link to it, and the
    "key steps only" switch."""
    if not expl:
        return ""
    lines = "".join(f"<li>{_e(line)}</li>" for line in expl.summary)
    keys = " ".join(f'<a href="#step={n}" data-goto="{n}">{n}</a>' for n in expl.key_steps)
    return (f'<div id="why"><p><b>Why {_e(expl.property)} fails:</b> {_e(expl.reason)}</p>'
            f"<ul>{lines}</ul><p>Key steps: {keys or 'none'} "
            '<label><input type="checkbox" id="keyonly"> key steps only</label></p></div>')


def render_html(spec: Spec[Any], trace: Trace, properties: Sequence[Property] = ()) -> str:
    """The whole page as a string."""
    cols, steps = trace_events(spec, trace)
    table = truth_table(spec, trace, properties, goals=False)
    bad = _failing_step(trace, table)
    expl = explain(spec, trace, properties)
    # the key-steps-only view keeps the initial state, the key steps and the failing one
    shown = {*expl.key_steps, len(trace) if bad < 0 else bad}
    folds = _folds(steps, shown) if expl else {}
    views = [spec.view(s) for s in trace.states]
    params = " ".join(f"{k}={v}" for k, v in trace.params.items())
    if trace.loop is not None:
        what = f"{trace.property} fails: a lasso, looping back to the state after step " \
               f"{trace.loop}"
    elif trace.property and bad >= 0:
        what = f"{trace.property} ({trace.kind}) violated at step {bad}"
    elif trace.property:
        what = f"{trace.property} ({trace.kind}) violated"
    else:
        what = "a trace"
    items = ['<li data-step="0" id="li-0" tabindex="0">0. initial state'
             + (' <span class="loopmark">loop starts here</span>' if trace.loop == 0 else "")
             + "</li>"]
    for s in steps:
        if s.n in folds:
            items.append(f'<li class="fold">{folded(folds[s.n])}</li>')
        extra = ""
        if s.n == bad:
            extra = f' <span class="verdict">&#10007; {_e(trace.property)} violated</span>'
        if trace.loop == s.n:
            extra += ' <span class="loopmark">loop starts after this step</span>'
        classes = ["violation"] if s.n == bad else []
        if trace.loop is not None and s.n > trace.loop:
            classes = ["cycle"]
            if s.n == len(trace):
                extra += (f' <span class="loopmark">back to the state after step {trace.loop}'
                          "</span>")
        if expl.is_key(s.n):
            classes.append("key")
            extra += ' <span class="keymark">key step</span>'
        elif expl and s.n not in shown:
            classes.append("rest")  # folded away in the key-steps-only view
        cls = f' class="{" ".join(classes)}"' if classes else ""
        items.append(f'<li data-step="{s.n}" id="li-{s.n}"{cls} tabindex="0">{s.n}. '
                     f"{_e(s.label)}{extra}</li>")
    if expl and len(trace) + 1 in folds:
        items.append(f'<li class="fold">{folded(folds[len(trace) + 1])}</li>')

    failing = []
    for n in range(len(views)):
        names = [name for name, vals in table if vals[n] is False]
        failing.append(", ".join(names))
    goals = {name: vals for name, vals in truth_table(spec, trace, properties)
             if name.endswith("(goal)")}
    states = []
    for n, view in enumerate(views):
        fails = failing[n]
        verdict = (f'<p class="verdict">&#10007; failing here: {_e(fails)}</p>' if fails
                   else '<p class="ok">all invariants hold</p>')
        for name, vals in goals.items():
            if not vals[n]:
                verdict += (f'<p class="verdict">&#10007; {_e(name.split(" (")[0])}: its goal '
                            "does not hold here</p>")
        panel = _state_panel(n, view, views[n - 1] if n else None, cols)
        states.append(panel.replace(">", ">" + verdict, 1) if table else panel)
    keys = f' data-shown="{" ".join(map(str, sorted(shown)))}"' if expl else ""
    chart = chart_of(spec, trace, expl)
    keychart = ""
    if expl:
        only = replace(chart, steps=tuple(s for s in chart.steps if s.n in shown))
        keychart = "\n" + chart_svg(only, Embedding("keychart", "key-svg-step", bad, folds))
    css = (_ASSETS / "viewer.css").read_text()
    js = (_ASSETS / "viewer.js").read_text()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>{_e(trace.spec)}: {_e(what)}</title>
<style>{css}{STYLE}</style></head>
<body data-steps="{len(trace)}" data-failing="{len(trace) if bad < 0 else bad}"{keys}>
<header><h1>{_e(trace.spec)} <small>({_e(params)})</small></h1>
<p id="summary">{_e(what)}</p>{_why(expl)}
<nav><button id="prev" type="button">&larr; previous</button>
<span id="position">state 0 of {len(trace)}</span>
<button id="next" type="button">next &rarr;</button></nav></header>
<main><section id="list"><h2>Steps</h2><ol>
{chr(10).join(items)}
</ol></section>
<section id="diagram"><h2>Messages</h2>
{chart_svg(chart, Embedding("chart", "svg-step", bad))}{keychart}
</section>
<section id="states"><h2>State after the step</h2>
{chr(10).join(states)}
</section></main>
<script>{js}</script>
</body></html>
"""
