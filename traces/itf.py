"""ITF, the Informal Trace Format of Apalache and Quint (ADR-015), both ways.

Export: ``vars`` are the state's fields; each state carries ``#meta`` with its
index and the action taken to reach it (``action``, ``label`` and, as Quint
does, ``mbt::actionTaken``); the trace's ``#meta`` names the spec, its
parameters and the property, so the file can be imported back. Values:
ints are JSON numbers inside ``[-(2**53)+1, 2**53-1]`` and ``#bigint``
outside, tuples ``#tup``, sets ``#set`` (sorted), dicts ``#map``, NamedTuples
and dataclasses records, lists JSON lists, and ``None`` (which ITF lacks) the
``#unserializable`` value ``"None"``. A lasso's cycle is the ITF ``loop``:
the index of the state the last state steps back to (the returning state is
not repeated; its action is ``#meta.loop_action``).

Import: values are decoded into our JSON encoding (``#tup``/lists -> lists,
``#set`` -> sorted lists, ``#map`` -> objects, lists when its keys are
``0..n-1`` (a TLA+ function over ids is our tuple indexed by id) or pair
lists, ``#bigint`` -> ints, Quint's ``None``/``Some`` variants -> None / the
value) and each step is recovered by asking the spec which successor has that
state (``#meta`` action labels break ties), so a hand-written ITF file needs
no action metadata at all, only the spec and parameters in ``#meta.agree``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agree.spec import Spec, SpecError, Transition
from agree.traces.trace import Resolver, Step, Trace, TraceError, record_fields

__all__ = ["decode_itf_value", "from_itf", "itf_value", "load_itf", "save_itf", "to_itf"]

_SAFE = 2**53 - 1


def itf_value(v: Any) -> Any:
    """A Python state value in ITF's JSON encoding."""
    if isinstance(v, bool | str):
        return v
    if v is None:
        return {"#unserializable": "None"}
    if isinstance(v, int):
        return v if -_SAFE <= v <= _SAFE else {"#bigint": str(v)}
    fields = record_fields(v)
    if fields is not None:
        return {f: itf_value(getattr(v, f)) for f in fields}
    if isinstance(v, tuple):
        return {"#tup": [itf_value(x) for x in v]}
    if isinstance(v, list):
        return [itf_value(x) for x in v]
    if isinstance(v, frozenset | set):
        items = [itf_value(x) for x in v]
        return {"#set": sorted(items, key=lambda x: json.dumps(x, sort_keys=True))}
    if isinstance(v, Mapping):
        pairs = [[itf_value(k), itf_value(x)] for k, x in v.items()]
        return {"#map": sorted(pairs, key=lambda p: json.dumps(p, sort_keys=True))}
    raise TraceError(f"cannot write {type(v).__name__} in ITF: {v!r}")


def decode_itf_value(x: Any) -> Any:
    """An ITF value in our trace encoding (what :func:`encode_value` gives)."""
    if x is None or isinstance(x, bool | int | str | float):
        return x
    if isinstance(x, list):
        return [decode_itf_value(e) for e in x]
    if not isinstance(x, dict):
        raise TraceError(f"not an ITF value: {x!r}")
    if "#bigint" in x:
        try:
            return int(x["#bigint"])
        except (TypeError, ValueError):
            raise TraceError(f"bad #bigint {x['#bigint']!r}") from None
    if "#tup" in x:
        return [decode_itf_value(e) for e in _list(x, "#tup")]
    if "#set" in x:
        items = [decode_itf_value(e) for e in _list(x, "#set")]
        return sorted(items, key=lambda e: json.dumps(e, sort_keys=True))
    if "#map" in x:
        pairs = _list(x, "#map")
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise TraceError("an ITF #map holds [key, value] pairs")
        dec = [(decode_itf_value(k), decode_itf_value(v)) for k, v in pairs]
        keys = [k for k, _ in dec]
        if all(type(k) is int for k in keys) and sorted(keys) == list(range(len(keys))):
            return [v for _, v in sorted(dec, key=lambda kv: int(kv[0]))]  # over 0..n-1
        if all(isinstance(k, str) for k, _ in dec):
            return {k: v for k, v in sorted(dec, key=lambda kv: str(kv[0]))}
        return sorted(([k, v] for k, v in dec), key=lambda e: json.dumps(e, sort_keys=True))
    if "#unserializable" in x:
        return None if x["#unserializable"] == "None" else x["#unserializable"]
    if set(x) == {"tag", "value"} and x["tag"] in ("None", "Some"):  # Quint's Option
        return None if x["tag"] == "None" else decode_itf_value(x["value"])
    return {k: decode_itf_value(v) for k, v in x.items() if not k.startswith("#")}


def _list(x: dict[str, Any], key: str) -> list[Any]:
    value = x[key]
    if not isinstance(value, list):
        raise TraceError(f"an ITF {key} holds a JSON list")
    return value


def _state_vars(state: Any) -> dict[str, Any]:
    fields = record_fields(state)
    if fields is None:
        return {"state": itf_value(state)}
    return {f: itf_value(getattr(state, f)) for f in fields}


