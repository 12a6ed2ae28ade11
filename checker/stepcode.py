"""The generated code of a state's expansion (core.py): what a step cannot have changed
is not evaluated again.

For a state type ``cls``, the core generates straight-line code that takes a successor
``_t`` of an expanded state ``_s`` through the action properties (``_ok``), the state
constraint (``_in``) and the invariants and ``sometimes`` properties (``_res``), each
predicate skipped when every field it reads (reads.py) is the very object of ``_s``'s.
The fragments here are written once and used two ways: as small functions (the core's
``_build_*``, and the tests), and inlined into one generated loop over a state's
successors (``expansion``), which saves the calls on the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agree.spec.build import field_index
from agree.spec.reads import conjuncts

if TYPE_CHECKING:
    from agree.checker.core import Core

__all__ = ["SLOW", "act_lines", "check_lines", "compile_function", "expansion", "flag_lines",
           "indent", "inside_lines", "parent_lines", "same_objects", "successor_check",
           "verdict_lines"]

#: The step checker's answer "check this successor the ordinary way".
SLOW = object()


def same_objects(fields: Sequence[int], used: set[int]) -> str:
    """The generated test that successor ``_t`` holds the very objects of parent ``_s`` in
    those fields (``True`` for none): the flags ``_u{i}`` (see :func:`flag_lines`), whose
    fields are added to ``used``."""
    used.update(fields)
    return " and ".join(f"_u{i}" for i in fields) or "True"


def parent_lines(used: set[int]) -> list[str]:
    """The parent's fields in ``used``, read once per state (``_p{i}``)."""
    return [f"_p{i} = _s[{i}]" for i in sorted(used)]


def flag_lines(used: set[int]) -> list[str]:
    """``_u{i}``, per successor: its field ``i`` is the very object of the parent's."""
    return [f"_u{i} = _t[{i}] is _p{i}" for i in sorted(used)]


def indent(lines: Sequence[str], depth: int) -> list[str]:
    return [" " * (4 * depth) + line for line in lines]


def compile_function(lines: Sequence[str], ns: dict[str, Any], name: str, where: str,
                     ) -> Callable[..., Any]:
    exec(compile("\n".join(lines), where, "exec"), ns)
    fn: Callable[..., Any] = ns[name]
    return fn


def act_lines(core: Core, cls: type, ns: dict[str, Any], used: set[int]) -> list[str]:
    """Code leaving ``_ok`` False when an action property still checked fails on the
    step from ``_s`` to ``_t`` (the first failure ends the evaluation). One whose fields
    of ``_t`` are the very objects of ``_s``'s answers as on the step from ``_s`` to
    ``_s``, evaluated once per ``_s``: it reads the same objects either way."""
    lines = ["_ok = True"]
    for k, p in enumerate(core.act_props):
        ns[f"_af{k}"], ns[f"_am{k}"] = p.fn, [None, True]
        fields = core.fields_of(cls, p.fn, 2)
        lines += ["if not _ok:", "    pass"]
        if fields is not None:
            lines += [f"elif {same_objects(fields, used)}:",
                      f"    _m = _am{k}",
                      "    if _m[0] is not _s:",
                      f"        _m[1] = bool(_af{k}(_spec, _s, _s))",
                      "        _m[0] = _s",
                      "    _ok = _m[1]"]
        lines += [f"elif not _af{k}(_spec, _s, _t):", "    _ok = False"]
    return lines


def inside_lines(core: Core, cls: type, ns: dict[str, Any], used: set[int],
                 ) -> list[str]:
    """Code setting ``_in``: the state constraint holds on ``_t`` (``_s`` is inside it).
    A constraint written as a conjunction (``return A and B and ...``, see
    reads.conjuncts) is evaluated conjunct by conjunct, skipping each whose fields are the
    very objects of ``_s``'s (it held on ``_s``); another, as a whole unless every field
    it reads is ``_s``'s (as a whole for a state that is not a NamedTuple)."""
    spec = core.spec
    method = type(spec).constraint
    index = field_index(cls)
    if index is None or "constraint" in vars(spec):  # (one set on the instance: as is)
        ns["_constraint"] = spec.constraint
        return ["_in = bool(_constraint(_t))"]
    found = conjuncts(method, list(index))
    if found is None:
        fields = core.fields_of(cls, method)
        if fields is None:
            ns["_constraint"] = spec.constraint
            return ["_in = bool(_constraint(_t))"]
        parts = [(method, tuple(fields))]
    else:
        parts = [(fn, tuple(sorted(index[f] for f in read))) for fn, read in found]
    lines = ["_in = True"]
    word = "if"
    for k, (fn, fields) in enumerate(parts):
        if not fields:
            continue  # reads no field: as on s
        ns[f"_c{k}"] = fn
        lines += [f"{word} not ({same_objects(fields, used)}) and not _c{k}(_spec, _t):",
                  "    _in = False"]
        word = "elif"
    return lines


