"""The chart exports through the official renderers: Mermaid's CLI (mmdc, driving
chromium) and PlantUML. Every golden trace, a chart with key steps and a chart of
hostile labels must render, and every label must come out as the text it stands for
(escaping that a renderer reads differently shows up here).

Skipped, saying why, where a renderer is not installed: .ci/setup.d/20-plantuml.sh and
25-mermaid-cli.sh install them (mmdc under /opt/agree-mermaid-cli, or set AGREE_MMDC).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_trace_chart import INPUTS, _drawn, _load, _nasty_chart

from agree.protocols.registry import resolve
from agree.traces.chart import Chart, build_chart, chart_of
from agree.traces.explain import explain
from agree.traces.mermaid import chart_mermaid
from agree.traces.plantuml import chart_plantuml

pytestmark = pytest.mark.integration
MMDC_DEFAULT = Path("/opt/agree-mermaid-cli/node_modules/.bin/mmdc")


def _charts() -> list[Chart]:
    """What `agree trace chart` writes for every golden trace (explained), one plain chart,
    and a chart of hostile labels."""
    charts = []
    for path in INPUTS:
        trace, spec = _load(path)
        _, props = resolve(trace.spec, trace.params)
        charts.append(chart_of(spec, trace, explain(spec, trace, props)))
    charts.append(build_chart(*reversed(_load(INPUTS[0]))))
    charts.append(_nasty_chart())
    return charts


def _expected_texts(chart: Chart) -> list[str]:
    """Labels each rendering must show verbatim: every arrow's, every step's."""
    labels = [label for *_, label in _drawn(chart)]
    return [*labels, *(f"{s.n}. {s.label}" for s in chart.steps), *chart.summary]


def _svg_texts(svg: str) -> str:
    """All text an SVG shows, tags stripped, entities decoded, one string."""
    return html.unescape(re.sub(r"<[^>]+>", "\n", svg))


def _mmdc() -> str | None:
    found = os.environ.get("AGREE_MMDC") or shutil.which("mmdc")
    if found:
        return found
    return str(MMDC_DEFAULT) if MMDC_DEFAULT.exists() else None


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_mmdc() is None or _chromium() is None,
                    reason="mmdc (Mermaid's CLI) or chromium is not installed "
                    "(.ci/setup.d/10-chromium.sh and 25-mermaid-cli.sh install them)")
def test_mermaid_renders_with_the_official_cli(tmp_path: Path) -> None:
    charts = _charts()
    doc = tmp_path / "charts.md"
    doc.write_text("".join(f"```mermaid\n{chart_mermaid(c)}```\n\n" for c in charts))
    config = tmp_path / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": _chromium(),
                                  "args": ["--no-sandbox", "--disable-gpu"]}))
    out = tmp_path / "out.md"
    done = subprocess.run([str(_mmdc()), "-p", str(config), "-i", str(doc), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for i, chart in enumerate(charts, 1):
        shown = _svg_texts((tmp_path / f"out-{i}.svg").read_text())
        assert "Syntax error" not in shown, chart.title
        for text in _expected_texts(chart):
            assert text in shown, f"{chart.title}: {text!r} not rendered as such"


@pytest.mark.skipif(shutil.which("plantuml") is None,
                    reason="plantuml is not installed (.ci/setup.d/20-plantuml.sh installs it)")
def test_plantuml_renders(tmp_path: Path) -> None:
    charts = _charts()
    sources = []
    for i, chart in enumerate(charts):
        src = tmp_path / f"chart{i}.puml"
        src.write_text(chart_plantuml(chart))
        sources.append(src)
    check = subprocess.run(["plantuml", "-syntax"], input=sources[0].read_text(),
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "SEQUENCE" in check.stdout, check.stdout + check.stderr
    done = subprocess.run(["plantuml", "-tsvg", "-failfast2", *map(str, sources)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for src, chart in zip(sources, charts, strict=True):
        shown = _svg_texts(src.with_suffix(".svg").read_text())
        assert "Syntax Error" not in shown, chart.title
        for text in _expected_texts(chart):
            assert text in shown, f"{chart.title}: {text!r} not rendered as such"
