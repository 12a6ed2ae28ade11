"""The protocol-independent half of conformance: keep the spec behaviour matched so
far, judge each implementation step, and explain a failure as a readable trace.

An adapter (raft_driver.py, paxos_adapter.py) drives its implementation one
environment choice at a time and calls :meth:`Recorder.judge` with the hints and
the mapped state; the recorder matches the step (matcher.py), checks every
property on the spec states passed through, and raises
:class:`ConformanceFailure` with the trace rendered by traces/text.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agree.conformance.matcher import (
    Adjust,
    Diff,
    Hint,
    Match,
    Mismatch,
    Project,
    check_properties,
    match_step,
)
from agree.spec import Property, Spec, Transition
from agree.traces.text import render_text
from agree.traces.trace import Step, Trace

__all__ = ["ConformanceFailure", "Recorder", "RuleRecord"]


class ConformanceFailure(AssertionError):
    """The implementation took a step the spec does not allow, or broke a property.

    ``kind`` is "step" or "property"; ``trace`` the spec behaviour up to the failure
    (its last step the implementation's, for a step failure); ``text`` the report."""

    def __init__(self, kind: str, text: str, trace: Trace) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.trace = trace


@dataclass
class RuleRecord:
    """One environment choice and the spec steps that explained it."""

    rule: str
    steps: list[Transition[Any]]
    blind: bool = False


class Recorder:
    """The spec behaviour so far, and the judge of the next implementation step."""

    def __init__(self, spec: Spec[Any], properties: Sequence[Property], project: Project,
                 diff: Diff, unproject: Callable[[Any, Any], Any],
                 adjust: Adjust | None = None) -> None:
        self.spec = spec
        self.properties = [p for p in properties if p.kind in ("invariant", "action")]
        self.project = project
        self.diff = diff
        self.unproject = unproject
        self.adjust = adjust
        self.init = next(iter(spec.init()))
        self.state = self.init
        self.records: list[RuleRecord] = []

    def check_initial(self, mapped: Any) -> None:
        """The implementation's initial state must map onto the spec's initial state."""
        if self.project(self.init) != mapped:
            lines = [f"  {d}" for d in self.diff(self.project(self.init), mapped)]
            trace = self.trace("conformance", "step")
            raise ConformanceFailure("step", "the implementation does not start in the spec's "
                                     "initial state:\n" + "\n".join(lines), trace)

    def judge(self, rule: str, hints: Sequence[Hint], mapped: Any) -> Match:
        """Explain ``rule``'s effect by spec steps, or raise ConformanceFailure."""
        if self.adjust is not None:
            result = match_step(self.spec, self.state, hints, mapped, self.project, self.diff,
                                self.adjust)
        else:
            result = match_step(self.spec, self.state, hints, mapped, self.project, self.diff)
        if isinstance(result, Mismatch):
            raise self._step_failure(rule, result, mapped)
        bad = check_properties(self.spec, self.properties, self.state, result.steps)
        self.records.append(RuleRecord(rule, result.steps, result.blind))
        if result.steps:
            self.state = result.steps[-1].state
        if bad is not None:
            name, _ = bad
            trace = self.trace(name, "invariant")
            text = (f"property {name} violated by the implementation after: {rule}\n\n"
                    + render_text(self.spec, trace))
            raise ConformanceFailure("property", text, trace)
        return result

    def trace(self, prop: str | None = None, kind: str | None = None,
              extra: Sequence[Step] = ()) -> Trace:
        """The matched spec behaviour as a trace; each step's label names its rule."""
        steps = []
        for n, rec in enumerate(self.records, 1):
            for t in rec.steps:
                steps.append(Step(f"{t.label}   [choice {n}: {rec.rule}]", t.action.label,
                                  t.args, t.state))
        steps.extend(extra)
        return Trace(self.spec.name, self.spec.param_values(), self.init, steps, prop, kind)

    def _step_failure(self, rule: str, miss: Mismatch, mapped: Any) -> ConformanceFailure:
        n = len(self.records) + 1
        followed = [Step(f"{t.label}   [choice {n}: {rule}, as the implementation claims]",
                         t.action.label, t.args, t.state) for t in miss.followed]
        shown = self.unproject(mapped, miss.reached)
        last = Step(f"IMPLEMENTATION STATE after choice {n}: {rule}", "Implementation", (), shown)
        trace = self.trace("conformance", "step", [*followed, last])
        claimed = ", ".join(miss.hints) or "nothing (a stutter)"
        lines = [f"the implementation took a step the spec does not allow, at choice {n}: {rule}",
                 f"it claims the spec steps: {claimed}"]
        if miss.stuck_at:
            lines.append(f"the spec cannot take {miss.stuck_at} there (not enabled)")
        lines.append("where the spec's state and the implementation's differ:")
        lines += [f"  {d}" for d in miss.differences] or ["  (no difference in mapped variables)"]
        text = "\n".join(lines) + "\n\n" + render_text(self.spec, trace)
        return ConformanceFailure("step", text, trace)

    def summary(self) -> dict[str, int]:
        """How often each spec action was matched (coverage of the spec by the run)."""
        out: dict[str, int] = {}
        for rec in self.records:
            for t in rec.steps:
                out[t.action.label] = out.get(t.action.label, 0) + 1
        return dict(sorted(out.items()))
