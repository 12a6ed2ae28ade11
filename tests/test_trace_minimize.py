"""Minimization: steps that do not matter are removed, smaller configurations are found,
and both are reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from _golden import GOLDEN_DIR

from agree.checker.minimize import _fails, _replay_lenient, minimize_config, minimize_steps
from agree.cli.main import main
from agree.protocols.registry import resolve
from agree.traces.trace import Trace, load_trace, save_trace

GOLDEN = GOLDEN_DIR / "paxos-article.agreement.json"


def _padded(trace: Trace, props: list, spec: object, extra: int) -> tuple[Trace, list[str]]:
    """The trace with ``extra`` irrelevant steps inserted (each kept only if the rest still
    replays and the property still fails exactly at the end)."""
    prop = next(p for p in props if p.name == trace.property)
    steps = list(trace.steps)
    inserted: list[str] = []
    i = 0
    while len(inserted) < extra and i < len(steps):
        state = steps[i - 1].state if i else trace.init
        for tr in spec.successors(state):  # type: ignore[attr-defined]
            from agree.traces.trace import Step

            cand = [*steps[:i], Step(tr.label, tr.action.label, tr.args, tr.state), *steps[i:]]
            replayed = _replay_lenient(spec, trace.init, cand)  # type: ignore[arg-type]
            if replayed and _fails(spec, prop, trace.init, replayed) == len(replayed):  # type: ignore[arg-type]
                steps = replayed
                inserted.append(tr.label)
                break
        i += 2
    return Trace(trace.spec, trace.params, trace.init, steps, trace.property, trace.kind), inserted


def test_steps_that_do_not_matter_are_removed() -> None:
    trace = load_trace(GOLDEN, resolve)
    spec, props = resolve(trace.spec, trace.params)
    props = [*spec.declared_properties(), *props]
    padded, inserted = _padded(trace, props, spec, 4)
    assert len(inserted) == 4 and len(padded) == len(trace) + 4
    shrunk = minimize_steps(spec, padded, props)
    assert len(shrunk.trace) == len(trace)  # back to the BFS length, not below it
    assert sorted(shrunk.removed) == sorted(inserted)
    prop = next(p for p in props if p.name == "agreement")
    assert _fails(spec, prop, trace.init, shrunk.trace.steps) == len(shrunk.trace)


def test_a_golden_trace_shrinks_to_a_smaller_configuration() -> None:
    trace = load_trace(GOLDEN, resolve)
    search = minimize_config(trace, resolve)
    smaller = search.best
    assert smaller is not None and search.tried == 5 and search.inconclusive == 0
    assert smaller.removed == ["acceptors 3 -> 1"]
    assert smaller.trace.params == {**trace.params, "acceptors": 1}
    assert len(smaller.trace) < len(trace)  # 8 steps instead of BFS's 12 with 3 acceptors


def test_minimize_command_reports_what_it_removed(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    trace = load_trace(GOLDEN, resolve)
    spec, props = resolve(trace.spec, trace.params)
    padded, inserted = _padded(trace, [*spec.declared_properties(), *props], spec, 2)
    src = tmp_path / "padded.json"
    save_trace(padded, src)
    out = tmp_path / "small.json"
    assert main(["trace", "minimize", str(src), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"agreement fails in {len(padded)} steps" in text
    assert "removed 2 steps that do not matter" in text
    assert all(f"  - {label}" in text for label in inserted)
    assert "smaller configuration still fails" in text and "acceptors 3 -> 1" in text
    small = load_trace(out, resolve)
    assert small.params["acceptors"] == 1 and len(small) == 8
    assert f"result: {len(small)} steps" in text


def test_minimize_refuses_a_lasso(capsys: pytest.CaptureFixture[str]) -> None:
    lasso = Path(__file__).resolve().parent / "data" / "paxos-liveness.value_chosen.lasso.json"
    assert main(["trace", "minimize", str(lasso)]) == 2
    assert "lassos (liveness traces) are not shrunk" in capsys.readouterr().err
