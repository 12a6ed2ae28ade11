"""`agree trace chart`: the Mermaid, PlantUML and SVG exports of a trace's sequence chart.

Mermaid is checked here by a grammar of the subset we emit (every line parses, blocks
balance, every participant is declared, and each label decodes back to the event it
draws); the official renderers run in tests/test_trace_chart_tools.py. The exports of
every golden trace are pinned in tests/test_trace_render.py.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _cli import assert_refused, run
from _golden import golden_files

from agree.protocols.registry import resolve
from agree.spec import Spec
from agree.traces.chart import Chart, ChartStep, build_chart, chart_of
from agree.traces.events import Event
from agree.traces.explain import explain
from agree.traces.mermaid import chart_mermaid, escape_mermaid
from agree.traces.plantuml import chart_plantuml, escape_plantuml
from agree.traces.svg import chart_svg
from agree.traces.trace import Trace, load_trace

HERE = Path(__file__).resolve().parent
INPUTS = [*golden_files(), *sorted((HERE / "data").glob("*.lasso.json"))]
ARTICLE = next(p for p in INPUTS if p.name == "paxos-article.agreement.json")
SVG = "{http://www.w3.org/2000/svg}"

# -- a grammar of the Mermaid subset we emit ------------------------------------------

_TXT = r"(?:[^#;<\n]|#(?:\d+|[a-z]+);)+"
_ID = r"[A-Za-z][A-Za-z0-9_]*"
_LINE = {
    "title": re.compile(rf"title (?P<text>{_TXT})$"),
    "participant": re.compile(rf"participant (?P<id>{_ID})(?: as (?P<text>{_TXT}))?$"),
    "note": re.compile(rf"Note over (?P<a>{_ID})(?:,(?P<b>{_ID}))?: (?P<text>{_TXT})$"),
    "arrow": re.compile(rf"(?P<a>{_ID})(?P<arrow>->>|-->>|--x|-\))(?P<b>{_ID}): "
                        rf"(?P<text>{_TXT})$"),
    "rect": re.compile(r"rect rgba?\(\d+, \d+, \d+(?:, [\d.]+)?\)$"),
    "loop": re.compile(rf"loop (?P<text>{_TXT})$"),
    "end": re.compile(r"end$"),
}
_ARROW_KIND = {"->>": {"send", "deliver"}, "-->>": {"interact"}, "--x": {"drop"},
               "-)": {"duplicate"}}


def _decode(text: str) -> str:
    named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
    return re.sub(r"#(\d+|[a-z]+);",
                  lambda m: chr(int(m.group(1))) if m.group(1).isdigit() else named[m.group(1)],
                  text)


def parse_mermaid(text: str) -> list[tuple[str, dict[str, str]]]:
    """Every statement as (kind, fields); fails on anything outside the subset."""
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram", lines[0]
    out: list[tuple[str, dict[str, str]]] = []
    declared: set[str] = set()
    depth = 0
    for n, raw in enumerate(lines[1:], 2):
        line = raw.strip()
        assert raw == " " * (4 * (depth + 1) - (4 if line == "end" else 0)) + line, (
            f"line {n}: indentation: {raw!r}")
        found = [(kind, m) for kind, rx in _LINE.items() if (m := rx.match(line))]
        assert len(found) == 1, f"line {n} is not in the Mermaid subset: {raw!r}"
        kind, m = found[0]
        fields = {k: v for k, v in m.groupdict().items() if v is not None}
        if kind == "participant":
            assert fields["id"] not in declared, f"line {n}: {fields['id']} declared twice"
            declared.add(fields["id"])
        for end in ("a", "b"):
            if end in fields:
                assert fields[end] in declared, f"line {n}: {fields[end]} is not declared"
        if kind in ("rect", "loop"):
            depth += 1
        elif kind == "end":
            depth -= 1
            assert depth >= 0, f"line {n}: end without a block"
        if "text" in fields:
            fields["text"] = _decode(fields["text"])
        out.append((kind, fields))
    assert depth == 0, "a block is not closed"
    return out


def _load(path: Path) -> tuple[Trace, Spec]:
    trace = load_trace(path, resolve)
    spec, _ = resolve(trace.spec, trace.params)
    return trace, spec


def _drawn(chart: Chart) -> list[tuple[str, str, str, str]]:
    """(src, dst, kind, label) of every arrow the chart should draw, in order."""
    out = []
    for s in chart.steps:
        for e in s.events:
            if e.kind != "local":
                star = "★ " if chart.is_key(s.n, e) else ""
                out.append((e.src, e.dst, e.kind, star + (
                    e.message if e.kind == "interact" else f"{e.kind} {e.message}")))
    return out


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
def test_mermaid_of_every_golden_trace_parses_and_draws_every_event(path: Path) -> None:
    trace, spec = _load(path)
    chart = build_chart(spec, trace)
    statements = parse_mermaid(chart_mermaid(chart))
    participants = [f["id"] for k, f in statements if k == "participant"]
    assert tuple(participants) == chart.participants
    arrows = [(f["a"], f["b"], f["arrow"], f["text"]) for k, f in statements if k == "arrow"]
    expected = _drawn(chart)
    assert len(arrows) == len(expected)
    for (a, b, arrow, text), (src, dst, kind, label) in zip(arrows, expected, strict=True):
        assert (a, b, text) == (src, dst, label)
        assert kind in _ARROW_KIND[arrow]
    notes = [f["text"] for k, f in statements if k == "note"]
    for step in trace.steps:
        assert any(n.endswith(f". {step.label}") for n in notes), step.label
    assert (("loop" in dict(statements)) == (trace.loop is not None and trace.loop < len(trace)))
    if trace.property:
        assert trace.property in notes[-1]


def test_key_steps_are_highlighted_and_key_arrows_starred() -> None:
    trace, spec = _load(ARTICLE)
    _, props = resolve(trace.spec, trace.params)
    explanation = explain(spec, trace, props)
    chart = chart_of(spec, trace, explanation)
    assert [s.n for s in chart.steps if s.key] == [7, 10, 11, 12]
    text = chart_mermaid(chart)
    statements = parse_mermaid(text)
    kinds = [k for k, _ in statements]
    assert kinds.count("rect") == 4 and kinds.count("end") == 4
    # the rects hold exactly the key steps
    inside, held = False, []
    for kind, f in statements:
        if kind == "rect":
            inside = True
        elif kind == "end":
            inside = False
        elif inside and kind == "note":
            held.append(f["text"].split(".")[0])
    assert held == ["★ 7", "★ 10", "★ 11", "★ 12"]
    # starred: every arrow of a key step, and the sends of the proposals they consumed
    starred = [f["text"] for k, f in statements if k == "arrow" and f["text"].startswith("★")]
    assert starred == ["★ send Propose n=0 val=v1",
                       "★ deliver Propose n=0 val=v1", "★ send Accepted a2 n=0 val=v1",
                       "★ send Propose n=1 val=v2",
                       "★ deliver Propose n=1 val=v2", "★ send Accepted a1 n=1 val=v2",
                       "★ deliver Propose n=1 val=v2", "★ send Accepted a2 n=1 val=v2",
                       "★ deliver Propose n=0 val=v1", "★ send Accepted a3 n=0 val=v1"]
    notes = [f["text"] for k, f in statements if k == "note"]
    assert notes[:2] == list(explanation.summary) and "v1 chosen in ballot 0" in notes[0]
    puml = chart_plantuml(chart)
    assert puml.count("note across #FFD8CC : ★") == 4
    assert re.search(r"env -\[#E67E22,bold\]> net : ★ send Propose n=0 val=v1", puml)
    assert puml.count("[#E67E22,bold]") == len(starred)
    plain = chart_mermaid(chart_of(spec, trace))
    assert "★" not in plain and "rect" not in plain
    with pytest.raises(ValueError, match="key step 13"):
        build_chart(spec, trace, key_steps=[13])


NASTY = "m#1; <b>x</b> a<br>b **y** //z// --w-- __u__ ~v~ \\n [[l]] 100%"


def _nasty_chart() -> Chart:
    events = (Event("send", "s1", "s2", NASTY), Event("drop", "s2", "s1", "a;b#c"),
              Event("duplicate", "s1", "s2", "dup <m>"), Event("interact", "s2", "s1", "Poke"))
    steps = (ChartStep(1, "Act(m=<s1->s2 " + NASTY + ">)", "s1", events, key=True),
             ChartStep(2, "Tick(i=s1)", "s1", (Event("local", "s1", "s1"),)))
    return Chart("nasty (n=2)", ("s1", "s2"), steps, frozenset({(1, events[1])}),
                 "p violated after step 2", summary=("why: <b>#1;</b>",))


def test_mermaid_escapes_what_mermaid_reads() -> None:
    text = chart_mermaid(_nasty_chart())
    statements = parse_mermaid(text)
    arrows = [f["text"] for k, f in statements if k == "arrow"]
    assert arrows == [f"send {NASTY}", "★ drop a;b#c", "duplicate dup <m>", "Poke"]
    notes = [f["text"] for k, f in statements if k == "note"]
    assert notes[0] == "why: <b>#1;</b>"
    assert notes[1] == f"★ 1. Act(m=<s1->s2 {NASTY}>)"
    assert notes[2] == "2. Tick(i=s1)"  # a local step: a note over its node
    assert ("note", {"a": "s1", "text": "2. Tick(i=s1)"}) in statements
    assert escape_mermaid("a\nb") == "a b"


def test_plantuml_escapes_creole_tags_and_escapes() -> None:
    text = chart_plantuml(_nasty_chart())
    assert text.startswith("@startuml\n") and text.endswith("@enduml\n")
    line = next(x for x in text.splitlines() if x.startswith("s1 -") and "send" in x)
    label = line.split(" : ", 1)[1]
    # no creole markup, tag or escape survives unescaped
    assert "<b>" not in label and "\\n" not in label
    for marker in ("**", "//", "--", "__", "[["):
        assert re.search(rf"(?<!~){re.escape(marker)}", label) is None, marker
    decoded = re.sub(r"<U\+([0-9A-F]{4})>", lambda m: chr(int(m.group(1), 16)),
                     re.sub(r"~(\*\*|//|--|__|\[\[)", r"\1", label))
    assert decoded == f"send {NASTY}"
    assert escape_plantuml("a\nb") == "a b"
    assert "s2 -[#E67E22,bold]->x s1 : ★ drop a;b#c" in text
    assert "note over s1 : 2. Tick(i=s1)" in text


@pytest.mark.parametrize("path", [ARTICLE, HERE / "data" / "paxos-liveness.value_chosen.lasso.json",
                                  *[p for p in INPUTS if p.name.startswith("raft-stale")]],
                         ids=lambda p: p.stem)
def test_svg_is_well_formed_and_draws_every_event(path: Path) -> None:
    trace, spec = _load(path)
    keys = [1, len(trace)]
    chart = build_chart(spec, trace, key_steps=keys)
    root = ET.fromstring(chart_svg(chart))
    assert root.tag == f"{SVG}svg"
    steps = [g for g in root.iter(f"{SVG}g") if "step" in g.get("class", "").split()]
    assert [int(g.get("data-step", "0")) for g in steps] == list(range(1, len(trace) + 1))
    for g, s in zip(steps, chart.steps, strict=True):
        classes = g.get("class", "").split()
        assert ("key" in classes) == (s.n in keys)
        assert ("cycle" in classes) == (trace.loop is not None and s.n > trace.loop)
        lines = [e for e in g.iter(f"{SVG}line") if "ev" in e.get("class", "")]
        dots = [e for e in g.iter(f"{SVG}circle") if "ev" in e.get("class", "")]
        assert len(lines) + len(dots) == len(s.events)
        assert len(lines) == sum(1 for e in s.events if e.src != e.dst and e.kind != "local")
        texts = ["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
        assert any(t.endswith(f"{s.n}. {s.label}") for t in texts)
        for e in s.events:
            if e.kind not in ("local", "interact"):
                assert f"{e.kind} {e.message}" in texts
    assert root.find(f"{SVG}title") is not None
    assert (root.find(f".//{SVG}rect[@class='cycle-frame']") is not None) == (
        trace.loop is not None and trace.loop < len(trace))


def test_svg_escapes_text() -> None:
    root = ET.fromstring(chart_svg(_nasty_chart()))
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert f"send {NASTY}" in texts and "★ drop a;b#c" in texts


def test_cli_chart_writes_every_format(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    code, out, err = run(capsys, "trace", "chart", str(ARTICLE))
    assert code == 0 and out.startswith("sequenceDiagram\n"), err
    parse_mermaid(out)
    for fmt, check in (("plantuml", lambda t: t.startswith("@startuml")),
                       ("svg", lambda t: ET.fromstring(t).tag == f"{SVG}svg")):
        target = tmp_path / f"chart.{fmt}"
        code, out, err = run(capsys, "trace", "chart", str(ARTICLE), "--format", fmt, "-o",
                             str(target))
        assert code == 0 and out == f"wrote {target}\n", err
        assert check(target.read_text())


def test_cli_chart_refuses_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "trace", "chart", str(tmp_path / "missing.json"))
    assert_refused(code, err)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run(capsys, "trace", "chart", str(bad), "--format", "svg")
    assert_refused(code, err)
    code, _, err = run(capsys, "trace", "chart", str(ARTICLE), "--format", "png")
    assert_refused(code, err)
    code, _, err = run(capsys, "trace", "chart", str(ARTICLE), "-o", str(tmp_path / "no" / "x"))
    assert_refused(code, err)


def test_the_docs_example_is_the_current_export() -> None:
    """docs/traces.md shows (and renders) a golden trace's Mermaid: it must be today's."""
    docs = (HERE.parent / "docs" / "traces.md").read_text()
    golden = (HERE / "golden_render" / "paxos-accept-below-promise.agreement.mmd").read_text()
    blocks = re.findall(r"^```mermaid\n(.*?)^```$", docs, re.MULTILINE | re.DOTALL)
    assert blocks == [golden, golden], "rewrite the example in docs/traces.md from the golden"
