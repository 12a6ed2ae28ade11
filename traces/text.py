"""Traces as text for a reviewer: per step the action, then only what changed.

Works on ``spec.view(state)``: a flat mapping from a variable (or one element
of it, ``max_bal[a1]``) to a string, a set of strings (message sets, one
message per line) or a dict of string -> count (message bags).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agree.spec import Property, Spec
from agree.traces.explain import Explanation
from agree.traces.trace import Trace

__all__ = ["diff_views", "render_explanation", "render_text", "render_truth_table",
           "render_view", "truth_table"]

#: How a step the witness names is marked in the step list.
KEY_MARK = "   [key step]"


def _lines_of(key: str, value: Any, indent: str = "  ") -> list[str]:
    if isinstance(value, frozenset | set):
        if not value:
            return [f"{indent}{key} = {{}}"]
        return [f"{indent}{key} =", *(f"{indent}  {m}" for m in sorted(value))]
    if isinstance(value, Mapping):
        if not value:
            return [f"{indent}{key} = {{}}"]
        return [f"{indent}{key} =",
                *(f"{indent}  {m}" + (f" (x{n})" if n != 1 else "")
                  for m, n in sorted(value.items()))]
    return [f"{indent}{key} = {value}"]


def render_view(view: Mapping[str, Any], indent: str = "  ") -> list[str]:
    """A whole state, one variable per line (collections one element per line)."""
    out: list[str] = []
    for key, value in view.items():
        out.extend(_lines_of(key, value, indent))
    return out


def diff_views(old: Mapping[str, Any], new: Mapping[str, Any], indent: str = "  ") -> list[str]:
    """Only what changed: ``key: old -> new``; for collections ``+``/``-`` per element."""
    out: list[str] = []
    for key in dict.fromkeys([*old, *new]):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, frozenset | set) or isinstance(b, frozenset | set):
            sa, sb = set(a or ()), set(b or ())
            out.extend(f"{indent}{key} + {m}" for m in sorted(sb - sa))
            out.extend(f"{indent}{key} - {m}" for m in sorted(sa - sb))
        elif isinstance(a, Mapping) or isinstance(b, Mapping):
            ma: Mapping[str, int] = a or {}
            mb: Mapping[str, int] = b or {}
            for m in sorted(set(ma) | set(mb)):
                na, nb = ma.get(m, 0), mb.get(m, 0)
                if na == nb:
                    continue
                sign = "+" if nb > na else "-"
                count = f" (x{nb})" if nb > 1 else ""
                out.append(f"{indent}{key} {sign} {m}{count}")
        else:
            out.append(f"{indent}{key}: {a} -> {b}")
    return out


def render_explanation(expl: Explanation) -> list[str]:
    """The witness summary shown before a trace: why the property fails, the facts with
    the steps that established them, and the key steps (none: no lines)."""
    if not expl:
        return []
    steps = ", ".join(map(str, expl.key_steps)) or "none (it holds from the initial state)"
    return [f"Why {expl.property} fails: {expl.reason}",
            *(f"  {line}" for line in expl.summary),
            f"Key steps: {steps}" + (" (marked [key step] below)" if expl.key_steps else ""),
            ""]


def render_text(spec: Spec[Any], trace: Trace, full: bool = False,
                explanation: Explanation | None = None) -> str:
    """The trace as text: the initial state in full, then each step's changes.

    With ``full``, every state is printed whole after its step. With an
    ``explanation`` (traces/explain.py), its summary comes first and its key steps
    are marked.
    """
    params = " ".join(f"{k}={v}" for k, v in trace.params.items())
    head = f"{trace.spec} ({params})"
    if trace.property:
        what = "deadlocks" if trace.kind == "deadlock" else f"violates {trace.property}"
        head += f": {what} in {len(trace)} step{'s' if len(trace) != 1 else ''}"
    start = "  (the loop starts here)" if trace.loop == 0 else ""
    expl = explanation or Explanation()
    lines = [head, "", *render_explanation(expl), f"State 0 (initial){start}",
             *render_view(spec.view(trace.init))]
    prev = spec.view(trace.init)
    for n, step in enumerate(trace.steps, 1):
        cur = spec.view(step.state)
        loop = "  (the loop starts after this step)" if trace.loop == n else ""
        key = KEY_MARK if expl.is_key(n) else ""
        lines += ["", f"Step {n}: {step.label}{loop}{key}"]
        changes = render_view(cur) if full else diff_views(prev, cur)
        lines += changes or ["  (nothing changed: a stuttering step)"]
        prev = cur
    if trace.property:
        lines.append("")
        at = f"step {len(trace)}" if trace.steps else "the initial state"
        if trace.kind == "deadlock":
            lines.append(f"No action is enabled after {at}.")
        elif trace.loop is not None and trace.loop == len(trace):
            lines.append(f"{trace.property} fails: the behaviour stays in this last state "
                         "forever (no fair action is enabled).")
        elif trace.loop is not None:
            lines.append(f"{trace.property} fails: the behaviour loops back to the state after "
                         f"step {trace.loop} forever.")
        else:
            kind = "action property" if trace.kind == "action" else trace.kind or "property"
            lines.append(f"{kind} {trace.property} is violated at {at}.")
    return "\n".join(lines) + "\n"


def truth_table(spec: Spec[Any], trace: Trace, properties: Sequence[Property],
                goals: bool = True) -> list[tuple[str, list[bool | None]]]:
    """Per invariant (and action property), its value in each state (None: not applicable,
    an action property in the initial state). An exception counts as False. With ``goals``,
    a lasso's liveness property adds its goal (and premise) as rows."""
    states = trace.states
    rows: list[tuple[str, list[bool | None]]] = []
    for p in properties:
        if goals and p.name == trace.property and p.kind in ("eventually", "leads_to",
                                                                "eventually_always"):
            preds = [("goal", p.fn)] if p.premise is None else [("premise", p.premise),
                                                              ("goal", p.fn)]
            for what, fn in preds:
                rows.append((f"{p.name} ({what})", [bool(fn(spec, s)) for s in states]))
            continue
        if p.kind not in ("invariant", "action"):
            continue
        values: list[bool | None] = []
        for i, s in enumerate(states):
            if p.kind == "action" and i == 0:
                values.append(None)
                continue
            try:
                ok = p.holds(spec, states[i - 1], s) if p.kind == "action" else p.holds(spec, s)
            except Exception:
                ok = False
            values.append(ok)
        rows.append((p.name, values))
    return rows


def render_truth_table(spec: Spec[Any], trace: Trace, properties: Sequence[Property]) -> str:
    """Which invariants hold in which state: ``.`` holds, ``F`` fails, one column per state."""
    rows = truth_table(spec, trace, properties)
    if not rows:
        return "Invariants per state: the spec declares none.\n"
    n = len(trace.states)
    width = max(len(name) for name, _ in rows)
    cell = max(2, len(str(n - 1)) + 1)
    head = "".join(str(i).rjust(cell) for i in range(n))
    lines = ["Properties per state (. holds, F fails, - not applicable)", "",
             f"  {'state':<{width}} {head}"]
    for name, values in rows:
        marks = "".join(("-" if v is None else "." if v else "F").rjust(cell) for v in values)
        first = next((i for i, v in enumerate(values) if v is False), None)
        note = f"   fails from state {first}" if first is not None else ""
        if name.endswith("(goal)"):
            note = "   never reached" if not any(values) else ""
        elif name.endswith("(premise)"):
            note = ""
        lines.append(f"  {name:<{width}} {marks}{note}")
    return "\n".join(lines) + "\n"
