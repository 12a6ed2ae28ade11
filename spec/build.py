"""Building next states fast, generically: what :meth:`Spec.step` runs (see spec/api.py).

A model writes ``self.step(s, msgs=...)`` (TLA+'s primed variables, the rest
UNCHANGED); this module makes that as fast as a positional constructor, so no
model needs field-index tables or ``tuple.__new__`` of its own:

* :func:`replace` is ``_replace`` for any NamedTuple (and ``dataclasses.replace``
  for a frozen dataclass), built directly, as ``_replace`` itself does;
* :func:`compile_step`, for a spec whose state type is a NamedTuple (``Spec[RaftState]``),
  generates a ``step`` method with one keyword-only parameter per variable: a call
  binds its keywords without building a dict, and the new tuple is assembled in one
  expression.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from agree.spec.errors import SpecError

__all__ = ["compile_step", "field_index", "replace", "state_type_of"]

S = TypeVar("S")

#: Field name -> position, per NamedTuple state type (filled on first use).
_FIELD_INDEX: dict[type, dict[str, int]] = {}


def field_index(cls: type) -> dict[str, int] | None:
    """Position of each field of a NamedTuple type; None for any other type."""
    index = _FIELD_INDEX.get(cls)
    if index is None:
        fields = getattr(cls, "_fields", None)
        if not (issubclass(cls, tuple) and isinstance(fields, tuple)):
            return None
        index = _FIELD_INDEX[cls] = {name: k for k, name in enumerate(fields)}
    return index


def no_variable(state: Any, name: str) -> str:
    return f"{type(state).__name__} has no variable {name!r}"


def replace(state: S, /, **changes: Any) -> S:
    """``state`` with the named variables changed and the others unchanged: a
    NamedTuple's ``_replace`` (built directly, without its overhead) or, for a frozen
    dataclass, :func:`dataclasses.replace`. In actions prefer :meth:`Spec.step`: it
    also applies the spec's history variables."""
    cls = type(state)
    index = field_index(cls)
    if index is None:
        if dataclasses.is_dataclass(state) and not isinstance(state, type):
            return dataclasses.replace(state, **changes)
        raise SpecError(f"cannot replace variables of a {cls.__name__}: a state must "
                             "be a NamedTuple or a frozen dataclass")
    new = list(state)  # type: ignore[call-overload]
    for name, value in changes.items():
        k = index.get(name)
        if k is None:
            raise SpecError(no_variable(state, name))
        new[k] = value
    # NamedTuple._replace builds its result the same way (tuple.__new__, via _make).
    return tuple.__new__(cls, new)  # type: ignore[type-var]


def state_type_of(spec_cls: type, base: type) -> type | None:
    """The state type ``S`` a spec class declares by subclassing ``base[S]``, if any."""
    for klass in spec_cls.__mro__:
        for orig in klass.__dict__.get("__orig_bases__", ()):
            origin = typing.get_origin(orig)
            if isinstance(origin, type) and issubclass(origin, base):
                args = typing.get_args(orig)
                if args and isinstance(args[0], type):
                    return args[0]
    return None


_KEEP = object()  # the default of each keyword: the variable is UNCHANGED


def compile_step(state_type: type, history: tuple[str, ...],
                 generic: Callable[..., Any]) -> Callable[..., Any] | None:
    """A ``step(self, state, /, *, var=..., ...)`` for NamedTuple states of ``state_type``
    (None for another type): each variable not given keeps its value, except the history
    variables, which take their value from ``self._history_values_of(state)`` (computed
    once per pre-state). A state of another type goes to ``generic(self, state, **changes)``.
    """
    index = field_index(state_type)
    if index is None:
        return None
    for name in history:
        if name not in index:
            raise SpecError(f"history variable {name!r} is not a field of "
                                 f"{state_type.__name__}")
    fields = list(index)
    params = ", ".join(f"{f}=_KEEP" for f in fields)
    given = ", ".join(f"{f!r}: {f}" for f in fields)
    parts = []
    for k, f in enumerate(fields):
        unchanged = f"_h[{history.index(f)}]" if f in history else f"_{k}"
        parts.append(f"{unchanged} if {f} is _K else {f}")
    # The variables are positional-or-keyword parameters, not keyword-only: their
    # defaults are then read from a tuple, not looked up by name in a dict, which makes
    # a call a little faster. ``_positional`` catches a value given by position.
    lines = [
        f"def step(_self, _s, _positional=_KEEP, /, {params}):",
        "    if _positional is not _KEEP:",
        "        raise TypeError('step() takes the new values of variables by name: "
        "step(state, var=value)')",
        "    if _type(_s) is not _cls:",
        f"        _given = {{{given}}}",
        "        return _generic(_self, _s, **{k: v for k, v in _given.items() "
        "if v is not _KEEP})",
    ]
    if history:
        lines += [
            "    _memo = _self._history_memo",
            "    if _memo[0] is not _s:",
            "        _memo = _self._remember_history(_s)",
            "    _h = _memo[1]",
        ]
    # The pre-state's variables unpacked once and the sentinel in a local: fewer
    # instructions per variable than a subscript and a global lookup each.
    lines.append("    _K = _KEEP")
    if fields:
        lines.append(f"    {', '.join(f'_{k}' for k in range(len(fields)))}, = _s")
    lines.append(f"    return _new(_cls, ({''.join(p + ', ' for p in parts)}))")
    # Only underscored names besides the fields (a field may be called ``type``).
    namespace: dict[str, Any] = {"_KEEP": _KEEP, "_cls": state_type, "_new": tuple.__new__,
                                 "_generic": generic, "_type": type}
    exec(compile("\n".join(lines), f"<step of {state_type.__name__}>", "exec"), namespace)
    fn: Callable[..., Any] = namespace["step"]
    fn._agree_compiled = True  # type: ignore[attr-defined]
    return fn
