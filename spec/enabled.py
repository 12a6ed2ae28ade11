"""Successor enumeration, written once: every enabled (action, arguments) of a state and
the state it leads to, in declared order.

:meth:`Spec.successors` and every checker engine (through ``agree.checker.core``) use
:func:`enumerator`. It is the hot loop of exhaustive checking, so actions of one and two
parameters, the common cases, are called without building each argument tuple twice,
and everything a state's enumeration needs is bound once per spec: the enumeration is
generated as straight-line code, one loop per action.

A domain that is a function of the state (``m=messages_in_flight``) is evaluated once
per state and remembered by the value of the variables it reads (inferred from its
source, spec/reads.py): the states of a search share a handful of message bags, so
most states take their domains from the memo. A domain whose reads are not sure is
called on each state, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agree.spec.build import field_index, state_type_of
from agree.spec.reads import fields_read

if TYPE_CHECKING:
    from agree.spec.api import Action, Spec

__all__ = ["ActionRaised", "Enabled", "enumerator"]

#: Rows a domain memo keeps (one per distinct value of the variables read) before it
#: starts afresh: a search whose values hardly recur pays a hash per state, no more.
MEMO_ROWS = 4096

#: A state's enabled steps: (the action's index in ``spec.actions()``, its arguments,
#: the state it leads to).
Enabled = Callable[[Any], list[tuple[int, tuple[Any, ...], Any]]]


class ActionRaised(Exception):
    """An action (or one of its domains) raised while a state was being expanded;
    ``exc`` is what it raised, ``label`` the action's label."""

    def __init__(self, index: int, label: str, exc: Exception) -> None:
        super().__init__(f"{label}: {type(exc).__name__}: {exc}")
        self.index, self.label, self.exc = index, label, exc


def enumerator(spec: Spec[Any]) -> Enabled:
    """The function listing a state's enabled steps for ``spec`` (built once per spec
    instance and kept with it, as its bound actions are). It raises
    :class:`ActionRaised` when an action raises."""
    actions = spec.actions()
    cached: tuple[Any, Enabled] | None = spec.__dict__.get("_agree_enabled")
    if cached is not None and cached[0] is actions:  # (rebinding the actions renews it)
        return cached[1]
    # The enumeration is generated as straight-line code, one loop per action, with
    # each action's function and domains bound as constants.
    ns: dict[str, Any] = {"_spec": spec, "_ActionRaised": ActionRaised,
                          "_labels": [a.label for a in actions]}
    body: list[str] = []
    memo, prologue = _memo_slots(spec, actions, ns)
    # A domain function several actions range over (every message in flight) is a
    # function of the state: called once per state, at its first use, and kept as a list.
    uses: dict[int, int] = {}
    for act in actions:
        for _, d in act.domains:
            if callable(d) and not isinstance(d, str):
                uses[id(d)] = uses.get(id(d), 0) + 1
    shared: dict[int, str] = {}  # id of a shared domain -> its local, once computed
    for ai, act in enumerate(actions):
        # a domain named by a string is a fixed attribute: read it once
        doms = [getattr(spec, d) if isinstance(d, str) else d for _, d in act.domains]
        ns[f"_fn{ai}"], ns[f"_act{ai}"] = act.fn, act
        for k, d in enumerate(doms):
            ns[f"_d{ai}_{k}"] = d
        body.append(f"        _ai = {ai}")
        dom = []
        for k, d in enumerate(doms):
            if not callable(d):
                dom.append(f"_d{ai}_{k}")
            elif len(doms) <= 2 and id(d) in memo:
                row, j = memo[id(d)]
                body += [f"        _w{ai}_{k} = {row}[{j}]",
                         f"        if _w{ai}_{k} is _MISS:",
                         f"            _w{ai}_{k} = {row}[{j}] = _tuple(_d{ai}_{k}(_spec, _s))"]
                dom.append(f"_w{ai}_{k}")
            elif len(doms) <= 2 and uses.get(id(d), 0) > 1:
                if id(d) not in shared:
                    shared[id(d)] = f"_v{ai}_{k}"
                    body.append(f"        _v{ai}_{k} = list(_d{ai}_{k}(_spec, _s))")
                dom.append(shared[id(d)])
            else:
                dom.append(f"_d{ai}_{k}(_spec, _s)")
        if len(doms) == 1:
            body += [f"        for _x in {dom[0]}:",
                     f"            _t = _fn{ai}(_s, _x)",
                     "            if _t is not None:",
                     f"                _append(({ai}, (_x,), _t))"]
        elif len(doms) == 2:
            ys = f"list({dom[1]})" if (callable(doms[1]) and id(doms[1]) not in shared
                                       and id(doms[1]) not in memo) else dom[1]
            body += [f"        _ys = {ys}",
                     f"        for _x in {dom[0]}:",
                     "            for _y in _ys:",
                     f"                _t = _fn{ai}(_s, _x, _y)",
                     "                if _t is not None:",
                     f"                    _append(({ai}, (_x, _y), _t))"]
        else:
            body += [f"        for _args in _act{ai}.bindings(_s):",
                     f"            _t = _fn{ai}(_s, *_args)",
                     "            if _t is not None:",
                     f"                _append(({ai}, _args, _t))"]
    lines = ["def enabled(_s):",
             "    _out = []",
             "    _append = _out.append",
             "    _ai = -1",
             *prologue,
             "    try:", *(body or ["        pass"]),
             "    except Exception as _exc:",
             "        raise _ActionRaised(_ai, _labels[_ai], _exc) from _exc",
             "    return _out"]
    exec(compile("\n".join(lines), f"<enabled steps of {type(spec).__name__}>", "exec"), ns)
    enabled: Enabled = ns["enabled"]

    spec.__dict__["_agree_enabled"] = (actions, enabled)
    return enabled


