"""What is checked: the declared state space, the inductive conjuncts, the safety
properties they must imply, all read from a spec (``Spec.state_space``,
``Spec.inductive``) and turned into one :class:`Invariant`, or a one-line
:class:`SpecError` saying what is missing or wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agree.spec import Property, Spec, SpecError, StateSpace

__all__ = ["SPACE", "Invariant", "invariant_of"]

#: The name under which the declared space (TypeOK) is reported as a conjunct.
SPACE = "TypeOK"


@dataclass(frozen=True)
class Invariant:
    """The inductive invariant: TypeOK (``space``) and the ``conjuncts``, in the
    order declared; ``safety``: the spec's other invariants, which it must imply."""

    space: StateSpace
    conjuncts: tuple[Property, ...]
    safety: tuple[Property, ...]

    def names(self) -> list[str]:
        return [SPACE, *(c.name for c in self.conjuncts)]

    def first_broken(self, spec: Spec[Any], state: Any) -> str | None:
        """The first conjunct ``state`` breaks (the space first), or None."""
        if not self.space.contains(state):
            return SPACE
        return next((c.name for c in self.conjuncts if not c.holds(spec, state)), None)


def invariant_of(spec: Spec[Any], properties: Sequence[Property] = (),
                 drop: Sequence[str] = ()) -> Invariant:
    """The invariant ``spec`` declares. ``properties``: the ones its file lists
    (``PROPERTIES``) besides the spec's own; ``drop``: conjuncts left out (to see
    what each is needed for)."""
    name = spec.name or type(spec).__name__
    try:
        space = spec.state_space()
    except SpecError as exc:
        raise SpecError(f"{name}: its state space is malformed: {exc}") from None
    except Exception as exc:
        raise SpecError(f"{name}: state_space() raised {type(exc).__name__}: {exc}") from None
    if space is None:
        raise SpecError(f"{name} declares no state space: define state_space() returning "
                        "states(StateType, field=one_of(...) | tuple_of(...) | "
                        "subset_of(...), ...) (see the docs: Inductive invariants)")
    if not isinstance(space, StateSpace):
        raise SpecError(f"{name}: state_space() must return states(...), not "
                        f"{type(space).__name__}")
    known = {p.name: p for p in (*spec.declared_properties(), *properties)}
    declared = type(spec).inductive
    if not isinstance(declared, tuple | list) or not declared:
        raise SpecError(f"{name} declares no inductive conjuncts: set the class attribute "
                        "inductive = (\"name\", ...) to the invariants to check")
    conjuncts: list[Property] = []
    for item in declared:
        prop = _resolve(name, item, known)
        if prop.kind != "invariant":
            raise SpecError(f"{name}: inductive conjunct {prop.name} is a {prop.kind} "
                            "property, not an invariant")
        if prop.name not in (c.name for c in conjuncts):
            conjuncts.append(prop)
    unknown = [d for d in drop if d not in (c.name for c in conjuncts)]
    if unknown:
        raise SpecError(f"{name}: no inductive conjunct {unknown[0]!r} to drop (conjuncts: "
                        f"{', '.join(c.name for c in conjuncts)})")
    kept = tuple(c for c in conjuncts if c.name not in drop)
    names = {c.name for c in conjuncts}
    safety = tuple(p for p in known.values() if p.kind == "invariant" and p.name not in names)
    return Invariant(space, kept, safety)


def _resolve(name: str, item: Any, known: dict[str, Property]) -> Property:
    if isinstance(item, Property):
        return item
    if isinstance(item, str):
        prop = known.get(item)
        if prop is None:
            raise SpecError(f"{name}: inductive conjunct {item!r} is not an invariant of the "
                            f"spec or its PROPERTIES (known: {', '.join(known) or 'none'})")
        return prop
    prop = getattr(item, "_agree_property", None)
    if not isinstance(prop, Property):
        raise SpecError(f"{name}: inductive conjunct {item!r} is not a property name, an "
                        "@invariant function or a Property")
    return prop