def to_itf(trace: Trace) -> dict[str, Any]:
    """The trace as an ITF document."""
    states = trace.states
    steps: list[Step | None] = [None, *trace.steps]
    loop = trace.loop
    closing: Step | None = None
    if loop is not None and loop < len(trace):  # the last state repeats states[loop]
        states, closing, steps = states[:-1], trace.steps[-1], steps[:-1]
    out_states = []
    for i, (state, step) in enumerate(zip(states, steps, strict=True)):
        meta: dict[str, Any] = {"index": i}
        if step is None:
            meta.update({"action": "init", "mbt::actionTaken": "init"})
        else:
            meta.update({"action": step.action, "label": step.label,
                         "mbt::actionTaken": step.action})
        out_states.append({"#meta": meta, **_state_vars(state)})
    vars_ = [k for k in out_states[0] if k != "#meta"]
    meta = {"format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": f"agree: {trace.spec}",
            "description": f"{trace.spec}: {trace.kind or 'trace'} {trace.property or ''}".strip(),
            "agree": {"spec": trace.spec, "params": trace.params, "property": trace.property,
                      "kind": trace.kind}}
    doc: dict[str, Any] = {"#meta": meta, "vars": vars_, "states": out_states}
    if closing is not None:
        meta["loop_action"] = closing.label
    if loop is not None:
        doc["loop"] = loop
    return doc


def save_itf(trace: Trace, path: str | Path) -> None:
    """Write ``trace`` as an ``.itf.json`` file."""
    try:
        Path(path).write_text(json.dumps(to_itf(trace), indent=1) + "\n")
    except OSError as exc:
        raise TraceError(f"cannot write {path}: {exc.strerror or exc}") from None


def _normal(state: Any) -> Any:
    """A state as an imported ITF state reads (tuples and maps over 0..n-1 both lists)."""
    return _decode_state(_state_vars(state))


def _find_step(spec: Spec[Any], state: Any, target: Any, hint: str | None, n: int,
               ) -> Transition[Any]:
    found = [t for t in spec.successors(state) if _normal(t.state) == target]
    if not found:
        raise TraceError(f"ITF state {n} is not reachable in one step of {spec.name} from "
                         f"state {n - 1}")
    for t in found:
        if hint in (t.label, t.action.label):
            return t
    return found[0]


def from_itf(doc: Any, resolve: Resolver) -> Trace:
    """Rebuild a trace from an ITF document, recovering each step through the spec."""
    if not isinstance(doc, dict) or not isinstance(doc.get("states"), list):
        raise TraceError("not an ITF trace: needs an object with a 'states' list")
    meta = doc.get("#meta") or {}
    ours = meta.get("agree") if isinstance(meta, dict) else None
    if not (isinstance(ours, dict) and isinstance(ours.get("spec"), str)
            and isinstance(ours.get("params", {}), dict)):
        raise TraceError("ITF trace: #meta.agree must name the spec (and its params): "
                         '"#meta": {"agree": {"spec": "paxos", "params": {...}}}')
    try:
        spec, _ = resolve(ours["spec"], ours.get("params", {}))
    except SpecError as exc:
        raise TraceError(f"ITF trace names spec {ours['spec']!r}: {exc}") from None
    raw = doc["states"]
    if not raw or not all(isinstance(s, dict) for s in raw):
        raise TraceError("ITF trace: 'states' must be a non-empty list of objects")
    wanted = [_decode_state(s) for s in raw]
    inits = [s for s in spec.init() if _normal(s) == wanted[0]]
    if not inits:
        raise TraceError("ITF state 0 is not an initial state of the spec")
    state = inits[0]
    steps: list[Transition[Any]] = []
    for n, target in enumerate(wanted[1:], 1):
        m = raw[n].get("#meta") or {}
        hint = m.get("label") or m.get("action") or m.get("mbt::actionTaken")
        t = _find_step(spec, state, target, hint, n)
        steps.append(t)
        state = t.state
    loop = doc.get("loop")
    if loop is not None:
        if not (isinstance(loop, int) and 0 <= loop < len(wanted)):
            raise TraceError(f"ITF trace: loop {loop!r} is not a state index")
        if loop < len(wanted) - 1:  # close the cycle: the last state steps back to states[loop]
            t = _find_step(spec, state, wanted[loop], meta.get("loop_action"), len(wanted))
            steps.append(t)
    trace = Trace.from_transitions(spec, inits[0], steps, ours.get("property"),
                                   ours.get("kind"))
    trace.loop = loop
    return trace


def _decode_state(s: dict[str, Any]) -> Any:
    fields = {k: decode_itf_value(v) for k, v in s.items() if not k.startswith("#")}
    if list(fields) == ["state"]:
        return fields["state"]
    return fields


def load_itf(path: str | Path, resolve: Resolver) -> Trace:
    """Read an ``.itf.json`` file and rebuild the trace through its spec."""
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TraceError(f"{path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise TraceError(f"{path} nests JSON too deeply to be a trace") from None
    return from_itf(doc, resolve)
