"""Successor enumeration, written once: every enabled (action, arguments) of a state and
the state it leads to, in declared order.

:meth:`Spec.successors` and every checker engine (through ``agree.checker.core``) use
:func:`enumerator`. It is the hot loop of exhaustive checking, so actions of one and two
parameters, the common cases, are called without building each argument tuple twice,
and everything a state's enumeration needs is bound once per spec: the enumeration is
generated as straight-line code, one loop per action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agree.spec.api import Spec

__all__ = ["ActionRaised", "Enabled", "enumerator"]

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
            ys = f"list({dom[1]})" if callable(doms[1]) and id(doms[1]) not in shared \
                else dom[1]
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
             "    try:", *(body or ["        pass"]),
             "    except Exception as _exc:",
             "        raise _ActionRaised(_ai, _labels[_ai], _exc) from _exc",
             "    return _out"]
    exec(compile("\n".join(lines), f"<enabled steps of {type(spec).__name__}>", "exec"), ns)
    enabled: Enabled = ns["enabled"]

    spec.__dict__["_agree_enabled"] = (actions, enabled)
    return enabled