def check_lines(core: Core, cls: type, ns: dict[str, Any], used: set[int],
                ) -> list[str]:
    """Code setting ``_res`` for successor ``_t`` of ``_s``: the invariants and
    ``sometimes`` properties still checked, each evaluated on ``_t`` unless every field
    it reads is the very object of ``_s``'s (then it answers as it did on ``_s``: an
    invariant held there, since ``_s`` was checked and it is still checked; a
    ``sometimes`` property was false there, else it would be satisfied). ``_res`` is
    None (nothing found), ``(broken, reached)``, or :data:`SLOW`: a property raised,
    check the state the ordinary way (check_state reports it)."""
    ns["_SLOW"] = SLOW
    body: list[str] = []
    every: set[int] | None = set()  # the fields any of them reads (None: unknown)
    for kind, props in (("b", core.invs), ("r", core.somes)):
        for k, p in enumerate(props):
            fields = core.fields_of(cls, p.fn)
            if every is not None:
                every = None if fields is None else every | set(fields)
            if fields == ():
                continue  # reads no field: as on s
            ns[f"_f{kind}{k}"], ns[f"_p{kind}{k}"] = p.fn, p
            test = f"_f{kind}{k}(_spec, _t)"
            cond = test if kind == "r" else f"not {test}"
            if fields is not None:
                cond = f"not ({same_objects(fields, used)}) and {cond}"
            body += [f"        if {cond}:", f"            _{kind} += (_p{kind}{k},)"]
    if not body:
        return ["_res = None"]
    lines = ["_res = None"]
    inner = ["    _b = _r = ()",
             "    try:", *body,
             "    except Exception:",
             "        _res = _SLOW",
             "    else:",
             "        if _b or _r:",
             "            _res = (_b, _r)"]
    if every:  # the common case first: the step left alone every field they read
        return [*lines, f"if not ({same_objects(sorted(every), used)}):", *inner]
    return [*lines, "if True:", *inner]


def expansion(core: Core, cls: type, ns: dict[str, Any], *, constrained: bool,
              check_pruned: bool) -> list[str]:
    """``expand(_s, _parent, _succ, _start)``: the successors ``_succ[_start:]`` of a
    state ``_s`` of type ``cls`` through the core's semantics (core.Core.expander), with
    the properties checked now. When a property is found to fail or to be satisfied
    (which changes what is checked), it hands the rest to ``_resume``, which builds the
    code anew. ``ns`` must hold ``_admit``, ``_stats``, ``_found``, ``_stop``,
    ``_broken``, ``_record``, ``_check_state``, ``_other`` (a successor of another type:
    0, it ends as a stutter or a state seen; 1, it gets to the end; 2, and something was
    found), ``_resume`` and ``_position``."""
    ns.update(_cls=cls, _type=type, _spec=core.spec)
    used: set[int] = set()
    rest = "return _resume(_s, _parent, _succ, _position(_succ, _ai, _args, _t) + 1)"
    body = ["_st = _stats[_ai]",
            "_st.generated += 1",
            "if _type(_t) is not _cls:",
            "    _e = _other(_s, _t, _parent, _ai, _args)",
            "    if _e:",
            "        if _found and _stop:",
            "            return",
            "        if _e > 1:",
            f"            {rest}",
            "    continue"]
    if core.act_props:
        body += [*act_lines(core, cls, ns, used),
                 "if not _ok:",
                 "    _broken(_s, _t, _parent, _ai, _args, _stop)"]
    body += ["if _t is _s:", "    continue"]  # a stutter: the very state, seen
    inside = inside_lines(core, cls, ns, used) if constrained else ["_in = True"]
    late: set[int] = set()  # the fields only the properties read: flagged when checked
    check = []
    if core.invs or core.somes:
        check = [*check_lines(core, cls, ns, late), *verdict_lines(),
                 "    if _found and _stop:",
                 "        return",
                 f"    {rest}"]
    if check:
        check[:0] = flag_lines(late - used)
    body += [*inside,
             "if _in:",
             "    if not _admit(_t, _parent, _ai, _args):",
             "        continue",
             "    _st.distinct += 1",
             *(indent(check, 1) if not check_pruned else []),
             *(check if check_pruned else []),
             "if _found and _stop:",
             "    return"]
    # the flags, computed once per successor of the state type, before what uses them
    # (those of the properties alone after the seen-set, which drops most successors)
    at = body.index("    continue") + 1  # after the branch of another type's successor
    body[at:at] = flag_lines(used)
    return ["def expand(_s, _parent, _succ, _start):",
            *indent(parent_lines(used | late), 1),
            "    for _ai, _args, _t in (_succ[_start:] if _start else _succ):",
            *indent(body, 2)]


def successor_check(core: Core, cls: type, ns: dict[str, Any]) -> list[str]:
    """``check(_s, _t, _parent, _ai, _args)``: the invariants and ``sometimes``
    properties still checked on a new successor ``_t`` of type ``cls`` of the checked
    state ``_s`` (of the same type), as the expansion checks them (:func:`check_lines`),
    for an engine that learns a successor is new only after its expansion (the
    multi-process workers). ``ns`` must hold ``_record`` and ``_check_state``."""
    ns.update(_spec=core.spec)
    used: set[int] = set()
    check = check_lines(core, cls, ns, used)
    return ["def check(_s, _t, _parent, _ai, _args):",
            *indent([*parent_lines(used), *flag_lines(used), *check, *verdict_lines()], 1)]


def verdict_lines() -> list[str]:
    """What follows :func:`check_lines`: a successor it could not judge by its fields
    checked the ordinary way, one with properties broken or reached recorded."""
    return ["if _res is not None:",
            "    if _res is _SLOW:",
            "        _check_state(_t, _parent, _ai, _args)",
            "    else:",
            "        _record(_res[0], _res[1], _parent, _ai, _args, _t)"]
