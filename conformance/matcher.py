"""Matching one implementation step to spec steps: the judge of conformance.

After every environment choice the harness has three things: the previous spec
state (reached by spec steps only, so it carries the spec's history variables),
the implementation's new state mapped onto the spec's variables (a *projection*:
no history), and *hints*: the spec actions the implementation says it did (its
trace events, translated by the adapter). The implementation may do several spec
actions in one choice (a candidate's timeout is Timeout, RequestVote to itself,
its handling and the reply's, then RequestVote to each peer), or none (a stutter).

:func:`match_step` searches, depth first, for a sequence of spec transitions that
follows the hints and ends in a state whose projection equals the mapped one. A
hint only proposes: every step taken is a successor the spec computes, and the
end state must agree with the implementation, so a lying hint cannot make a bad
step pass. When the hints lead nowhere, a bounded blind search over all spec
successors (depth ``blind_depth``, ``blind_budget`` states) gives the step a second
chance before it is declared not a step of the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agree.spec import Property, Spec, Transition

__all__ = ["Hint", "Match", "Mismatch", "check_properties", "match_step"]


@dataclass(frozen=True)
class Hint:
    """One spec step the implementation claims: an action label and a way to propose its
    candidate transitions from a spec state (each the spec's own successor)."""

    label: str
    candidates: Callable[[Any], Iterable[Transition[Any]]]
    note: str = ""


def action_hint(spec: Spec[Any], label: str, args: tuple[Any, ...], note: str = "",
                answers: Any = None) -> Hint:
    """The hint of one step of ``spec``'s action ``label`` with ``args``, taken where it
    is enabled; with ``answers`` (a message), only from states where that message was
    sent (``s.msgs``): a reply to a message never sent explains nothing."""
    act = spec.action(label)

    def candidates(s: Any) -> Iterator[Transition[Any]]:
        if answers is not None and answers not in s.msgs:
            return
        nxt = act.fn(s, *args)
        if nxt is not None:
            yield Transition(act, args, nxt)
    return Hint(label, candidates, note)


@dataclass
class Match:
    """The spec transitions that explain one implementation step (empty: a stutter)."""

    steps: list[Transition[Any]]
    blind: bool = False

    @property
    def labels(self) -> list[str]:
        return [t.label for t in self.steps]


@dataclass
class Mismatch:
    """No spec steps explain the implementation step: what was tried and what differed."""

    hints: list[str]
    reached: Any  # the spec state the hints led to (as far as they went)
    followed: list[Transition[Any]] = field(default_factory=list)
    stuck_at: str | None = None  # the first hint no spec transition could take
    differences: list[str] = field(default_factory=list)


Project = Callable[[Any], Any]
Diff = Callable[[Any, Any], list[str]]
Adjust = Callable[[Any, Transition[Any]], Transition[Any]]


def _identity(prev: Any, t: Transition[Any]) -> Transition[Any]:
    return t


def match_step(spec: Spec[Any], prev: Any, hints: Sequence[Hint], mapped: Any,
               project: Project, diff: Diff, adjust: Adjust = _identity,
               blind_depth: int = 1, blind_budget: int = 5_000) -> Match | Mismatch:
    """Spec transitions from ``prev`` following ``hints`` whose end state projects to
    ``mapped``; a :class:`Mismatch` if neither the hints nor a blind search find one.

    ``adjust(prev, t)`` may rewrite a transition the adapter documents as a permitted
    deviation (the harness labels it); it must return ``t`` unchanged otherwise.
    """
    if not hints and project(prev) == mapped:
        return Match([])
    # the attempt that got furthest (state, followed, stuck label, differences); of
    # those that got as far, the one whose end differs from the log in fewest variables
    best: list[Any] = [None, [], None, None]

    def consider(state: Any, path: list[Transition[Any]], stuck: str | None) -> None:
        # (attempts that got as far are alike: all stuck at one hint, or all at the end)
        if best[0] is None or len(path) > len(best[1]):
            best[:] = state, list(path), stuck, None
        elif len(path) == len(best[1]):
            if best[3] is None:
                best[3] = diff(project(best[0]), mapped)
            differences = diff(project(state), mapped)
            if len(differences) < len(best[3]):
                best[:] = state, list(path), stuck, differences

    def dfs(state: Any, k: int, path: list[Transition[Any]]) -> list[Transition[Any]] | None:
        if k == len(hints):
            if project(state) == mapped:
                return path
            consider(state, path, None)
            return None
        tried = False
        for t in hints[k].candidates(state):
            tried = True
            t = adjust(state, t)
            found = dfs(t.state, k + 1, [*path, t])
            if found is not None:
                return found
        if not tried:
            consider(state, path, hints[k].label)
        return None

    found = dfs(prev, 0, [])
    if found is not None:
        return Match(found)
    blind = _blind(spec, prev, mapped, project, adjust, blind_depth, blind_budget)
    if blind is not None:
        return Match(blind, blind=True)
    reached = best[0] if best[0] is not None else prev
    return Mismatch([h.label for h in hints], reached, best[1], best[2],
                    best[3] if best[3] is not None else diff(project(reached), mapped))


def _blind(spec: Spec[Any], prev: Any, mapped: Any, project: Project, adjust: Adjust,
           depth: int, budget: int) -> list[Transition[Any]] | None:
    """Breadth-first: any sequence of at most ``depth`` spec steps ending at ``mapped``."""
    frontier: list[tuple[Any, list[Transition[Any]]]] = [(prev, [])]
    seen = {prev}
    for _ in range(depth):
        nxt: list[tuple[Any, list[Transition[Any]]]] = []
        for state, path in frontier:
            for t in spec.successors(state):
                t = adjust(state, t)
                if t.state in seen:
                    continue
                seen.add(t.state)
                if project(t.state) == mapped:
                    return [*path, t]
                if len(seen) > budget:
                    return None
                nxt.append((t.state, [*path, t]))
        frontier = nxt
    return None


def check_properties(spec: Spec[Any], properties: Sequence[Property], prev: Any,
                     steps: Sequence[Transition[Any]]) -> tuple[str, int] | None:
    """The first (property name, step number) violated along ``steps`` from ``prev``,
    checking invariants on every state reached and action properties on every step."""
    state = prev
    for n, t in enumerate(steps):
        for p in properties:
            if p.kind == "invariant" and not p.holds(spec, t.state):
                return p.name, n
            if p.kind == "action" and not p.holds(spec, state, t.state):
                return p.name, n
        state = t.state
    return None
