"""A declared state space: TLA+'s ``TypeOK`` written as a finite set, not a predicate.

``agree prove FILE.py`` checks that a spec's declared inductive invariant is
inductive by trying states of this space (agree.induction): all of them when the
space is small, samples of it otherwise. Type hints say what a field holds, not
which values; a space says which, per field:

* :func:`one_of` ``(values)``: one of finitely many values;
* :func:`tuple_of` ``(n, space)``: a tuple of ``n`` values, each from ``space``
  (a per-server variable: ``tuple_of(servers, one_of(...))``);
* :func:`subset_of` ``(universe)``: any subset of a finite universe, as a frozenset
  (a message set: every well-typed message is in the universe);
* :func:`states` ``(StateType, field=space, ...)``: the state type's fields, each
  from its space (every field named, none left out): the whole ``TypeOK``.

A spec declares it by overriding :meth:`Spec.state_space`. The classes here only
describe, count, enumerate and test membership; drawing samples is the induction
package's business.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from agree.spec.errors import SpecError

__all__ = ["OneOf", "Space", "StateSpace", "SubsetOf", "TupleOf", "one_of", "states",
           "subset_of", "tuple_of"]


class Space:
    """A finite set of values, declared: counted, enumerated, tested for membership."""

    def size(self) -> int:
        """How many values the space holds."""
        raise NotImplementedError

    def values(self) -> Iterator[Any]:
        """Every value, in a fixed order (simplest first)."""
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is in the space."""
        raise NotImplementedError

    def describe(self) -> str:
        """How the declaration reads (for reports)."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class OneOf(Space):
    """One of finitely many values, in the order declared."""

    choices: tuple[Any, ...]

    def size(self) -> int:
        return len(self.choices)

    def values(self) -> Iterator[Any]:
        return iter(self.choices)

    def contains(self, value: Any) -> bool:
        keys: frozenset[tuple[type, Any]] | None = self.__dict__.get("_keys")
        if keys is None:  # (type, value): True is not 1, 1.0 is not 1
            keys = frozenset((type(c), c) for c in self.choices)
            object.__setattr__(self, "_keys", keys)
        try:
            return (type(value), value) in keys
        except TypeError:  # unhashable: not a value of the space
            return False

    def describe(self) -> str:
        return "one of {" + ", ".join(map(repr, self.choices)) + "}"


@dataclass(frozen=True, eq=False)
class TupleOf(Space):
    """A tuple of ``length`` values, each from ``element``."""

    length: int
    element: Space

    def size(self) -> int:
        return int(self.element.size() ** self.length)

    def values(self) -> Iterator[tuple[Any, ...]]:
        return itertools.product(tuple(self.element.values()), repeat=self.length)

    def contains(self, value: Any) -> bool:
        if not isinstance(value, tuple) or len(value) != self.length:
            return False
        inner = self.element.contains
        for x in value:
            if not inner(x):
                return False
        return True

    def describe(self) -> str:
        return f"tuple of {self.length} x ({self.element.describe()})"


@dataclass(frozen=True, eq=False)
class SubsetOf(Space):
    """Any subset of a finite universe, as a frozenset; smaller subsets first."""

    universe: tuple[Any, ...]

    def size(self) -> int:
        return int(2 ** len(self.universe))

    def values(self) -> Iterator[frozenset[Any]]:
        for k in range(len(self.universe) + 1):
            for combo in itertools.combinations(self.universe, k):
                yield frozenset(combo)

    def contains(self, value: Any) -> bool:
        return isinstance(value, frozenset) and value <= self._members()

    def _members(self) -> frozenset[Any]:
        members: frozenset[Any] | None = self.__dict__.get("_set")
        if members is None:
            members = frozenset(self.universe)
            object.__setattr__(self, "_set", members)
        return members

    def describe(self) -> str:
        return f"subset of {len(self.universe)} elements"


@dataclass(frozen=True, eq=False)
class StateSpace(Space):
    """The whole ``TypeOK``: the state type's fields, each from its space."""

    make: Callable[..., Any]
    fields: tuple[tuple[str, Space], ...]

    def size(self) -> int:
        total = 1
        for _, sp in self.fields:
            total *= sp.size()
        return total

    def values(self) -> Iterator[Any]:
        names = [n for n, _ in self.fields]
        columns = [tuple(sp.values()) for _, sp in self.fields]
        positional = tuple(getattr(self.make, "_fields", ())) == tuple(names)
        for combo in itertools.product(*columns):
            yield self.make(*combo) if positional else \
                self.make(**dict(zip(names, combo, strict=True)))

    def contains(self, value: Any) -> bool:
        for n, sp in self.fields:
            if not sp.contains(getattr(value, n, _MISSING)):
                return False
        return True

    def outside(self, value: Any) -> list[str]:
        """The fields of ``value`` that are not in their space (empty: it is in)."""
        return [n for n, sp in self.fields if not sp.contains(getattr(value, n, _MISSING))]

    def build(self, values: dict[str, Any]) -> Any:
        """A state from one value per field."""
        return self.make(**values)

    def describe(self) -> str:
        return "; ".join(f"{n}: {sp.describe()}" for n, sp in self.fields)


_MISSING = object()


def one_of(values: Iterable[Any]) -> OneOf:
    """A field holding one of ``values`` (at least one; duplicates are an error)."""
    choices = tuple(values)
    if not choices:
        raise SpecError("one_of needs at least one value")
    if len(set(choices)) != len(choices):
        raise SpecError(f"one_of: repeated values in {choices!r}")
    return OneOf(choices)


def tuple_of(length: int, element: Space) -> TupleOf:
    """A tuple of ``length`` values, each from ``element`` (a per-node variable)."""
    if not isinstance(length, int) or length < 0:
        raise SpecError(f"tuple_of: length must be a non-negative integer, not {length!r}")
    if not isinstance(element, Space):
        raise SpecError(f"tuple_of: the element must be a space (one_of, ...), not "
                        f"{element!r}")
    return TupleOf(length, element)


def subset_of(universe: Iterable[Any]) -> SubsetOf:
    """A frozenset field: any subset of ``universe`` (duplicates are an error)."""
    elems = tuple(universe)
    if len(set(elems)) != len(elems):
        raise SpecError("subset_of: repeated elements in the universe")
    return SubsetOf(elems)


def states(state_type: Callable[..., Any], /, **fields: Space) -> StateSpace:
    """The state space: ``state_type(**{field: value})`` for a value of each field's
    space. A NamedTuple state type must have every field named."""
    declared = getattr(state_type, "_fields", None)
    if declared is not None:
        missing = [f for f in declared if f not in fields]
        extra = [f for f in fields if f not in declared]
        if missing or extra:
            what = (f"no space for {', '.join(missing)}" if missing
                    else f"{', '.join(extra)} is not a field")
            raise SpecError(f"states({getattr(state_type, '__name__', state_type)}): {what}")
        order = tuple(declared)
    else:
        order = tuple(fields)
    bad = [n for n in order if not isinstance(fields[n], Space)]
    if bad:
        raise SpecError(f"states: the space of {bad[0]} must be one_of, tuple_of or "
                        f"subset_of, not {fields[bad[0]]!r}")
    return StateSpace(state_type, tuple((n, fields[n]) for n in order))
