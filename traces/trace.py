"""A counterexample as data: the spec, its parameters, the property, the steps.

On disk a trace is JSON (schema ``agree-trace``, version 1, documented in
``traces/SCHEMA.md`` and checked by :func:`validate_document` on load). It stores each
step's action and arguments *and* the state reached, but loading re-executes
the actions through the spec and insists on reaching the stored states, so a
file that no longer matches the spec is refused rather than believed.
This module depends on the spec API only.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agree.spec import Property, Spec, SpecError, Transition

__all__ = [
    "SCHEMA",
    "VERSION",
    "Step",
    "Trace",
    "TraceError",
    "decode_trace",
    "encode_value",
    "load_trace",
    "replay",
    "save_trace",
    "validate_document",
]

SCHEMA = "agree-trace"
VERSION = 1

#: Builds a spec and its properties from a spec name and parameters.
Resolver = Callable[[str, Mapping[str, Any]], tuple[Spec[Any], Sequence[Property]]]


class TraceError(Exception):
    """A trace file is unreadable, malformed, or does not replay."""


@dataclass(frozen=True)
class Step:
    """One step: the action's label, name and arguments, and the state reached."""

    label: str
    action: str
    args: tuple[Any, ...]
    state: Any


@dataclass
class Trace:
    """An initial state and the steps from it; ``loop`` marks a lasso's cycle."""

    spec: str
    params: dict[str, Any]
    init: Any
    steps: list[Step] = field(default_factory=list)
    property: str | None = None
    kind: str | None = None
    loop: int | None = None

    @builtins.property
    def states(self) -> list[Any]:
        """The states visited, the initial one first."""
        return [self.init, *(s.state for s in self.steps)]

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def from_transitions(cls, spec: Spec[Any], init: Any, steps: Sequence[Transition[Any]],
                         prop: str | None = None, kind: str | None = None) -> Trace:
        return cls(spec.name, spec.param_values(), init,
                   [Step(t.label, t.action.label, t.args, t.state) for t in steps], prop, kind)


def record_fields(v: Any) -> list[str] | None:
    """The fields a NamedTuple or dataclass record is written with (None: not a record):
    all of them, except those its type's ``omit_at_default()`` names while they hold
    their default (a field added later, such as a proof-only history that is empty
    unless asked for, so traces saved before it was added still replay)."""
    fields = getattr(v, "_fields", None)
    if fields is None:
        fields = getattr(v, "__dataclass_fields__", None)
    if fields is None:
        return None
    named = getattr(type(v), "omit_at_default", None)
    omit = named() if callable(named) else ()
    defaults = getattr(v, "_field_defaults", {})
    return [f for f in fields
            if not (f in omit and f in defaults and getattr(v, f) == defaults[f])]


def encode_value(v: Any) -> Any:
    """A state or value as plain JSON data, deterministically ordered.

    NamedTuples become objects, tuples lists, sets sorted lists, dicts objects
    (or pair lists when keys are not strings).
    """
    if v is None or isinstance(v, bool | int | str | float):
        return v
    fields = record_fields(v)
    if fields is not None:
        return {f: encode_value(getattr(v, f)) for f in fields}
    if isinstance(v, tuple | list):
        return [encode_value(x) for x in v]
    if isinstance(v, frozenset | set):
        items = [encode_value(x) for x in v]
        return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(v, Mapping):
        if all(isinstance(k, str) for k in v):
            return {k: encode_value(v[k]) for k in sorted(v)}
        pairs = [[encode_value(k), encode_value(x)] for k, x in v.items()]
        return sorted(pairs, key=lambda x: json.dumps(x, sort_keys=True))
    raise TypeError(f"cannot encode {type(v).__name__} in a trace: {v!r}")


