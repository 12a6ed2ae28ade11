"""Properties: what must hold of a spec's states and steps, declared by decorators.

A property is a predicate ``fn(spec, state)`` (for action properties
``fn(spec, state, next_state)``); it may be a method of the spec or a plain function
kept elsewhere (``properties/``). It returns True when it holds; when it fails, False
or, better, a :class:`~agree.spec.witness.Witness` saying why (falsy, so engines need
not tell them apart; :meth:`Property.witness` reads it back). The decorators attach a
:class:`Property` to the function; :func:`property_of` reads it back.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agree.spec.errors import SpecError
from agree.spec.witness import Witness

if TYPE_CHECKING:
    from agree.spec.api import Spec

__all__ = ["Property", "PropertyKind", "action_property", "eventually", "eventually_always",
           "invariant", "leads_to", "property_of", "sometimes"]

#: A property's function: True when it holds, False or a :class:`Witness` when not.
Predicate = Callable[..., "bool | Witness"]

PropertyKind = Literal["invariant", "action", "sometimes", "eventually", "leads_to",
                       "eventually_always"]


@dataclass(frozen=True)
class Property:
    """A named property: ``fn(spec, state)`` or, for action properties,
    ``fn(spec, state, next_state)``, returning True when it holds and False or a
    :class:`Witness` when it fails."""

    name: str
    kind: PropertyKind
    fn: Predicate
    doc: str = ""
    #: For ``leads_to`` properties: P in ``P ~> Q`` (``fn`` is Q).
    premise: Predicate | None = None

    def holds(self, spec: Spec[Any], state: Any, next_state: Any = None) -> bool:
        """Evaluate the property (on a step for action properties)."""
        if self.kind == "action":
            return bool(self.fn(spec, state, next_state))
        return bool(self.fn(spec, state))

    def witness(self, spec: Spec[Any], state: Any, next_state: Any = None) -> Witness | None:
        """Why the property fails here: the witness its function returns, or None when it
        holds or fails with a plain False. Asked once a violation is found, never on the
        engines' hot path."""
        verdict = (self.fn(spec, state, next_state) if self.kind == "action"
                   else self.fn(spec, state))
        return verdict if isinstance(verdict, Witness) else None


def _property(kind: PropertyKind, name: str | None, premise: Predicate | None = None,
              ) -> Callable[[Predicate], Any]:
    def mark(fn: Predicate) -> Any:
        doc = inspect.getdoc(fn) or ""
        prop = Property(name or fn.__name__, kind, fn, doc.split("\n\n")[0].replace("\n", " "),
                        premise)
        fn._agree_property = prop  # type: ignore[attr-defined]
        return fn

    return mark


def invariant(fn: Predicate | None = None, /, *, name: str | None = None) -> Any:
    """Declare a state predicate that must hold in every reachable state."""
    return _property("invariant", name)(fn) if fn is not None else _property("invariant", name)


def action_property(fn: Predicate | None = None, /, *, name: str | None = None) -> Any:
    """Declare a step predicate ``(state, next_state)`` that every step must satisfy."""
    return _property("action", name)(fn) if fn is not None else _property("action", name)


def sometimes(fn: Predicate | None = None, /, *, name: str | None = None) -> Any:
    """Declare a state predicate some reachable state must satisfy (else a failure)."""
    return _property("sometimes", name)(fn) if fn is not None else _property("sometimes", name)


def eventually(fn: Predicate | None = None, /, *, name: str | None = None) -> Any:
    """Declare a liveness property ``<>P``: every fair behaviour reaches a state where P holds.
    Checked on the explicit state graph (``agree.checker.liveness``)."""
    return _property("eventually", name)(fn) if fn is not None else _property("eventually", name)


def eventually_always(fn: Predicate | None = None, /, *, name: str | None = None) -> Any:
    """Declare ``<>[]P``: every fair behaviour reaches a point from which P holds forever
    (stability: a leader that stays). Checked on the explicit state graph."""
    if fn is not None:
        return _property("eventually_always", name)(fn)
    return _property("eventually_always", name)


def leads_to(premise: Predicate, /, *, name: str | None = None,
             ) -> Callable[[Predicate], Any]:
    """Declare ``P ~> Q``: on every fair behaviour, a state where ``premise`` (P) holds is
    followed (now or later) by one where the decorated predicate (Q) holds."""
    return _property("leads_to", name, premise)


def property_of(fn: Predicate) -> Property:
    """The :class:`Property` a decorated function carries."""
    prop = getattr(fn, "_agree_property", None)
    if prop is None:
        raise SpecError(f"{fn!r} is not decorated with @invariant, @action_property or @sometimes")
    return prop  # type: ignore[no-any-return]
