"""Every renderer on every golden trace (and the dueling-proposers lasso), against golden
output under tests/golden_render/.

Rewrite the render goldens deliberately, then review the diff:
    AGREE_REWRITE_GOLDENS=1 pytest tests/test_trace_render.py
A golden trace without its render goldens fails here (write them as above).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from _golden import golden_files

from agree.protocols.registry import resolve
from agree.spec import Property, Spec
from agree.traces.chart import Chart, chart_of
from agree.traces.explain import explain
from agree.traces.html import render_html
from agree.traces.itf import from_itf, to_itf
from agree.traces.mermaid import chart_mermaid
from agree.traces.msc import render_chart
from agree.traces.plantuml import chart_plantuml
from agree.traces.text import render_text, render_truth_table
from agree.traces.trace import Trace, load_trace, to_json

REWRITE = os.environ.get("AGREE_REWRITE_GOLDENS") == "1"
HERE = Path(__file__).resolve().parent
RENDER_DIR = HERE / "golden_render"
INPUTS = [*golden_files(), *sorted((HERE / "data").glob("*.lasso.json"))]


def _load(path: Path) -> tuple[Trace, Spec, list[Property]]:
    trace = load_trace(path, resolve)
    spec, props = resolve(trace.spec, trace.params)
    return trace, spec, list(dict.fromkeys((*spec.declared_properties(), *props)))


def _show(spec: Spec, trace: Trace, props: list[Property]) -> str:
    """What `agree trace show FILE` prints."""
    return "\n".join([render_text(spec, trace, explanation=explain(spec, trace, props)),
                      render_truth_table(spec, trace, props), render_chart(spec, trace)])


def _chart(export: Callable[[Chart], str]) -> Callable[[Spec, Trace, list[Property]], str]:
    """What `agree trace chart FILE --format ...` writes: the chart with the explanation."""
    return lambda spec, trace, props: export(chart_of(spec, trace, explain(spec, trace, props)))


RENDERERS = {
    "show.txt": _show,
    "html": render_html,
    "itf.json": lambda spec, trace, props: json.dumps(to_itf(trace), indent=1) + "\n",
    "mmd": _chart(chart_mermaid),
    "puml": _chart(chart_plantuml),
}


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
def test_every_renderer_tells_the_whole_story(path: Path) -> None:
    trace, spec, props = _load(path)
    text = _show(spec, trace, props)
    page = render_html(spec, trace, props)
    for step in trace.steps:
        assert step.label in text
        assert step.label.replace("<", "&lt;").replace(">", "&gt;") in page
    assert trace.property is not None and trace.property in text and trace.property in page
    assert "<script src" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")  # self-contained: nothing to fetch
    if trace.loop is not None:
        assert "loops back" in text and "loop starts" in page
    why = explain(spec, trace, props)
    assert bool(why) == (trace.loop is None)  # every golden safety trace is explained
    for line in why.summary:
        assert f"  {line}\n" in text and f"<li>{line}</li>" in page.replace("&gt;", ">")
    for n in why.key_steps:
        assert f"Step {n}: {trace.steps[n - 1].label}   [key step]\n" in text
    doc = to_itf(trace)
    assert len(doc["states"]) == len(trace.states) - (0 if trace.loop in (None, len(trace))
                                                      else 1)
    assert doc.get("loop") == trace.loop


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_render_matches_golden(path: Path, renderer: str) -> None:
    trace, spec, props = _load(path)
    fresh = RENDERERS[renderer](spec, trace, props)
    golden = RENDER_DIR / f"{path.stem}.{renderer}"
    if REWRITE:
        if not golden.exists() or golden.read_text() != fresh:
            RENDER_DIR.mkdir(exist_ok=True)
            golden.write_text(fresh)
            pytest.skip(f"rewrote {golden.name}")
    assert golden.exists(), (f"no render golden for {path.name}: AGREE_REWRITE_GOLDENS=1 "
                             "pytest tests/test_trace_render.py writes it")
    assert fresh == golden.read_text(), (
        f"{golden.name} changed: review, rewrite with AGREE_REWRITE_GOLDENS=1")


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
def test_itf_round_trip(path: Path) -> None:
    trace, _, _ = _load(path)
    back = from_itf(json.loads(json.dumps(to_itf(trace))), resolve)
    assert to_json(back) == to_json(trace)
