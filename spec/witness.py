"""Witnesses: why a property fails, in the property's own terms.

A property returns True when it holds; when it fails it may return a :class:`Witness`
instead of False. A witness is falsy, so every engine that asks ``if not fn(spec, s)``
works unchanged, and it is built only in the failing branch, so the hot path (a
property holding on millions of states) costs nothing more. A plain False still works:
the trace then has no explanation.

A witness names :class:`Fact` s: things true of the failing state (a vote, an election,
a log entry), each with a predicate on a state. The renderers (traces/explain.py) find,
for each fact, the step that established it, the last step before which the predicate
was false, and show those "key steps" before the full trace. The predicate reads the
spec's state type, never the view, so facts mean the same in every renderer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Fact", "Line", "Witness", "fallible"]


@dataclass(frozen=True, eq=False)
class Fact:
    """A fact a witness names: ``text`` as the summary reads it (``a2``, ``s1 elected``),
    ``holds(state)`` true in the states where it is established. The step that
    established it is the latest one whose predecessor state does not satisfy
    ``holds`` and whose state does, no later than the step of ``before`` when given
    (a vote counted for an election is established before that election)."""

    text: str
    holds: Callable[[Any], bool]
    before: Fact | None = None


#: One summary line: text and facts in reading order (a fact reads ``TEXT (step N)``).
Line = tuple["str | Fact", ...]


@dataclass(frozen=True, eq=False)
class Witness:
    """Why a property fails: a one-line ``reason``, summary ``lines`` naming the facts,
    and ``data``, the same facts as plain values (for tests and JSON). Always falsy:
    a property may return it where it would return False."""

    reason: str
    lines: Sequence[Line] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    def __bool__(self) -> Literal[False]:
        return False

    def facts(self) -> list[Fact]:
        """Every fact the lines name, and the facts they must precede, once each, in
        reading order."""
        seen: dict[int, Fact] = {}

        def visit(f: Fact) -> Iterator[Fact]:
            if id(f) not in seen:
                seen[id(f)] = f
                yield f
            if f.before is not None:
                yield from visit(f.before)

        out: list[Fact] = []
        for line in self.lines:
            for part in line:
                if isinstance(part, Fact):
                    out.extend(visit(part))
        return out

    def __repr__(self) -> str:
        return f"Witness({self.reason!r}, data={dict(self.data)!r})"


def fallible(build: Callable[..., Witness]) -> Callable[..., Witness | bool]:
    """Wrap a witness builder so that one that raises (on a state its author did not
    foresee) yields a plain False: the violation is still reported, unexplained, instead
    of turning into an error of the spec. The builders' own tests catch such bugs."""

    @functools.wraps(build)
    def wrapper(*args: Any, **kwargs: Any) -> Witness | bool:
        try:
            return build(*args, **kwargs)
        except Exception:
            return False

    # Its result is always falsy (a Witness or False): what it reads does not decide
    # whether the property calling it holds (agree.spec.reads uses this).
    wrapper.always_falsy = True  # type: ignore[attr-defined]
    return wrapper
