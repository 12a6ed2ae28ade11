"""`agree check SPEC --from TRACE.json[:K]`: exhaustive search from a state a trace reaches.

Breadth-first search from Init cannot reach a counterexample that needs more steps than its
levels can hold (each Raft level is ~1.3x the last). Starting the same search from the state
reached after step K of a trace cuts those K steps off its depth. The start state stays
honest: the trace's first K steps must replay on SPEC itself (with the parameters given on
the command line, reaching the very states the file records, every one inside SPEC's
state constraint), so the start state is
reachable from Init and any violation found from it is one of SPEC's behaviours. A
violation's trace is written as the replayed prefix followed by the shortest suffix from the
start state: a trace from Init like any other (``agree trace show`` and loading replay it).

The search itself is the unchanged checker: the spec is copied and the copy's ``init``
yields the one start state; everything else is the spec's own.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agree.checker.core import initial_states
from agree.checker.result import CheckResult
from agree.protocols import registry
from agree.spec import Spec, SpecError
from agree.traces.trace import Step, Trace, TraceError, encode_value, load_trace, replay

__all__ = ["FROM_REFUSED", "StartPoint", "common_prefix", "parse_from", "prefix_trace",
           "prepare", "search_from", "splice", "starting_at"]

#: What a search from a trace's state leaves out (it checks safety on one process's BFS).
FROM_REFUSED = ("--from checks safety properties only, without --graph, --checkpoint, "
                "--resume or --ray")


@dataclass(frozen=True)
class StartPoint:
    """Where a search starts: the trace file, how many of its steps, and those steps
    replayed on the spec being checked (``init`` is an initial state of that spec)."""

    file: str
    step: int
    init: Any
    steps: tuple[Step, ...]

    @property
    def state(self) -> Any:
        """The start state: the one reached after the prefix."""
        return self.steps[-1].state if self.steps else self.init

    def prepend(self, tr: Trace) -> Trace:
        """``tr``, found from the start state, with the prefix before it: a trace from
        Init."""
        if encode_value(tr.init) != encode_value(self.state):
            raise SpecError("a trace found from --from does not begin at the start state")
        return Trace(tr.spec, tr.params, self.init, [*self.steps, *tr.steps], tr.property,
                     tr.kind, None if tr.loop is None else tr.loop + self.step)

    def describe(self) -> str:
        """One line for reports."""
        return (f"starting from step {self.step} of {self.file} (reached from Init by a "
                f"replayed prefix of {self.step} step{'s' if self.step != 1 else ''}); depth "
                "and states count from there")


def parse_from(text: str) -> tuple[str, int | None]:
    """``FILE`` or ``FILE:K`` -> (file, K or None for the trace's last state)."""
    path, sep, tail = text.rpartition(":")
    if sep and tail.isdigit():
        return path, int(tail)
    if sep and tail.lstrip("-").isdigit():
        raise SpecError(f"--from {text}: the step must be 0 or more")
    return text, None


def prepare(spec: Spec[Any], text: str) -> StartPoint:
    """Load ``--from FILE[:K]``, replay its first K steps on ``spec`` and check every state
    they reach lies inside the state constraint. Raises TraceError / SpecError (exit 2)."""
    path, k = parse_from(text)
    if not Path(path).is_file():
        raise TraceError(f"--from: no trace file {path}")
    trace = load_trace(path, registry.resolve)  # validates the file on its own spec
    if k is None:
        k = len(trace)
    if k > len(trace):
        raise SpecError(f"--from {text}: the trace has only {len(trace)} steps")
    inits = [s for s in initial_states(spec) if encode_value(s) == encode_value(trace.init)]
    if not inits:
        raise TraceError(f"--from {path}: its initial state is not an initial state of "
                         f"{spec.name} {_params(spec)}")
    raw = [(s.action, [encode_value(a) for a in s.args]) for s in trace.steps[:k]]
    try:  # the same steps and the same states as the file records
        steps = replay(spec, inits[0], raw, [encode_value(s.state) for s in trace.steps[:k]])
    except TraceError as exc:
        raise TraceError(f"--from {path}: the prefix does not replay on {spec.name} "
                         f"{_params(spec)}: {exc}") from None
    for n, st in enumerate(steps, 1):
        if not spec.constraint(st.state):
            raise TraceError(f"--from {path}: step {n} leaves {spec.name}'s state "
                             f"constraint {_params(spec)}")
    return StartPoint(path, k, inits[0], tuple(steps))


def _params(spec: Spec[Any]) -> str:
    return "(" + " ".join(f"{k}={v}" for k, v in spec.param_values().items()) + ")"


def starting_at(spec: Spec[Any], state: Any, symmetry: bool = False) -> Spec[Any]:
    """A copy of ``spec`` whose only initial state is ``state``; everything else is the
    spec's own (forked workers inherit the copy as they inherit the spec). With
    ``symmetry`` the initial states are ``state`` then the rest of its orbit, so the set is
    closed under the symmetry (as --symmetry requires) and still one orbit: the search and
    its traces start from ``state`` itself."""
    starts = [state]
    if symmetry:
        from agree.checker.symmetry import group

        for g in group(spec)[1:]:
            image = spec.permute(state, g)
            if image not in starts:
                starts.append(image)

    def init() -> Iterator[Any]:
        yield from starts

    clone = copy.copy(spec)
    clone.__dict__["init"] = init
    return clone


def search_from(spec: Spec[Any], start: StartPoint | str, symmetry: bool = False,
                ) -> tuple[StartPoint, Spec[Any]]:
    """The start point (``FILE[:K]`` is loaded and replayed by :func:`prepare`) and the copy
    of ``spec`` whose search begins at its state (:func:`starting_at`): what
    ``check(start=...)`` and ``agree bmc --from`` search."""
    point = prepare(spec, start) if isinstance(start, str) else start
    return point, starting_at(spec, point.state, symmetry)


def splice(result: CheckResult, start: StartPoint) -> list[int]:
    """Prepend the prefix to every violation's trace, in place, so each reads from Init;
    records ``start`` and the suffix lengths (the steps search found) in ``result`` and
    returns those lengths."""
    found = []
    for v in result.violations:
        if v.trace is None:
            continue
        found.append(len(v.trace.steps))
        v.trace = start.prepend(v.trace)
    result.start, result.found_steps = start, found
    return found


def prefix_trace(trace: Trace, k: int, spec: Spec[Any]) -> Trace:
    """The first ``k`` steps of ``trace`` replayed on ``spec`` (another spec, e.g. the
    correct protocol beside a zoo variant's scenario), as a trace of ``spec`` with no
    property: a file for ``--from``. Raises TraceError where a step does not replay to the
    state the trace records."""
    inits = [s for s in spec.init() if encode_value(s) == encode_value(trace.init)]
    if not inits:
        raise TraceError(f"the trace's initial state is not one of {spec.name}'s")
    raw = [(s.action, [encode_value(a) for a in s.args]) for s in trace.steps[:k]]
    states = [encode_value(s.state) for s in trace.steps[:k]]
    return Trace(spec.name, spec.param_values(), inits[0], replay(spec, inits[0], raw, states))


def common_prefix(trace: Trace, spec: Spec[Any]) -> int:
    """How many of ``trace``'s first steps ``spec`` replays to the very states recorded:
    the longest prefix that is a behaviour of ``spec`` too."""
    k = 0
    while k < len(trace):
        try:
            prefix_trace(trace, k + 1, spec)
        except TraceError:
            break
        k += 1
    return k
