"""What a check returns: data, printed by the CLI and queried by tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agree.traces.trace import Trace, to_json

if TYPE_CHECKING:
    from agree.checker.start_from import StartPoint

__all__ = ["ActionStats", "CheckResult", "Progress", "SpecRuntimeError", "Violation"]

ViolationKind = Literal["invariant", "action", "sometimes", "deadlock"]


class SpecRuntimeError(Exception):
    """The spec itself raised while being explored: a bug in the spec, reported
    with the action and the state where it happened."""

    def __init__(self, message: str, trace: Trace | None = None) -> None:
        super().__init__(message)
        self.trace = trace


@dataclass
class ActionStats:
    """Per-action coverage: successors generated, and new distinct states found."""

    generated: int = 0
    distinct: int = 0


@dataclass
class Violation:
    """A property that failed, with a shortest trace (none for ``sometimes``)."""

    property: str
    kind: ViolationKind
    trace: Trace | None
    message: str = ""


@dataclass
class Progress:
    """A snapshot for progress reports during long runs."""

    distinct: int
    generated: int
    depth: int
    queue: int
    seconds: float

    @property
    def states_per_second(self) -> float:
        return self.distinct / self.seconds if self.seconds > 0 else 0.0


@dataclass
class CheckResult:
    """The outcome of an exhaustive check.

    ``depth`` counts like TLC: the initial states are level 1, so a depth of 25
    means the longest shortest path has 24 steps. ``complete`` is False when a
    budget or a first violation stopped the search early.
    """

    spec: str
    params: dict[str, Any]
    properties: list[str]
    distinct: int = 0
    generated: int = 0
    depth: int = 0
    seconds: float = 0.0
    coverage: dict[str, ActionStats] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    complete: bool = True
    stopped: str | None = None
    symmetry: bool = False
    collision_probability: float = 0.0
    #: With ``check(start=...)``: where the search began (the traces read from Init, the
    #: replayed prefix then the suffix found) and the suffix lengths, one per trace.
    start: StartPoint | None = None
    found_steps: list[int] = field(default_factory=list)

    @property
    def states_per_second(self) -> float:
        return self.distinct / self.seconds if self.seconds > 0 else 0.0

    @property
    def verdict(self) -> Literal["holds", "violated", "incomplete"]:
        if self.violations:
            return "violated"
        return "holds" if self.complete else "incomplete"

    @property
    def exit_code(self) -> int:
        """0 all hold, 1 a property violated, 3 budget exhausted first."""
        return {"holds": 0, "violated": 1, "incomplete": 3}[self.verdict]

    def violation(self, name: str) -> Violation | None:
        """The violation of property ``name``, if any."""
        return next((v for v in self.violations if v.property == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "params": self.params,
            "verdict": self.verdict,
            "properties": self.properties,
            "distinct": self.distinct,
            "generated": self.generated,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second, 1),
            "complete": self.complete,
            "stopped": self.stopped,
            "collision_probability": self.collision_probability,
            "coverage": {k: {"generated": v.generated, "distinct": v.distinct}
                         for k, v in self.coverage.items()},
            "violations": [
                {"property": v.property, "kind": v.kind, "message": v.message,
                 "trace": to_json(v.trace) if v.trace is not None else None}
                for v in self.violations
            ],
        }