def _memo_slots(spec: Spec[Any], actions: Sequence[Action[Any]], ns: dict[str, Any],
                ) -> tuple[dict[int, tuple[str, int]], list[str]]:
    """The memos of the domains that are functions of the state (of the spec's declared
    NamedTuple type) whose reads are sure: domain id -> (its row's local, its slot), and
    the code finding a state's rows. The domains reading the same variables share one
    memo, keyed by the value of those variables (one, or a tuple of them); a row holds
    each domain's values, computed at its first use. A state of another type, or whose
    key cannot be hashed, gets a fresh row of its own."""
    from agree.spec.api import Spec  # (api imports this module)

    cls = state_type_of(type(spec), Spec)
    index = field_index(cls) if cls is not None else None
    if index is None:
        return {}, []
    names = list(index)
    groups: dict[tuple[int, ...], list[int]] = {}  # fields read -> the domains' ids
    slots: dict[int, tuple[tuple[int, ...], int]] = {}
    for act in actions:
        if len(act.domains) > 2:  # enumerated by Action.bindings, not here
            continue
        for _, d in act.domains:
            if isinstance(d, str) or not callable(d) or id(d) in slots:
                continue
            read = fields_read(d, names)
            if read is None:
                continue
            key = tuple(sorted(index[f] for f in read))
            group = groups.setdefault(key, [])
            slots[id(d)] = (key, len(group))
            group.append(id(d))
    if not slots:
        return {}, []
    ns.update(_cls=cls, _type=type, _tuple=tuple, _MISS=_MISS, _ROWS=MEMO_ROWS)
    local = {key: g for g, key in enumerate(groups)}
    lines = ["    if _type(_s) is _cls:"]
    fresh = ["    else:"]
    for key, g in local.items():
        ns[f"_m{g}"] = {}
        width = len(groups[key])
        value = (f"_s[{key[0]}]" if len(key) == 1
                 else "(" + "".join(f"_s[{i}], " for i in key) + ")")
        lines += [f"        _k{g} = {value}",
                  "        try:",
                  f"            _r{g} = _m{g}.get(_k{g})",
                  "        except Exception:  # a value that cannot be hashed: not kept",
                  f"            _r{g} = [_MISS] * {width}",
                  f"        if _r{g} is None:",
                  f"            if len(_m{g}) >= _ROWS:",
                  f"                _m{g}.clear()",
                  f"            _r{g} = _m{g}[_k{g}] = [_MISS] * {width}"]
        fresh.append(f"        _r{g} = [_MISS] * {width}")
    memo = {d: (f"_r{local[key]}", j) for d, (key, j) in slots.items()}
    return memo, lines + fresh


_MISS = object()  # a memo row's slot not computed yet
