"""Successor enumeration, written once: every enabled (action, arguments) of a state and
the state it leads to, in declared order.

:meth:`Spec.successors` and every checker engine (through ``agree.checker.core``) use
:func:`enumerator`. It is the hot loop of exhaustive checking, so actions of one and two
parameters, the common cases, are called without building each argument tuple twice,
and everything a state's enumeration needs is bound once per spec.
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
    plans: list[tuple[int, Any, Any, int, Any, bool, Any, bool]] = []
    for ai, act in enumerate(actions):
        # a domain named by a string is a fixed attribute: read it once
        doms = [getattr(spec, d) if isinstance(d, str) else d for _, d in act.domains]
        calls = [callable(d) for d in doms]
        d0 = doms[0] if doms else None
        d1 = doms[1] if len(doms) > 1 else None
        plans.append((ai, act, act.fn, len(doms), d0, calls[0] if doms else False, d1,
                      calls[1] if len(doms) > 1 else False))

    def enabled(s: Any) -> list[tuple[int, tuple[Any, ...], Any]]:
        out: list[tuple[int, tuple[Any, ...], Any]] = []
        append = out.append
        for ai, act, fn, arity, d0, call0, d1, call1 in plans:
            try:
                if arity == 1:
                    for x in (d0(spec, s) if call0 else d0):
                        t = fn(s, x)
                        if t is not None:
                            append((ai, (x,), t))
                elif arity == 2:
                    ys = list(d1(spec, s)) if call1 else d1
                    for x in (d0(spec, s) if call0 else d0):
                        for y in ys:
                            t = fn(s, x, y)
                            if t is not None:
                                append((ai, (x, y), t))
                else:
                    for args in act.bindings(s):
                        t = fn(s, *args)
                        if t is not None:
                            append((ai, args, t))
            except Exception as exc:
                raise ActionRaised(ai, act.label, exc) from exc
        return out

    spec.__dict__["_agree_enabled"] = (actions, enabled)
    return enabled