def to_json(trace: Trace) -> dict[str, Any]:
    """The trace as a JSON document (schema ``agree-trace`` v1)."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "version": VERSION,
        "spec": trace.spec,
        "params": trace.params,
        "property": trace.property,
        "kind": trace.kind,
        "init": encode_value(trace.init),
        "steps": [
            {"label": s.label, "action": s.action, "args": [encode_value(a) for a in s.args],
             "state": encode_value(s.state)}
            for s in trace.steps
        ],
    }
    if trace.loop is not None:
        doc["loop"] = trace.loop
    return doc


def save_trace(trace: Trace, path: str | Path) -> None:
    """Write the trace as indented JSON."""
    Path(path).write_text(json.dumps(to_json(trace), indent=1) + "\n")


def replay(spec: Spec[Any], init: Any, steps: Sequence[tuple[str, Sequence[Any]]],
           expected: Sequence[Any] | None = None) -> list[Step]:
    """Re-execute ``(action, encoded args)`` steps from ``init`` through the spec.

    Arguments are matched by their encoding against the action's domain in the
    current state, so the file needs no decoder. Raises :class:`TraceError`
    naming the first step that does not replay.
    """
    out: list[Step] = []
    state = init
    for n, (label, args) in enumerate(steps, 1):
        try:
            act = spec.action(label)
        except SpecError as exc:
            raise TraceError(f"step {n}: {exc}") from None
        if len(args) != len(act.domains):
            raise TraceError(f"step {n}: {label} takes {len(act.domains)} arguments, "
                             f"the file gives {len(args)}")
        values = []
        for (pname, dom), arg in zip(act.domains, args, strict=True):
            match = [x for x in spec.domain_values(dom, state) if encode_value(x) == arg]
            if not match:
                raise TraceError(f"step {n}: {label}: {pname}={json.dumps(arg)} is not in its "
                                 "domain in this state")
            values.append(match[0])
        try:
            nxt = act.fn(state, *values)
        except Exception as exc:  # a spec bug: report, do not crash
            raise TraceError(f"step {n}: {act.format(tuple(values))} raised "
                             f"{type(exc).__name__}: {exc}") from None
        if nxt is None:
            raise TraceError(f"step {n}: {act.format(tuple(values))} is not enabled")
        if expected is not None and encode_value(nxt) != expected[n - 1]:
            raise TraceError(f"step {n}: {act.format(tuple(values))} leads to a different "
                             "state than the file records")
        out.append(Step(act.format(tuple(values)), act.label, tuple(values), nxt))
        state = nxt
    return out


_FIELDS: dict[str, tuple[type, ...]] = {
    "schema": (str,), "version": (int,), "spec": (str,), "params": (dict,),
    "property": (str, type(None)), "kind": (str, type(None)), "init": (object,),
    "steps": (list,), "loop": (int, type(None)),
}
_REQUIRED = ("schema", "version", "spec", "params", "init", "steps")
_KINDS = ("invariant", "action", "sometimes", "deadlock", "eventually", "leads_to", "error",
          "eventually_always")


def validate_document(doc: Any) -> None:
    """Check a document against the ``agree-trace`` v1 schema (traces/SCHEMA.md).

    Raises :class:`TraceError` naming the first field that does not conform.
    """
    if not isinstance(doc, dict):
        raise TraceError("not a trace: the JSON document is not an object")
    if doc.get("schema") != SCHEMA:
        raise TraceError(f"not a trace: schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    if doc.get("version") != VERSION:
        raise TraceError(f"unsupported trace version {doc.get('version')!r} "
                         f"(this agree reads version {VERSION})")
    for key, types in _FIELDS.items():
        value = doc.get(key)
        if key not in doc and key not in _REQUIRED:
            continue
        if key not in doc or not isinstance(value, types) or (
                isinstance(value, bool) and int in types):
            names = " or ".join({type(None): "null", object: "JSON value"}.get(t, t.__name__)
                                for t in types)
            raise TraceError(f"malformed trace: {key!r} missing or not a {names}")
    for key in doc:
        if key not in _FIELDS:
            raise TraceError(f"malformed trace: unknown field {key!r}")
    if not all(isinstance(k, str) for k in doc["params"]):
        raise TraceError("malformed trace: 'params' keys must be strings")
    if doc.get("kind") is not None and doc["kind"] not in _KINDS:
        raise TraceError(f"malformed trace: unknown kind {doc['kind']!r} "
                         f"(one of {', '.join(_KINDS)})")
    for n, st in enumerate(doc["steps"], 1):
        if not (isinstance(st, dict) and isinstance(st.get("action"), str)
                and isinstance(st.get("args"), list) and "state" in st):
            raise TraceError(f"malformed trace: step {n} needs action, args and state")
        extra = set(st) - {"label", "action", "args", "state"}
        if extra:
            raise TraceError(f"malformed trace: step {n} has unknown field {sorted(extra)[0]!r}")
    loop = doc.get("loop")
    if loop is not None:
        states = [doc["init"], *(st["state"] for st in doc["steps"])]
        if not 0 <= loop < len(states):
            raise TraceError(f"malformed trace: loop index {loop!r} out of range")
        if states[loop] != states[-1]:
            raise TraceError(f"malformed trace: a lasso's last state must equal state {loop} "
                             "(the state its loop returns to)")


def decode_trace(doc: Any, resolve: Resolver) -> Trace:
    """Rebuild a trace from its JSON document, replaying it through its spec."""
    validate_document(doc)
    try:
        spec, _ = resolve(doc["spec"], doc["params"])
    except SpecError as exc:
        raise TraceError(f"trace names spec {doc['spec']!r}: {exc}") from None
    inits = [s for s in spec.init() if encode_value(s) == doc.get("init")]
    if not inits:
        raise TraceError("the trace's initial state is not an initial state of the spec")
    raw_steps = [(st["action"], st["args"]) for st in doc["steps"]]
    expected = [st["state"] for st in doc["steps"]]
    steps = replay(spec, inits[0], raw_steps, expected)
    loop = doc.get("loop")
    return Trace(spec.name, spec.param_values(), inits[0], steps, doc.get("property"),
                 doc.get("kind"), loop)


def load_trace(path: str | Path, resolve: Resolver) -> Trace:
    """Read, validate and replay a trace file."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise TraceError(f"{path} is not a text file") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise TraceError(f"{path} nests JSON too deeply to be a trace") from None
    except json.JSONDecodeError as exc:
        raise TraceError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return decode_trace(doc, resolve)
