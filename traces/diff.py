"""Two traces of one spec side by side: how long they agree, then state by state what
differs, down to the element (which server, which log index, which message).

Works on ``spec.view`` as every renderer does, so the paths read in the spec's own
vocabulary: ``log[s1][2]`` is the second entry of s1's log, ``match_index[s1][s3]`` what
leader s1 records for s3, ``messages`` a message one trace has in flight and the other
not. View values that are text are read back into their structure for this: ``[a, b]``
is a list (entries numbered from 1, as Raft numbers log entries), ``{a, b}`` a set,
``{k: v}`` and ``k=v k=v`` maps; anything else is compared whole.

The common prefix is the steps both traces take with the same action *and* reach the
same state; after it, each step is shown with both actions and only the paths where the
two states differ (two traces of a protocol and of its zoo variant can take the same
action and still reach different states: that is the step to look at).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agree.spec import Spec
from agree.traces.trace import Trace

__all__ = ["FieldDiff", "StepDiff", "TraceDiff", "diff_traces", "diff_values", "parse_value",
           "render_diff"]

#: A parsed view value: text, or ("list" | "set" | "map", items).
Value = Any
_OPEN = {"[": "]", "{": "}", "(": ")"}


@dataclass(frozen=True)
class FieldDiff:
    """One path where the states differ; ``a``/``b`` None where that side has nothing."""

    path: str
    a: str | None
    b: str | None


@dataclass(frozen=True)
class StepDiff:
    """State ``n`` of both traces (0: the initial states) and the step reaching it on each
    side (None: that trace has ended, or ``n`` is 0)."""

    n: int
    label_a: str | None
    label_b: str | None
    fields: tuple[FieldDiff, ...]


@dataclass(frozen=True)
class TraceDiff:
    """``common``: how many steps the traces share (same actions, same states) from equal
    initial states (-1: the initial states differ); then the states after it."""

    common: int
    len_a: int
    len_b: int
    steps: tuple[StepDiff, ...]
    only_a: tuple[str, ...] = ()
    only_b: tuple[str, ...] = ()

    @property
    def identical(self) -> bool:
        return self.common == self.len_a == self.len_b


def _split(text: str) -> list[str]:
    """``text`` split at commas outside brackets (None when the brackets do not match)."""
    parts, depth, start = [], [], 0
    for i, c in enumerate(text):
        if c in _OPEN:
            depth.append(_OPEN[c])
        elif depth and c == depth[-1]:
            depth.pop()
        elif c == "," and not depth:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def parse_value(text: str) -> Value:
    """A view's text value as structure: ``[..]`` list, ``{..}`` set or map, ``k=v k=v``
    map, else the text itself."""
    t = text.strip()
    if len(t) >= 2 and (t[0], t[-1]) in (("[", "]"), ("{", "}")) and _balanced(t[1:-1]):
        items = _split(t[1:-1])
        if t[0] == "[":
            return ("list", [parse_value(x) for x in items])
        pairs = [x.split(": ", 1) for x in items]
        if items and all(len(p) == 2 and _balanced(p[0]) for p in pairs):
            return ("map", {k.strip(): parse_value(v) for k, v in pairs})
        return ("set", items)
    words = t.split()
    if len(words) > 1 and all(w.count("=") == 1 and w.index("=") > 0 for w in words):
        keys = [w.split("=")[0] for w in words]
        if len(set(keys)) == len(keys) and all(k.isidentifier() for k in keys):
            return ("map", {k: parse_value(v) for k, v in (w.split("=") for w in words)})
    return t


def _balanced(text: str) -> bool:
    depth: list[str] = []
    for c in text:
        if c in _OPEN:
            depth.append(_OPEN[c])
        elif c in _OPEN.values():
            if not depth or depth.pop() != c:
                return False
    return not depth


def _text(v: Value) -> str:
    if isinstance(v, str):
        return v
    kind, items = v
    if kind == "list":
        return "[" + ", ".join(_text(x) for x in items) + "]"
    if kind == "set":
        return "{" + ", ".join(items) + "}"
    return "{" + ", ".join(f"{k}: {_text(x)}" for k, x in items.items()) + "}"


def diff_values(path: str, a: Value, b: Value) -> list[FieldDiff]:
    """Where two parsed values differ, as paths under ``path``: list entries by position
    (from 1), map entries by key, set elements one side has."""
    if a == b:
        return []
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0]:
        kind = a[0]
        if kind in ("list", "map"):  # a list is a map from positions 1..
            ma, mb = (dict(enumerate(x[1], 1)) if kind == "list" else x[1] for x in (a, b))
            out = []
            for k in dict.fromkeys([*ma, *mb]):
                xa, xb = ma.get(k), mb.get(k)
                if xa is None or xb is None:
                    out.append(FieldDiff(f"{path}[{k}]", None if xa is None else _text(xa),
                                         None if xb is None else _text(xb)))
                else:
                    out += diff_values(f"{path}[{k}]", xa, xb)
            return out
        return _set_diff(path, set(a[1]), set(b[1]))
    return [FieldDiff(path, _text(a), _text(b))]


def _set_diff(path: str, a: set[str], b: set[str]) -> list[FieldDiff]:
    return ([FieldDiff(path, m, None) for m in sorted(a - b)]
            + [FieldDiff(path, None, m) for m in sorted(b - a)])


def _diff_views(va: Mapping[str, Any], vb: Mapping[str, Any]) -> list[FieldDiff]:
    out: list[FieldDiff] = []
    for key in [k for k in va if k in vb]:
        a, b = va.get(key), vb.get(key)
        if a == b:
            continue
        if a is None or b is None:
            out.append(FieldDiff(key, None if a is None else _whole(a),
                                 None if b is None else _whole(b)))
        elif isinstance(a, frozenset | set) and isinstance(b, frozenset | set):
            out += _set_diff(key, {str(m) for m in a}, {str(m) for m in b})
        elif isinstance(a, Mapping) and isinstance(b, Mapping):  # a bag: message -> count
            for m in sorted({str(m) for m in (*a, *b)}):
                ca, cb = a.get(m, 0), b.get(m, 0)
                if ca != cb:
                    out.append(FieldDiff(key, _copies(m, ca), _copies(m, cb)))
        else:
            out += diff_values(key, parse_value(_whole(a)), parse_value(_whole(b)))
    return out


def _whole(v: Any) -> str:
    if isinstance(v, frozenset | set):
        return "{" + ", ".join(sorted(str(m) for m in v)) + "}"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{m} (x{c})" for m, c in sorted(v.items())) + "}"
    return str(v)


def _copies(m: str, n: int) -> str | None:
    return None if n == 0 else m + (f" (x{n})" if n != 1 else "")


def diff_traces(spec_a: Spec[Any], a: Trace, spec_b: Spec[Any], b: Trace) -> TraceDiff:
    """Compare two traces of one spec (``spec_a``/``spec_b`` read each one's states: a
    protocol and its zoo variant read alike). Variables only one side has (a node that
    a smaller configuration lacks) are left out of the comparison and listed."""
    views_a = [spec_a.view(s) for s in a.states]
    views_b = [spec_b.view(s) for s in b.states]
    only_a = tuple(k for k in views_a[0] if k not in views_b[0])
    only_b = tuple(k for k in views_b[0] if k not in views_a[0])
    if only_a or only_b:
        views_a = [{k: v for k, v in view.items() if k not in only_a} for view in views_a]
        views_b = [{k: v for k, v in view.items() if k not in only_b} for view in views_b]
    common = -1
    if views_a[0] == views_b[0]:
        common = 0
        while (common < min(len(a), len(b))
               and a.steps[common].label == b.steps[common].label
               and views_a[common + 1] == views_b[common + 1]):
            common += 1
    out = []
    for n in range(common + 1, max(len(a), len(b)) + 1):
        la = a.steps[n - 1].label if 0 < n <= len(a) else None
        lb = b.steps[n - 1].label if 0 < n <= len(b) else None
        fields = (_diff_views(views_a[n], views_b[n])
                  if n < len(views_a) and n < len(views_b) else [])
        out.append(StepDiff(n, la, lb, tuple(fields)))
    return TraceDiff(common, len(a), len(b), tuple(out), only_a, only_b)


def _field(f: FieldDiff, width: int, repeat: bool) -> list[str]:
    path = " " * width if repeat else f.path.ljust(width)
    if f.a is None:
        return [f"  {path}  only in B: {f.b}"]
    if f.b is None:
        return [f"  {path}  only in A: {f.a}"]
    if len(f.a) + len(f.b) <= 60:
        return [f"  {path}  A: {f.a}  |  B: {f.b}"]
    return [f"  {path}  A: {f.a}", f"  {' ' * width}  B: {f.b}"]


def render_diff(d: TraceDiff, limit: int | None = None) -> str:
    """The comparison as text: the common prefix, then per state both actions and the
    differing paths (``A`` and ``B`` sides); ``limit`` caps the states shown."""
    lines = [f"left out, only {side} has them: {', '.join(keys)}"
             for side, keys in (("A", d.only_a), ("B", d.only_b)) if keys]
    if d.identical:
        lines.append(f"no difference: both traces take the same {d.len_a} steps through "
                     "the same states")
        return "\n".join(lines) + "\n"
    if d.common < 0:
        lines.append("common prefix: none (the initial states differ)")
    elif d.common:
        lines.append(f"common prefix: {d.common} step{'s' if d.common != 1 else ''} "
                     f"(states 0-{d.common} equal)")
    else:
        lines.append("common prefix: none (equal initial states, the first steps differ)")
    both = [s for s in d.steps if s.n == 0 or (s.label_a is not None and s.label_b is not None)]
    shown = both if limit is None else both[:limit]
    for s in shown:
        lines.append("")
        if s.n == 0:
            lines.append("state 0 (initial):")
        elif s.label_a == s.label_b:
            lines += [f"step {s.n}, both:", f"  A, B  {s.label_a}"]
        else:
            lines += [f"step {s.n}:", f"  A  {s.label_a}", f"  B  {s.label_b}"]
        if not s.fields:
            lines.append("  the states are equal")
        width = max((len(f.path) for f in s.fields), default=0)
        for i, f in enumerate(s.fields):
            lines += _field(f, width, i > 0 and s.fields[i - 1].path == f.path)
    if len(shown) < len(both):
        lines += ["", f"... and {len(both) - len(shown)} more steps where both differ "
                  f"(shown: --limit {limit})"]
    rest = [s for s in d.steps if s.n and (s.label_a is None or s.label_b is None)]
    if rest:
        longer, shorter = ("A", "B") if d.len_a > d.len_b else ("B", "A")
        lines += ["", f"{shorter} ends after step {min(d.len_a, d.len_b)}; {longer} goes on "
                  f"for {len(rest)} more step{'s' if len(rest) != 1 else ''}:"]
        tail = rest if limit is None else rest[:limit]
        lines += [f"  {s.n}. {s.label_a if s.label_a is not None else s.label_b}"
                  for s in tail]
        if len(tail) < len(rest):
            lines.append(f"  ... ({len(rest) - len(tail)} more)")
    return "\n".join(lines) + "\n"
